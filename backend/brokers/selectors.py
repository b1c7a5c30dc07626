"""Reads of the workforce and piecework. Every aggregate is one grouped query over the piece
logs (indexed by worker and date, broker and date, bundle and procedure), never a Python loop
over rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Min, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import county_id_of
from accounts.selectors import minimum_wage_for
from core.errors import ValidationFailed
from core.money import line_amount
from orders.models import Award

from .calculations import margin_per_piece, procedure_floor, suggested_rate
from .models import (
    Availability, BrokerProfile, Bundle, Dispute, Loan, Membership, PieceLog, PieceRate, ProfessionalVillageStatus,
    Relocation, Worker,
)


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


def month_of(value) -> date:
    """A TruncMonth value as a date: a date on PostgreSQL, maybe a datetime on SQLite."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def piece_line_rows(logs: QuerySet[PieceLog], *keys: str) -> list[dict]:
    """The one grouping of piece logs into pay lines, shared by the worker's earnings and payroll:
    per `keys` (payroll: the worker; her earnings: the broker), work month, procedure and rate,
    the pieces summed. Each row becomes one line, rounded once (`core.money.line_amount`)."""
    return list(logs.annotate(work_month=TruncMonth("work_date"))
                .values(*keys, "work_month", "procedure_id", "procedure__name", "rate")
                .annotate(quantity=Sum("quantity"))
                .order_by(*keys, "work_month", "procedure_id", "rate"))


@dataclass(frozen=True)
class EarningLine:
    broker_id: int
    broker_name: str
    month: date  # the work month: the payslip of that month pays the line
    procedure_id: int
    procedure_name: str
    rate: Decimal
    quantity: int
    amount: Decimal  # quantity × rate, rounded once, as the payslip line will be


def earning_lines(logs: QuerySet[PieceLog]) -> list[EarningLine]:
    """A worker's logs as the lines a payslip pays: one per broker, work month, procedure and rate."""
    return [EarningLine(r["broker_id"], r["broker__name"], month_of(r["work_month"]), r["procedure_id"],
                        r["procedure__name"], r["rate"], r["quantity"], line_amount(r["quantity"], r["rate"]))
            for r in piece_line_rows(logs, "broker_id", "broker__name") if r["quantity"]]


def lines_total(lines: list[EarningLine]) -> Decimal:
    """A total is the sum of rounded lines, never rounded again."""
    return sum((line.amount for line in lines), Decimal("0.00"))


@dataclass(frozen=True)
class Earnings:
    """Provisional pay for one month (pending payroll). `month` is that month's total; `today`
    and `week` (None for a past month) are the sums of their own lines: the pieces of today, and
    of Monday to today, grouped and rounded as a payslip would (a week across two months has a
    line per month). Each figure adds up from the lines shown beside it."""

    period: date  # the first of the month
    current: bool
    today: Decimal | None
    week: Decimal | None
    month: Decimal
    today_lines: list[EarningLine]
    week_lines: list[EarningLine]
    month_lines: list[EarningLine]
    logs: list[PieceLog]


def worker_earnings(worker: Worker, *, month: date | None = None, today: date | None = None) -> Earnings:
    """A worker's provisional pay for `month` (default: this month, up to today), by line, with
    her logs of the month at their unrounded amounts. One grouped query per figure, one for the
    logs."""
    today = today or timezone.localdate()
    period = (month or today).replace(day=1)
    current = period == today.replace(day=1)
    logs = PieceLog.objects.filter(worker=worker)
    last_day = today if current else date(period.year + period.month // 12, period.month % 12 + 1, 1) - timedelta(1)
    month_logs = logs.filter(work_date__gte=period, work_date__lte=last_day)
    month_lines = earning_lines(month_logs)
    today_lines = week_lines = []
    if current:
        today_lines = earning_lines(logs.filter(work_date=today))
        week_lines = earning_lines(logs.filter(work_date__gte=today - timedelta(days=today.weekday()),
                                               work_date__lte=today))
    return Earnings(
        period=period, current=current,
        today=lines_total(today_lines) if current else None, week=lines_total(week_lines) if current else None,
        month=lines_total(month_lines), today_lines=today_lines, week_lines=week_lines, month_lines=month_lines,
        logs=list(month_logs.select_related("procedure", "broker").order_by("work_date", "id")),
    )


def first_membership_month(worker: Worker) -> date | None:
    started = Membership.objects.filter(worker=worker).aggregate(first=Min("started_on"))["first"]
    return started.replace(day=1) if started else None


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


def earnings_month(worker: Worker, month: date | None, *, today: date | None = None) -> date:
    """The month whose earnings she may ask for: this month (the default) or an earlier one since
    the month she first joined a broker. Anything else is a 400 naming `month`."""
    this_month = (today or timezone.localdate()).replace(day=1)
    if month is None or month == this_month:
        return this_month
    shown = f"{month.year:04d}-{month.month:02d}"
    if month > this_month:
        raise ValidationFailed(_("%(month)s has not begun: earnings are for this month or an earlier one.")
                               % {"month": shown}, field="month")
    first = first_membership_month(worker)
    if first is None:
        raise ValidationFailed(_("You have not joined a broker yet: there are only this month's earnings."),
                               field="month")
    if month < first:
        raise ValidationFailed(_("No earnings before %(first)s, the month you first joined a broker.")
                               % {"first": f"{first:%Y-%m}"}, field="month")
    return month


# --- what the subsidy engine reads about a county's brokers and villages (one query each) ------

def broker_categories(*, county_id: int) -> dict[int, str]:
    """{broker organisation id: BrokerCategory} for the county's brokers that have a profile (a
    broker without one is general processing, the profile's default)."""
    return dict(BrokerProfile.objects.filter(organisation__jurisdiction__county_id=county_id)
                .values_list("organisation_id", "category"))


def loans_outstanding(*, county_id: int, start: date, end: date):
    """The county's brokers' loans outstanding on some day from `start` to `end` (both included):
    started by `end` and not repaid before `start` (the repayment day itself does not count)."""
    return (Loan.objects.filter(broker__jurisdiction__county_id=county_id, start__lte=end)
            .filter(Q(end__isnull=True) | Q(end__gt=start)).order_by("id"))


def relocations_between(*, county_id: int, start: date, end: date):
    return (Relocation.objects.filter(broker__jurisdiction__county_id=county_id, moved_on__gte=start,
                                      moved_on__lte=end).order_by("broker_id", "moved_on", "id"))


def village_status_records(*, county_id: int, until: date):
    """Every professional-village status record of the county's villages effective by `until`,
    oldest first per village (the last one of a village is its status on `until`)."""
    return (ProfessionalVillageStatus.objects.filter(village__county_id=county_id, effective_from__lte=until)
            .order_by("village_id", "effective_from", "id"))
