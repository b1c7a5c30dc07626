"""Balances: one aggregate per question, as of any moment."""
from __future__ import annotations

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
