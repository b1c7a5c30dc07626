"""Paying a closed payroll run: the bank batch file, the signed-off summary, recording the bank's
answer exactly once, and a retry batch for the workers whose payment failed.

Marking a batch paid locks it: a retried request (the same bank reference) gets the batch back
as it was recorded; a different answer for a batch already recorded is refused. The ledger
posting is keyed by the batch, so nothing is paid twice even if the lock were bypassed."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.bounds import check_date_within, local_date
from core.errors import Conflict, NotFound, ValidationFailed
from core.realtime import groups, publish

from .errors import BatchAlreadyPaid, BatchNotPaid, NothingToRetry, RunNotClosed
from .models import Account, PayoutBatch, PayoutItem, PayrollRun
from .payroll import NO_BANK_ACCOUNT, ZERO, _item_for, _owner_broker
from .services import account_for, ledger_post

P = Account.Purpose


def _locked_batch(actor: User, batch_id: int) -> PayoutBatch:
    # the batch and its run only: the default ordering joins the broker's organisation, whose row
    # a plain FOR UPDATE would lock too, holding up every insert that references the broker
    batch = PayoutBatch.objects.select_for_update(of=("self", "run")).select_related("run").filter(pk=batch_id).first()
    if batch is None or (not actor.is_admin_role and batch.run.broker_id != _owner_broker(actor)):
        raise NotFound()
    return batch


def open_batch(*, actor: User, run_id: int, bank_reference: str = "") -> PayoutBatch:
    """The batch of a run a bank answer is for: the newest one, unless a batch was already
    recorded with this bank reference (the answer resent after a retry batch was made)."""
    run = PayrollRun.objects.filter(pk=run_id).first()
    if run is None or (not actor.is_admin_role and run.broker_id != _owner_broker(actor)):
        raise NotFound()
    if run.status == PayrollRun.Status.PREVIEW:
        raise RunNotClosed()
    batches = run.batches.order_by("-number")
    batch = None
    if (bank_reference or "").strip():
        batch = batches.filter(status=PayoutBatch.Status.PAID, bank_reference=bank_reference.strip()).first()
    batch = batch or batches.first()
    if batch is None:
        raise Conflict(_("This run has nothing to pay."), code="nothing_to_pay")
    return batch


@transaction.atomic
def batch_mark_paid(*, actor: User, batch_id: int, bank_reference: str, paid_on: date,
                    failures: list[dict] | None = None) -> tuple[PayoutBatch, bool]:
    """Record the bank's answer: every item paid on `paid_on` except `failures` ([{worker,
    reason}]). Returns the batch and whether this call recorded it (False: a retry)."""
    batch = _locked_batch(actor, batch_id)
    bank_reference = (bank_reference or "").strip()
    if batch.status == PayoutBatch.Status.PAID:
        # the same answer again (a retried request) gets the batch back; any other is refused,
        # a different list of failures included: those workers were recorded as paid
        failed_before = set(batch.items.filter(status=PayoutItem.Status.FAILED).exclude(
            failure_reason=NO_BANK_ACCOUNT).values_list("worker_id", flat=True))
        if (batch.bank_reference == bank_reference and batch.paid_on == paid_on
                and failed_before == {failure.get("worker") for failure in failures or []}):
            return batch, False
        raise BatchAlreadyPaid(params={"reference": batch.bank_reference})
    if batch.run.status == PayrollRun.Status.PREVIEW:
        raise RunNotClosed()
    if not bank_reference:
        raise ValidationFailed(_("Give the bank's reference for the batch."), field="bank_reference")
    # paid once the batch existed, and not in the future (docs/money.md § Limits)
    check_date_within(paid_on, field="paid_on", earliest=local_date(batch.created_at), latest=timezone.localdate())
    pending = {item.worker_id: item for item in batch.items.filter(status=PayoutItem.Status.PENDING)}
    failed: dict[int, str] = {}
    for failure in failures or []:
        worker_id, reason = failure.get("worker"), str(failure.get("reason") or "").strip()
        if worker_id not in pending:
            raise ValidationFailed(_("Worker %(worker)s has no pending payment in this batch.") % {"worker": worker_id},
                                   field="failures")
        if not reason:
            raise ValidationFailed(_("Say why the payment failed."), field="failures")
        failed[worker_id] = reason[:200]
    paid = [item for worker_id, item in pending.items() if worker_id not in failed]
    now = timezone.now()
    if paid:
        run = batch.run
        total = sum((item.amount for item in paid), ZERO)
        lines = [(account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=run.broker, worker=item.worker),
                  item.amount) for item in sorted(paid, key=lambda i: i.worker_id)]
        lines.append((account_for(purpose=P.BROKER_CASH, organisation=run.broker), -total))
        batch.ledger = ledger_post(key=f"payout:{batch.pk}", kind="payout",
                                   memo=f"payroll {run.broker_id} {run.month:%Y-%m} batch {batch.number} "
                                        f"{bank_reference}",
                                   lines=lines, actor=actor)
    PayoutItem.objects.filter(pk__in=[item.pk for item in paid]).update(status=PayoutItem.Status.PAID, paid_on=paid_on)
    for worker_id, reason in failed.items():
        PayoutItem.objects.filter(pk=pending[worker_id].pk).update(status=PayoutItem.Status.FAILED,
                                                                   failure_reason=reason)
    batch.status, batch.bank_reference, batch.paid_on, batch.paid_at, batch.paid_by = (
        PayoutBatch.Status.PAID, bank_reference, paid_on, now, actor)
    batch.save()
    _settle_run(batch.run, now)
    for item in paid:
        publish(groups.worker(item.worker_id), "payslip.paid", {"run": batch.run_id, "amount": str(item.amount)})
    return batch, True


def _settle_run(run: PayrollRun, now) -> None:
    """A run is paid when every payment of it is paid (a failure retried counts by its retry)."""
    open_items = PayoutItem.objects.filter(batch__run=run).exclude(status=PayoutItem.Status.PAID).filter(
        retried_in__isnull=True)
    unsettled = run.batches.filter(status=PayoutBatch.Status.OPEN).exists()
    if not open_items.exists() and not unsettled and run.status != PayrollRun.Status.PAID:
        PayrollRun.objects.filter(pk=run.pk).update(status=PayrollRun.Status.PAID, paid_at=now)
        run.status, run.paid_at = PayrollRun.Status.PAID, now


@transaction.atomic
def batch_retry(*, actor: User, batch_id: int) -> tuple[PayoutBatch, bool]:
    """A new batch for this batch's failed payments, with the workers' bank details as they are
    now. Asked again, it returns the retry batch already made."""
    batch = _locked_batch(actor, batch_id)
    if batch.status != PayoutBatch.Status.PAID:
        raise BatchNotPaid()
    made = batch.items.filter(retried_in__isnull=False).values_list("retried_in", flat=True).first()
    failed = [item for item in batch.items.filter(status=PayoutItem.Status.FAILED, retried_in__isnull=True)
              .select_related("worker", "payslip")
              if item.worker.bank_name.strip() and item.worker.bank_account.strip()]
    if not failed:
        if made is not None:
            return PayoutBatch.objects.get(pk=made), False
        raise NothingToRetry()
    number = (PayoutBatch.objects.filter(run=batch.run).aggregate(n=Max("number"))["n"] or 0) + 1
    retry = PayoutBatch.objects.create(run=batch.run, number=number)
    retry.run = batch.run
    PayoutItem.objects.bulk_create(_item_for(retry, item.payslip, item.amount) for item in failed)
    PayoutItem.objects.filter(pk__in=[item.pk for item in failed]).update(retried_in=retry)
    return retry, True


# --- documents ----------------------------------------------------------------------------------

CSV_HEADER = ["worker", "bank", "account", "amount", "reference"]


def _cell(value: str) -> str:
    # a spreadsheet must not run a name as a formula
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def bank_rows(batch: PayoutBatch) -> list[PayoutItem]:
    """The items sent to the bank: all but those never sendable (no bank details)."""
    return list(batch.items.exclude(failure_reason=NO_BANK_ACCOUNT).order_by("worker_id"))


def bank_file(batch: PayoutBatch) -> bytes:
    """The bank batch file: UTF-8 CSV (with a byte-order mark, so spreadsheet programs read the
    Chinese names), one row per payment, amounts to the fen."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in bank_rows(batch):
        writer.writerow([_cell(item.account_holder), _cell(item.bank_name), _cell(item.bank_account),
                         f"{item.amount:.2f}", item.reference])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def bank_file_digest(batch: PayoutBatch) -> str:
    return hashlib.sha256(bank_file(batch)).hexdigest()


def batch_totals(batch: PayoutBatch) -> dict[str, Decimal | int]:
    items = list(batch.items.all())
    sent = [i for i in items if i.failure_reason != NO_BANK_ACCOUNT]
    return {"payments": len(sent), "amount": sum((i.amount for i in sent), ZERO),
            "paid": sum((i.amount for i in items if i.status == PayoutItem.Status.PAID), ZERO),
            "failed": sum((i.amount for i in items if i.status == PayoutItem.Status.FAILED), ZERO),
            "held": sum(1 for i in items if i.failure_reason == NO_BANK_ACCOUNT)}
