"""The money figures the subsidy engine reads, per calendar year, each one grouped query:

- wages issued per broker: what was paid out to workers, by payout date (发放);
- distinct workers paid per broker, counting only those paid at least a threshold in the year
  (so ghost workers cannot lift a broker into a higher tier);
- processing-fee income per broker: accepted pieces × unit price, by inspection date;
- the same per village: fee income of the brokers registered in a village, and wages paid to the
  workers living in it.

Each returns {id: figure} for the brokers (or villages) that have one; pass `broker_ids` or
`county_id` to narrow it."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Jurisdiction
from core.money import AMOUNT_QUANTUM

from .models import InvoiceLine, PayoutItem


def _fen(value) -> Decimal:
    return Decimal(value or 0).quantize(AMOUNT_QUANTUM)  # SQLite sums decimals as floats


def _year_span(year: int) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(date(year, 1, 1), time.min), tz),
            timezone.make_aware(datetime.combine(date(year + 1, 1, 1), time.min), tz))


def _paid_in(year: int, broker_ids=None, county_id: int | None = None) -> QuerySet[PayoutItem]:
    items = PayoutItem.objects.filter(status=PayoutItem.Status.PAID, paid_on__gte=date(year, 1, 1),
                                      paid_on__lt=date(year + 1, 1, 1))
    if broker_ids is not None:
        items = items.filter(batch__run__broker_id__in=broker_ids)
    if county_id is not None:
        items = items.filter(batch__run__broker__jurisdiction__county_id=county_id)
    return items


def wages_issued(*, year: int, broker_ids=None, county_id: int | None = None) -> dict[int, Decimal]:
    rows = _paid_in(year, broker_ids, county_id).values("batch__run__broker_id").annotate(t=Sum("amount"))
    return {r["batch__run__broker_id"]: _fen(r["t"]) for r in rows}


def paid_workers(*, year: int, minimum: Decimal = Decimal("0.01"), broker_ids=None,
                 county_id: int | None = None) -> dict[int, int]:
    """Distinct workers each broker paid at least `minimum` yuan in the year (summed over the
    year's payouts). One grouped query by broker and worker; the count walks its rows."""
    rows = (_paid_in(year, broker_ids, county_id).values("batch__run__broker_id", "worker_id")
            .annotate(t=Sum("amount")).values_list("batch__run__broker_id", "t"))
    counts: Counter[int] = Counter()
    for broker_id, total in rows:
        if _fen(total) >= minimum:
            counts[broker_id] += 1
    return dict(counts)


def _fees_in(year: int, broker_ids=None, county_id: int | None = None) -> QuerySet[InvoiceLine]:
    start, end = _year_span(year)
    lines = InvoiceLine.objects.filter(kind=InvoiceLine.Kind.PROCESSING_FEE, inspection__inspected_at__gte=start,
                                       inspection__inspected_at__lt=end)
    if broker_ids is not None:
        lines = lines.filter(invoice__broker_id__in=broker_ids)
    if county_id is not None:
        lines = lines.filter(invoice__broker__jurisdiction__county_id=county_id)
    return lines


def processing_fee_income(*, year: int, broker_ids=None, county_id: int | None = None) -> dict[int, Decimal]:
    rows = _fees_in(year, broker_ids, county_id).values("invoice__broker_id").annotate(t=Sum("amount"))
    return {r["invoice__broker_id"]: _fen(r["t"]) for r in rows}


def processing_fee_income_by_village(*, year: int, county_id: int | None = None) -> dict[int, Decimal]:
    """Fee income of the brokers registered in each village (a broker registered at a township
    or above belongs to no village and is left out)."""
    rows = (_fees_in(year, None, county_id).filter(invoice__broker__jurisdiction__level=Jurisdiction.Level.VILLAGE)
            .values("invoice__broker__jurisdiction_id").annotate(t=Sum("amount")))
    return {r["invoice__broker__jurisdiction_id"]: _fen(r["t"]) for r in rows}


def wages_issued_by_village(*, year: int, county_id: int | None = None) -> dict[int, Decimal]:
    """Wages paid in the year to the workers living in each village, whoever the broker."""
    items = _paid_in(year)
    if county_id is not None:
        items = items.filter(worker__village__county_id=county_id)
    rows = items.values("worker__village_id").annotate(t=Sum("amount"))
    return {r["worker__village_id"]: _fen(r["t"]) for r in rows}


# --- the records behind the figures (for the subsidy engine's evidence), each one grouped query ---

def paid_by_broker_worker(*, year: int, broker_ids=None,
                          county_id: int | None = None) -> list[tuple[int, int, Decimal]]:
    """(broker, worker, paid in the year) for every worker a broker paid: the rows `paid_workers`
    counts, so a claim can name the workers it counted and what each was paid."""
    rows = (_paid_in(year, broker_ids, county_id).values("batch__run__broker_id", "worker_id")
            .annotate(t=Sum("amount")).values_list("batch__run__broker_id", "worker_id", "t"))
    return [(broker_id, worker_id, _fen(total)) for broker_id, worker_id, total in rows]


def wages_issued_by_batch(*, year: int, broker_ids=None,
                          county_id: int | None = None) -> list[tuple[int, int, Decimal]]:
    """(broker, payout batch, paid in the year): the batches that make up `wages_issued`."""
    rows = (_paid_in(year, broker_ids, county_id).values("batch__run__broker_id", "batch_id")
            .annotate(t=Sum("amount")).values_list("batch__run__broker_id", "batch_id", "t"))
    return [(broker_id, batch_id, _fen(total)) for broker_id, batch_id, total in rows]


def wages_issued_between(*, start: date, end: date, broker_ids=None,
                         county_id: int | None = None) -> dict[int, Decimal]:
    """Wages paid out from `start` to `end` (both included) per broker: a trailing window that is
    not a calendar year (e.g. the twelve months before a month of loan interest)."""
    items = PayoutItem.objects.filter(status=PayoutItem.Status.PAID, paid_on__gte=start, paid_on__lte=end)
    if broker_ids is not None:
        items = items.filter(batch__run__broker_id__in=broker_ids)
    if county_id is not None:
        items = items.filter(batch__run__broker__jurisdiction__county_id=county_id)
    rows = items.values("batch__run__broker_id").annotate(t=Sum("amount"))
    return {r["batch__run__broker_id"]: _fen(r["t"]) for r in rows}


def processing_fee_income_by_invoice(*, year: int, broker_ids=None,
                                     county_id: int | None = None) -> list[tuple[int, int, Decimal]]:
    """(broker, invoice, fee income of the year): the invoices that make up `processing_fee_income`."""
    rows = (_fees_in(year, broker_ids, county_id).values("invoice__broker_id", "invoice_id")
            .annotate(t=Sum("amount")).values_list("invoice__broker_id", "invoice_id", "t"))
    return [(broker_id, invoice_id, _fen(total)) for broker_id, invoice_id, total in rows]


def processing_fee_income_in_spans(spans: dict[int, tuple[date, date]]) -> dict[int, Decimal]:
    """Fee income of each broker within its own span of local dates (both included), in one query:
    e.g. the twelve months before each relocation."""
    if not spans:
        return {}
    tz = timezone.get_current_timezone()
    condition = None
    for broker_id, (start, end) in spans.items():
        begin = timezone.make_aware(datetime.combine(start, time.min), tz)
        stop = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
        part = Q(invoice__broker_id=broker_id, inspection__inspected_at__gte=begin, inspection__inspected_at__lt=stop)
        condition = part if condition is None else condition | part
    rows = (InvoiceLine.objects.filter(condition, kind=InvoiceLine.Kind.PROCESSING_FEE)
            .values("invoice__broker_id").annotate(t=Sum("amount")))
    return {r["invoice__broker_id"]: _fen(r["t"]) for r in rows}


def workers_paid_by_village(*, year: int, county_id: int | None = None) -> dict[int, int]:
    """Distinct workers living in each village paid anything in the year, whoever the broker (the
    top-villages tie-breaker and its `workers_paid` index)."""
    items = _paid_in(year)
    if county_id is not None:
        items = items.filter(worker__village__county_id=county_id)
    rows = items.values("worker__village_id").annotate(n=Count("worker_id", distinct=True))
    return {r["worker__village_id"]: r["n"] for r in rows}


def wages_and_workers_by_village(*, year: int, county_id: int | None = None) -> dict[int, tuple[Decimal, int]]:
    """{village: (wages paid in the year to the workers living in it, how many distinct workers)}:
    `wages_issued_by_village` and `workers_paid_by_village` in one pass over the payouts."""
    items = _paid_in(year)
    if county_id is not None:
        items = items.filter(worker__village__county_id=county_id)
    rows = items.values("worker__village_id").annotate(t=Sum("amount"), n=Count("worker_id", distinct=True))
    return {r["worker__village_id"]: (_fen(r["t"]), r["n"]) for r in rows}
