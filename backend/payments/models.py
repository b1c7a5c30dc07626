"""The double-entry ledger: every yuan that moves in Lailiao is a balanced transaction of entries
on accounts. Posted rows are immutable (database triggers refuse UPDATE and DELETE); a
correction is a reversing transaction that names the one it reverses."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from accounts.models import Organisation
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES, CURRENCY


class Account(models.Model):
    """One account per party and purpose, e.g. a firm's receivable or a worker's wages payable."""

    class Purpose(models.TextChoices):
        FIRM_RECEIVABLE = "firm_receivable", _("Firm receivable")
        FIRM_CASH = "firm_cash", _("Firm cash")
        BROKER_CASH = "broker_cash", _("Broker cash")
        BROKER_INCOME = "broker_income", _("Broker processing income")
        BROKER_WAGES_EXPENSE = "broker_wages_expense", _("Broker wages expense")
        BROKER_WAGES_PAYABLE = "broker_wages_payable", _("Broker wages payable")
        WORKER_WAGES_PAYABLE = "worker_wages_payable", _("Worker wages payable")
        WORKER_BANK = "worker_bank", _("Worker bank")
        POLICY_FUND = "policy_fund", _("Policy fund")
        SUBSIDY_PAYABLE = "subsidy_payable", _("Subsidy payable")

    code = models.CharField(_("code"), max_length=80, unique=True)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices, db_index=True)
    organisation = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="accounts")
    worker = models.ForeignKey("brokers.Worker", models.PROTECT, null=True, blank=True, related_name="accounts")
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.code


class Transaction(models.Model):
    """A balanced set of entries, posted once. `idempotency_key` makes a retried posting return
    the first result; `fingerprint` tells a retry from a different posting that reuses a key."""

    idempotency_key = models.CharField(max_length=120, unique=True)
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    memo = models.CharField(_("memo"), max_length=300)
    posted_at = models.DateTimeField(default=timezone.now, db_index=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    reverses = models.OneToOneField("self", models.PROTECT, null=True, blank=True, related_name="reversed_by")
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        constraints = [
            models.CheckConstraint(condition=Q(reverses__isnull=True) | ~Q(reason=""), name="reversal_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.kind}"


class Entry(models.Model):
    """One side of a transaction: positive debits, negative credits; a transaction's sum is 0."""

    transaction = models.ForeignKey(Transaction, models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, models.PROTECT, related_name="entries")
    amount = MoneyField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, default_currency=CURRENCY,
                        currency_choices=[(CURRENCY, CURRENCY)])

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_not_zero")]
        indexes = [models.Index(fields=["account", "transaction"])]


class Invoice(models.Model):
    """What a firm owes a broker for one award: a line per accepted inspection (accepted pieces ×
    unit price), less the excess material-loss charge when the award completes. Delivery first,
    fee after: the invoice grows as pieces are accepted and is paid later, in parts."""

    award = models.OneToOneField("orders.Award", models.PROTECT, related_name="invoice")
    firm = models.ForeignKey(Organisation, models.PROTECT, related_name="invoices_payable")
    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="invoices_receivable")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        PROCESSING_FEE = "processing_fee", _("Processing fee")
        MATERIAL_CHARGE = "material_charge", _("Excess material loss")

    invoice = models.ForeignKey(Invoice, models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    inspection = models.OneToOneField("orders.Inspection", models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)  # signed
    due_on = models.DateField()
    ledger = models.OneToOneField(Transaction, models.PROTECT, related_name="+")

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="invoice_line_not_zero")]


class Payment(models.Model):
    """A firm's payment on an invoice: partial allowed, never more than is outstanding."""

    invoice = models.ForeignKey(Invoice, models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    paid_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    ledger = models.OneToOneField(Transaction, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["paid_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]
