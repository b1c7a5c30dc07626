"""Sealed bids: place, revise, withdraw, re-confirm. Every write checks the deadline at request
time, whatever the scheduler did."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from core.bounds import check_date_within, days_from_today
from core.errors import NotFound, ValidationFailed
from core.money import cny

from .. import limits
from ..errors import AboveCeiling, BelowFloor, BidExists, BiddingClosed, IllegalTransition, QuantityExceeded
from ..models import Bid, Order
from .common import floor_for, lock_order, notify_firm, record_event, require_broker


def _open_for_bids(order: Order) -> None:
    if order.status == Order.Status.CANCELLED:
        raise BiddingClosed(_("This order has been cancelled."), code="order_cancelled")
    if not order.bidding_open():
        raise BiddingClosed()


def _check_terms(*, order: Order, broker: Organisation, unit_price: Decimal, quantity: int,
                 promised_date: date) -> None:
    if quantity > order.quantity:
        raise QuantityExceeded(
            _("You can offer at most the order's %(quantity)s pieces.") % {"quantity": order.quantity},
            field="quantity",
        )
    if unit_price > order.ceiling_unit_price.amount:
        raise AboveCeiling(params={"ceiling": order.ceiling_unit_price.amount}, field="unit_price")
    floor, minutes = floor_for(order=order, broker=broker)
    if unit_price < floor:
        raise BelowFloor(params={"floor": floor, "minutes": minutes}, field="unit_price")
    if promised_date < timezone.localdate():
        raise ValidationFailed(_("The promised date cannot be in the past."), field="promised_date")
    if promised_date > order.due_date:
        raise ValidationFailed(_("Promise delivery by the order's due date, %(due)s, at the latest.")
                               % {"due": order.due_date.isoformat()}, code="after_due_date", field="promised_date")
    check_date_within(promised_date, field="promised_date", earliest=timezone.localdate(),
                      latest=days_from_today(limits.PROMISED_DATE_MAX_DAYS_AHEAD))


def _live_count(order: Order) -> int:
    return Bid.objects.filter(order=order).exclude(status=Bid.Status.WITHDRAWN).count()


def _lock_bid(actor: User, bid_id: int) -> tuple[Bid, Order]:
    bid = Bid.objects.filter(pk=bid_id).values("order_id", "broker_id").first()
    if bid is None:
        raise NotFound()
    require_broker(actor, bid["broker_id"], owner_only=True)
    order = lock_order(bid["order_id"])  # the order first, always: one lock order, no deadlocks
    return Bid.objects.select_for_update().get(pk=bid_id), order


@transaction.atomic
def bid_place(*, actor: User, order_id: int, unit_price: Decimal, quantity: int, promised_date: date,
              note: str = "") -> Bid:
    broker = require_broker(actor, owner_only=True)
    order = lock_order(order_id)
    if order.status == Order.Status.DRAFT:
        raise NotFound()  # a draft is invisible to brokers
    _open_for_bids(order)
    if Bid.objects.filter(order=order, broker=broker).exclude(status=Bid.Status.WITHDRAWN).exists():
        raise BidExists()
    _check_terms(order=order, broker=broker, unit_price=unit_price, quantity=quantity, promised_date=promised_date)
    bid = Bid.objects.create(order=order, broker=broker, placed_by=actor, unit_price=cny(unit_price),
                             quantity=quantity, promised_date=promised_date, note=note,
                             terms_version=order.terms_version)
    # the firm's event says a bid exists, never by whom or at what price (sealed)
    record_event(order, action="bid_placed", actor=actor, data={"bid": bid.pk})
    notify_firm(order, "order.bid_count", {"count": _live_count(order)})
    return bid


@transaction.atomic
def bid_revise(*, actor: User, bid_id: int, unit_price: Decimal | None = None, quantity: int | None = None,
               promised_date: date | None = None, note: str | None = None) -> Bid:
    bid, order = _lock_bid(actor, bid_id)
    if bid.status == Bid.Status.WITHDRAWN:
        raise IllegalTransition(_("A withdrawn bid cannot be revised; place a new one."), code="bid_withdrawn")
    _open_for_bids(order)
    new_price = unit_price if unit_price is not None else bid.unit_price.amount
    new_quantity = quantity if quantity is not None else bid.quantity
    new_date = promised_date if promised_date is not None else bid.promised_date
    _check_terms(order=order, broker=bid.broker, unit_price=new_price, quantity=new_quantity, promised_date=new_date)
    bid.unit_price = cny(new_price)
    bid.quantity = new_quantity
    bid.promised_date = new_date
    if note is not None:
        bid.note = note
    bid.status = Bid.Status.ACTIVE  # a revision against the current terms also re-confirms
    bid.terms_version = order.terms_version
    bid.revision += 1
    bid.save()
    record_event(order, action="bid_revised", actor=actor, data={"bid": bid.pk, "revision": bid.revision})
    return bid


@transaction.atomic
def bid_reconfirm(*, actor: User, bid_id: int) -> Bid:
    bid, order = _lock_bid(actor, bid_id)
    if bid.status != Bid.Status.NEEDS_RECONFIRM:
        raise IllegalTransition(_("Only a bid waiting for re-confirmation can be re-confirmed."),
                                code="bid_not_waiting")
    _open_for_bids(order)
    _check_terms(order=order, broker=bid.broker, unit_price=bid.unit_price.amount, quantity=bid.quantity,
                 promised_date=bid.promised_date)
    bid.status = Bid.Status.ACTIVE
    bid.terms_version = order.terms_version
    bid.save(update_fields=["status", "terms_version", "updated_at"])
    record_event(order, action="bid_reconfirmed", actor=actor, data={"bid": bid.pk})
    return bid


@transaction.atomic
def bid_withdraw(*, actor: User, bid_id: int) -> Bid:
    bid, order = _lock_bid(actor, bid_id)
    if bid.status == Bid.Status.WITHDRAWN:
        raise IllegalTransition(_("This bid is already withdrawn."), code="bid_withdrawn")
    _open_for_bids(order)
    bid.status = Bid.Status.WITHDRAWN
    bid.save(update_fields=["status", "updated_at"])
    record_event(order, action="bid_withdrawn", actor=actor, data={"bid": bid.pk})
    notify_firm(order, "order.bid_count", {"count": _live_count(order)})
    return bid
