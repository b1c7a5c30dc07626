"""The marketplace: orders with their procedures and materials, sealed bids, awards, material
dispatch and returns, deliveries, inspections, reconciliation and subcontracts.

State lives in `status` fields changed only by the transition services in `services/`; every
change writes an `OrderEvent` with who, when and why."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from accounts.models import Organisation
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES, CURRENCY, RATE_DIGITS, RATE_PLACES
from core.uploads import UNCHECKED_CONTENT_TYPE

CNY_CHOICES = [(CURRENCY, CURRENCY)]


def rate_field(verbose_name, **kwargs) -> MoneyField:
    return MoneyField(verbose_name, max_digits=RATE_DIGITS, decimal_places=RATE_PLACES,
                      default_currency=CURRENCY, currency_choices=CNY_CHOICES, **kwargs)


def amount_field(verbose_name, **kwargs) -> MoneyField:
    return MoneyField(verbose_name, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                      default_currency=CURRENCY, currency_choices=CNY_CHOICES, **kwargs)


class Category(models.TextChoices):
    BEAD_WORK = "bead_work", _("Bead work")
    PEARL_EMBROIDERY = "pearl_embroidery", _("Pearl embroidery")
    CROCHET = "crochet", _("Crochet")
    KNITTING = "knitting", _("Knitting")
    GARMENT_SEWING = "garment_sewing", _("Garment sewing")
    MACHINERY = "machinery", _("Machinery / welding")
    OTHER = "other", _("Other")


class Order(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        BIDDING_CLOSED = "bidding_closed", _("Bidding closed")
        AWARDED = "awarded", _("Awarded")
        IN_PRODUCTION = "in_production", _("In production")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    firm = models.ForeignKey(Organisation, models.PROTECT, related_name="orders", verbose_name=_("firm"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    product = models.CharField(_("product"), max_length=200)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices, db_index=True)
    description = models.TextField(_("description"), blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit = models.CharField(_("unit"), max_length=20, default="件")
    # Accepted processing modes (brokers.models.WorkMode values).
    modes = models.JSONField(_("processing modes"), default=list)
    ceiling_unit_price = rate_field(_("ceiling unit price"))
    bid_deadline = models.DateTimeField(_("bid deadline"), db_index=True)
    due_date = models.DateField(_("due date"))
    delivery_place = models.CharField(_("delivery place"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Bumped by every edit of price, quantity or procedures; bids remember the version they priced.
    terms_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["status", "bid_deadline"]), models.Index(fields=["firm", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(ceiling_unit_price__gt=0), name="order_ceiling_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.product}"

    # Guards: each transition service asks one of these before it moves.
    def bidding_open(self, now=None) -> bool:
        return self.status == self.Status.PUBLISHED and (now or timezone.now()) < self.bid_deadline

    def deadline_passed(self, now=None) -> bool:
        return (now or timezone.now()) >= self.bid_deadline

    def can_publish(self) -> bool:
        return self.status == self.Status.DRAFT

    def can_cancel(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.PUBLISHED, self.Status.BIDDING_CLOSED, self.Status.AWARDED)

    def can_award(self, now=None) -> bool:
        # in production too: quantity a broker declined goes to the next bid while others work
        return self.status in (self.Status.PUBLISHED, self.Status.BIDDING_CLOSED, self.Status.AWARDED,
                               self.Status.IN_PRODUCTION) and self.deadline_passed(now)

    def can_edit(self, now=None) -> bool:
        return self.status == self.Status.DRAFT or self.bidding_open(now)

    @property
    def standard_minutes(self) -> Decimal:
        return sum((p.standard_minutes for p in self.procedures.all()), Decimal(0))


class Procedure(models.Model):
    order = models.ForeignKey(Order, models.CASCADE, related_name="procedures")
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    name = models.CharField(_("name"), max_length=100)
    standard_minutes = models.DecimalField(_("standard minutes per piece"), max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["order", "sequence"]
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="procedure_sequence_unique"),
            models.CheckConstraint(condition=Q(standard_minutes__gt=0), name="procedure_minutes_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Material(models.Model):
    """A material the firm supplies: quantity per piece plus an allowance for loss."""

    order = models.ForeignKey(Order, models.CASCADE, related_name="materials")
    name = models.CharField(_("name"), max_length=100)
    unit = models.CharField(_("unit"), max_length=20)
    quantity_per_piece = models.DecimalField(_("quantity per piece"), max_digits=12, decimal_places=4)
    loss_allowance_pct = models.DecimalField(_("loss allowance (%)"), max_digits=5, decimal_places=2, default=0)
    unit_value = rate_field(_("unit value"))

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        constraints = [
            models.CheckConstraint(condition=Q(quantity_per_piece__gt=0), name="material_per_piece_positive"),
            models.CheckConstraint(
                condition=Q(loss_allowance_pct__gte=0, loss_allowance_pct__lte=100), name="material_allowance_pct"
            ),
            models.CheckConstraint(condition=Q(unit_value__gte=0), name="material_value_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


def attachment_path(instance: "Attachment", filename: str) -> str:
    # `filename` is the server's (core.uploads.stored_name), never the client's
    return f"orders/{instance.order_id}/{filename}"


class Attachment(models.Model):
    """A document of an order. Its kind was checked from its bytes (core.uploads.check_upload);
    rows from before that check have no content_type and are served as a plain download."""

    order = models.ForeignKey(Order, models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path)
    content_type = models.CharField(_("checked content type"), max_length=100, blank=True)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    @property
    def download_name(self) -> str:
        return self.original_name or self.file.name.rsplit("/", 1)[-1]

    @property
    def served_content_type(self) -> str:
        return self.content_type or UNCHECKED_CONTENT_TYPE


class OrderEvent(models.Model):
    """The audit trail of an order and everything under it: who did what, when and why."""

    order = models.ForeignKey(Order, models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"])]


class Bid(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        NEEDS_RECONFIRM = "needs_reconfirm", _("Needs re-confirmation")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    order = models.ForeignKey(Order, models.PROTECT, related_name="bids")
    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="bids")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    unit_price = rate_field(_("unit price"))
    quantity = models.PositiveIntegerField(_("quantity offered"))
    promised_date = models.DateField(_("promised date"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    terms_version = models.PositiveIntegerField(help_text="The order's terms version this bid priced.")
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        constraints = [
            # one live bid per broker per order; a withdrawn bid frees the slot for a new one
            models.UniqueConstraint(
                fields=["order", "broker"], condition=~Q(status="withdrawn"), name="bid_one_live_per_broker"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bid_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="bid_price_positive"),
        ]
        indexes = [models.Index(fields=["broker", "status"])]


class Award(models.Model):
    """Part (or all) of an order given to one broker at its bid's unit price."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DECLINED = "declined", _("Declined by the broker")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    order = models.ForeignKey(Order, models.PROTECT, related_name="awards")
    bid = models.ForeignKey(Bid, models.PROTECT, related_name="awards")
    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="awards")
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = rate_field(_("unit price"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    awarded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    awarded_at = models.DateTimeField(default=timezone.now)
    promised_date = models.DateField(_("promised date"))
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("award")
        verbose_name_plural = _("awards")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="award_quantity_positive")]
        indexes = [models.Index(fields=["broker", "status"])]

    def __str__(self) -> str:
        return f"award #{self.pk} of order #{self.order_id}"


