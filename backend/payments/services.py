"""Posting to the ledger. Every posting is balanced, carries an idempotency key, and is never
changed afterwards: `ledger_post` with a key seen before returns the first transaction (the same
content) or refuses (different content); `ledger_reverse` corrects by posting the opposite."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from core.errors import NotFound, ValidationFailed
from core.money import AMOUNT_QUANTUM, cny

from .errors import AlreadyReversed, IdempotencyKeyReused, OverPrecise, Unbalanced
from .models import Account, Entry, Transaction

Line = tuple[Account, Decimal]


def account_for(*, purpose: str, organisation: Organisation | None = None, worker=None, name: str = "") -> Account:
    """The one account of a party for a purpose (created on first use)."""
    parts = ([f"org{organisation.pk}"] if organisation is not None else []) + \
        ([f"worker{worker.pk}"] if worker is not None else [])
    owner = ":".join(parts) or "-"
    account, _created = Account.objects.get_or_create(
        code=f"{purpose}:{owner}",
        defaults={"purpose": purpose, "organisation": organisation, "worker": worker,
                  "name": name or " ".join(str(x) for x in (organisation, worker, Account.Purpose(purpose).label) if x)},
    )
    return account


def _fingerprint(kind: str, memo: str, lines: list[Line], reverses_id: int | None) -> str:
    canonical = json.dumps({"kind": kind, "memo": memo, "reverses": reverses_id,
                            "lines": sorted([account.pk, str(Decimal(amount))] for account, amount in lines)},
                           sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check(lines: list[Line]) -> None:
    if len(lines) < 2:
        raise ValidationFailed(_("A transaction has at least two entries."), field="lines")
    for _account, amount in lines:
        amount = Decimal(amount)
        if amount == 0:
            raise ValidationFailed(_("An entry cannot be zero."), field="lines")
        if amount != amount.quantize(AMOUNT_QUANTUM):
            raise OverPrecise(params={"amount": amount}, field="lines")
    total = sum((Decimal(amount) for _account, amount in lines), Decimal(0))
    if total != 0:
        raise Unbalanced(params={"total": total}, field="lines")


def _existing(key: str, fingerprint: str) -> Transaction | None:
    found = Transaction.objects.filter(idempotency_key=key).first()
    if found is not None and found.fingerprint != fingerprint:
        raise IdempotencyKeyReused(field="idempotency_key")
    return found


def ledger_post(*, key: str, kind: str, memo: str, lines: list[Line], actor: User | None = None,
                reverses: Transaction | None = None, reason: str = "") -> Transaction:
    _check(lines)
    fingerprint = _fingerprint(kind, memo, lines, reverses.pk if reverses else None)
    found = _existing(key, fingerprint)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            posted = Transaction.objects.create(idempotency_key=key, fingerprint=fingerprint, kind=kind, memo=memo,
                                                posted_by=actor, reverses=reverses, reason=reason,
                                                posted_at=timezone.now())
            Entry.objects.bulk_create(Entry(transaction=posted, account=account, amount=cny(amount))
                                      for account, amount in lines)
    except IntegrityError:
        # the same key posted concurrently: the first one won; answer as a retry (or a misuse)
        found = _existing(key, fingerprint)
        if found is None:
            raise
        return found
    return posted


def ledger_reverse(*, transaction_id: int, reason: str, key: str, actor: User | None = None) -> Transaction:
    original = Transaction.objects.filter(pk=transaction_id).prefetch_related("entries__account").first()
    if original is None:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed(_("Say why the transaction is reversed."), field="reason")
    if original.reverses_id is not None:
        raise ValidationFailed(_("A reversal is not reversed; post a new transaction."), field="transaction")
    lines = [(entry.account, -entry.amount.amount) for entry in original.entries.all()]
    previous = getattr(original, "reversed_by", None)
    if previous is not None and previous.idempotency_key != key:
        raise AlreadyReversed()
    return ledger_post(key=key, kind=f"reversal:{original.kind}", memo=_("Reversal of %(id)s") % {"id": original.pk},
                       lines=lines, actor=actor, reverses=original, reason=reason)
