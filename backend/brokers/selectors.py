"""Reads of the workforce and piecework. Every aggregate is one grouped query over the piece
logs (indexed by worker and date, broker and date, bundle and procedure), never a Python loop
over rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from accounts.permissions import county_id_of
from accounts.selectors import minimum_wage_for
from core.money import line_amount
from orders.models import Award

from .calculations import margin_per_piece, procedure_floor, suggested_rate
from .models import Availability, Bundle, Dispute, Membership, PieceLog, PieceRate, Worker


def visible_piece_logs(user: User) -> QuerySet[PieceLog]:
    qs = PieceLog.objects.select_related("worker", "bundle", "procedure", "recorded_by")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        return qs.filter(broker_id=user.organisation_id)
    if user.is_worker:
        return qs.filter(worker__user=user)
    if user.is_auditor:
        return qs.filter(broker__jurisdiction__county_id=county_id_of(user))
    return qs.none()


def visible_disputes(user: User) -> QuerySet[Dispute]:
    qs = Dispute.objects.select_related("log__procedure", "log__bundle", "worker", "broker")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        return qs.filter(broker_id=user.organisation_id)
    if user.is_worker:
        return qs.filter(worker__user=user)
    if user.is_auditor:
        return qs.filter(broker__jurisdiction__county_id=county_id_of(user))
    return qs.none()


def visible_bundles(user: User) -> QuerySet[Bundle]:
    qs = Bundle.objects.select_related("award__order")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        return qs.filter(broker_id=user.organisation_id)
    return qs.none()


@dataclass(frozen=True)
class EarningLine:
    procedure_id: int
    procedure_name: str
    rate: Decimal
    quantity: int
    amount: Decimal  # quantity × rate, rounded once, as the payslip line will be


def earning_lines(logs: QuerySet[PieceLog]) -> list[EarningLine]:
    rows = (logs.values("procedure_id", "procedure__name", "rate").annotate(quantity=Sum("quantity"))
            .order_by("procedure_id", "rate"))
    return [EarningLine(r["procedure_id"], r["procedure__name"], r["rate"], r["quantity"],
                        line_amount(r["quantity"], r["rate"])) for r in rows if r["quantity"]]


@dataclass(frozen=True)
class Earnings:
    today: Decimal
    week: Decimal
    month: Decimal
    month_lines: list[EarningLine]


def worker_earnings(worker: Worker, *, today: date | None = None) -> Earnings:
    """Provisional pay (pending payroll) for today, this week and this month: three grouped
    queries over the worker's logs."""
    today = today or timezone.localdate()
    logs = PieceLog.objects.filter(worker=worker)
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)

    def total(since: date) -> Decimal:
        return sum((line.amount for line in earning_lines(logs.filter(work_date__gte=since, work_date__lte=today))),
                   Decimal("0.00"))

    month_lines = earning_lines(logs.filter(work_date__gte=month_start, work_date__lte=today))
    return Earnings(today=total(today), week=total(week_start),
                    month=sum((line.amount for line in month_lines), Decimal("0.00")), month_lines=month_lines)


def bundle_progress(bundle_ids: list[int]) -> dict[int, dict[int, int]]:
    """{bundle: {procedure: pieces logged}} in one query."""
    progress: dict[int, dict[int, int]] = {b: {} for b in bundle_ids}
    rows = (PieceLog.objects.filter(bundle_id__in=bundle_ids).values("bundle_id", "procedure_id")
            .annotate(n=Sum("quantity")))
    for row in rows:
        progress[row["bundle_id"]][row["procedure_id"]] = row["n"] or 0
    return progress


@dataclass(frozen=True)
class RateRow:
    procedure_id: int
    procedure_name: str
    standard_minutes: Decimal
    suggested: Decimal
    floor: Decimal
    rate: Decimal | None  # in force now
    next_rate: Decimal | None  # scheduled, not yet in force
    next_from: object | None


@dataclass(frozen=True)
class RateTable:
    award_id: int
    unit_price: Decimal
    rows: list[RateRow]
    margin_per_piece: Decimal | None  # award unit price less every rate in force
    margin_negative: bool


def rate_table(award: Award, minute_rate: Decimal) -> RateTable:
    now = timezone.now()
    wage = minimum_wage_for(county_id=award.broker.jurisdiction.county_id, on=timezone.localdate())
    rates = list(PieceRate.objects.filter(award=award).order_by("effective_from"))
    rows = []
    for procedure in award.order.procedures.all():
        mine = [r for r in rates if r.procedure_id == procedure.pk]
        current = [r for r in mine if r.effective_from <= now]
        upcoming = [r for r in mine if r.effective_from > now]
        rows.append(RateRow(
            procedure.pk, procedure.name, procedure.standard_minutes,
            suggested_rate(standard_minutes=procedure.standard_minutes, minute_rate=minute_rate),
            procedure_floor(standard_minutes=procedure.standard_minutes, wage_per_minute=wage.per_minute),
            current[-1].rate if current else None,
            upcoming[0].rate if upcoming else None, upcoming[0].effective_from if upcoming else None,
        ))
    in_force = [r.rate for r in rows]
    margin = None if None in in_force else margin_per_piece(unit_price=award.unit_price.amount, rates=in_force)
    return RateTable(award.pk, award.unit_price.amount, rows, margin, margin is not None and margin < 0)


def weekly_capacity(broker_id: int, *, start: date, weeks: int) -> list[dict]:
    """Per ISO week: the workers who are members on any of its six working days, the worker-days
    they can work (a member on a day she has not declared unavailable) and the worker-days they
    declared unavailable (tea picking, farm season...). Two queries; a worker counts only on the
    days she is a member, so one who joins or leaves mid-range counts only where she is."""
    start = start - timedelta(days=start.weekday())
    end = start + timedelta(weeks=weeks)
    spans = list(Membership.objects.filter(broker_id=broker_id, started_on__lt=end)
                 .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start))
                 .values_list("worker_id", "started_on", "ended_on"))
    absences = list(Availability.objects.filter(worker_id__in={w for w, _, _ in spans}, start_date__lt=end,
                                                end_date__gte=start)
                    .values_list("worker_id", "start_date", "end_date"))
    out = []
    for w in range(weeks):
        week_start = start + timedelta(weeks=w)
        workers: set[int] = set()
        worker_days = unavailable = 0
        for day in (week_start + timedelta(days=d) for d in range(6)):
            present = {worker for worker, s, e in spans if s <= day and (e is None or day <= e)}
            away = {worker for worker, a, b in absences if worker in present and a <= day <= b}
            workers |= present
            worker_days += len(present) - len(away)
            unavailable += len(away)
        out.append({"week_start": week_start, "workers": len(workers), "worker_days": worker_days,
                    "unavailable_worker_days": unavailable})
    return out