class Dispatch(models.Model):
    """Materials the firm sent for an award; the broker confirms what arrived."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        RECEIVED = "received", _("Received")

    award = models.ForeignKey(Award, models.PROTECT, related_name="dispatches")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SENT)
    note = models.CharField(max_length=200, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]


class DispatchLine(models.Model):
    dispatch = models.ForeignKey(Dispatch, models.CASCADE, related_name="lines")
    material = models.ForeignKey(Material, models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    received_quantity = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "material"], name="dispatch_line_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="dispatch_line_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__isnull=True) | Q(received_quantity__gte=0),
                name="dispatch_line_received_not_negative",
            ),
        ]


class MaterialReturn(models.Model):
    """Unused material the broker sends back."""

    award = models.ForeignKey(Award, models.PROTECT, related_name="returns")
    material = models.ForeignKey(Material, models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    returned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="return_positive")]


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting inspection")
        INSPECTED = "inspected", _("Inspected")

    award = models.ForeignKey(Award, models.PROTECT, related_name="deliveries")
    quantity = models.PositiveIntegerField(_("quantity"))
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    delivered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = _("deliveries")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="delivery_quantity_positive")]


class Inspection(models.Model):
    """The firm's verdict on one delivery: accepted pieces make the processing fee due; rejected
    pieces go back for rework and may be delivered again."""

    delivery = models.OneToOneField(Delivery, models.PROTECT, related_name="inspection")
    award = models.ForeignKey(Award, models.PROTECT, related_name="inspections")
    accepted = models.PositiveIntegerField(_("accepted"))
    rejected = models.PositiveIntegerField(_("rejected"))
    reason = models.TextField(_("reason for rejection"), blank=True)
    inspected_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    inspected_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["award", "inspected_at"])]


class ReconciliationLine(models.Model):
    """Frozen when an award completes: where each material went, and what excess loss costs."""

    award = models.ForeignKey(Award, models.PROTECT, related_name="reconciliation")
    material = models.ForeignKey(Material, models.PROTECT, related_name="+")
    dispatched = models.DecimalField(max_digits=14, decimal_places=4)
    received = models.DecimalField(max_digits=14, decimal_places=4)
    consumed = models.DecimalField(max_digits=14, decimal_places=4)
    returned = models.DecimalField(max_digits=14, decimal_places=4)
    lost_within_allowance = models.DecimalField(max_digits=14, decimal_places=4)
    excess_loss = models.DecimalField(max_digits=14, decimal_places=4)
    excess_charge = amount_field(_("excess loss charge"))

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["award", "material"], name="reconciliation_once")]

    @property
    def discrepancy(self) -> Decimal:
        """Consumed and returned beyond what was received (0 when the records account for it all):
        received + discrepancy = consumed + returned + lost within allowance + excess loss."""
        return self.consumed + self.returned + self.lost_within_allowance + self.excess_loss - self.received


class Subcontract(models.Model):
    """In busy season a broker passes part of an award to another broker (seed 002)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    award = models.ForeignKey(Award, models.PROTECT, related_name="subcontracts")
    from_broker = models.ForeignKey(Organisation, models.PROTECT, related_name="subcontracts_out")
    to_broker = models.ForeignKey(Organisation, models.PROTECT, related_name="subcontracts_in")
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = rate_field(_("unit price"))
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="subcontract_quantity_positive"),
            models.CheckConstraint(condition=~Q(from_broker=models.F("to_broker")), name="subcontract_other_broker"),
        ]
