"""Monthly payroll per broker: preview (recomputed on demand) → closed (payslips frozen, ledger
posted, a payout batch made) → paid.

A payslip is a list of labelled lines whose sum is the total, exactly:
- one line per (procedure, rate) of the month: the pieces × the rate recorded on the logs (the
  rate in force when each was logged), rounded half up to the fen once, on the line;
- an adjustment line per (month, procedure, rate, who logged it, reason) for logs and reversals
  of earlier, closed months that arrived after those months were closed, naming the month they
  belong to, the person who made them (only a broker's owner may) and the reason they gave;
- what a negative payslip of last month carried over;
- the attendance bonus (the broker's rule: present, and late no more days than allowed; not for
  home workers);
- the minimum-wage top-up for a worker on the full-time roster whose piece pay and bonus fall
  below the county minimum for the days she was present;
- a negative total is carried to next month (nobody is paid a negative amount).

Computation is set-based: one grouped query over the piece logs and one over attendance for a
run, whatever the number of logs; Python only walks the grouped rows."""
from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Count, F, IntegerField, Max, Min, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from accounts.selectors import minimum_wage_for
from brokers.models import Attendance, BrokerProfile, Membership, PieceLog, WorkMode, Worker
from brokers.selectors import month_of, piece_line_rows
from brokers.services.piecework import hold_payroll_open
from core.bounds import check_month_within, local_date
from core.errors import NotFound, ValidationFailed
from core.money import line_amount, round_amount
from core.realtime import groups, publish

from .errors import EarlierRunOpen, MonthNotOver, PeriodClosed, RunNotPreview
from .models import Account, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine
from .services import account_for, ledger_post

P = Account.Purpose
K = PayslipLine.Kind
ZERO = Decimal("0.00")
NO_BANK_ACCOUNT = "no_bank_account"  # a failure reason code, shown translated


# --- months ------------------------------------------------------------------------------------

def parse_month(value: str | date) -> date:
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        year, month = (int(part) for part in str(value).split("-")[:2])
        return date(year, month, 1)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Give the month as YYYY-MM."), field="month") from None


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def payroll_months(broker_id: int) -> tuple[date, date]:
    """The months a broker's payroll may be for (docs/money.md § Limits): from the month its first
    member joined (or the broker was created, if earlier or no one has joined yet) to this month."""
    this_month = timezone.localdate().replace(day=1)
    first_join = Membership.objects.filter(broker_id=broker_id).aggregate(first=Min("started_on"))["first"]
    created = Organisation.objects.filter(pk=broker_id).values_list("created_at", flat=True).first()
    starts = [day for day in (first_join, local_date(created) if created else None) if day is not None]
    earliest = min(starts).replace(day=1) if starts else this_month
    return min(earliest, this_month), this_month


def latest_closed_months(broker_ids: set[int]) -> dict[int, date]:
    """{broker: its latest closed (or paid) payroll month}, one query: every month up to it is
    closed, a month with no run of its own included (a later run settled it)."""
    rows = (PayrollRun.objects.filter(broker_id__in=broker_ids).exclude(status=PayrollRun.Status.PREVIEW)
            .values("broker_id").annotate(latest=Max("month")).values_list("broker_id", "latest").order_by())
    return dict(rows)


def check_payroll_month(broker_id: int, month: date) -> None:
    """Refuse a month outside payroll_months: a 400 naming `month` and the range."""
    earliest, latest = payroll_months(broker_id)
    check_month_within(month, field="month", earliest=earliest, latest=latest)


# --- computing ---------------------------------------------------------------------------------

@dataclass
class Window:
    """Which logs a run settles: up to `watermark`, those of months after `since_month` and,
    of `since_month` and before, those with an id above `since_watermark`."""
    since_month: date | None
    since_watermark: int
    watermark: int


def _previous_closed(broker_id: int, month: date) -> PayrollRun | None:
    return (PayrollRun.objects.filter(broker_id=broker_id, month__lt=month)
            .exclude(status=PayrollRun.Status.PREVIEW).order_by("-month").first())


def _window(broker_id: int, month: date) -> Window:
    previous = _previous_closed(broker_id, month)
    top = PieceLog.objects.filter(broker_id=broker_id).aggregate(m=Max("id"))["m"] or 0
    if previous is None:
        return Window(None, 0, top)
    return Window(previous.month, previous.watermark, max(top, previous.watermark))


