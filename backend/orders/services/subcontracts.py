"""Subcontracting in busy season: a broker passes part of an award to another broker, who
accepts or declines. Traced both ways; the firm sees that it happened (not the price)."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from core.errors import NotFound, ValidationFailed
from core.money import cny

from ..errors import BelowFloor, IllegalTransition, QuantityExceeded
from ..models import Award, Subcontract
from .common import floor_for, lock_award, lock_order, notify_broker, notify_firm, record_event, require_broker

HOLDING = (Subcontract.Status.PROPOSED, Subcontract.Status.ACCEPTED)


@transaction.atomic
def subcontract_propose(*, actor: User, award_id: int, to_broker_id: int, quantity: int, unit_price: Decimal,
                        note: str = "") -> Subcontract:
    row = Award.objects.filter(pk=award_id).values("order_id", "broker_id").first()
    if row is None:
        raise NotFound()
    require_broker(actor, row["broker_id"], owner_only=True)
    order = lock_order(row["order_id"])
    award = lock_award(award_id)
    if award.status != Award.Status.ACTIVE:
        raise IllegalTransition(_("Only an active award can be subcontracted."), code="award_not_active")
    to_broker = Organisation.objects.filter(pk=to_broker_id, kind=Organisation.Kind.BROKER).first()
    if to_broker is None or to_broker.pk == award.broker_id:
        raise ValidationFailed(_("Choose another broker."), field="to_broker")
    passed = Subcontract.objects.filter(award=award, status__in=HOLDING).aggregate(n=Sum("quantity"))["n"] or 0
    if quantity > award.quantity - passed:
        raise QuantityExceeded(
            _("At most %(left)s pieces of this award can still be passed on.") % {"left": award.quantity - passed},
            field="quantity",
        )
    floor, minutes = floor_for(order=order, broker=to_broker)
    if unit_price < floor:
        raise BelowFloor(params={"floor": floor, "minutes": minutes}, field="unit_price")
    sub = Subcontract.objects.create(award=award, from_broker_id=award.broker_id, to_broker=to_broker,
                                     quantity=quantity, unit_price=cny(unit_price), note=note, created_by=actor)
    record_event(order, action="subcontract_proposed", actor=actor,
                 data={"award": award.pk, "subcontract": sub.pk, "to_broker": to_broker.pk, "quantity": quantity})
    notify_broker(to_broker.pk, "subcontract.proposed", {"subcontract": sub.pk, "order": order.pk,
                                                         "quantity": quantity})
    return sub


def _decide(*, actor: User, subcontract_id: int, to_status: str, by_receiver: bool) -> Subcontract:
    sub = Subcontract.objects.filter(pk=subcontract_id).select_related("award").first()
    if sub is None:
        raise NotFound()
    require_broker(actor, sub.to_broker_id if by_receiver else sub.from_broker_id, owner_only=True)
    order = lock_order(sub.award.order_id)
    sub = Subcontract.objects.select_for_update().get(pk=subcontract_id)
    if sub.status != Subcontract.Status.PROPOSED:
        raise IllegalTransition(_("This subcontract has already been decided."), code="subcontract_decided")
    if to_status == Subcontract.Status.ACCEPTED and lock_award(sub.award_id).status != Award.Status.ACTIVE:
        # the award was cancelled or completed since the proposal: there is no work left to take
        raise IllegalTransition(_("The award behind this subcontract is no longer active."), code="award_not_active")
    sub.status = to_status
    sub.decided_at = timezone.now()
    sub.save(update_fields=["status", "decided_at"])
    record_event(order, action=f"subcontract_{to_status}", actor=actor,
                 data={"subcontract": sub.pk, "award": sub.award_id, "to_broker": sub.to_broker_id,
                       "quantity": sub.quantity})
    other = sub.from_broker_id if by_receiver else sub.to_broker_id
    notify_broker(other, f"subcontract.{to_status}", {"subcontract": sub.pk, "order": order.pk})
    if to_status == Subcontract.Status.ACCEPTED:
        notify_firm(order, "subcontract.accepted", {"award": sub.award_id, "to_broker": sub.to_broker_id,
                                                    "quantity": sub.quantity})
    return sub


@transaction.atomic
def subcontract_accept(*, actor: User, subcontract_id: int) -> Subcontract:
    return _decide(actor=actor, subcontract_id=subcontract_id, to_status=Subcontract.Status.ACCEPTED,
                   by_receiver=True)


@transaction.atomic
def subcontract_decline(*, actor: User, subcontract_id: int) -> Subcontract:
    return _decide(actor=actor, subcontract_id=subcontract_id, to_status=Subcontract.Status.DECLINED,
                   by_receiver=True)


@transaction.atomic
def subcontract_cancel(*, actor: User, subcontract_id: int) -> Subcontract:
    return _decide(actor=actor, subcontract_id=subcontract_id, to_status=Subcontract.Status.CANCELLED,
                   by_receiver=False)
