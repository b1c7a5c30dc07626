"""Grouped reads over payouts and brokers that the risk flags need beyond `payments.figures`:
what each worker was paid by each broker in a year (with the same person's pay at other
brokers), wages issued per broker and month, the payout batches of a month, and open disputes.
Each is one query whatever the number of brokers; subsidies reads payments and brokers, never
the other way round."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import ExtractMonth, Upper

from brokers.models import Dispute
from core.money import AMOUNT_QUANTUM
from payments.models import PayoutItem


def _fen(value) -> Decimal:
    return Decimal(value or 0).quantize(AMOUNT_QUANTUM)  # SQLite sums decimals as floats


def _paid_in(year: int):
    return PayoutItem.objects.filter(status=PayoutItem.Status.PAID, paid_on__gte=date(year, 1, 1),
                                     paid_on__lt=date(year + 1, 1, 1))


@dataclass(frozen=True)
class WorkerPay:
    """What one broker paid one worker in the year. `person` is who the worker is across Worker
    rows: the national ID in upper case (an 'x' check digit typed in lower case is the same
    person), or `worker:<id>` for a worker without one."""

    broker_id: int
    worker_id: int
    person: str
    paid: Decimal


def pay_by_worker(*, year: int, broker_ids) -> list[WorkerPay]:
    """Every (broker, worker) pay of the year for the workers the given brokers paid, including
    what *other* brokers paid the same people (the same Worker, or a Worker row with the same
    national ID up to case). One grouped query."""
    broker_ids = list(broker_ids)
    if not broker_ids:
        return []
    theirs = _paid_in(year).filter(batch__run__broker_id__in=broker_ids)
    workers = theirs.values("worker_id")
    people = (theirs.filter(worker__national_id__isnull=False).annotate(person=Upper("worker__national_id"))
              .values("person"))
    rows = (_paid_in(year).annotate(person=Upper("worker__national_id"))
            .filter(Q(worker_id__in=workers) | Q(person__in=people))
            .values("batch__run__broker_id", "worker_id", "person").annotate(t=Sum("amount"))
            .values_list("batch__run__broker_id", "worker_id", "person", "t"))
    return [WorkerPay(broker, worker, person or f"worker:{worker}", _fen(total))
            for broker, worker, person, total in rows]


def wages_by_month(*, year: int, broker_ids) -> dict[int, dict[int, Decimal]]:
    """{broker_id: {month (1-12): wages paid out in that month}} by payout date; months without
    payouts are absent."""
    rows = (_paid_in(year).filter(batch__run__broker_id__in=list(broker_ids)).annotate(m=ExtractMonth("paid_on"))
            .values("batch__run__broker_id", "m").annotate(t=Sum("amount"))
            .values_list("batch__run__broker_id", "m", "t"))
    months: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for broker, month, total in rows:
        months[broker][int(month)] = _fen(total)
    return dict(months)


def batches_paid_in_month(*, year: int, month: int, broker_ids) -> dict[int, list[int]]:
    """{broker_id: [payout batch ids]} of the batches with items paid in that month."""
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    rows = (PayoutItem.objects.filter(status=PayoutItem.Status.PAID, paid_on__gte=start, paid_on__lt=end,
                                      batch__run__broker_id__in=list(broker_ids))
            .values_list("batch__run__broker_id", "batch_id").distinct().order_by("batch__run__broker_id", "batch_id"))
    batches: dict[int, list[int]] = defaultdict(list)
    for broker, batch in rows:
        batches[broker].append(batch)
    return dict(batches)


def open_disputes(*, broker_ids) -> dict[int, list[int]]:
    """{broker_id: [ids of the broker's open worker disputes]}."""
    rows = (Dispute.objects.filter(status=Dispute.Status.OPEN, broker_id__in=list(broker_ids))
            .order_by("broker_id", "id").values_list("broker_id", "id"))
    disputes: dict[int, list[int]] = defaultdict(list)
    for broker, dispute in rows:
        disputes[broker].append(dispute)
    return dict(disputes)
