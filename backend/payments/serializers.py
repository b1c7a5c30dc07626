from decimal import Decimal

from rest_framework import serializers

from .models import Invoice, InvoiceLine, Payment


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
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(min_length=8, max_length=100)


class AgeingSerializer(serializers.Serializer):
    firm_id = serializers.IntegerField()
    firm_name = serializers.CharField()
    buckets = serializers.DictField(child=serializers.DecimalField(max_digits=14, decimal_places=2))
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
