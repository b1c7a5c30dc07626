"""Demo money: the firm's payments on its invoices, and at 遂昌建明服装厂 (`broker1`) last month's
payroll closed and paid, this month's in preview.

Through the real services, as the firm and the broker would through the API:
- the invoices come from the inspections of the demo orders (orders.demo); the firm pays part of
  the blouse invoice (1,000 of 1,746 yuan, so 746 stays in the broker's receivables) and all of
  the completed hair-clip invoice of 北界;
- broker1 puts every worker's bank details on file, previews and closes last month's payroll
  (piece pay, the attendance bonus, the minimum-wage top-up of the full-time factory roster),
  and records the bank's answer: one payment bounced (the account number was mistyped), the
  broker corrects it and pays her in a retry batch, so the run ends paid;
- this month's payroll is a preview the broker can recompute;
- at 北界 (`broker2`) last month's payroll is a preview, left for a person to close and pay.

Idempotent: a payment is found by its idempotency key, bank details are written only where none
are on file, a run or a batch is acted on only in the state that needs the action (months close
in order, a closed month cannot be previewed again), so a second run changes nothing."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from brokers import services as broker_services
from brokers.models import Worker

from . import invoicing, payouts, payroll
from .models import Invoice, Payment, PayoutBatch, PayoutItem, PayrollRun

BLOUSE_PAYMENT = ("demo-payment-blouses-1", Decimal("1000.00"), "工行网银 HY-YW-0381")
HAIRCLIP_PAYMENT = ("demo-payment-hairclips-1", "工行网银 HY-YW-0379")
BANKS = ["遂昌农商银行大柘支行", "中国邮政储蓄银行遂昌县支行"]
# The worker whose account number was typed one digit short: the bank bounces her payment.
BOUNCED_PHONE = "13905782005"
BOUNCE_REASON = "户名与账号不符"


def _account(worker: Worker) -> str:
    """A believable 19-digit card number, drawn from her phone so reruns agree."""
    rng = random.Random(worker.phone)
    return f"6230 9101 {rng.randrange(10_000):04d} {rng.randrange(10_000):04d} {rng.randrange(1_000):03d}"


# --- the firm pays ---------------------------------------------------------------------------

def _firm_payments(firm: User) -> None:
    today = timezone.localdate()
    key, amount, reference = BLOUSE_PAYMENT
    blouses = Invoice.objects.filter(firm=firm.organisation, award__order__product="雪纺女式衬衫缝制").first()
    if blouses is not None and not Payment.objects.filter(idempotency_key=key).exists():
        amount = min(amount, invoicing.outstanding(blouses))
        if amount > 0:
            invoicing.payment_record(actor=firm, invoice_id=blouses.pk, amount=amount, paid_on=today,
                                     reference=reference, key=key)
    key, reference = HAIRCLIP_PAYMENT
    clips = Invoice.objects.filter(firm=firm.organisation, award__order__product="手工珍珠发夹").first()
    if clips is not None and not Payment.objects.filter(idempotency_key=key).exists():
        owed = invoicing.outstanding(clips)
        if owed > 0:
            invoicing.payment_record(actor=firm, invoice_id=clips.pk, amount=owed, paid_on=today,
                                     reference=reference, key=key)


# --- the broker's payroll ------------------------------------------------------------------------

def _bank_details(broker: User) -> None:
    workers = Worker.objects.filter(memberships__broker=broker.organisation, memberships__ended_on__isnull=True,
                                    bank_account="").order_by("pk")
    for n, worker in enumerate(workers):
        account = _account(worker)
        if worker.phone == BOUNCED_PHONE:
            account = account[:-1]  # one digit short: the first batch bounces
        broker_services.worker_update(actor=broker, worker=worker,
                                      data={"bank_name": BANKS[n % len(BANKS)], "bank_account": account})


def _pay(broker: User, batch: PayoutBatch, reference: str) -> None:
    """Record the bank's answer; a payment to the mistyped account bounces, the broker corrects
    the number and the retry batch pays her."""
    today = timezone.localdate()
    bounced = [item for item in batch.items.filter(status=PayoutItem.Status.PENDING).select_related("worker")
               if item.worker.phone == BOUNCED_PHONE and item.bank_account != _account(item.worker)]
    payouts.batch_mark_paid(actor=broker, batch_id=batch.pk, bank_reference=reference, paid_on=today,
                            failures=[{"worker": item.worker_id, "reason": BOUNCE_REASON} for item in bounced])
    for item in bounced:
        broker_services.worker_update(actor=broker, worker=item.worker, data={"bank_account": _account(item.worker)})
    if bounced:
        retry, _created = payouts.batch_retry(actor=broker, batch_id=batch.pk)
        payouts.batch_mark_paid(actor=broker, batch_id=retry.pk, bank_reference=f"{reference}-R", paid_on=today)


def _close_and_pay(broker: User, month: date) -> None:
    """Close `month` (previewing it first if need be) and pay its open batches. A month at or
    before the latest closed one is done already."""
    broker_id = broker.organisation_id
    run = PayrollRun.objects.filter(broker_id=broker_id, month=month).first()
    if run is None or run.status == PayrollRun.Status.PREVIEW:
        latest = (PayrollRun.objects.filter(broker_id=broker_id).exclude(status=PayrollRun.Status.PREVIEW)
                  .order_by("-month").values_list("month", flat=True).first())
        if latest is not None and month <= latest:
            return  # a later month is closed: nothing more to do for this one
        if run is None:
            run, _created = payroll.payroll_preview(actor=broker, month=month)
        run = payroll.payroll_close(actor=broker, run_id=run.pk)
    for batch in run.batches.filter(status=PayoutBatch.Status.OPEN).order_by("number"):
        _pay(broker, batch, f"SCNSH-DF-{month:%Y%m}-{batch.number:02d}")


def _payroll(broker: User) -> None:
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    _bank_details(broker)
    # months close in order: an earlier preview left by a seed of an earlier month goes first
    earlier = PayrollRun.objects.filter(broker_id=broker.organisation_id, month__lt=last_month,
                                        status=PayrollRun.Status.PREVIEW).order_by("month")
    for month in [*earlier.values_list("month", flat=True), last_month]:
        _close_and_pay(broker, month)
    if not PayrollRun.objects.filter(broker_id=broker.organisation_id, month=this_month).exists():
        payroll.payroll_preview(actor=broker, month=this_month)


def _open_month(broker: User) -> None:
    """北界 (`broker2`) has last month's piece logs and its payroll previewed, not closed: the
    README's journey closes it, exports the bank file and records it paid by hand."""
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    _bank_details(broker)
    if not PayrollRun.objects.filter(broker_id=broker.organisation_id, month__gte=last_month).exists():
        payroll.payroll_preview(actor=broker, month=last_month)


@transaction.atomic
def build_payments_demo() -> None:
    """Needs the demo accounts (core.demo), orders (orders.demo) and piecework (brokers.demo)."""
    users = {u.username: u for u in User.objects.filter(username__in=["firm", "broker1", "broker2"])}
    _firm_payments(users["firm"])
    _payroll(users["broker1"])
    _open_month(users["broker2"])
