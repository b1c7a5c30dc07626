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
