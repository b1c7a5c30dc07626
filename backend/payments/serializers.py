from decimal import Decimal

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokers.serializers import EarningsSerializer
from core.fields import MonthField

from . import limits
from .models import Account, Invoice, InvoiceLine, Payment, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine
from .payouts import batch_totals
from .payroll import NO_BANK_ACCOUNT, describe


class InvoiceLineSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = InvoiceLine
        fields = ["id", "kind", "kind_label", "description", "quantity", "unit_price", "amount", "due_on", "inspection"]


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "amount", "paid_on", "reference", "idempotency_key", "created_at"]


class InvoiceSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)
    broker_name = serializers.CharField(source="broker.name", read_only=True)
    order = serializers.IntegerField(source="award.order_id", read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    total = serializers.SerializerMethodField()
    paid = serializers.SerializerMethodField()
    outstanding = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = ["id", "award", "order", "firm", "firm_name", "broker", "broker_name", "created_at", "total", "paid",
                  "outstanding", "lines", "payments"]

    def get_total(self, invoice) -> str:
        return str(sum((line.amount for line in invoice.lines.all()), Decimal("0.00")))

    def get_paid(self, invoice) -> str:
        return str(sum((p.amount for p in invoice.payments.all()), Decimal("0.00")))

    def get_outstanding(self, invoice) -> str:
        return str(Decimal(self.get_total(invoice)) - Decimal(self.get_paid(invoice)))


class PaymentInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=limits.MIN_PAYMENT,
                                      max_value=limits.MAX_PAYMENT)
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=limits.REFERENCE_MAX_LENGTH, required=False, allow_blank=True,
                                      default="")
    idempotency_key = serializers.CharField(min_length=8, max_length=100)


class AgeingSerializer(serializers.Serializer):
    firm_id = serializers.IntegerField()
    firm_name = serializers.CharField()
    buckets = serializers.DictField(child=serializers.DecimalField(max_digits=14, decimal_places=2))
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


# --- payroll ------------------------------------------------------------------------------------

class PayslipLineSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    work_month = MonthField()
    label = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()
    adjusted_by = serializers.SerializerMethodField(
        help_text="An adjustment for a closed month: the user who logged or corrected its work late; else null.")
    adjusted_by_name = serializers.SerializerMethodField(help_text="Their display name, as when the run was made.")
    reason = serializers.SerializerMethodField(help_text="The reason they gave (null when adjusted_by is).")

    class Meta:
        model = PayslipLine
        fields = ["position", "kind", "kind_label", "work_month", "procedure", "rate", "quantity", "amount", "label",
                  "explanation", "adjusted_by", "adjusted_by_name", "reason"]

    @staticmethod
    def _adjustment(line) -> dict:
        params = line.params or {}
        return params if line.kind == PayslipLine.Kind.ADJUSTMENT and params.get("adjusted_by") else {}

    def get_label(self, line) -> str:
        return describe(line)[0]

    def get_adjusted_by(self, line) -> int | None:
        return self._adjustment(line).get("adjusted_by")

    def get_adjusted_by_name(self, line) -> str | None:
        return self._adjustment(line).get("adjusted_by_name")

    def get_reason(self, line) -> str | None:
        return self._adjustment(line).get("reason")

    def get_explanation(self, line) -> str:
        return describe(line)[1]


class PayoutItemSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    batch_number = serializers.IntegerField(source="batch.number", read_only=True)
    failure_label = serializers.SerializerMethodField()

    class Meta:
        model = PayoutItem
        fields = ["id", "batch", "batch_number", "worker", "account_holder", "bank_name", "bank_account", "amount",
                  "reference", "status", "status_label", "failure_reason", "failure_label", "retried_in", "paid_on"]

    def get_failure_label(self, item) -> str:
        """The failure in the reader's language: the bank's own words, or why it was held back."""
        if item.failure_reason == NO_BANK_ACCOUNT:
            return gettext("No bank details on file")
        return item.failure_reason


class PayslipSerializer(serializers.ModelSerializer):
    month = MonthField(source="run.month", read_only=True)
    broker = serializers.IntegerField(source="run.broker_id", read_only=True)
    broker_name = serializers.CharField(source="run.broker.name", read_only=True)
    status = serializers.CharField(source="run.status", read_only=True)
    lines = PayslipLineSerializer(many=True, read_only=True)
    payments = PayoutItemSerializer(source="payout_items", many=True, read_only=True)

    class Meta:
        model = Payslip
        fields = ["id", "run", "month", "broker", "broker_name", "status", "worker", "worker_name", "days_present",
                  "days_late", "total", "lines", "payments"]


