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
        POLICY_FUND_BANK = "policy_fund_bank", _("Policy fund bank")

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


# --- payroll ------------------------------------------------------------------------------------

class PayrollRun(models.Model):
    """A broker's payroll for one month: a preview (recomputed on demand) until it is closed,
    then frozen, posted to the ledger and paid out in batches.

    Which piece logs a run settles is decided by two piece-log ids, never by editing the logs:
    a closed run settles every log of its broker up to `watermark` that no earlier run settled,
    i.e. the logs of its own month (and of months that never had a run) up to the watermark,
    plus the logs of closed months that arrived after the previous run closed (`since_watermark`),
    which become adjustment lines naming their month. Loggers and previews share the broker's
    profile row and the close takes it exclusively, so no log commits "behind" a watermark."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Preview")
        CLOSED = "closed", _("Closed")
        PAID = "paid", _("Paid")

    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="payroll_runs")
    month = models.DateField(_("month"))  # the first day of the month
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEW)
    since_month = models.DateField(null=True, blank=True)  # the previous closed run's month
    since_watermark = models.BigIntegerField(default=0)
    watermark = models.BigIntegerField(default=0)
    total = models.DecimalField(_("total"), max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, default=0)
    computed_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)
    ledger = models.OneToOneField(Transaction, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["broker", "-month"]
        verbose_name = _("payroll run")
        verbose_name_plural = _("payroll runs")
        constraints = [
            models.UniqueConstraint(fields=["broker", "month"], name="payroll_run_once_a_month"),
        ]

    def __str__(self) -> str:
        return f"{self.broker_id} {self.month:%Y-%m}"


class Payslip(models.Model):
    """One worker's pay in one run: labelled lines whose sum is the total, exactly."""

    run = models.ForeignKey(PayrollRun, models.CASCADE, related_name="payslips")
    worker = models.ForeignKey("brokers.Worker", models.PROTECT, related_name="payslips")
    worker_name = models.CharField(max_length=100)
    total = models.DecimalField(_("total"), max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    days_present = models.PositiveSmallIntegerField(default=0)
    days_late = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["run", "worker_id"]
        verbose_name = _("payslip")
        verbose_name_plural = _("payslips")
        constraints = [models.UniqueConstraint(fields=["run", "worker"], name="payslip_once_per_run")]
        indexes = [models.Index(fields=["worker", "run"])]


class PayslipLine(models.Model):
    class Kind(models.TextChoices):
        PIECES = "pieces", _("Piece pay")
        ADJUSTMENT = "adjustment", _("Adjustment for an earlier month")
        CARRIED_IN = "carried_in", _("Carried from last month")
        ATTENDANCE_BONUS = "attendance_bonus", _("Attendance bonus")
        MINIMUM_WAGE_TOP_UP = "minimum_wage_top_up", _("Minimum-wage top-up")
        CARRIED_FORWARD = "carried_forward", _("Carried to next month")

    payslip = models.ForeignKey(Payslip, models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    work_month = models.DateField()  # the month the line's work belongs to
    procedure = models.ForeignKey("orders.Procedure", models.PROTECT, null=True, blank=True, related_name="+")
    rate = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    quantity = models.IntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)  # signed
    # The figures behind the line (days present, the minimum, ...): the label and explanation are
    # written from them in the reader's language (payments.payroll.describe).
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["payslip", "position"]
        constraints = [models.UniqueConstraint(fields=["payslip", "position"], name="payslip_line_position")]


class PayoutBatch(models.Model):
    """What goes to the bank for a closed run: the first batch pays every payslip with money due,
    a retry batch pays again the items that failed."""

    class Status(models.TextChoices):
        OPEN = "open", _("Ready for the bank")
        PAID = "paid", _("Paid")

    run = models.ForeignKey(PayrollRun, models.PROTECT, related_name="batches")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    ledger = models.OneToOneField(Transaction, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "number"]
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="payout_batch_number")]


class PayoutItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    batch = models.ForeignKey(PayoutBatch, models.PROTECT, related_name="items")
    payslip = models.ForeignKey(Payslip, models.PROTECT, related_name="payout_items")
    worker = models.ForeignKey("brokers.Worker", models.PROTECT, related_name="payout_items")
    account_holder = models.CharField(max_length=100)
    bank_name = models.CharField(max_length=100, blank=True)
    bank_account = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    reference = models.CharField(max_length=60, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)
    retried_in = models.ForeignKey(PayoutBatch, models.PROTECT, null=True, blank=True, related_name="retries")
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "worker_id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_item_positive"),
            models.UniqueConstraint(fields=["batch", "payslip"], name="payout_item_once_per_batch"),
        ]
        indexes = [models.Index(fields=["status", "paid_on"])]


class PayrollReminder(models.Model):
    """A month-end reminder sent to a broker, once per month (the beat task may run twice)."""

    broker = models.ForeignKey(Organisation, models.CASCADE, related_name="+")
    month = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broker", "month"], name="payroll_reminder_once")]
