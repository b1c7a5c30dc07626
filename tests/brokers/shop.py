"""A broker's shop floor for the piecework tests, built through the real services: an award cut
into bundles, piece rates set, workers in the broker's workforce."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from brokers import services
from brokers.models import Bundle, PieceLog, Worker
from orders.models import Award, Procedure

from ..personas import Personas
from ..orders.builders import awarded


def cid() -> str:
    return uuid.uuid4().hex


@dataclass
class Shop:
    p: Personas
    award: Award
    bundles: list[Bundle]
    procedures: list[Procedure]  # in sequence


def open_shop(p: Personas, *, quantity: int = 120, size: int = 50, rates=("0.9000", "0.3500"),
              procedures: list[dict] | None = None) -> Shop:
    """The broker's award (unit price 1.20; threading 4 and knotting 1 standard minutes unless
    `procedures` says otherwise), cut into bundles of `size`, with `rates` in force from now
    (None: no rate for that procedure)."""
    extra = {"procedures": procedures} if procedures else {}
    award = awarded(p.firm, p.broker, quantity=quantity, **extra)
    bundles = services.bundles_cut(actor=p.broker, award_id=award.pk, size=size)
    steps = list(award.order.procedures.order_by("sequence"))
    for procedure, rate in zip(steps, rates):
        if rate is not None:
            services.piece_rate_set(actor=p.broker, award_id=award.pk, procedure_id=procedure.pk, rate=Decimal(rate))
    return Shop(p, award, bundles, steps)


def row(worker: Worker, bundle: Bundle, procedure: Procedure, quantity: int, *, work_date: date | None = None,
        client_id: str | None = None, reason: str = "") -> dict:
    return {"worker": worker.pk, "bundle": bundle.pk, "procedure": procedure.pk, "quantity": quantity,
            "work_date": work_date or timezone.localdate(), "client_id": client_id or cid(),
            **({"reason": reason} if reason else {})}


def logged(bundle: Bundle, procedure: Procedure) -> int:
    """Pieces of a bundle-procedure on the books, reversals included."""
    return PieceLog.objects.filter(bundle=bundle, procedure=procedure).aggregate(n=Sum("quantity"))["n"] or 0
