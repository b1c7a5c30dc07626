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

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Jurisdiction
from core.money import AMOUNT_QUANTUM

from .models import InvoiceLine, PayoutBatch, PayoutItem, PayrollRun


def fen(value) -> Decimal:
    return Decimal(value or 0).quantize(AMOUNT_QUANTUM)  # SQLite sums decimals as floats


def _year_span(year: int) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(date(year, 1, 1), time.min), tz),
            timezone.make_aware(datetime.combine(date(year + 1, 1, 1), time.min), tz))


def paid_in(year: int, broker_ids=None, county_id: int | None = None) -> QuerySet[PayoutItem]:
    """The one definition of "wages issued in the year": payout items paid, by payout date (the
    subsidy engine and its impact report read it too)."""
    items = PayoutItem.objects.filter(status=PayoutItem.Status.PAID, paid_on__gte=date(year, 1, 1),
                                      paid_on__lt=date(year + 1, 1, 1))
    if broker_ids is not None:
        items = items.filter(batch__run__broker_id__in=broker_ids)
    if county_id is not None:
        items = items.filter(batch__run__broker__jurisdiction__county_id=county_id)
    return items


def wages_issued(*, year: int, broker_ids=None, county_id: int | None = None) -> dict[int, Decimal]:
    rows = paid_in(year, broker_ids, county_id).values("batch__run__broker_id").annotate(t=Sum("amount"))
    return {r["batch__run__broker_id"]: fen(r["t"]) for r in rows}


def paid_workers(*, year: int, minimum: Decimal = Decimal("0.01"), broker_ids=None,
                 county_id: int | None = None) -> dict[int, int]:
    """Distinct workers each broker paid at least `minimum` yuan in the year (summed over the
    year's payouts). One grouped query by broker and worker; the count walks its rows."""
    rows = (paid_in(year, broker_ids, county_id).values("batch__run__broker_id", "worker_id")
            .annotate(t=Sum("amount")).values_list("batch__run__broker_id", "t"))
    counts: Counter[int] = Counter()
    for broker_id, total in rows:
        if fen(total) >= minimum:
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
    return {r["invoice__broker_id"]: fen(r["t"]) for r in rows}


def processing_fee_income_by_village(*, year: int, county_id: int | None = None) -> dict[int, Decimal]:
    """Fee income of the brokers registered in each village (a broker registered at a township
    or above belongs to no village and is left out)."""
    rows = (_fees_in(year, None, county_id).filter(invoice__broker__jurisdiction__level=Jurisdiction.Level.VILLAGE)
            .values("invoice__broker__jurisdiction_id").annotate(t=Sum("amount")))
    return {r["invoice__broker__jurisdiction_id"]: fen(r["t"]) for r in rows}


def wages_issued_by_village(*, year: int, county_id: int | None = None) -> dict[int, Decimal]:
    """Wages paid in the year to the workers living in each village, whoever the broker."""
    items = paid_in(year)
    if county_id is not None:
        items = items.filter(worker__village__county_id=county_id)
    rows = items.values("worker__village_id").annotate(t=Sum("amount"))
    return {r["worker__village_id"]: fen(r["t"]) for r in rows}


# --- the records behind the figures (for the subsidy engine's evidence), each one grouped query ---

def paid_by_broker_worker(*, year: int, broker_ids=None,
                          county_id: int | None = None) -> list[tuple[int, int, Decimal]]:
    """(broker, worker, paid in the year) for every worker a broker paid: the rows `paid_workers`
    counts, so a claim can name the workers it counted and what each was paid."""
    rows = (paid_in(year, broker_ids, county_id).values("batch__run__broker_id", "worker_id")
            .annotate(t=Sum("amount")).values_list("batch__run__broker_id", "worker_id", "t"))
    return [(broker_id, worker_id, fen(total)) for broker_id, worker_id, total in rows]


def wages_issued_by_batch(*, year: int, broker_ids=None,
                          county_id: int | None = None) -> list[tuple[int, int, Decimal]]:
    """(broker, payout batch, paid in the year): the batches that make up `wages_issued`."""
    rows = (paid_in(year, broker_ids, county_id).values("batch__run__broker_id", "batch_id")
            .annotate(t=Sum("amount")).values_list("batch__run__broker_id", "batch_id", "t"))
    return [(broker_id, batch_id, fen(total)) for broker_id, batch_id, total in rows]


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
    return {r["batch__run__broker_id"]: fen(r["t"]) for r in rows}


