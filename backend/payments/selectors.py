"""Balances: one aggregate per question, as of any moment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from core.money import AMOUNT_QUANTUM

from .models import Account, Entry


def _fen(total) -> Decimal:
    # SQLite (the embedded default) sums decimals as floats: back to the exact fen, which the
    # float keeps far below 10^13 yuan; PostgreSQL's numeric sum is exact already
    return Decimal(total or 0).quantize(AMOUNT_QUANTUM)


def balance(account: Account, *, as_of: datetime | None = None) -> Decimal:
    entries = Entry.objects.filter(account=account)
    if as_of is not None:
        entries = entries.filter(transaction__posted_at__lte=as_of)
    return _fen(entries.aggregate(total=Sum("amount"))["total"])


def balances(accounts: list[Account], *, as_of: datetime | None = None) -> dict[int, Decimal]:
    entries = Entry.objects.filter(account__in=accounts)
    if as_of is not None:
        entries = entries.filter(transaction__posted_at__lte=as_of)
    totals = dict(entries.values("account_id").annotate(t=Sum("amount")).values_list("account_id", "t"))
    return {account.pk: _fen(totals.get(account.pk)) for account in accounts}


# --- who sees what ------------------------------------------------------------------------------

def _county_of(user):
    from accounts.permissions import county_id_of

    return county_id_of(user)


def visible_runs(user):
    """Broker staff their own runs, an auditor the county's closed ones, an admin all."""
    from .models import PayrollRun

    qs = PayrollRun.objects.select_related("broker")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        return qs.filter(broker_id=user.organisation_id)
    if user.is_auditor:
        county = _county_of(user)
        if county is None:  # no office: nothing (not the brokers whose jurisdiction has no county)
            return qs.none()
        return qs.filter(broker__jurisdiction__county_id=county).exclude(status=PayrollRun.Status.PREVIEW)
    return qs.none()


def visible_payslips(user):
    """As the runs; a worker her own, once the run is closed (a preview is the broker's draft)."""
    from .models import PayrollRun, Payslip

    qs = Payslip.objects.select_related("run__broker")
    if user.is_worker:
        return qs.filter(worker__user=user).exclude(run__status=PayrollRun.Status.PREVIEW)
    return qs.filter(run__in=visible_runs(user))


def visible_batches(user):
    from .models import PayoutBatch

    return PayoutBatch.objects.select_related("run__broker").filter(run__in=visible_runs(user))


def visible_accounts(user):
    """A party sees its own accounts (a broker also the wages it owes each worker); an auditor
    those of the county's brokers; an admin all."""
    qs = Account.objects.all()
    if user.is_admin_role:
        return qs
    if user.is_worker:
        return qs.filter(worker__user=user)
    if user.is_auditor:
        county = _county_of(user)
        if county is None:
            return qs.none()
        return qs.filter(organisation__kind="broker", organisation__jurisdiction__county_id=county)
    if user.organisation_id:
        return qs.filter(organisation_id=user.organisation_id)
    return qs.none()


# --- the worker's earnings of a month -------------------------------------------------------

@dataclass(frozen=True)
class MonthPayroll:
    """Where one broker's payroll of the month stands for the worker. While it is open her lines
    are provisional; once closed, the payslip's total stands beside them, and a difference
    between her lines and its piece lines is work logged or corrected after the close (paid as an
    adjustment line in the next open month: GET /api/payslips/{id}/reconciliation/)."""

    broker_id: int
    broker_name: str
    status: str  # "open" (no closed run: provisional) | "closed" | "paid"
    payslip_id: int | None
    provisional_total: Decimal  # her lines with this broker for the month
    payslip_piece_total: Decimal | None
    payslip_total: Decimal | None  # all lines: pieces, bonus, top-up, carried amounts
    difference: Decimal | None  # provisional_total − payslip_piece_total


def worker_month_payroll(worker, earnings) -> list[MonthPayroll]:
    """Per broker of the month: open, or closed with her payslip, reconciled by the payments
    app's one reconciliation (`payroll.reconciliation`). A month closes only once it is over,
    so this month asks the database nothing."""
    from brokers.selectors import lines_total

    from .models import PayrollRun, Payslip
    from .payroll import reconciliation

    by_broker: dict[int, list] = {}
    names: dict[int, str] = {}
    for line in earnings.month_lines:
        by_broker.setdefault(line.broker_id, []).append(line)
        names[line.broker_id] = line.broker_name
    rows: dict[int, MonthPayroll] = {}
    if not earnings.current:
        closed = PayrollRun.objects.filter(month=earnings.period).exclude(status=PayrollRun.Status.PREVIEW)
        slips = (Payslip.objects.filter(worker=worker, run__in=closed).select_related("run__broker")
                 .prefetch_related("lines"))
        for slip in slips:
            figures = reconciliation(slip)
            rows[slip.run.broker_id] = MonthPayroll(
                slip.run.broker_id, slip.run.broker.name, slip.run.status, slip.pk, figures["provisional_total"],
                figures["payslip_piece_total"], figures["payslip_total"],
                figures["provisional_total"] - figures["payslip_piece_total"])
        unsettled = [b for b in by_broker if b not in rows]
        for broker_id, status in closed.filter(broker_id__in=unsettled).values_list("broker_id", "status"):
            # closed before any of her pieces of the month arrived: all of them are adjustments later
            total = lines_total(by_broker[broker_id])
            rows[broker_id] = MonthPayroll(broker_id, names[broker_id], status, None, total, Decimal("0.00"),
                                           None, total)
    for broker_id, lines in by_broker.items():
        if broker_id not in rows:
            rows[broker_id] = MonthPayroll(broker_id, names[broker_id], "open", None, lines_total(lines),
                                           None, None, None)
    return [rows[b] for b in sorted(rows)]
