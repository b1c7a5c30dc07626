"""Orders: create, edit, publish, cancel, close bidding."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from core.bounds import check_date_within, days_from_today
from core.errors import Forbidden, ValidationFailed
from core.money import cny

from .. import limits
from ..models import Bid, Material, Order, Procedure
from .common import (
    illegal, lock_order, move, notify_board, notify_broker, notify_firm, record_event, require_firm_member,
)

# Changing any of these after bids exist withdraws the bids for re-confirmation.
TERMS_FIELDS = {"ceiling_unit_price", "quantity", "unit", "modes", "due_date", "procedures", "materials"}
PLAIN_FIELDS = ["product", "category", "description", "quantity", "unit", "modes", "bid_deadline", "due_date",
                "delivery_place"]


def check_date_ranges(data: dict[str, Any]) -> None:
    """The deadline and due date given (docs/api.md § Limits): from a month back (a draft may
    keep one that just passed) to a year ahead for bidding, three years for the work."""
    earliest = days_from_today(-limits.DATE_GRACE_DAYS)
    check_date_within(data.get("bid_deadline"), field="bid_deadline", earliest=earliest,
                      latest=days_from_today(limits.BID_DEADLINE_MAX_DAYS_AHEAD))
    check_date_within(data.get("due_date"), field="due_date", earliest=earliest,
                      latest=days_from_today(limits.DUE_DATE_MAX_DAYS_AHEAD))


def _check_dates(*, bid_deadline: datetime, due_date) -> None:
    if due_date <= timezone.localtime(bid_deadline).date():
        raise ValidationFailed(_("The due date must be after the bid deadline."), field="due_date")


def _write_procedures(order: Order, procedures: list[dict[str, Any]]) -> None:
    if not procedures:
        raise ValidationFailed(_("An order needs at least one procedure."), field="procedures")
    order.procedures.all().delete()
    Procedure.objects.bulk_create(
        Procedure(order=order, sequence=index + 1, name=p["name"], standard_minutes=p["standard_minutes"])
        for index, p in enumerate(procedures)
    )


def _write_materials(order: Order, materials: list[dict[str, Any]]) -> None:
    order.materials.all().delete()
    Material.objects.bulk_create(
        Material(order=order, name=m["name"], unit=m["unit"], quantity_per_piece=m["quantity_per_piece"],
                 loss_allowance_pct=m.get("loss_allowance_pct", Decimal(0)), unit_value=cny(m["unit_value"]))
        for m in materials
    )


@transaction.atomic
def order_create(*, actor: User, data: dict[str, Any]) -> Order:
    if actor.role != Role.FIRM_MEMBER or actor.organisation_id is None:
        raise Forbidden(_("Only a firm can post an order."))
    check_date_ranges(data)
    _check_dates(bid_deadline=data["bid_deadline"], due_date=data["due_date"])
    order = Order.objects.create(
        firm_id=actor.organisation_id, created_by=actor, ceiling_unit_price=cny(data["ceiling_unit_price"]),
        **{field: data[field] for field in PLAIN_FIELDS if field in data},
    )
    _write_procedures(order, data.get("procedures") or [])
    _write_materials(order, data.get("materials") or [])
    record_event(order, action="created", actor=actor, to_status=order.status)
    return order


@transaction.atomic
def order_update(*, actor: User, order_id: int, data: dict[str, Any]) -> Order:
    """Edit a draft freely; edit a published order only while bidding is open, and never
    silently: a change of terms withdraws the live bids and asks their brokers to re-confirm."""
    order = lock_order(order_id)
    require_firm_member(actor, order)
    if not order.can_edit():
        raise illegal(order)
    check_date_ranges(data)

    changed: list[str] = []
    for field in PLAIN_FIELDS:
        if field in data and data[field] != getattr(order, field):
            setattr(order, field, data[field])
            changed.append(field)
    if "ceiling_unit_price" in data and cny(data["ceiling_unit_price"]) != order.ceiling_unit_price:
        order.ceiling_unit_price = cny(data["ceiling_unit_price"])
        changed.append("ceiling_unit_price")
    _check_dates(bid_deadline=order.bid_deadline, due_date=order.due_date)
    if order.status == Order.Status.PUBLISHED and order.bid_deadline <= timezone.now():
        raise ValidationFailed(_("The bid deadline must be in the future."), field="bid_deadline")
    if "procedures" in data:
        old = list(order.procedures.values_list("name", "standard_minutes"))
        new = [(p["name"], Decimal(p["standard_minutes"])) for p in data["procedures"]]
        if old != new:
            _write_procedures(order, data["procedures"])
            changed.append("procedures")
    if "materials" in data:
        old = list(order.materials.values_list("name", "unit", "quantity_per_piece", "loss_allowance_pct",
                                               "unit_value"))
        new = [(m["name"], m["unit"], Decimal(m["quantity_per_piece"]), Decimal(m.get("loss_allowance_pct", 0)),
                Decimal(m["unit_value"])) for m in data["materials"]]
        if old != new:  # a form sent back unchanged is not an edit: the bids stand
            _write_materials(order, data["materials"])
            changed.append("materials")
    if not changed:
        return order

    terms_changed = bool(TERMS_FIELDS.intersection(changed))
    if terms_changed:
        order.terms_version += 1
    order.save()
    affected: list[int] = []
    if terms_changed and order.status == Order.Status.PUBLISHED:
        live = Bid.objects.filter(order=order, status=Bid.Status.ACTIVE)
        affected = list(live.values_list("broker_id", flat=True))
        live.update(status=Bid.Status.NEEDS_RECONFIRM, updated_at=timezone.now())
    record_event(order, action="edited", actor=actor, data={"fields": changed, "terms_version": order.terms_version,
                                                             "bids_to_reconfirm": len(affected)})
    for broker_id in affected:
        notify_broker(broker_id, "bid.needs_reconfirm", {"order": order.pk, "fields": changed})
    if order.status == Order.Status.PUBLISHED:
        notify_board("order.updated", order)
    return order


@transaction.atomic
def order_publish(*, actor: User, order_id: int) -> Order:
    order = lock_order(order_id)
    require_firm_member(actor, order)
    if not order.can_publish():
        raise illegal(order)
    if order.bid_deadline <= timezone.now():
        raise ValidationFailed(_("The bid deadline must be in the future."), field="bid_deadline")
    if not order.procedures.exists():
        raise ValidationFailed(_("An order needs at least one procedure."), field="procedures")
    move(order, Order.Status.PUBLISHED, action="published", actor=actor)
    notify_board("order.published", order)
    return order


@transaction.atomic
def order_cancel(*, actor: User, order_id: int, reason: str) -> Order:
    order = lock_order(order_id)
    require_firm_member(actor, order)
    if not reason.strip():
        raise ValidationFailed(_("Say why the order is cancelled."), field="reason")
    if not order.can_cancel():
        raise illegal(order)
    from ..models import Award

    active_awards = Award.objects.select_for_update().filter(order=order, status=Award.Status.ACTIVE)
    if any(a.dispatches.exists() or a.deliveries.exists() for a in active_awards):
        raise illegal(order)  # work has started: finish or settle it instead
    awardees = list(active_awards.values_list("broker_id", flat=True))
    active_awards.update(status=Award.Status.CANCELLED)
    # subcontracts of those awards that were only proposed can no longer happen
    from ..models import Subcontract

    Subcontract.objects.filter(award__order=order, status=Subcontract.Status.PROPOSED).update(
        status=Subcontract.Status.CANCELLED, decided_at=timezone.now())
    bidders = set(Bid.objects.filter(order=order).exclude(status=Bid.Status.WITHDRAWN)
                  .values_list("broker_id", flat=True))
    was_public = order.status != Order.Status.DRAFT
    move(order, Order.Status.CANCELLED, action="cancelled", actor=actor, reason=reason)
    for broker_id in bidders | set(awardees):
        notify_broker(broker_id, "order.cancelled", {"order": order.pk, "reason": reason})
    if was_public:
        notify_board("order.cancelled", order)
    return order


def close_bidding(order: Order, *, actor: User | None) -> None:
    """Move a locked, published order whose deadline has passed to bidding closed, and notify.
    The caller holds the row lock and has checked the guard."""
    live = Bid.objects.filter(order=order).exclude(status=Bid.Status.WITHDRAWN)
    count = live.count()
    bidders = list(live.values_list("broker_id", flat=True))
    move(order, Order.Status.BIDDING_CLOSED, action="bidding_closed", actor=actor, data={"bids": count})
    notify_board("order.closed", order)
    notify_firm(order, "order.bidding_closed", {"bids": count})
    for broker_id in bidders:
        notify_broker(broker_id, "order.bidding_closed", {"order": order.pk})


def order_close_bidding(*, order_id: int, actor: User | None = None) -> bool:
    """Close bidding on an order whose deadline has passed. Idempotent: False if nothing to do.
    The deadline itself is enforced at request time; this records the state and notifies."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status != Order.Status.PUBLISHED or not order.deadline_passed():
            return False
        close_bidding(order, actor=actor)
    return True


def orders_close_due(*, now: datetime | None = None) -> int:
    """The beat job: close every published order past its deadline. Safe to run concurrently
    and repeatedly (each order is locked and re-checked)."""
    due = Order.objects.filter(status=Order.Status.PUBLISHED, bid_deadline__lte=now or timezone.now())
    return sum(order_close_bidding(order_id=order_id) for order_id in due.values_list("pk", flat=True))
