"""A broker's payroll month for the money tests, built through the real services: bead work
with rates of fractions of a fen (0.0125 a piece), a worker with bank details, logs in last
month (which has ended, so its run may close) and this month."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from brokers import services as bs
from brokers.models import Attendance, Worker

from ..brokers.shop import Shop, open_shop, row
from ..personas import Personas

# 0.05 standard minutes a piece keeps the fair-rate floor (2000/21.75/8/60 a minute) under 0.0125
BEAD_PROCEDURES = [{"name": "钉珠", "standard_minutes": Decimal("0.05")},
                   {"name": "打结", "standard_minutes": Decimal("1.00")}]


def this_month() -> date:
    return timezone.localdate().replace(day=1)


def last_month() -> date:
    return (this_month() - timedelta(days=1)).replace(day=1)


def month_before_last() -> date:
    return (last_month() - timedelta(days=1)).replace(day=1)


def ym(month: date) -> str:
    return f"{month:%Y-%m}"


@dataclass
class World:
    p: Personas
    shop: Shop
    worker: Worker  # the broker's worker (personas.worker_record), with bank details


def payroll_world(p: Personas, *, rates=("0.0125", "0.3500"), quantity: int = 1000, size: int = 250) -> World:
    shop = open_shop(p, quantity=quantity, size=size, rates=rates, procedures=BEAD_PROCEDURES)
    worker = p.worker_record
    worker.bank_name, worker.bank_account = "遂昌农商银行", "6230910012345678"
    worker.save(update_fields=["bank_name", "bank_account"])
    return World(p, shop, worker)


def log(w: World, quantity: int, *, day: date, worker: Worker | None = None, procedure: int = 0, bundle: int = 0,
        reason: str = ""):
    """Record `quantity` pieces through the piecework service (as the broker's owner; work of a
    closed month needs a `reason`)."""
    results = bs.piece_logs_record(actor=w.p.broker, rows=[
        row(worker or w.worker, w.shop.bundles[bundle], w.shop.procedures[procedure], quantity, work_date=day,
            reason=reason)])
    return results[0].log


def attend(w: World, worker: Worker, days: list[date], mark: str = Attendance.Mark.ON_TIME) -> None:
    for day in days:
        bs.attendance_mark(actor=w.p.broker, day=day, marks=[{"worker": worker.pk, "mark": mark}])
