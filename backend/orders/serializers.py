"""Input serializers check the shape of a request (types, signs, precision); output serializers
render what a service or selector returned. No business rule lives here."""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokers.models import WorkMode
from core.fields import DateTimeField, IdField
from core.money import RATE_DIGITS, RATE_PLACES

from . import limits
from .calculations import implied_hourly_pay
from .models import (
    Attachment, Award, Bid, Category, Delivery, Dispatch, DispatchLine, Inspection, Material, MaterialReturn, Order,
    OrderEvent, Procedure, ReconciliationLine, Subcontract,
)

POSITIVE_RATE = limits.MIN_UNIT_PRICE


def rate_input(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=POSITIVE_RATE,
                                    max_value=limits.MAX_UNIT_PRICE, **kwargs)


def quantity_input(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=limits.MAX_QUANTITY, **kwargs)


def material_quantity_input(*, max_value: Decimal = limits.MAX_MATERIAL_QUANTITY, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0.0001"), max_value=max_value,
                                    **kwargs)


@extend_schema_field({"type": "string", "format": "decimal", "example": "1.2500"})
class MoneyAmountField(serializers.Field):
    """A Money rendered as its decimal amount in a string (currency is always CNY)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return str(value.amount)


# --- input -----------------------------------------------------------------------------------

class ProcedureInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    standard_minutes = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0.01"),
                                                max_value=limits.MAX_STANDARD_MINUTES)


class MaterialInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    unit = serializers.CharField(max_length=20)
    quantity_per_piece = material_quantity_input(max_value=limits.MAX_QUANTITY_PER_PIECE)
    loss_allowance_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0),
                                                  max_value=Decimal(100), required=False, default=Decimal(0))
    unit_value = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=Decimal(0),
                                          max_value=limits.MAX_MATERIAL_UNIT_VALUE)


class OrderInput(serializers.Serializer):
    product = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=limits.DESCRIPTION_MAX_LENGTH)
    quantity = quantity_input()
    unit = serializers.CharField(max_length=20, required=False, default="件")
    modes = serializers.ListField(child=serializers.ChoiceField(choices=WorkMode.choices), min_length=1)
    ceiling_unit_price = rate_input()
    bid_deadline = DateTimeField()
    due_date = serializers.DateField()
    delivery_place = serializers.CharField(max_length=200)
    procedures = ProcedureInput(many=True, allow_empty=False, max_length=limits.MAX_PROCEDURES)
    materials = MaterialInput(many=True, required=False, default=list, max_length=limits.MAX_MATERIALS)


class OrderUpdateInput(OrderInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=limits.REASON_MAX_LENGTH)


class BidInput(serializers.Serializer):
    unit_price = rate_input()
    quantity = quantity_input()
    promised_date = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.NOTE_MAX_LENGTH)


class BidReviseInput(serializers.Serializer):
    unit_price = rate_input(required=False)
    quantity = quantity_input(required=False)
    promised_date = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=limits.NOTE_MAX_LENGTH)


class AwardInput(serializers.Serializer):
    bid = IdField()
    quantity = quantity_input()


class MaterialLineInput(serializers.Serializer):
    material = IdField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal(0),
                                        max_value=limits.MAX_MATERIAL_QUANTITY)


class DispatchInput(serializers.Serializer):
    lines = MaterialLineInput(many=True, allow_empty=False, max_length=limits.MAX_MATERIALS)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def validate_lines(self, lines):
        if any(line["quantity"] <= 0 for line in lines):
            raise serializers.ValidationError(_("Quantities must be positive."))
        return lines


class ReceiveInput(serializers.Serializer):
    lines = MaterialLineInput(many=True, required=False, max_length=limits.MAX_MATERIALS)


class ReturnInput(serializers.Serializer):
    material = IdField()
    quantity = material_quantity_input()


class DeliveryInput(serializers.Serializer):
    quantity = quantity_input()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class InspectionInput(serializers.Serializer):
    accepted = serializers.IntegerField(min_value=0, max_value=limits.MAX_QUANTITY)
    rejected = serializers.IntegerField(min_value=0, max_value=limits.MAX_QUANTITY)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.REASON_MAX_LENGTH)


class SubcontractInput(serializers.Serializer):
    to_broker = IdField()
    quantity = quantity_input()
    unit_price = rate_input()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class AttachmentInput(serializers.Serializer):
    file = serializers.FileField(max_length=200)
    caption = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


# --- output ----------------------------------------------------------------------------------

class ProcedureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Procedure
        fields = ["id", "sequence", "name", "standard_minutes"]


class MaterialSerializer(serializers.ModelSerializer):
    unit_value = MoneyAmountField()

    class Meta:
        model = Material
        fields = ["id", "name", "unit", "quantity_per_piece", "loss_allowance_pct", "unit_value"]


class AttachmentSerializer(serializers.ModelSerializer):
    # Files are served through the API, to whoever may see the order, never from a public path.
    # `name` is the uploader's (cleaned), `content_type` the one checked from the bytes.
    name = serializers.CharField(source="download_name", read_only=True)
    content_type = serializers.CharField(source="served_content_type", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "url", "caption", "uploaded_at"]

    def get_url(self, attachment) -> str:
        return f"/api/orders/{attachment.order_id}/attachments/{attachment.pk}/file/"


class OrderListSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    ceiling_unit_price = MoneyAmountField()

    class Meta:
        model = Order
        fields = ["id", "product", "category", "category_label", "firm", "firm_name", "quantity", "unit", "modes",
                  "ceiling_unit_price", "bid_deadline", "due_date", "delivery_place", "status", "status_label",
                  "terms_version", "published_at"]


class OrderDetailSerializer(OrderListSerializer):
    procedures = ProcedureSerializer(many=True, read_only=True)
    materials = MaterialSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    standard_minutes = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    # Filled by the view for whoever may know them: the firm's live bid count, a broker's floor.
    bid_count = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    fair_rate_floor = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, read_only=True,
                                               allow_null=True, default=None)

    class Meta(OrderListSerializer.Meta):
        fields = OrderListSerializer.Meta.fields + ["description", "procedures", "materials", "attachments",
                                                    "standard_minutes", "bid_count", "fair_rate_floor"]


class OrderEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ["id", "action", "from_status", "to_status", "actor", "actor_name", "reason", "data", "at"]

    def get_actor_name(self, event) -> str | None:
        return str(event.actor) if event.actor_id else None


class TrackRecordSerializer(serializers.Serializer):
    orders_completed = serializers.IntegerField()
    on_time_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    acceptance_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    worker_count = serializers.IntegerField()


class BidSerializer(serializers.ModelSerializer):
    broker_name = serializers.CharField(source="broker.name", read_only=True)
    unit_price = MoneyAmountField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    implied_hourly_pay = serializers.SerializerMethodField()
    track_record = serializers.SerializerMethodField()

    class Meta:
        model = Bid
        fields = ["id", "order", "broker", "broker_name", "unit_price", "quantity", "promised_date", "note", "status",
                  "status_label", "revision", "terms_version", "created_at", "updated_at", "implied_hourly_pay",
                  "track_record"]

    def get_implied_hourly_pay(self, bid) -> str | None:
        minutes = self.context.get("standard_minutes", {}).get(bid.order_id)
        if minutes is None:
            return None
        return str(implied_hourly_pay(unit_price=bid.unit_price.amount, standard_minutes=minutes))

    def get_track_record(self, bid) -> dict | None:
        record = self.context.get("track_records", {}).get(bid.broker_id)
        return TrackRecordSerializer(record).data if record is not None else None


class DispatchLineSerializer(serializers.ModelSerializer):
    material_name = serializers.CharField(source="material.name", read_only=True)

    class Meta:
        model = DispatchLine
        fields = ["material", "material_name", "quantity", "received_quantity"]


class DispatchSerializer(serializers.ModelSerializer):
    lines = DispatchLineSerializer(many=True, read_only=True)

    class Meta:
        model = Dispatch
        fields = ["id", "award", "status", "note", "sent_at", "received_at", "lines"]


class MaterialReturnSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaterialReturn
        fields = ["id", "award", "material", "quantity", "returned_at"]


class InspectionSerializer(serializers.ModelSerializer):
    fee_due = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = ["id", "delivery", "award", "accepted", "rejected", "reason", "inspected_at", "fee_due"]

    def get_fee_due(self, inspection) -> str:
        from .calculations import award_value

        return str(award_value(quantity=inspection.accepted, unit_price=inspection.award.unit_price.amount))


class DeliverySerializer(serializers.ModelSerializer):
    inspection = InspectionSerializer(read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "award", "quantity", "note", "status", "delivered_at", "inspection"]


class ReconciliationLineSerializer(serializers.ModelSerializer):
    material_name = serializers.CharField(source="material.name", read_only=True)
    excess_charge = MoneyAmountField()
    discrepancy = serializers.DecimalField(
        max_digits=14, decimal_places=4, read_only=True,
        help_text="Consumed and returned beyond what was received (not charged; 0 when all is accounted for): "
                  "received + discrepancy = consumed + returned + lost_within_allowance + excess_loss.")

    class Meta:
        model = ReconciliationLine
        fields = ["material", "material_name", "dispatched", "received", "consumed", "returned",
                  "lost_within_allowance", "excess_loss", "excess_charge", "discrepancy"]


class SubcontractSerializer(serializers.ModelSerializer):
    from_broker_name = serializers.CharField(source="from_broker.name", read_only=True)
    to_broker_name = serializers.CharField(source="to_broker.name", read_only=True)
    order = serializers.IntegerField(source="award.order_id", read_only=True)
    unit_price = MoneyAmountField()

    class Meta:
        model = Subcontract
        fields = ["id", "award", "order", "from_broker", "from_broker_name", "to_broker", "to_broker_name",
                  "quantity", "unit_price", "note", "status", "created_at", "decided_at"]
        schema_optional = ["unit_price", "note"]  # the firm's view (below) leaves them out


class FirmSubcontractSerializer(SubcontractSerializer):
    """What the firm sees: that part of the work moved, and to whom; not the brokers' price."""

    class Meta(SubcontractSerializer.Meta):
        fields = [f for f in SubcontractSerializer.Meta.fields if f not in ("unit_price", "note")]