def settled_logs(broker_id: int, month: date, window: Window):
    """The piece logs a run settles (see PayrollRun): two index ranges, (broker, work_date) for
    the months since the last close and (broker, id) for the late arrivals."""
    logs = PieceLog.objects.filter(broker_id=broker_id, pk__lte=window.watermark, work_date__lte=month_end(month))
    if window.since_month is None:
        return logs
    since_end = month_end(window.since_month)
    return logs.filter(Q(work_date__gt=since_end) | Q(work_date__lte=since_end, pk__gt=window.since_watermark))


def _piece_rows(broker_id: int, month: date, window: Window) -> list[dict[str, Any]]:
    # the worker's earnings group her logs the same way (brokers.selectors.piece_line_rows), so
    # her provisional lines are the payslip's lines; a late log of a closed month is grouped by
    # who made it and why as well, so that its adjustment line can name them
    logs = settled_logs(broker_id, month, window)
    if window.since_month is None:
        return piece_line_rows(logs, "worker_id")
    late = Q(work_date__lte=month_end(window.since_month))
    logs = logs.annotate(
        adjusted_by=Case(When(late, then=F("recorded_by_id")), default=None, output_field=IntegerField()),
        adjustment_reason=Case(When(late, then=F("reason")), default=Value(""), output_field=CharField()))
    return piece_line_rows(logs, "worker_id", "adjusted_by", "adjustment_reason")


def _adjusters(pieces: list[dict[str, Any]]) -> dict[int, str]:
    """The display names of the people who made late logs, in one query (none when there are none)."""
    ids = {row["adjusted_by"] for row in pieces if row.get("adjusted_by")}
    return {user.pk: str(user) for user in User.objects.filter(pk__in=ids)} if ids else {}


def _attendance(broker_id: int, month: date) -> dict[int, tuple[int, int]]:
    rows = (Attendance.objects.filter(broker_id=broker_id, date__gte=month, date__lte=month_end(month))
            .values("worker_id")
            .annotate(present=Count("id", filter=Q(mark__in=[Attendance.Mark.ON_TIME, Attendance.Mark.LATE])),
                      late=Count("id", filter=Q(mark=Attendance.Mark.LATE))))
    return {r["worker_id"]: (r["present"], r["late"]) for r in rows}


def _carried_in(broker_id: int, month: date) -> dict[int, tuple[Decimal, date]]:
    previous = _previous_closed(broker_id, month)
    if previous is None:
        return {}
    rows = PayslipLine.objects.filter(payslip__run=previous, kind=K.CARRIED_FORWARD).values_list(
        "payslip__worker_id", "amount")
    return {worker_id: (amount, previous.month) for worker_id, amount in rows}


@dataclass
class Draft:
    worker_id: int
    worker_name: str
    lines: list[dict[str, Any]]
    days_present: int = 0
    days_late: int = 0

    @property
    def total(self) -> Decimal:
        return sum((line["amount"] for line in self.lines), ZERO)


