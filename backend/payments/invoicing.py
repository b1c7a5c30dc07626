"""Invoices and firm payments. An accepted inspection adds a processing-fee line to its award's
invoice; a completed award's excess material loss is deducted; the firm pays in parts, never
more than is outstanding. Every line and payment posts to the ledger with a key derived from
what caused it, so a retry never bills or pays twice."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.bounds import check_date_within, days_from_today
from core.errors import Conflict, NotFound, ValidationFailed
from core.money import AMOUNT_QUANTUM
from orders.calculations import processing_fee_due

from . import limits
from .models import Account, Invoice, InvoiceLine, Payment
from .services import account_for, ledger_post

P = Account.Purpose


def _invoice_for(award) -> Invoice:
    invoice, _created = Invoice.objects.get_or_create(
        award=award, defaults={"firm_id": award.order.firm_id, "broker_id": award.broker_id})
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _receivable(invoice: Invoice) -> Account:
    return account_for(purpose=P.FIRM_RECEIVABLE, organisation=invoice.firm)


def invoice_add_inspection(*, inspection, fee=None) -> InvoiceLine | None:
    """Called in the inspection's transaction: accepted pieces × unit price fall due. `fee` is
    the inspection's `processing_fee_due` when the caller has already computed it."""
    if fee is None:
        fee = processing_fee_due(inspection=inspection)
    if fee.amount == 0:
        return None
    invoice = _invoice_for(inspection.award)
    posted = ledger_post(
        key=f"invoice:inspection:{inspection.pk}", kind="processing_fee",
        memo=f"award {fee.award_id}: {fee.quantity} × {fee.unit_price}",
        lines=[(_receivable(invoice), fee.amount),
               (account_for(purpose=P.BROKER_INCOME, organisation=invoice.broker), -fee.amount)],
    )
    line, _created = InvoiceLine.objects.get_or_create(inspection=inspection, defaults={
        "invoice": invoice, "kind": InvoiceLine.Kind.PROCESSING_FEE, "quantity": fee.quantity,
        "unit_price": fee.unit_price, "amount": fee.amount, "due_on": fee.due_on, "ledger": posted,
        "description": _("%(n)s pieces accepted") % {"n": fee.quantity},
    })
    return line


def invoice_add_material_charges(*, award) -> list[InvoiceLine]:
    """Called when an award completes: each material's excess-loss charge is deducted."""
    lines = []
    invoice = _invoice_for(award)
    for rec in award.reconciliation.select_related("material"):
        charge = rec.excess_charge.amount
        if charge <= 0:
            continue
        posted = ledger_post(
            key=f"invoice:material:{award.pk}:{rec.material_id}", kind="material_charge",
            memo=f"award {award.pk}: excess loss of {rec.material.name}",
            lines=[(account_for(purpose=P.BROKER_INCOME, organisation=invoice.broker), charge),
                   (_receivable(invoice), -charge)],
        )
        line, _created = InvoiceLine.objects.get_or_create(ledger=posted, defaults={
            "invoice": invoice, "kind": InvoiceLine.Kind.MATERIAL_CHARGE, "quantity": rec.excess_loss,
            "unit_price": rec.material.unit_value.amount, "amount": -charge, "due_on": timezone.localdate(),
            "description": _("Excess loss of %(material)s") % {"material": rec.material.name},
        })
        lines.append(line)
    return lines


def outstanding(invoice: Invoice) -> Decimal:
    billed = invoice.lines.aggregate(t=Sum("amount"))["t"] or 0
    paid = invoice.payments.aggregate(t=Sum("amount"))["t"] or 0
    return Decimal(billed - paid).quantize(AMOUNT_QUANTUM)


@transaction.atomic
def payment_record(*, actor: User, invoice_id: int, amount: Decimal, paid_on: date, reference: str,
                   key: str) -> Payment:
    """The firm records a payment; the same key again returns it (a retried request)."""
    # the invoice row only: locking the joined organisations would hold up every write naming them
    invoice = (Invoice.objects.select_for_update(of=("self",)).select_related("firm", "broker")
               .filter(pk=invoice_id).first())
    if invoice is None or not (actor.is_admin_role or (actor.is_firm_member and actor.organisation_id == invoice.firm_id)):
        raise NotFound()
    previous = Payment.objects.filter(idempotency_key=key).first()
    if previous is not None:
        if (previous.invoice_id, previous.amount, previous.paid_on) == (invoice.pk, amount, paid_on):
            return previous
        raise Conflict(_("This idempotency key was already used for a different payment."),
                       code="idempotency_key_reused", field="idempotency_key")
    if amount != amount.quantize(AMOUNT_QUANTUM) or amount <= 0:
        raise ValidationFailed(_("Pay a positive amount in yuan and fen."), field="amount")
    # made, and within the last year (docs/money.md § Limits)
    check_date_within(paid_on, field="paid_on", earliest=days_from_today(-limits.PAID_ON_MAX_DAYS_BACK),
                      latest=timezone.localdate())
    owed = outstanding(invoice)
    if amount > owed:
        raise Conflict(_("Only %(owed)s yuan is outstanding on this invoice.") % {"owed": owed},
                       code="overpayment", field="amount")
    posted = ledger_post(
        key=f"payment:{key}", kind="firm_payment", memo=f"invoice {invoice.pk} {reference}".strip(),
        lines=[(account_for(purpose=P.BROKER_CASH, organisation=invoice.broker), amount),
               (_receivable(invoice), -amount)], actor=actor,
    )
    return Payment.objects.create(invoice=invoice, amount=amount, paid_on=paid_on, reference=reference,
                                  idempotency_key=key, recorded_by=actor, ledger=posted)


BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), (">90", 91, None))


@dataclass
class Ageing:
    firm_id: int
    firm_name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: {name: Decimal("0.00") for name, *_ in BUCKETS})

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal("0.00"))


def receivables_ageing(*, broker_id: int, today: date | None = None) -> list[Ageing]:
    """What each firm owes the broker, by age of the fee lines still unpaid: payments and
    deductions settle the oldest fees first."""
    today = today or timezone.localdate()
    invoices = (Invoice.objects.filter(broker_id=broker_id).select_related("firm")
                .prefetch_related("lines", "payments"))
    by_firm: dict[int, Ageing] = {}
    for invoice in invoices:
        credit = sum((p.amount for p in invoice.payments.all()), Decimal(0)) + \
            sum((-line.amount for line in invoice.lines.all() if line.amount < 0), Decimal(0))
        ageing = by_firm.setdefault(invoice.firm_id, Ageing(invoice.firm_id, invoice.firm.name))
        for line in sorted((x for x in invoice.lines.all() if x.amount > 0), key=lambda x: (x.due_on, x.pk)):
            settled = min(credit, line.amount)
            credit -= settled
            left = line.amount - settled
            if left:
                days = (today - line.due_on).days
                name = next(n for n, low, high in BUCKETS if days >= low and (high is None or days <= high)) \
                    if days >= 0 else "0-30"
                ageing.buckets[name] += left
    return [a for a in by_firm.values() if a.total]