class AwardSerializer(serializers.ModelSerializer):
    broker_name = serializers.CharField(source="broker.name", read_only=True)
    product = serializers.CharField(source="order.product", read_only=True)
    unit_price = MoneyAmountField()
    value = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Award
        fields = ["id", "order", "product", "bid", "broker", "broker_name", "quantity", "unit_price", "value",
                  "status", "status_label", "promised_date", "awarded_at", "completed_at", "progress"]

    def get_value(self, award) -> str:
        from .calculations import award_value

        return str(award_value(quantity=award.quantity, unit_price=award.unit_price.amount))

    def get_progress(self, award) -> dict | None:
        progress = self.context.get("progress", {}).get(award.pk)
        return progress.__dict__ if progress is not None else None


class AwardDetailSerializer(AwardSerializer):
    dispatches = DispatchSerializer(many=True, read_only=True)
    returns = MaterialReturnSerializer(many=True, read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)
    reconciliation = ReconciliationLineSerializer(many=True, read_only=True)
    subcontracts = serializers.SerializerMethodField()

    class Meta(AwardSerializer.Meta):
        fields = AwardSerializer.Meta.fields + ["dispatches", "returns", "deliveries", "reconciliation",
                                                "subcontracts"]

    def get_subcontracts(self, award) -> list[dict]:
        user = self.context["request"].user
        serializer = FirmSubcontractSerializer if user.is_firm_member else SubcontractSerializer
        return serializer(award.subcontracts.all(), many=True).data