def compute(broker_id: int, month: date, window: Window) -> list[Draft]:
    """The payslips of a run, as drafts, from one grouped query over the logs and one over
    attendance. Pure reads: the caller stores them."""
    profile = BrokerProfile.objects.select_related("organisation__jurisdiction").get(organisation_id=broker_id)
    wage = minimum_wage_for(county_id=profile.organisation.jurisdiction.county_id, on=month_end(month))
    pieces = _piece_rows(broker_id, month, window)
    attendance = _attendance(broker_id, month)
    carried = _carried_in(broker_id, month)
    worker_ids = {r["worker_id"] for r in pieces} | set(attendance) | set(carried)
    workers = {w["id"]: w for w in Worker.objects.filter(pk__in=worker_ids).values(
        "id", "name", "work_mode", "full_time_roster")}

    adjusters = _adjusters(pieces)
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in pieces:
        if not row["quantity"]:
            continue  # a log and its reversal in the same window (and by the same hand) cancel out
        work_month = month_of(row["work_month"])
        params = {"procedure": row["procedure__name"]}
        if row.get("adjusted_by"):
            params.update(adjusted_by=row["adjusted_by"], adjusted_by_name=adjusters.get(row["adjusted_by"], ""),
                          reason=row["adjustment_reason"])
        lines[row["worker_id"]].append({
            "kind": K.PIECES if work_month == month else K.ADJUSTMENT, "work_month": work_month,
            "procedure_id": row["procedure_id"], "rate": row["rate"], "quantity": row["quantity"],
            "amount": line_amount(row["quantity"], row["rate"]), "params": params,
        })

    drafts = []
    for worker_id in sorted(worker_ids):
        worker = workers[worker_id]
        own = sorted(lines[worker_id], key=lambda x: (
            x["kind"] != K.PIECES, x["work_month"], x["procedure_id"], x["rate"],
            x["params"].get("adjusted_by") or 0, x["params"].get("reason", "")))
        draft = Draft(worker_id, worker["name"], own)
        present, late = attendance.get(worker_id, (0, 0))
        draft.days_present, draft.days_late = present, late
        if worker_id in carried:
            amount, from_month = carried[worker_id]
            own.append({"kind": K.CARRIED_IN, "work_month": from_month, "amount": -amount,
                        "params": {"month": f"{from_month:%Y-%m}"}})
        earned = sum((x["amount"] for x in own if x["kind"] == K.PIECES), ZERO)
        bonus = ZERO
        if (profile.attendance_bonus_enabled and profile.attendance_bonus > 0 and present > 0
                and worker["work_mode"] != WorkMode.HOME and late <= profile.late_days_allowed):
            bonus = profile.attendance_bonus
            own.append({"kind": K.ATTENDANCE_BONUS, "work_month": month, "amount": bonus,
                        "params": {"present": present, "late": late, "allowed": profile.late_days_allowed}})
        if worker["full_time_roster"] and present > 0:
            # the monthly minimum is for a month's normal working days: days beyond them (work on
            # rest days) do not raise the guaranteed minimum above the monthly amount
            counted = min(Decimal(present), wage.days_per_month)
            minimum = round_amount(wage.monthly_amount * counted / wage.days_per_month)
            if earned + bonus < minimum:
                days = int(counted) if counted == int(counted) else str(counted)
                own.append({"kind": K.MINIMUM_WAGE_TOP_UP, "work_month": month, "amount": minimum - earned - bonus,
                            "params": {"present": days, "monthly": str(wage.monthly_amount),
                                       "days": str(wage.days_per_month), "minimum": str(minimum),
                                       "earned": str(earned + bonus)}})
        if draft.total < 0:
            own.append({"kind": K.CARRIED_FORWARD, "work_month": month, "amount": -draft.total,
                        "params": {"month": f"{next_month(month):%Y-%m}"}})
        if own:
            drafts.append(draft)
    return drafts


def _store(run: PayrollRun, drafts: list[Draft]) -> None:
    run.payslips.all().delete()  # a preview only: closed payslips are never recomputed
    slips = Payslip.objects.bulk_create(
        Payslip(run=run, worker_id=d.worker_id, worker_name=d.worker_name, total=d.total,
                days_present=d.days_present, days_late=d.days_late) for d in drafts)
    PayslipLine.objects.bulk_create(
        PayslipLine(payslip=slip, position=i, kind=line["kind"], work_month=line["work_month"],
                    procedure_id=line.get("procedure_id"), rate=line.get("rate"), quantity=line.get("quantity"),
                    amount=line["amount"], params=line["params"])
        for slip, draft in zip(slips, drafts) for i, line in enumerate(draft.lines, start=1))
    run.total = sum((d.total for d in drafts), ZERO)
    run.computed_at = timezone.now()


# --- who may ------------------------------------------------------------------------------------

def _owner_broker(actor: User) -> int:
    from brokers.services.workforce import broker_of

    return broker_of(actor, owner_only=True)


def _locked_run(actor: User | None, run_id: int) -> PayrollRun:
    # the run row only: the default ordering joins the broker, and a plain FOR UPDATE would lock
    # it too, holding up (and deadlocking with) every write that references the broker
    run = PayrollRun.objects.select_for_update(of=("self",)).filter(pk=run_id).first()
    if run is None or (actor is not None and not actor.is_admin_role and run.broker_id != _owner_broker(actor)):
        raise NotFound()
    return run


# --- transitions --------------------------------------------------------------------------------

@transaction.atomic
def payroll_preview(*, actor: User, month: str | date, broker_id: int | None = None) -> tuple[PayrollRun, bool]:
    """Create the month's run as a preview, or recompute the preview there is. Returns the run
    and whether it was created."""
    month = parse_month(month)
    if actor.is_admin_role:
        broker = Organisation.objects.filter(pk=broker_id, kind=Organisation.Kind.BROKER).first() \
            if broker_id is not None else None
        if broker is None:
            raise ValidationFailed(_("Name the broker whose payroll this is."), field="broker")
    else:
        broker_id = _owner_broker(actor)
    check_payroll_month(broker_id, month)
    run, created = PayrollRun.objects.get_or_create(broker_id=broker_id, month=month)
    run = PayrollRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
    # share the broker's payroll lock, as loggers do: a later month closing meanwhile is seen
    # below (else this preview would settle again the logs that close settles)
    hold_payroll_open({broker_id})
    latest = (PayrollRun.objects.filter(broker_id=broker_id).exclude(status=PayrollRun.Status.PREVIEW)
              .order_by("-month").values_list("month", flat=True).first())
    if latest is not None and month <= latest:
        raise PeriodClosed(params={"month": f"{month:%Y-%m}"}, field="month")
    if run.status != PayrollRun.Status.PREVIEW:
        raise RunNotPreview()
    _recompute(run)
    return run, created