def processing_fee_income_by_invoice(*, year: int, broker_ids=None,
                                     county_id: int | None = None) -> list[tuple[int, int, Decimal]]:
    """(broker, invoice, fee income of the year): the invoices that make up `processing_fee_income`."""
    rows = (_fees_in(year, broker_ids, county_id).values("invoice__broker_id", "invoice_id")
            .annotate(t=Sum("amount")).values_list("invoice__broker_id", "invoice_id", "t"))
    return [(broker_id, invoice_id, fen(total)) for broker_id, invoice_id, total in rows]


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
    return {r["invoice__broker_id"]: fen(r["t"]) for r in rows}


def workers_paid_by_village(*, year: int, county_id: int | None = None) -> dict[int, int]:
    """Distinct workers living in each village paid anything in the year, whoever the broker (the
    top-villages tie-breaker and its `workers_paid` index)."""
    items = paid_in(year)
    if county_id is not None:
        items = items.filter(worker__village__county_id=county_id)
    rows = items.values("worker__village_id").annotate(n=Count("worker_id", distinct=True))
    return {r["worker__village_id"]: r["n"] for r in rows}


def wages_and_workers_by_village(*, year: int, county_id: int | None = None) -> dict[int, tuple[Decimal, int]]:
    """{village: (wages paid in the year to the workers living in it, how many distinct workers)}:
    `wages_issued_by_village` and `workers_paid_by_village` in one pass over the payouts."""
    items = paid_in(year)
    if county_id is not None:
        items = items.filter(worker__village__county_id=county_id)
    rows = items.values("worker__village_id").annotate(t=Sum("amount"), n=Count("worker_id", distinct=True))
    return {r["worker__village_id"]: (fen(r["t"]), r["n"]) for r in rows}


# --- one pass over a county year's payouts (the subsidy evaluation and its risk flags) ----------

