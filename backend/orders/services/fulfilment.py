"""Fulfilment of an award: material dispatch and receipt, returns, deliveries and inspections.
An accepted inspection makes the processing fee due (`calculations.processing_fee_due`), which
the payments app turns into an invoice."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, ValidationFailed

from ..calculations import FeeDue, processing_fee_due, quantity as quantity_of, returnable  # noqa: F401 (FeeDue)
from ..errors import IllegalTransition, QuantityExceeded
from ..models import Award, Delivery, Dispatch, DispatchLine, Inspection, Material, MaterialReturn, Order
from .common import lock_award, lock_order, move, notify_broker, notify_firm, record_event, require_broker
from .common import require_firm_member


def _active(award: Award) -> None:
    if award.status != Award.Status.ACTIVE:
        raise IllegalTransition(_("This award is not active (%(status)s).") % {"status": award.get_status_display()},
                                code="award_not_active")


def _start_production(order: Order, actor: User, action: str) -> None:
    if order.status == Order.Status.AWARDED:
        move(order, Order.Status.IN_PRODUCTION, action=action, actor=actor)


def _award_for(award_id: int) -> dict[str, Any]:
    row = Award.objects.filter(pk=award_id).values("order_id", "broker_id").first()
    if row is None:
        raise NotFound()
    return row


def _materials(order: Order, lines: list[dict[str, Any]]) -> dict[int, Material]:
    if not lines:
        raise ValidationFailed(_("Name at least one material."), field="lines")
    ids = [line["material"] for line in lines]
    if len(set(ids)) != len(ids):
        raise ValidationFailed(_("Each material may appear once."), field="lines")
    found = {m.pk: m for m in Material.objects.filter(order=order, pk__in=ids)}
    missing = [index for index, line in enumerate(lines) if line["material"] not in found]
    if missing:
        raise ValidationFailed(fields={f"lines.{i}.material": [_("Not a material of this order.")] for i in missing})
    return found


@transaction.atomic
def dispatch_send(*, actor: User, award_id: int, lines: list[dict[str, Any]], note: str = "") -> Dispatch:
    row = _award_for(award_id)
    order = lock_order(row["order_id"])
    require_firm_member(actor, order)
    award = lock_award(award_id)
    _active(award)
    _materials(order, lines)
    dispatch = Dispatch.objects.create(award=award, note=note, sent_by=actor)
    DispatchLine.objects.bulk_create(
        DispatchLine(dispatch=dispatch, material_id=line["material"], quantity=line["quantity"]) for line in lines
    )
    record_event(order, action="materials_dispatched", actor=actor, data={"award": award.pk, "dispatch": dispatch.pk})
    _start_production(order, actor, "materials_dispatched")
    notify_broker(award.broker_id, "materials.dispatched", {"order": order.pk, "award": award.pk,
                                                            "dispatch": dispatch.pk})
    return dispatch


@transaction.atomic
def dispatch_receive(*, actor: User, dispatch_id: int, lines: list[dict[str, Any]] | None = None) -> Dispatch:
    """The broker confirms what arrived; lines omitted mean 'all of it'."""
    dispatch = Dispatch.objects.filter(pk=dispatch_id).select_related("award").first()
    if dispatch is None:
        raise NotFound()
    require_broker(actor, dispatch.award.broker_id)
    order = lock_order(dispatch.award.order_id)
    dispatch = Dispatch.objects.select_for_update().get(pk=dispatch_id)
    if dispatch.status != Dispatch.Status.SENT:
        raise IllegalTransition(_("This dispatch is already confirmed."), code="dispatch_received")
    sent = {line.material_id: line for line in dispatch.lines.all()}
    received = {line["material"]: line["quantity"] for line in (lines or [])}
    unknown = [m for m in received if m not in sent]
    if unknown:
        raise ValidationFailed(_("A material that was not in this dispatch."), field="lines")
    for material_id, line in sent.items():
        line.received_quantity = received.get(material_id, line.quantity)
        if line.received_quantity > line.quantity:
            raise ValidationFailed(_("More received than was sent."), field="lines")
    DispatchLine.objects.bulk_update(sent.values(), ["received_quantity"])
    dispatch.status = Dispatch.Status.RECEIVED
    dispatch.received_by = actor
    dispatch.received_at = timezone.now()
    dispatch.save(update_fields=["status", "received_by", "received_at"])
    shortfall = {str(m): str(line.quantity - line.received_quantity) for m, line in sent.items()
                 if line.received_quantity != line.quantity}
    record_event(order, action="materials_received", actor=actor,
                 data={"award": dispatch.award_id, "dispatch": dispatch.pk, "shortfall": shortfall})
    notify_firm(order, "materials.received", {"award": dispatch.award_id, "dispatch": dispatch.pk,
                                              "shortfall": shortfall})
    return dispatch


@transaction.atomic
def material_return(*, actor: User, award_id: int, material_id: int, quantity: Decimal) -> MaterialReturn:
    row = _award_for(award_id)
    require_broker(actor, row["broker_id"])
    order = lock_order(row["order_id"])
    award = lock_award(award_id)
    _active(award)
    material = Material.objects.filter(order=order, pk=material_id).first()
    if material is None:
        raise ValidationFailed(_("Not a material of this order."), field="material")
    # the award row is locked (above): returns, receipts and inspections of this award queue up
    # behind it, so the figures below cannot change before this return is stored
    received = DispatchLine.objects.filter(dispatch__award=award, material=material).aggregate(
        q=Sum("received_quantity"))["q"] or 0
    returned = MaterialReturn.objects.filter(award=award, material=material).aggregate(q=Sum("quantity"))["q"] or 0
    accepted, pending = _pieces(award)
    # pieces delivered and awaiting inspection hold their material too (rejected ones are reworked)
    made = accepted + pending
    left = returnable(received=received, returned=returned, pieces=made,
                      quantity_per_piece=material.quantity_per_piece)
    if quantity > left:
        raise QuantityExceeded(
            _("Only %(left)s %(unit)s of this material can still be returned: %(received)s received, "
              "%(consumed)s used by the %(pieces)s pieces delivered (%(per_piece)s a piece), %(returned)s "
              "already returned.")
            % {"left": _plain(left), "unit": material.unit, "received": _plain(received),
               "consumed": _plain(made * material.quantity_per_piece), "pieces": made,
               "per_piece": _plain(material.quantity_per_piece), "returned": _plain(returned)},
            field="quantity",
        )
    item = MaterialReturn.objects.create(award=award, material=material, quantity=quantity, returned_by=actor)
    record_event(order, action="materials_returned", actor=actor,
                 data={"award": award.pk, "material": material.pk, "quantity": str(quantity)})
    return item


def _plain(value) -> str:
    """A material quantity for a message: its 4 places, without trailing zeros (2450, 0.25)."""
    text = f"{quantity_of(Decimal(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _pieces(award: Award) -> tuple[int, int]:
    """(accepted so far, delivered and awaiting inspection)."""
    accepted = Inspection.objects.filter(award=award).aggregate(n=Sum("accepted"))["n"] or 0
    pending = Delivery.objects.filter(award=award, status=Delivery.Status.PENDING).aggregate(n=Sum("quantity"))["n"]
    return accepted, pending or 0


@transaction.atomic
def delivery_record(*, actor: User, award_id: int, quantity: int, note: str = "") -> Delivery:
    row = _award_for(award_id)
    require_broker(actor, row["broker_id"])
    order = lock_order(row["order_id"])
    award = lock_award(award_id)
    _active(award)
    accepted, pending = _pieces(award)
    open_quantity = award.quantity - accepted - pending
    if quantity > open_quantity:
        raise QuantityExceeded(
            _("Only %(open)s pieces of this award are open for delivery.") % {"open": open_quantity},
            field="quantity",
        )
    delivery = Delivery.objects.create(award=award, quantity=quantity, note=note, delivered_by=actor)
    record_event(order, action="delivered", actor=actor, data={"award": award.pk, "delivery": delivery.pk,
                                                               "quantity": quantity})
    _start_production(order, actor, "delivered")
    notify_firm(order, "delivery.created", {"award": award.pk, "delivery": delivery.pk, "quantity": quantity})
    return delivery


@transaction.atomic
def inspection_record(*, actor: User, delivery_id: int, accepted: int, rejected: int, reason: str = "") -> Inspection:
    delivery = Delivery.objects.filter(pk=delivery_id).select_related("award").first()
    if delivery is None:
        raise NotFound()
    order = lock_order(delivery.award.order_id)
    require_firm_member(actor, order)
    award = lock_award(delivery.award_id)
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    if delivery.status != Delivery.Status.PENDING:
        raise IllegalTransition(_("This delivery is already inspected."), code="delivery_inspected")
    if accepted + rejected != delivery.quantity:
        raise ValidationFailed(
            _("Accepted and rejected must add up to the %(quantity)s pieces delivered.")
            % {"quantity": delivery.quantity}, field="accepted",
        )
    if rejected and not reason.strip():
        raise ValidationFailed(_("Say why pieces are rejected."), field="reason")
    inspection = Inspection.objects.create(delivery=delivery, award=award, accepted=accepted, rejected=rejected,
                                           reason=reason, inspected_by=actor)
    delivery.status = Delivery.Status.INSPECTED
    delivery.save(update_fields=["status"])
    fee = processing_fee_due(inspection=inspection)
    from payments.invoicing import invoice_add_inspection

    invoice_add_inspection(inspection=inspection, fee=fee)  # the fee falls due on the award's invoice
    record_event(order, action="inspected", actor=actor, reason=reason,
                 data={"award": award.pk, "delivery": delivery.pk, "accepted": accepted, "rejected": rejected,
                       "fee_due": str(fee.amount)})
    notify_broker(award.broker_id, "inspection.recorded",
                  {"order": order.pk, "award": award.pk, "delivery": delivery.pk, "accepted": accepted,
                   "rejected": rejected, "fee_due": str(fee.amount)})
    return inspection
