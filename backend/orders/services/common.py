"""Helpers shared by the order services: locking, audit events, role checks, notifications."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Organisation, Role, User
from accounts.selectors import minimum_wage_for
from core.realtime import groups, publish

from ..calculations import fair_rate_floor
from ..errors import IllegalTransition, NotFound, NotYours
from ..models import Award, Order, OrderEvent


def record_event(
    order: Order, *, action: str, actor: User | None, from_status: str = "", to_status: str = "",
    reason: str = "", data: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, action=action, actor=actor, from_status=from_status, to_status=to_status,
        reason=reason, data=data or {},
    )


def move(order: Order, to_status: str, *, action: str, actor: User | None, reason: str = "",
         data: dict[str, Any] | None = None) -> None:
    """Set the order's status and write the event. The caller has locked the row and checked
    the guard."""
    from_status = order.status
    order.status = to_status
    fields = ["status"]
    if to_status == Order.Status.PUBLISHED:
        order.published_at = timezone.now()
        fields.append("published_at")
    order.save(update_fields=fields)
    record_event(order, action=action, actor=actor, from_status=from_status, to_status=to_status,
                 reason=reason, data=data)


def illegal(order: Order) -> IllegalTransition:
    return IllegalTransition(params={"status": order.get_status_display()})


def lock_order(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    return order


def lock_award(award_id: int) -> Award:
    award = Award.objects.select_for_update().select_related("order").filter(pk=award_id).first()
    if award is None:
        raise NotFound()
    return award


def require_firm_member(actor: User, order: Order) -> None:
    if not (actor.is_admin_role or (actor.role == Role.FIRM_MEMBER and actor.organisation_id == order.firm_id)):
        raise NotFound()  # another firm's order does not exist for you


def require_broker(actor: User, broker_id: int | None = None, *, owner_only: bool = False) -> Organisation:
    roles = (Role.BROKER_OWNER,) if owner_only else (Role.BROKER_OWNER, Role.TEAM_HEAD)
    if actor.role not in roles or actor.organisation_id is None:
        raise NotYours()
    if broker_id is not None and actor.organisation_id != broker_id:
        raise NotFound()
    return actor.organisation


def floor_for(*, order: Order, broker: Organisation, on: date | None = None) -> tuple[Decimal, Decimal]:
    """(floor unit price, standard minutes) of this order for a broker in its county."""
    minutes = order.standard_minutes
    wage = minimum_wage_for(county_id=broker.jurisdiction.county_id, on=on or timezone.localdate())
    return fair_rate_floor(standard_minutes=minutes, wage_per_minute=wage.per_minute), minutes


def order_summary(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk, "product": order.product, "category": order.category, "quantity": order.quantity,
        "unit": order.unit, "status": order.status, "bid_deadline": timezone.localtime(order.bid_deadline).isoformat(),
        "due_date": order.due_date.isoformat(), "ceiling_unit_price": str(order.ceiling_unit_price.amount),
        "modes": order.modes,
    }


def notify_board(event_type: str, order: Order) -> None:
    publish(groups.BOARD, event_type, order_summary(order))


def notify_firm(order: Order, event_type: str, payload: dict[str, Any]) -> None:
    publish(groups.firm(order.firm_id), event_type, {"order": order.pk, **payload})


def notify_broker(broker_id: int, event_type: str, payload: dict[str, Any]) -> None:
    publish(groups.broker(broker_id), event_type, payload)
