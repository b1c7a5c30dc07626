"""Grouped reads over payouts and brokers that the risk flags need beyond `payments.figures`:
what each worker was paid by each broker in a year and in its December (with the same person's
pay at other brokers), the payout batches of a month, and open disputes.
Each is one query whatever the number of brokers; subsidies reads payments and brokers, never
the other way round."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from brokers.models import Dispute, Worker
from payments import figures
from payments.models import PayoutItem


class WorkerPay(NamedTuple):
    """What one broker paid one worker in the year, and of it in December (by payout date).
    `person` is who the worker is across Worker rows: the national ID in upper case (an 'x'
    check digit typed in lower case is the same person), or `worker:<id>` for one without."""

    broker_id: int
    worker_id: int
    person: str
    paid: Decimal
    december: Decimal


def pay_by_worker(*, year: int, county_id: int, payouts: figures.CountyYearPayouts | None = None) -> list[WorkerPay]:
    """Every (broker, worker) pay of the year where the broker is in the county or the worker
    lives in it: the county's brokers' workers, and what any other broker paid the county's
    people. The rows are `payments.figures.CountyYearPayouts` (one pass over the year's payouts,
    shared with the evaluation when it passes `payouts`); a broker's wages issued and December's
    are the sums of its rows. The national IDs come from the county's workers (read with the
    payouts), and those of workers living elsewhere by id."""
    if payouts is None or (payouts.year, payouts.county_id) != (year, county_id):
        payouts = figures.CountyYearPayouts(year=year, county_id=county_id)
    rows = payouts.by_worker
    ids = {pk: national_id for pk, (_village, national_id) in payouts.residents.items()}
    elsewhere = sorted({worker for _broker, worker, _t, _d in rows if worker not in ids})
    for start in range(0, len(elsewhere), 5000):
        ids.update(Worker.objects.filter(pk__in=elsewhere[start:start + 5000]).values_list("pk", "national_id"))
    return [WorkerPay(broker, worker, ids[worker].upper() if ids.get(worker) else f"worker:{worker}", total,
                      december) for broker, worker, total, december in rows]


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