def _recompute(run: PayrollRun) -> None:
    window = _window(run.broker_id, run.month)
    run.since_month, run.since_watermark, run.watermark = window.since_month, window.since_watermark, window.watermark
    _store(run, compute(run.broker_id, run.month, window))
    run.save()


@transaction.atomic
def payroll_recompute(*, actor: User, run_id: int) -> PayrollRun:
    run = _locked_run(actor, run_id)
    if run.status != PayrollRun.Status.PREVIEW:
        raise RunNotPreview()
    check_payroll_month(run.broker_id, run.month)
    _recompute(run)
    return run


def payroll_close(*, actor: User | None, run_id: int) -> PayrollRun:
    """Freeze the run: recompute under the broker's payroll lock (no piece log can commit behind
    the watermark while it is held), post the ledger, make the first payout batch. `actor` None
    is the scheduled auto-close."""
    with transaction.atomic():
        run = _locked_run(actor, run_id)
        # the broker's profile row, exclusively: loggers hold it shared (hold_payroll_open)
        BrokerProfile.objects.select_for_update().filter(organisation_id=run.broker_id).first()
        if run.status != PayrollRun.Status.PREVIEW:
            raise RunNotPreview()
        if month_end(run.month) >= timezone.localdate():
            raise MonthNotOver()
        check_payroll_month(run.broker_id, run.month)
        # a preview of a month outside the range (made before it was enforced) holds nothing up
        earliest, _latest = payroll_months(run.broker_id)
        earlier = (PayrollRun.objects.filter(broker_id=run.broker_id, month__gte=earliest, month__lt=run.month,
                                             status=PayrollRun.Status.PREVIEW).order_by("month").first())
        if earlier is not None:
            raise EarlierRunOpen(params={"month": f"{earlier.month:%Y-%m}"})
        _recompute(run)
        run.closed_at, run.closed_by = timezone.now(), actor
        run.ledger = _post_wages(run)
        run.status = PayrollRun.Status.CLOSED
        run.save()
        batch = _first_batch(run)
        if batch is None:  # nothing to pay (an empty month, or every total carried forward)
            run.status, run.paid_at = PayrollRun.Status.PAID, run.closed_at
            run.save(update_fields=["status", "paid_at"])
        publish(groups.broker(run.broker_id), "payroll.closed", {"run": run.pk, "month": f"{run.month:%Y-%m}"})
        for worker_id in run.payslips.values_list("worker_id", flat=True):
            publish(groups.worker(worker_id), "payslip.ready", {"run": run.pk, "month": f"{run.month:%Y-%m}"})
    return run


def _post_wages(run: PayrollRun):
    owed = list(run.payslips.filter(total__gt=0).select_related("worker").order_by("worker_id"))
    if not owed:
        return None
    broker = run.broker
    total = sum((slip.total for slip in owed), ZERO)
    lines = [(account_for(purpose=P.BROKER_WAGES_EXPENSE, organisation=broker), total)]
    lines += [(account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=broker, worker=slip.worker), -slip.total)
              for slip in owed]
    return ledger_post(key=f"payroll:{run.pk}", kind="payroll", memo=f"payroll {broker.pk} {run.month:%Y-%m}",
                       lines=lines, actor=run.closed_by)


def _item_for(batch: PayoutBatch, slip: Payslip, amount: Decimal) -> PayoutItem:
    """A worker without bank details is not sent to the bank: her item fails at once, and a
    retry batch pays her once the details are on file."""
    worker = slip.worker
    missing = not (worker.bank_name.strip() and worker.bank_account.strip())
    return PayoutItem(batch=batch, payslip=slip, worker=worker, account_holder=worker.name,
                      bank_name=worker.bank_name, bank_account=worker.bank_account, amount=amount,
                      reference=f"LL{batch.run.month:%Y%m}-{batch.run.broker_id}-{worker.pk}-{batch.number}",
                      status=PayoutItem.Status.FAILED if missing else PayoutItem.Status.PENDING,
                      failure_reason=NO_BANK_ACCOUNT if missing else "")


def _first_batch(run: PayrollRun) -> PayoutBatch | None:
    owed = list(run.payslips.filter(total__gt=0).select_related("worker"))
    if not owed:
        return None
    batch = PayoutBatch.objects.create(run=run, number=1)
    PayoutItem.objects.bulk_create(_item_for(batch, slip, slip.total) for slip in owed)
    return batch