class CountyYearPayouts:
    """A county year's paid payout items, read once and shared by everything that needs them
    (wages and workers per broker, the batches, the villages' figures, the risk flags): at county
    scale (a million payout items) each pass over them costs seconds, so there is one.

    Read lazily on first use, in two queries over the payouts: the (broker, worker) and (broker,
    batch) sums of the county's brokers (one GROUPING SETS scan on PostgreSQL, two grouped queries
    elsewhere), and what brokers outside the county paid the workers living in it (rare, so a
    filtered read). The county's brokers are filtered by their ids (one small query) rather than
    by joining their jurisdiction into the scan, and the county's workers (with their village and
    national ID) are one query too.

    - `by_worker`: [(broker, worker, paid in the year, of it in December)] for every broker of the
      county and every worker it paid, and for every other broker that paid a worker living in it;
    - `by_batch`: [(broker, batch, paid in the year)] for the county's brokers;
    - `county_brokers`: the ids of the county's organisations;
    - `residents`: {worker id: (village id, national ID)} of the workers living in the county.

    The same figures as `paid_by_broker_worker`, `wages_issued_by_batch` and
    `wages_and_workers_by_village` give for the county (the per-village ones follow from the
    rows whose worker lives in the county, whoever the broker)."""

    def __init__(self, *, year: int, county_id: int):
        self.year, self.county_id = year, county_id
        self._read = False

    def _load(self) -> None:
        if self._read:
            return
        from accounts.models import Organisation
        from brokers.models import Worker

        self.county_brokers = frozenset(Organisation.objects.filter(jurisdiction__county_id=self.county_id)
                                        .values_list("pk", flat=True))
        self.residents = {pk: (village, national_id) for pk, village, national_id in
                          Worker.objects.filter(village__county_id=self.county_id)
                          .values_list("pk", "village_id", "national_id")}
        brokers = sorted(self.county_brokers)
        if connection.vendor == "postgresql":
            by_worker, by_batch = self._grouping_sets(brokers)
        else:
            by_worker, by_batch = self._grouped(brokers)
        december = date(self.year, 12, 1)
        outside = (paid_in(self.year).filter(worker__village__county_id=self.county_id)
                   .exclude(batch__run__broker_id__in=brokers)
                   .values("batch__run__broker_id", "worker_id")
                   .annotate(t=Sum("amount"), d=Sum("amount", filter=Q(paid_on__gte=december)))
                   .values_list("batch__run__broker_id", "worker_id", "t", "d"))
        by_worker += [(b, w, fen(t), fen(d)) for b, w, t, d in outside]
        by_worker.sort(key=lambda row: (row[0], row[1]))
        by_batch.sort(key=lambda row: (row[0], row[1]))
        self._by_worker, self._by_batch, self._read = by_worker, by_batch, True

    def _grouping_sets(self, brokers: list[int]) -> tuple[list, list]:
        item, batch, run = PayoutItem._meta.db_table, PayoutBatch._meta.db_table, PayrollRun._meta.db_table
        sql = f"""
            SELECT r.broker_id, i.worker_id, i.batch_id, sum(i.amount),
                   sum(i.amount) FILTER (WHERE i.paid_on >= %s), GROUPING(i.batch_id)
            FROM {item} i JOIN {batch} b ON b.id = i.batch_id JOIN {run} r ON r.id = b.run_id
            WHERE i.status = %s AND i.paid_on >= %s AND i.paid_on < %s AND r.broker_id = ANY(%s)
            GROUP BY GROUPING SETS ((r.broker_id, i.worker_id), (r.broker_id, i.batch_id))"""
        by_worker, by_batch = [], []
        if not brokers:
            return by_worker, by_batch
        with connection.cursor() as cursor:
            cursor.execute(sql, [date(self.year, 12, 1), PayoutItem.Status.PAID, date(self.year, 1, 1),
                                 date(self.year + 1, 1, 1), brokers])
            rows = cursor.fetchall()
            for broker, worker, batch_id, total, december, by_worker_set in rows:
                if by_worker_set:  # GROUPING(batch_id) = 1: the batch is aggregated away
                    by_worker.append((broker, worker, fen(total), fen(december)))
                else:
                    by_batch.append((broker, batch_id, fen(total)))
        return by_worker, by_batch

    def _grouped(self, brokers: list[int]) -> tuple[list, list]:
        items = paid_in(self.year, broker_ids=brokers)
        by_worker = [(b, w, fen(t), fen(d)) for b, w, t, d in
                     items.values("batch__run__broker_id", "worker_id")
                     .annotate(t=Sum("amount"), d=Sum("amount", filter=Q(paid_on__gte=date(self.year, 12, 1))))
                     .values_list("batch__run__broker_id", "worker_id", "t", "d")]
        by_batch = [(b, batch_id, fen(t)) for b, batch_id, t in
                    items.values("batch__run__broker_id", "batch_id").annotate(t=Sum("amount"))
                    .values_list("batch__run__broker_id", "batch_id", "t")]
        return by_worker, by_batch

    @property
    def by_worker(self) -> list[tuple[int, int, Decimal, Decimal]]:
        self._load()
        return self._by_worker

    @property
    def by_batch(self) -> list[tuple[int, int, Decimal]]:
        self._load()
        return self._by_batch

    def county_by_worker(self) -> list[tuple[int, int, Decimal]]:
        """(broker, worker, paid) of the county's brokers: `paid_by_broker_worker(county_id=...)`."""
        self._load()
        return [(b, w, paid) for b, w, paid, _d in self._by_worker if b in self.county_brokers]

    def wages_and_workers_by_village(self) -> dict[int, tuple[Decimal, int]]:
        """`wages_and_workers_by_village(county_id=...)` from the rows already read: the wages paid
        to the workers living in each village, whoever the broker, and how many distinct workers."""
        self._load()
        wages: dict[int, Decimal] = {}
        workers: dict[int, set[int]] = {}
        for _broker, worker, paid, _december in self._by_worker:
            resident = self.residents.get(worker)
            if resident is None or resident[0] is None:
                continue
            village = resident[0]
            wages[village] = wages.get(village, Decimal("0.00")) + paid
            workers.setdefault(village, set()).add(worker)
        return {v: (fen(wages[v]), len(workers[v])) for v in wages}
