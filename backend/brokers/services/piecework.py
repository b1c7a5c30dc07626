"""Piecework: bundles, piece rates, piece logs (single and bulk), reversals and disputes.

Piece logs are the big table. Recording one or a thousand rows is the same path: resolve and
validate every row, lock the bundles involved (in id order, so two batches never deadlock),
check the bundle-size cap with one aggregate, insert in bulk. A client id seen before is the
same log sent again and is answered with the first result."""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Role, User
from accounts.selectors import minimum_wage_for
from core.bounds import check_date_within, date_out_of_range, days_from_today
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from core.realtime import groups, publish
from orders.models import Award, Procedure

from .. import limits
from ..calculations import procedure_floor
from ..errors import (
    AdjustmentReasonRequired, AlreadyReversed, BundleOverfilled, ClientIdReused, DisputeClosed, DisputeWindowClosed,
    DuplicateScan, MonthClosed, NotAMember, RateAlreadyScheduled, RateBelowFloor, ScanTooLarge, TicketRequired,
)
from ..models import BrokerProfile, Bundle, Dispute, Membership, Organisation, PieceLog, PieceRate
from .workforce import broker_of

MAX_BULK_ROWS = 1000


# --- bundles -----------------------------------------------------------------------------------

@transaction.atomic
def bundles_cut(*, actor: User, award_id: int, size: int) -> list[Bundle]:
    """Cut what is left of an award into bundles of `size` pieces (the last may be smaller)."""
    broker_id = broker_of(actor)
    award = Award.objects.select_for_update().filter(pk=award_id, broker_id=broker_id).first()
    if award is None:
        raise NotFound()
    if award.status != Award.Status.ACTIVE:
        raise DomainError(_("Only an active award can be cut into bundles."), code="award_not_active")
    if size <= 0:
        raise ValidationFailed(_("A bundle holds at least one piece."), field="size")
    existing = Bundle.objects.filter(award=award)
    cut = existing.aggregate(n=Sum("size"))["n"] or 0
    left = award.quantity - cut
    if left <= 0:
        raise DomainError(_("The whole award is already cut into bundles."), code="award_fully_bundled")
    start = (existing.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    sizes = [size] * (left // size) + ([left % size] if left % size else [])
    return Bundle.objects.bulk_create(
        Bundle(award=award, broker_id=broker_id, number=start + i, size=n, code=secrets.token_hex(8),
               created_by=actor)
        for i, n in enumerate(sizes)
    )


# --- piece rates -------------------------------------------------------------------------------

def _floor(procedure: Procedure, broker: Organisation, on: date) -> Decimal:
    wage = minimum_wage_for(county_id=broker.jurisdiction.county_id, on=on)
    return procedure_floor(standard_minutes=procedure.standard_minutes, wage_per_minute=wage.per_minute)


@transaction.atomic
def piece_rate_set(*, actor: User, award_id: int, procedure_id: int, rate: Decimal,
                   effective_from: datetime | None = None) -> PieceRate:
    """Set a procedure's piece rate from a moment on (now by default). Never backdated: the logs
    already recorded keep the rate that was in force when they were recorded."""
    broker_id = broker_of(actor, owner_only=True)
    # lock the award only: the broker and its jurisdiction are joined to read the county's wage,
    # and locking them would queue every broker of the township behind one rate change
    award = Award.objects.select_for_update(of=("self",)).select_related("broker__jurisdiction").filter(
        pk=award_id, broker_id=broker_id).first()
    if award is None:
        raise NotFound()
    procedure = Procedure.objects.filter(pk=procedure_id, order_id=award.order_id).first()
    if procedure is None:
        raise ValidationFailed(_("Not a procedure of this award's order."), field="procedure")
    now = timezone.now()
    effective_from = effective_from or now
    if effective_from < now - timedelta(seconds=5):
        raise ValidationFailed(_("A rate cannot start in the past."), field="effective_from")
    check_date_within(effective_from, field="effective_from", latest=days_from_today(limits.RATE_MAX_DAYS_AHEAD))
    # the wage in force when the rate starts: a raise already announced binds rates starting after it
    floor = _floor(procedure, award.broker, timezone.localdate(max(effective_from, now)))
    if rate < floor:
        raise RateBelowFloor(params={"floor": floor}, field="rate")
    if PieceRate.objects.filter(award=award, procedure=procedure, effective_from=effective_from).exists():
        raise RateAlreadyScheduled(field="effective_from")
    return PieceRate.objects.create(award=award, procedure=procedure, rate=rate, effective_from=effective_from,
                                    set_by=actor)


def rates_in_force(pairs: set[tuple[int, int]], at: datetime) -> dict[tuple[int, int], Decimal]:
    """{(award, procedure): rate} in force at `at`, in one query for any number of pairs."""
    if not pairs:
        return {}
    award_ids = {a for a, _ in pairs}
    rows = (PieceRate.objects.filter(award_id__in=award_ids, effective_from__lte=at)
            .order_by("award_id", "procedure_id", "effective_from")
            .values_list("award_id", "procedure_id", "rate"))
    found: dict[tuple[int, int], Decimal] = {}
    for award_id, procedure_id, rate in rows:
        found[(award_id, procedure_id)] = rate  # ordered by time: the last one wins
    return {pair: found[pair] for pair in pairs if pair in found}


# --- piece logs --------------------------------------------------------------------------------

ClosedMonths = Callable[[set[int]], dict[int, date]]


def _no_payroll(broker_ids: set[int]) -> dict[int, date]:
    return {}


_closed_months: list[ClosedMonths] = [_no_payroll]


def closed_months_from(lookup: ClosedMonths) -> None:
    """The payments app (which owns payroll, and which brokers may not import) tells piecework
    which months are closed: `lookup(broker ids)` is {broker: its latest closed payroll month},
    one query for any number of brokers. Registered from payments' AppConfig.ready."""
    _closed_months[0] = lookup


def closed_through(broker_ids: set[int]) -> dict[int, date]:
    """{broker: the latest month whose payroll is closed or paid}: a work date in that month or
    before is in a closed month (an earlier month without a run was settled by a later one)."""
    return _closed_months[0](broker_ids) if broker_ids else {}


def in_closed_month(work_date: date, through: date | None) -> bool:
    return through is not None and work_date.replace(day=1) <= through


def hold_payroll_open(broker_ids: set[int]) -> None:
    """Share the brokers' profile rows until this transaction commits. A payroll close takes the
    row exclusively and settles every log up to the highest id it sees (its watermark): holding
    the share before a log gets its id means no log can commit below a watermark afterwards.
    On SQLite every write transaction is already exclusive (BEGIN IMMEDIATE)."""
    if connection.vendor != "postgresql" or not broker_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {BrokerProfile._meta.db_table} WHERE organisation_id = ANY(%s) "
                       "ORDER BY organisation_id FOR SHARE", [sorted(broker_ids)])


@dataclass
class RowResult:
    index: int
    log: PieceLog | None = None
    duplicate: bool = False
    errors: list[tuple[str | None, DomainError]] = field(default_factory=list)


def _membership_open(broker_id: int, worker_ids: set[int], work_dates: set[date]) -> set[tuple[int, date]]:
    """(worker, date) pairs at which the worker is a member of the broker."""
    rows = Membership.objects.filter(broker_id=broker_id, worker_id__in=worker_ids).values_list(
        "worker_id", "started_on", "ended_on")
    ok = set()
    for worker_id, start, end in rows:
        for day in work_dates:
            if start <= day and (end is None or day <= end):
                ok.add((worker_id, day))
    return ok


def _source_for(actor: User) -> str:
    if actor.is_worker:
        return PieceLog.Source.SCAN
    return PieceLog.Source.TEAM_HEAD if actor.role == "team_head" else PieceLog.Source.BROKER


def _same(log: PieceLog, row: dict[str, Any]) -> bool:
    return (log.worker_id, log.bundle_id, log.procedure_id, log.quantity, log.work_date) == (
        row["worker_id"], row["bundle_id"], row["procedure_id"], row["quantity"], row["work_date"])


def piece_logs_record(*, actor: User, rows: list[dict[str, Any]]) -> list[RowResult]:
    """Record piece logs, all or nothing. Each row: worker (id; a worker scanning may omit it),
    bundle (id) or bundle_code (the ticket's QR), procedure (id), quantity, work_date, client_id,
    reason (required for work of a closed payroll month). A worker records only her own pieces,
    by the ticket's code, of today (or WORKER_LOG_WINDOW_DAYS back), at most
    WORKER_SCAN_MAX_QUANTITY a scan; only the broker's owner logs work into a closed month.
    Returns one result per row; raises with every bad row's errors, by index, writing nothing."""
    if not rows:
        raise ValidationFailed(_("Send at least one row."), field="rows")
    if len(rows) > MAX_BULK_ROWS:
        raise ValidationFailed(_("At most %(n)s rows per request.") % {"n": MAX_BULK_ROWS}, field="rows")
    with transaction.atomic():
        results = _record(actor, rows)
        bad = [r for r in results if r.errors]
        if bad:
            raise _combined(bad, single=len(rows) == 1)
    _notify([r.log for r in results if r.log is not None and not r.duplicate])
    return results


def rows_not_valid(n: int) -> str:
    return ngettext("%(n)s row is not valid; nothing was recorded.",
                    "%(n)s rows are not valid; nothing was recorded.", n) % {"n": n}


def _combined(bad: list[RowResult], *, single: bool) -> DomainError:
    if single:  # one row: its own error, with its own code and status
        field_name, error = bad[0].errors[0]
        if field_name and not error.fields:
            error.fields = {field_name: [error.message]}
        return error
    fields: dict[str, list[str]] = defaultdict(list)
    for result in bad:
        for field_name, error in result.errors:
            fields[f"rows.{result.index}.{field_name or 'non_field_errors'}"].append(error.message)
    return ValidationFailed(rows_not_valid(len(bad)),
                            code="invalid_rows", fields=dict(fields))


def _record(actor: User, rows: list[dict[str, Any]]) -> list[RowResult]:
    now = timezone.now()
    results = [RowResult(index=i) for i in range(len(rows))]
    scanning = actor.is_worker
    self_worker = getattr(actor, "worker", None) if scanning else None
    if scanning and self_worker is None:
        raise Forbidden()
    broker_id = None if scanning else broker_of(actor)
    owner = actor.role == Role.BROKER_OWNER
    today = timezone.localdate()

    # Resolve bundles (by id or ticket code), locked in id order. Only the bundle rows: the joined
    # award is read, not locked (no queue behind the award, no X→Y / Y→X deadlock across awards).
    # A worker names a bundle only by the code on the ticket in her hands, never by its id.
    ids = set() if scanning else {r.get("bundle") for r in rows if r.get("bundle")}
    codes = {r.get("bundle_code") for r in rows if r.get("bundle_code")}
    bundle_q = Q(pk__in=ids) | Q(code__in=codes)
    if broker_id is not None:
        bundle_q &= Q(broker_id=broker_id)
    bundles = {b.pk: b for b in Bundle.objects.select_for_update(of=("self",)).filter(bundle_q).order_by("pk")
               .select_related("award")}
    by_code = {b.code: b for b in bundles.values()}

    resolved: list[dict[str, Any] | None] = []
    for result, row in zip(results, rows):
        if scanning and row.get("bundle"):
            result.errors.append(("bundle", TicketRequired()))
            resolved.append(None)
            continue
        bundle = bundles.get(row.get("bundle")) if row.get("bundle") else by_code.get(row.get("bundle_code"))
        if bundle is None:
            result.errors.append(("bundle", NotFound(_("No such bundle in your workforce's work."))))
            resolved.append(None)
            continue
        worker_id = self_worker.pk if scanning else row.get("worker")
        if scanning and row.get("worker") not in (None, self_worker.pk):
            result.errors.append(("worker", Forbidden(_("You can record only your own pieces."))))
        if worker_id is None:
            result.errors.append(("worker", ValidationFailed(_("Name the worker."))))
        # a log is at least one piece: only a reversal, naming its log, takes pieces away
        if not isinstance(row.get("quantity"), int) or isinstance(row["quantity"], bool) or row["quantity"] < 1:
            result.errors.append(("quantity", ValidationFailed(_("Log at least one piece."))))
        elif scanning and row["quantity"] > settings.WORKER_SCAN_MAX_QUANTITY:
            result.errors.append(("quantity", ScanTooLarge(params={"max": settings.WORKER_SCAN_MAX_QUANTITY})))
        resolved.append({"bundle": bundle, "bundle_id": bundle.pk, "worker_id": worker_id,
                         "procedure_id": row["procedure"], "quantity": row["quantity"],
                         "work_date": row["work_date"], "client_id": row["client_id"],
                         "reason": (row.get("reason") or "").strip()})

    good = [(res, row) for res, row in zip(results, resolved) if row is not None and not res.errors]
    if not good:
        return results

    # Resends: a client id seen before is the same log again, or a misuse.
    seen = {log.client_id: log for log in PieceLog.objects.filter(client_id__in=[r["client_id"] for _, r in good])}
    first_in_batch: dict[str, tuple[RowResult, dict[str, Any]]] = {}
    twins: list[tuple[RowResult, RowResult]] = []
    for res, row in good:
        previous = seen.get(row["client_id"])
        if previous is not None:
            if _same(previous, row):
                res.log, res.duplicate = previous, True
            else:
                res.errors.append(("client_id", ClientIdReused()))
        elif row["client_id"] in first_in_batch:
            # the same row twice in one request (a phone's queue resent into itself) counts once
            first_res, first_row = first_in_batch[row["client_id"]]
            if all(first_row[k] == row[k] for k in ("worker_id", "bundle_id", "procedure_id", "quantity",
                                                    "work_date")):
                res.duplicate = True
                twins.append((res, first_res))
            else:
                res.errors.append(("client_id", ClientIdReused()))
        else:
            first_in_batch[row["client_id"]] = (res, row)
    fresh = [(res, row) for res, row in good if not res.errors and not res.duplicate]

    procedures = {p.pk: p for p in Procedure.objects.filter(pk__in={r["procedure_id"] for _, r in fresh})}
    members = set()
    for b_id in {r["bundle"].broker_id for _, r in fresh}:
        members |= {(b_id, *pair) for pair in _membership_open(
            b_id, {r["worker_id"] for _, r in fresh}, {r["work_date"] for _, r in fresh})}
    rates = rates_in_force({(r["bundle"].award_id, r["procedure_id"]) for _, r in fresh}, now)
    totals = _bundle_totals({(r["bundle_id"], r["procedure_id"]) for _, r in fresh})
    guard = settings.PIECE_SCAN_GUARD_SECONDS
    recent_scans = _recent_scans(fresh, now - timedelta(seconds=guard)) if scanning else set()
    # Hold the brokers' payroll open before reading which months are closed, so that no close
    # commits between the check and the insert (see hold_payroll_open); one query for all rows.
    broker_ids = {r["bundle"].broker_id for _, r in fresh}
    hold_payroll_open(broker_ids)
    closed = closed_through(broker_ids)

    oldest_work_date = days_from_today(-limits.PIECE_LOG_MAX_AGE_DAYS)
    oldest_scan_date = max(today - timedelta(days=max(settings.WORKER_LOG_WINDOW_DAYS, 0)), oldest_work_date)
    for res, row in fresh:
        bundle, procedure = row["bundle"], procedures.get(row["procedure_id"])
        if procedure is None or procedure.order_id != bundle.award.order_id:
            res.errors.append(("procedure", ValidationFailed(_("Not a procedure of this bundle's order."))))
            continue
        if row["work_date"] > today:
            res.errors.append(("work_date", ValidationFailed(_("The work date cannot be in the future."))))
            continue
        too_old = date_out_of_range(row["work_date"], field="work_date",
                                    earliest=oldest_scan_date if scanning else oldest_work_date,
                                    latest=today if scanning else None)
        if too_old is not None:
            res.errors.append(("work_date", too_old))
            continue
        if in_closed_month(row["work_date"], closed.get(bundle.broker_id)):
            month = {"month": f"{row['work_date']:%Y-%m}"}
            if not owner:
                res.errors.append(("work_date", MonthClosed(params=month)))
                continue
            if not row["reason"]:
                res.errors.append(("reason", AdjustmentReasonRequired(params=month)))
                continue
        if (bundle.broker_id, row["worker_id"], row["work_date"]) not in members:
            res.errors.append(("worker", NotAMember()))
            continue
        rate = rates.get((bundle.award_id, procedure.pk))
        if rate is None:
            res.errors.append(("procedure", DomainError(_("No piece rate is set for this procedure yet."),
                                                        code="no_piece_rate")))
            continue
        key = (bundle.pk, procedure.pk)
        if key in recent_scans:
            res.errors.append(("bundle", DuplicateScan(params={"seconds": guard})))
            continue
        if totals[key] + row["quantity"] > bundle.size:
            res.errors.append(("quantity", BundleOverfilled(
                params={"left": bundle.size - totals[key], "bundle": str(bundle)})))
            continue
        totals[key] += row["quantity"]
        if scanning:
            recent_scans.add(key)
        res.log = PieceLog(broker_id=bundle.broker_id, worker_id=row["worker_id"], bundle=bundle,
                           procedure=procedure, quantity=row["quantity"], work_date=row["work_date"], rate=rate,
                           source=_source_for(actor), recorded_by=actor, recorded_at=now,
                           client_id=row["client_id"], reason=row["reason"])

    if not any(r.errors for r in results):
        new = [r for r in results if r.log is not None and not r.duplicate]
        try:
            with transaction.atomic():
                PieceLog.objects.bulk_create([r.log for r in new])
        except IntegrityError:
            # A concurrent request took one of these client ids for other pieces (other awards'
            # bundles: no lock of ours serialises the two), a misuse to answer as one.
            taken = _client_ids_taken([r.log.client_id for r in new])
            if not taken:
                raise
            for r in new:
                if r.log.client_id in taken:
                    r.errors.append(("client_id", ClientIdReused()))
        for twin, first in twins:
            twin.log = first.log
    return results


def _client_ids_taken(client_ids: list[str]) -> set[str]:
    return set(PieceLog.objects.filter(client_id__in=client_ids).values_list("client_id", flat=True))


def _bundle_totals(keys: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    totals: dict[tuple[int, int], int] = defaultdict(int)
    if keys:
        rows = (PieceLog.objects.filter(bundle_id__in={b for b, _ in keys}, procedure_id__in={p for _, p in keys})
                .values("bundle_id", "procedure_id").annotate(n=Sum("quantity")))
        for row in rows:
            totals[(row["bundle_id"], row["procedure_id"])] = row["n"] or 0
    return totals


def _recent_scans(rows, since: datetime) -> set[tuple[int, int]]:
    worker_ids = {r["worker_id"] for _, r in rows}
    return set(PieceLog.objects.filter(worker_id__in=worker_ids, source=PieceLog.Source.SCAN, recorded_at__gte=since,
                                       bundle_id__in={r["bundle_id"] for _, r in rows}, quantity__gt=0)
               .values_list("bundle_id", "procedure_id"))


def _notify(logs: list[PieceLog]) -> None:
    """Tell each worker her earnings moved and each broker its bundles progressed (after commit)."""
    if not logs:
        return
    for worker_id in {log.worker_id for log in logs}:
        publish(groups.worker(worker_id), "piece.logged", {
            "logs": [log.pk for log in logs if log.worker_id == worker_id],
        })
    for broker_id in {log.broker_id for log in logs}:
        mine = [log for log in logs if log.broker_id == broker_id]
        publish(groups.broker(broker_id), "bundle.progress", {
            "bundles": sorted({log.bundle_id for log in mine}), "pieces": sum(log.quantity for log in mine),
        })


@transaction.atomic
def piece_log_reverse(*, actor: User, log_id: int, reason: str, quantity: int | None = None,
                      client_id: str | None = None) -> PieceLog:
    """Correct a log with a reversing log of `quantity` pieces (all of it by default), with a
    reason: the broker's owner or a team head; of a closed payroll month, the owner only (the
    reversal is an adjustment on the next payslip, naming who made it and why)."""
    broker_id = broker_of(actor)
    log = PieceLog.objects.select_for_update().filter(pk=log_id, broker_id=broker_id).first()
    if log is None:
        raise NotFound()
    return _reverse(actor=actor, log=log, reason=reason, quantity=quantity, client_id=client_id,
                    owner_only_when_closed=True)


def _reverse(*, actor: User, log: PieceLog, reason: str, quantity: int | None, client_id: str | None,
             owner_only_when_closed: bool = False) -> PieceLog:
    if client_id:
        previous = PieceLog.objects.filter(client_id=client_id).first()
        if previous is not None:
            if previous.reverses_id == log.pk:
                return previous
            raise ClientIdReused(field="client_id")
    if log.reverses_id is not None:
        raise DomainError(_("A reversal cannot itself be reversed."), code="reversal_of_reversal")
    if PieceLog.objects.filter(reverses=log).exists():
        raise AlreadyReversed()
    if not reason.strip():
        raise ValidationFailed(_("Say why the log is corrected."), field="reason")
    quantity = log.quantity if quantity is None else quantity
    if not 0 < quantity <= log.quantity:
        raise ValidationFailed(_("Reverse between 1 and %(n)s pieces.") % {"n": log.quantity}, field="quantity")
    Bundle.objects.select_for_update().filter(pk=log.bundle_id).first()
    hold_payroll_open({log.broker_id})
    if owner_only_when_closed and actor.role != Role.BROKER_OWNER and in_closed_month(
            log.work_date, closed_through({log.broker_id}).get(log.broker_id)):
        raise Forbidden(_("The payroll of %(month)s is closed: only the broker's owner may correct its logs.")
                        % {"month": f"{log.work_date:%Y-%m}"})
    try:
        with transaction.atomic():
            reversal = PieceLog.objects.create(
                broker_id=log.broker_id, worker_id=log.worker_id, bundle_id=log.bundle_id,
                procedure_id=log.procedure_id, quantity=-quantity, work_date=log.work_date, rate=log.rate,
                source=_source_for(actor), recorded_by=actor,
                client_id=client_id or f"reversal-{log.pk}-{secrets.token_hex(6)}", reverses=log, reason=reason,
            )
    except IntegrityError:
        # the client id was taken meanwhile by a concurrent request for another log
        if client_id and _client_ids_taken([client_id]):
            raise ClientIdReused(field="client_id") from None
        raise
    _notify([reversal])
    return reversal


# --- disputes ----------------------------------------------------------------------------------

@transaction.atomic
def dispute_open(*, actor: User, log_id: int, kind: str, correct_quantity: int | None = None,
                 note: str = "") -> Dispute:
    worker = getattr(actor, "worker", None)
    if not actor.is_worker or worker is None:
        raise Forbidden(_("Only the worker the log is for can dispute it."))
    log = PieceLog.objects.select_for_update().filter(pk=log_id, worker=worker, reverses__isnull=True).first()
    if log is None:
        raise NotFound()
    days = settings.PIECE_DISPUTE_WINDOW_DAYS
    if timezone.now() - log.recorded_at > timedelta(days=days):
        raise DisputeWindowClosed(params={"days": days})
    if PieceLog.objects.filter(reverses=log).exists():
        raise AlreadyReversed()
    if Dispute.objects.filter(log=log, status=Dispute.Status.OPEN).exists():
        raise DomainError(_("This log is already disputed."), code="dispute_open")
    if kind == Dispute.Kind.WRONG_COUNT:
        if correct_quantity is None or not 0 <= correct_quantity < log.quantity:
            raise ValidationFailed(_("Give the right count, less than the %(n)s recorded.") % {"n": log.quantity},
                                   field="correct_quantity")
    else:
        correct_quantity = None
    dispute = Dispute.objects.create(log=log, worker=worker, broker_id=log.broker_id, kind=kind,
                                     correct_quantity=correct_quantity, note=note)
    publish(groups.broker(log.broker_id), "dispute.opened", {"dispute": dispute.pk, "log": log.pk})
    county = Organisation.objects.filter(pk=log.broker_id).values_list("jurisdiction__county_id", flat=True).first()
    if county:
        publish(groups.county_auditors(county), "dispute.opened", {"dispute": dispute.pk})
    return dispute


@transaction.atomic
def dispute_resolve(*, actor: User, dispute_id: int, accept: bool, resolution: str) -> Dispute:
    """Accepting writes the reversing log (the whole log for 'not mine', the difference for a
    wrong count); rejecting needs a reason the worker will read."""
    broker_id = broker_of(actor)
    dispute = Dispute.objects.select_for_update().filter(pk=dispute_id, broker_id=broker_id).first()
    if dispute is None:
        raise NotFound()
    if dispute.status != Dispute.Status.OPEN:
        raise DisputeClosed()
    if not resolution.strip():
        raise ValidationFailed(_("Write the resolution for the worker."), field="resolution")
    if accept:
        log = PieceLog.objects.select_for_update().get(pk=dispute.log_id)
        wrong = log.quantity - (dispute.correct_quantity or 0)
        dispute.reversal = _reverse(actor=actor, log=log, reason=_("Dispute %(id)s: %(text)s")
                                    % {"id": dispute.pk, "text": resolution}, quantity=wrong, client_id=None)
    dispute.status = Dispute.Status.ACCEPTED if accept else Dispute.Status.REJECTED
    dispute.resolution = resolution
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.save()
    publish(groups.worker(dispute.worker_id), "dispute.resolved", {"dispute": dispute.pk, "status": dispute.status})
    return dispute