# --- reading ------------------------------------------------------------------------------------

def describe(line: PayslipLine, *, with_note: bool = True) -> tuple[str, str]:
    """The line's label and explanation, in the active language; an adjustment's explanation ends
    with who made it and why (`adjustment_note`), unless `with_note` is false."""
    p = line.params or {}
    month = f"{line.work_month:%Y-%m}"
    if line.kind in (K.PIECES, K.ADJUSTMENT):
        label = p.get("procedure") or (line.procedure.name if line.procedure_id else "")
        explanation = _("%(n)s pieces × %(rate)s yuan = %(amount)s, rounded to the fen") % {
            "n": line.quantity, "rate": line.rate, "amount": line.quantity * line.rate}
        if line.kind == K.ADJUSTMENT:
            label = _("%(procedure)s, work of %(month)s") % {"procedure": label, "month": month}
            explanation = _("Logged or corrected after %(month)s was closed: ") % {"month": month} + explanation
            note = adjustment_note(line) if with_note else ""
            if note:
                explanation = f"{explanation}. {note}"
        return label, explanation
    if line.kind == K.ATTENDANCE_BONUS:
        return (str(K.ATTENDANCE_BONUS.label),
                _("Present %(present)s days, late %(late)s (the rule allows %(allowed)s)") % p)
    if line.kind == K.MINIMUM_WAGE_TOP_UP:
        return (str(K.MINIMUM_WAGE_TOP_UP.label),
                _("Full-time roster: %(present)s days × %(monthly)s / %(days)s = %(minimum)s minimum; "
                  "pay and bonus were %(earned)s") % p)
    if line.kind == K.CARRIED_IN:
        return str(K.CARRIED_IN.label), _("The negative balance of %(month)s's payslip") % p
    return str(K.CARRIED_FORWARD.label), _("Nobody is paid a negative amount: carried to the next payroll")


def adjustment_note(line: PayslipLine) -> str:
    """Who made an adjustment line's late logs, and why ("" for other lines)."""
    p = line.params or {}
    if line.kind != K.ADJUSTMENT or not p.get("adjusted_by"):
        return ""
    return _("By %(name)s: %(reason)s") % {"name": p.get("adjusted_by_name", ""), "reason": p.get("reason", "")}


def setting_auto_close_day() -> int:
    return int(getattr(settings, "PAYROLL_AUTO_CLOSE_DAY", 5))


# --- reconciliation -----------------------------------------------------------------------------

def reconciliation(slip: Payslip) -> dict[str, Any]:
    """Line by line: what the worker saw as provisional earnings for the month (her logs with this
    broker, grouped and rounded exactly as a payslip line) against the payslip's piece lines.
    A difference is work logged or corrected after the run closed: it is settled as an
    adjustment line in the next open month."""
    from brokers.selectors import earning_lines

    run = slip.run
    logs = PieceLog.objects.filter(worker_id=slip.worker_id, broker_id=run.broker_id, work_date__gte=run.month,
                                   work_date__lte=month_end(run.month))
    seen = {(line.procedure_id, line.rate): line for line in earning_lines(logs)}
    later = {(line.procedure_id, line.rate): line for line in earning_lines(logs.filter(pk__gt=run.watermark))}
    paid = {(line.procedure_id, line.rate): line for line in slip.lines.all() if line.kind == K.PIECES}
    rows = []
    for key in sorted(set(seen) | set(paid), key=lambda k: (k[0], k[1])):
        shown, line, late = seen.get(key), paid.get(key), later.get(key)
        rows.append({
            "procedure": key[0], "procedure_name": shown.procedure_name if shown else line.params.get("procedure", ""),
            "rate": key[1],
            "provisional_quantity": shown.quantity if shown else 0,
            "provisional_amount": shown.amount if shown else ZERO,
            "payslip_quantity": line.quantity if line else 0,
            "payslip_amount": line.amount if line else ZERO,
            "after_close_quantity": late.quantity if late and run.status != PayrollRun.Status.PREVIEW else 0,
            "difference": (shown.amount if shown else ZERO) - (line.amount if line else ZERO),
        })
    return {
        "rows": rows,
        "provisional_total": sum((r["provisional_amount"] for r in rows), ZERO),
        "payslip_piece_total": sum((r["payslip_amount"] for r in rows), ZERO),
        "other_lines_total": sum((line.amount for line in slip.lines.all() if line.kind != K.PIECES), ZERO),
        "payslip_total": slip.total,
    }