class BatchTotalsSerializer(serializers.Serializer):
    payments = serializers.IntegerField(help_text="Payments in the bank file")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Their total")
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    failed = serializers.DecimalField(max_digits=14, decimal_places=2)
    held = serializers.IntegerField(help_text="Workers held back: no bank details on file")


class PayoutBatchSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    month = MonthField(source="run.month", read_only=True)
    totals = serializers.SerializerMethodField()
    items = PayoutItemSerializer(many=True, read_only=True)

    class Meta:
        model = PayoutBatch
        fields = ["id", "run", "month", "number", "status", "status_label", "bank_reference", "paid_on", "paid_at",
                  "created_at", "totals", "items"]

    @extend_schema_field(BatchTotalsSerializer)
    def get_totals(self, batch):
        return BatchTotalsSerializer(batch_totals(batch)).data


class BatchBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayoutBatch
        fields = ["id", "number", "status", "bank_reference", "paid_on"]


class PayrollRunSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)
    since_month = MonthField(read_only=True, allow_null=True,
                             help_text="The previous closed run's month; null for the broker's first run.")
    broker_name = serializers.CharField(source="broker.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    payslips = serializers.IntegerField(source="payslip_count", read_only=True)
    batches = serializers.SerializerMethodField()

    class Meta:
        model = PayrollRun
        fields = ["id", "broker", "broker_name", "month", "status", "status_label", "total", "payslips", "since_month",
                  "since_watermark", "watermark", "computed_at", "closed_at", "paid_at", "batches"]

    @extend_schema_field(BatchBriefSerializer(many=True))
    def get_batches(self, run):
        return BatchBriefSerializer(run.batches.all(), many=True).data


class PayrollRunInput(serializers.Serializer):
    month = MonthField()
    broker = serializers.IntegerField(required=False, help_text="Administrators only: whose payroll.")


class FailureInput(serializers.Serializer):
    worker = serializers.IntegerField()
    reason = serializers.CharField(max_length=limits.FAILURE_REASON_MAX_LENGTH)


class MarkPaidInput(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=limits.REFERENCE_MAX_LENGTH)
    paid_on = serializers.DateField()
    failures = FailureInput(many=True, required=False, default=list, max_length=limits.MAX_FAILURES)


class ReconciliationRowSerializer(serializers.Serializer):
    procedure = serializers.IntegerField()
    procedure_name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=12, decimal_places=4)
    provisional_quantity = serializers.IntegerField()
    provisional_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    payslip_quantity = serializers.IntegerField()
    payslip_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    after_close_quantity = serializers.IntegerField()
    difference = serializers.DecimalField(max_digits=14, decimal_places=2)


class ReconciliationSerializer(serializers.Serializer):
    rows = ReconciliationRowSerializer(many=True)
    provisional_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    payslip_piece_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    other_lines_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    payslip_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class AccountSerializer(serializers.ModelSerializer):
    purpose_label = serializers.CharField(source="get_purpose_display", read_only=True)
    balance = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "code", "purpose", "purpose_label", "name", "organisation", "worker", "balance"]

    def get_balance(self, account) -> str:
        return str(self.context["balances"].get(account.pk, Decimal("0.00")))


class EarningsQuery(serializers.Serializer):
    month = MonthField(required=False)


class MonthPayrollSerializer(serializers.Serializer):
    broker_id = serializers.IntegerField()
    broker_name = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", *PayrollRun.Status.values[1:]],
                                     help_text="open: no closed payroll yet, the lines are provisional.")
    payslip_id = serializers.IntegerField(allow_null=True)
    provisional_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    payslip_piece_total = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    payslip_total = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True,
                                             help_text="What the payslip pays: piece lines and any other lines.")
    difference = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True,
        help_text="provisional_total − payslip_piece_total: work logged or corrected after the close, paid as an "
                  "adjustment in the next open month.")


class MyEarningsSerializer(EarningsSerializer):
    payroll = MonthPayrollSerializer(many=True, help_text="Per broker of the month: open, or closed with the payslip.")
