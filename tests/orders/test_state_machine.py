"""The marketplace's state machine, through the services: every order state × every transition.
A legal move changes the state and writes an OrderEvent naming the actor and the from/to states;
an illegal one raises its domain error (409 with a stable code) and changes nothing at all."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import pytest
from django.utils import timezone

from accounts.models import MinimumWage, Organisation, Role
from core.errors import Forbidden, NotFound, ValidationFailed
from orders import services
from orders.errors import (
    AboveCeiling, AwardQuantityExceeded, BelowFloor, BidExists, BiddingClosed, BidNotAwardable, DeadlineNotPassed,
    IllegalTransition, NotYours, QuantityExceeded,
)
from orders.models import Award, Bid, Delivery, Dispatch, Order, OrderEvent, ReconciliationLine, Subcontract
from orders.tasks import close_due_bidding

from ..factories import OrganisationFactory, UserFactory
from .builders import bid, draft, order_data, pass_deadline, published
from .snapshots import refused, snapshot

pytestmark = pytest.mark.django_db

D = Decimal
BUSY = "忙不过来"  # a broker's reason to decline


def promised(days: int = 20) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def new_events(order: Order, since: int) -> list[tuple[str, str, str, int | None]]:
    rows = OrderEvent.objects.filter(order=order).order_by("id").values_list("action", "from_status", "to_status",
                                                                             "actor_id")
    return list(rows)[since:]


def moved(order: Order, call: Callable[[], Any], actor, events: list[tuple[str, str, str]]) -> Any:
    """`call` succeeds and writes exactly `events` (action, from, to), each naming `actor`; the
    order ends in the last named to-state (or stays where it was)."""
    status, since = Order.objects.get(pk=order.pk).status, OrderEvent.objects.filter(order=order).count()
    result = call()
    assert new_events(order, since) == [(a, f, t, actor.pk if actor else None) for a, f, t in events]
    final = next((t for _, _, t in reversed(events) if t), status)
    assert Order.objects.get(pk=order.pk).status == final
    return result


def add_broker(jurisdiction, name: str = "第三加工点"):
    org = OrganisationFactory(kind=Organisation.Kind.BROKER, name=name, jurisdiction=jurisdiction)
    return UserFactory(role=Role.BROKER_OWNER, organisation=org)


# --- scenes: an order in each state, built through the services -----------------------------

@dataclass
class Scene:
    order: Order
    bids: list[Bid] = field(default_factory=list)  # [the broker's, the rival's]
    award: Award | None = None  # the broker's award of 60
    delivery: Delivery | None = None


ORDER_STATES = ["draft", "published", "published_due", "bidding_closed", "awarded", "declined", "in_production",
                "completed", "cancelled"]
AWARD_STATES = ["awarded", "declined", "in_production", "completed", "cancelled"]


def build(p, state: str) -> Scene:
    """100 pieces; the broker bids 1.20 and the rival 1.10 for all of them; the broker gets 60.
    declined: the broker declined its award (the order is back to bidding closed);
    in_production: materials sent and received, 10 pieces delivered and awaiting inspection;
    completed: all 60 delivered, accepted and the award completed; cancelled: after the award."""
    if state == "draft":
        return Scene(draft(p.firm, quantity=100))
    order = published(p.firm, quantity=100)
    scene = Scene(order, [bid(p.broker, order, unit_price="1.2000"), bid(p.rival_broker, order, unit_price="1.1000")])
    if state != "published":
        pass_deadline(order)
    if state not in ("published", "published_due"):
        assert services.order_close_bidding(order_id=order.pk)
    if state in ORDER_STATES[4:]:
        scene.award = services.award_create(actor=p.firm, order_id=order.pk, bid_id=scene.bids[0].pk, quantity=60)
    if state == "declined":
        services.award_decline(actor=p.broker, award_id=scene.award.pk, reason=BUSY)
    if state == "cancelled":
        services.order_cancel(actor=p.firm, order_id=order.pk, reason="客户取消")
    if state == "in_production":
        beads = order.materials.get(name="玻璃珠")
        sent = services.dispatch_send(actor=p.firm, award_id=scene.award.pk,
                                      lines=[{"material": beads.pk, "quantity": D("1300")}])
        services.dispatch_receive(actor=p.broker, dispatch_id=sent.pk)
        scene.delivery = services.delivery_record(actor=p.broker, award_id=scene.award.pk, quantity=10)
    if state == "completed":
        scene.delivery = services.delivery_record(actor=p.broker, award_id=scene.award.pk, quantity=60)
        services.inspection_record(actor=p.firm, delivery_id=scene.delivery.pk, accepted=60, rejected=0)
        services.award_complete(actor=p.firm, award_id=scene.award.pk)
    order.refresh_from_db()
    assert order.status == {"published_due": "published", "declined": "bidding_closed"}.get(state, state)
    return scene


def test_scenes_are_what_they_say(personas):
    statuses = {state: build(personas, state).order.status for state in ORDER_STATES}
    assert set(statuses.values()) == set(Order.Status.values)


# --- order-level transitions × every state ---------------------------------------------------

def ok(*events: tuple[str, str, str]):
    return ("ok", list(events))


ILLEGAL = ("refused", IllegalTransition, "illegal_transition")
NOOP = ("noop",)


def _cancelled_from(state: str):
    return ok(("cancelled", state, "cancelled"))


ORDER_TRANSITIONS: dict[str, tuple[Callable, dict[str, tuple]]] = {
    "publish": (
        lambda p, s: services.order_publish(actor=p.firm, order_id=s.order.pk),
        {"draft": ok(("published", "draft", "published"))},
    ),
    "update": (
        lambda p, s: services.order_update(actor=p.firm, order_id=s.order.pk, data={"description": "加急"}),
        {"draft": ok(("edited", "", "")), "published": ok(("edited", "", ""))},
    ),
    "cancel": (
        lambda p, s: services.order_cancel(actor=p.firm, order_id=s.order.pk, reason="客户取消"),
        {"draft": _cancelled_from("draft"), "published": _cancelled_from("published"),
         "published_due": _cancelled_from("published"), "bidding_closed": _cancelled_from("bidding_closed"),
         "awarded": _cancelled_from("awarded"), "declined": _cancelled_from("bidding_closed")},
    ),
    "close_bidding": (
        lambda p, s: services.order_close_bidding(order_id=s.order.pk, actor=p.firm),
        {"published_due": ok(("bidding_closed", "published", "bidding_closed"))} | {
            state: NOOP for state in ORDER_STATES if state != "published_due"},
    ),
    "award": (
        # the rival's bid, 40 pieces: exactly what is left after the broker's 60
        lambda p, s: services.award_create(actor=p.firm, order_id=s.order.pk,
                                           bid_id=s.bids[1].pk if s.bids else 0, quantity=40),
        {"published": ("refused", DeadlineNotPassed, "deadline_not_passed"),
         "published_due": ok(("bidding_closed", "published", "bidding_closed"),
                             ("awarded", "bidding_closed", "awarded")),
         "bidding_closed": ok(("awarded", "bidding_closed", "awarded")),
         "awarded": ok(("awarded", "", "")),
         # quantity left over goes to the next bid while another broker works on its part
         "in_production": ok(("awarded", "", "")),
         "declined": ok(("awarded", "bidding_closed", "awarded"))},
    ),
}


@pytest.mark.parametrize("state", ORDER_STATES)
@pytest.mark.parametrize("transition", list(ORDER_TRANSITIONS))
def test_order_transition(personas, transition, state):
    call, table = ORDER_TRANSITIONS[transition]
    expected = table.get(state, ILLEGAL)
    scene = build(personas, state)
    order = scene.order

    if expected[0] == "ok":
        moved(order, lambda: call(personas, scene), personas.firm, expected[1])
    elif expected == NOOP:
        before = snapshot(order)
        assert call(personas, scene) is False
        assert snapshot(order) == before
    else:
        _, error, code = expected
        assert refused(order, lambda: call(personas, scene), error, code).status_code == 409


def test_cancelling_an_awarded_order_cancels_its_awards_and_frees_nothing_to_award(personas):
    scene = build(personas, "awarded")
    services.order_cancel(actor=personas.firm, order_id=scene.order.pk, reason="客户取消")
    scene.award.refresh_from_db()
    assert scene.award.status == Award.Status.CANCELLED
    event = OrderEvent.objects.filter(order=scene.order).last()
    assert (event.action, event.reason, event.actor) == ("cancelled", "客户取消", personas.firm)


def test_cancelling_needs_a_reason(personas):
    order = published(personas.firm)
    refused(order, lambda: services.order_cancel(actor=personas.firm, order_id=order.pk, reason="  "),
            ValidationFailed, "invalid")


def test_cancelling_is_refused_once_any_award_has_material_on_the_road(personas):
    # the services move the order to in production with the first dispatch; this guards the
    # award rows themselves, should the order row still say awarded (a dispatch written directly)
    scene = build(personas, "awarded")
    Dispatch.objects.create(award=scene.award, sent_by=personas.firm)
    assert Order.objects.get(pk=scene.order.pk).status == Order.Status.AWARDED
    refused(scene.order, lambda: services.order_cancel(actor=personas.firm, order_id=scene.order.pk, reason="x"),
            IllegalTransition, "illegal_transition")


# --- award-level transitions × every state with an award -------------------------------------

def _beads(s: Scene) -> int:
    return s.order.materials.get(name="玻璃珠").pk


AWARD_TRANSITIONS: dict[str, tuple[Callable, str, dict[str, tuple]]] = {
    "decline": (
        lambda p, s: services.award_decline(actor=p.broker, award_id=s.award.pk, reason=BUSY),
        "broker",
        {"awarded": ok(("award_declined", "awarded", "bidding_closed")),
         "in_production": ("refused", IllegalTransition, "award_started")},
    ),
    "dispatch": (
        lambda p, s: services.dispatch_send(actor=p.firm, award_id=s.award.pk,
                                            lines=[{"material": _beads(s), "quantity": D("100")}]),
        "firm",
        {"awarded": ok(("materials_dispatched", "", ""), ("materials_dispatched", "awarded", "in_production")),
         "in_production": ok(("materials_dispatched", "", ""))},
    ),
    "deliver": (
        lambda p, s: services.delivery_record(actor=p.broker, award_id=s.award.pk, quantity=10),
        "broker",
        {"awarded": ok(("delivered", "", ""), ("delivered", "awarded", "in_production")),
         "in_production": ok(("delivered", "", ""))},
    ),
    "inspect": (
        lambda p, s: services.inspection_record(actor=p.firm, delivery_id=s.delivery.pk, accepted=10, rejected=0),
        "firm",
        {"in_production": ok(("inspected", "", "")),
         "completed": ("refused", IllegalTransition, "delivery_inspected")},
    ),
    "complete": (
        lambda p, s: services.award_complete(actor=p.firm, award_id=s.award.pk),
        "firm",
        {"awarded": ("refused", IllegalTransition, "award_incomplete"),
         "in_production": ("refused", IllegalTransition, "award_incomplete")},
    ),
}
NOT_ACTIVE = ("refused", IllegalTransition, "award_not_active")


def _award_cases():
    for transition in AWARD_TRANSITIONS:
        for state in AWARD_STATES:
            if transition == "inspect" and state not in ("in_production", "completed"):
                continue  # no delivery exists to inspect: nothing to name
            yield transition, state


@pytest.mark.parametrize(("transition", "state"), list(_award_cases()))
def test_award_transition(personas, transition, state):
    call, actor_name, table = AWARD_TRANSITIONS[transition]
    expected = table.get(state, NOT_ACTIVE)
    scene = build(personas, state)

    if expected[0] == "ok":
        moved(scene.order, lambda: call(personas, scene), getattr(personas, actor_name), expected[1])
    else:
        _, error, code = expected
        assert refused(scene.order, lambda: call(personas, scene), error, code).status_code == 409


def test_completing_the_last_active_award_completes_the_order_and_freezes_reconciliation(personas):
    scene = build(personas, "in_production")
    p, award = personas, scene.award
    services.inspection_record(actor=p.firm, delivery_id=scene.delivery.pk, accepted=8, rejected=2, reason="线头")
    rest = services.delivery_record(actor=p.broker, award_id=award.pk, quantity=50)
    refused(scene.order, lambda: services.award_complete(actor=p.firm, award_id=award.pk),
            IllegalTransition, "award_incomplete")
    services.inspection_record(actor=p.firm, delivery_id=rest.pk, accepted=50, rejected=0)
    again = services.delivery_record(actor=p.broker, award_id=award.pk, quantity=2)  # the two reworked
    services.inspection_record(actor=p.firm, delivery_id=again.pk, accepted=2, rejected=0)

    moved(scene.order, lambda: services.award_complete(actor=p.firm, award_id=award.pk), p.firm,
          [("award_completed", "in_production", "completed")])
    award.refresh_from_db()
    assert award.status == Award.Status.COMPLETED and award.completed_at is not None
    beads = ReconciliationLine.objects.get(award=award, material__name="玻璃珠")
    # 1300 sent and received, 60 × 20 = 1200 consumed, 100 lost: 24 allowed, 76 beyond at 0.01
    assert (beads.dispatched, beads.received, beads.consumed, beads.lost_within_allowance, beads.excess_loss) == (
        D("1300"), D("1300"), D("1200"), D("24"), D("76"))
    assert beads.excess_charge.amount == D("0.76")
    thread = ReconciliationLine.objects.get(award=award, material__name="弹力线")
    assert (thread.dispatched, thread.received, thread.excess_charge.amount) == (0, 0, D("0.00"))
    # frozen: a second completion is refused
    refused(scene.order, lambda: services.award_complete(actor=p.firm, award_id=award.pk),
            IllegalTransition, "award_not_active")


def test_completion_waits_for_the_dispatch_to_be_confirmed(personas):
    scene = build(personas, "awarded")
    p, award = personas, scene.award
    services.dispatch_send(actor=p.firm, award_id=award.pk, lines=[{"material": _beads(scene), "quantity": D(1)}])
    delivery = services.delivery_record(actor=p.broker, award_id=award.pk, quantity=60)
    services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=60, rejected=0)
    refused(scene.order, lambda: services.award_complete(actor=p.firm, award_id=award.pk),
            IllegalTransition, "dispatch_unconfirmed")


def test_an_order_with_another_active_award_stays_in_production(personas):
    scene = build(personas, "awarded")
    p = personas
    rival = services.award_create(actor=p.firm, order_id=scene.order.pk, bid_id=scene.bids[1].pk, quantity=40)
    delivery = services.delivery_record(actor=p.broker, award_id=scene.award.pk, quantity=60)
    services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=60, rejected=0)
    moved(scene.order, lambda: services.award_complete(actor=p.firm, award_id=scene.award.pk), p.firm,
          [("award_completed", "", "")])
    assert Order.objects.get(pk=scene.order.pk).status == Order.Status.IN_PRODUCTION
    delivery = services.delivery_record(actor=p.rival_broker, award_id=rival.pk, quantity=40)
    services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=40, rejected=0)
    moved(scene.order, lambda: services.award_complete(actor=p.firm, award_id=rival.pk), p.firm,
          [("award_completed", "in_production", "completed")])


def test_a_decline_after_the_other_award_completed_completes_the_order(personas):
    # given one award done and another still only awarded
    scene = build(personas, "awarded")
    p = personas
    rival = services.award_create(actor=p.firm, order_id=scene.order.pk, bid_id=scene.bids[1].pk, quantity=40)
    delivery = services.delivery_record(actor=p.broker, award_id=scene.award.pk, quantity=60)
    services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=60, rejected=0)
    services.award_complete(actor=p.firm, award_id=scene.award.pk)
    # when the other broker declines, nothing is left active: the order is complete, not stuck
    moved(scene.order, lambda: services.award_decline(actor=p.rival_broker, award_id=rival.pk, reason="忙不过来"),
          p.rival_broker, [("award_declined", "in_production", "completed")])


def test_quantity_declined_during_production_goes_to_the_next_bid(personas):
    scene = build(personas, "in_production")
    p = personas
    # the broker is working on its 60; the rival's 40 are still to award: the firm may award them
    moved(scene.order, lambda: services.award_create(actor=p.firm, order_id=scene.order.pk,
                                                     bid_id=scene.bids[1].pk, quantity=40),
          p.firm, [("awarded", "", "")])
    assert Order.objects.get(pk=scene.order.pk).status == Order.Status.IN_PRODUCTION


# --- bids: sealed, within the floor and the ceiling, only while bidding is open --------------

BID_PLACE = {"draft": (NotFound, "not_found"), "published": None, "cancelled": (BiddingClosed, "order_cancelled")}


@pytest.mark.parametrize("state", ORDER_STATES)
def test_a_new_bid_in_every_state(personas, state):
    third = add_broker(personas.home["township"])
    scene = build(personas, state)

    def place():
        return services.bid_place(actor=third, order_id=scene.order.pk, unit_price=D("1.0000"), quantity=10,
                                  promised_date=promised())

    expected = BID_PLACE.get(state, (BiddingClosed, "bidding_closed"))
    if expected is None:
        placed = moved(scene.order, place, third, [("bid_placed", "", "")])
        assert (placed.status, placed.terms_version, placed.broker) == (Bid.Status.ACTIVE, 1, third.organisation)
    else:
        refused(scene.order, place, *expected)


@pytest.mark.parametrize("state", [s for s in ORDER_STATES if s != "draft"])
@pytest.mark.parametrize("action", ["revise", "withdraw"])
def test_revising_or_withdrawing_a_bid_in_every_state(personas, state, action):
    scene = build(personas, state)
    mine = scene.bids[0]
    if action == "revise":
        def call():
            return services.bid_revise(actor=personas.broker, bid_id=mine.pk, unit_price=D("1.1500"))
    else:
        def call():
            return services.bid_withdraw(actor=personas.broker, bid_id=mine.pk)

    if state == "published":
        moved(scene.order, call, personas.broker, [(f"bid_{action}{'d' if action == 'revise' else 'n'}", "", "")])
        mine.refresh_from_db()
        assert mine.status == (Bid.Status.ACTIVE if action == "revise" else Bid.Status.WITHDRAWN)
    elif state == "cancelled":
        refused(scene.order, call, BiddingClosed, "order_cancelled")
    else:
        refused(scene.order, call, BiddingClosed, "bidding_closed")


def test_a_bid_after_the_deadline_is_refused_though_no_scheduler_closed_the_order(personas):
    order = published(personas.firm)
    pass_deadline(order)
    assert order.status == Order.Status.PUBLISHED
    error = refused(order, lambda: bid(personas.broker, order), BiddingClosed, "bidding_closed")
    assert error.status_code == 409


def test_a_bid_on_a_cancelled_order_is_refused(personas):
    order = published(personas.firm)
    services.order_cancel(actor=personas.firm, order_id=order.pk, reason="客户取消")
    assert refused(order, lambda: bid(personas.broker, order), BiddingClosed, "order_cancelled").status_code == 409


def test_a_draft_is_invisible_to_bidders(personas):
    order = draft(personas.firm)
    refused(order, lambda: bid(personas.broker, order), NotFound, "not_found")


def test_a_bid_above_the_ceiling_is_refused(personas):
    order = published(personas.firm)  # ceiling 2.50
    error = refused(order, lambda: bid(personas.broker, order, unit_price="2.5001"), AboveCeiling, "above_ceiling")
    assert "2.5" in error.message and list(error.fields) == ["unit_price"]
    assert bid(personas.broker, order, unit_price="2.5000").unit_price.amount == D("2.5000")


def test_a_bid_below_the_floor_is_refused_with_the_floor_in_the_message(personas):
    order = published(personas.firm)  # 4 + 1 standard minutes
    error = refused(order, lambda: bid(personas.broker, order, unit_price="0.9578"), BelowFloor,
                    "below_fair_rate_floor")
    assert "0.9579" in error.message and "5" in error.message
    assert list(error.fields) == ["unit_price"] and error.status_code == 400
    assert bid(personas.broker, order, unit_price="0.9579").status == Bid.Status.ACTIVE


def test_a_county_minimum_wage_raises_the_floor_for_its_brokers_only(personas):
    # Suichang (the broker's county) raises its minimum wage: 5 × 2400 / 10440 = 1.1494… → 1.1495
    MinimumWage.objects.create(county=personas.home["county"], monthly_amount=D("2400"),
                               effective_from=timezone.localdate() - dt.timedelta(days=30), document="遂政发〔2026〕1号")
    # … and a raise that is not in force yet changes nothing today
    MinimumWage.objects.create(county=personas.home["county"], monthly_amount=D("9000"),
                               effective_from=timezone.localdate() + dt.timedelta(days=30))
    order = published(personas.firm)
    error = refused(order, lambda: bid(personas.broker, order, unit_price="1.1494"), BelowFloor,
                    "below_fair_rate_floor")
    assert "1.1495" in error.message
    assert bid(personas.broker, order, unit_price="1.1495").status == Bid.Status.ACTIVE
    # a broker in Longquan, without a row of its own, keeps the default floor of 0.9579
    longquan = add_broker(personas.away["township"], "龙泉加工点")
    assert bid(longquan, order, unit_price="0.9579").status == Bid.Status.ACTIVE


def test_other_bid_terms_are_checked(personas):
    order = published(personas.firm, quantity=100)
    refused(order, lambda: bid(personas.broker, order, quantity=101), QuantityExceeded, "quantity_exceeded")
    refused(order, lambda: services.bid_place(actor=personas.broker, order_id=order.pk, unit_price=D("1.2"),
                                              quantity=10, promised_date=promised(-1)),
            ValidationFailed, "invalid")
    mine = bid(personas.broker, order, quantity=50)
    refused(order, lambda: bid(personas.broker, order, quantity=10), BidExists, "bid_exists")
    # a withdrawn bid frees the broker's slot
    services.bid_withdraw(actor=personas.broker, bid_id=mine.pk)
    refused(order, lambda: services.bid_withdraw(actor=personas.broker, bid_id=mine.pk), IllegalTransition,
            "bid_withdrawn")
    refused(order, lambda: services.bid_revise(actor=personas.broker, bid_id=mine.pk, quantity=5),
            IllegalTransition, "bid_withdrawn")
    assert bid(personas.broker, order, quantity=10).status == Bid.Status.ACTIVE


def test_only_a_broker_owner_bids_and_only_on_its_own_bid(personas):
    order = published(personas.firm)
    refused(order, lambda: bid(personas.team_head, order), NotYours, "not_yours")
    refused(order, lambda: bid(personas.firm, order), NotYours, "not_yours")
    mine = bid(personas.broker, order)
    refused(order, lambda: services.bid_revise(actor=personas.rival_broker, bid_id=mine.pk, quantity=1),
            NotFound, "not_found")
    refused(order, lambda: services.bid_withdraw(actor=personas.rival_broker, bid_id=mine.pk), NotFound, "not_found")


# --- editing terms after bids: bids wait for re-confirmation ---------------------------------

TERMS_EDITS = {
    "ceiling_unit_price": D("2.4000"),
    "quantity": 900,
    "procedures": [{"name": "穿珠", "standard_minutes": D("4.50")}, {"name": "打结", "standard_minutes": D("1.00")}],
}


@pytest.mark.parametrize("field_name", list(TERMS_EDITS))
def test_editing_terms_after_bids_asks_every_bidder_to_reconfirm(personas, field_name):
    order = published(personas.firm)
    mine, theirs = bid(personas.broker, order, quantity=500), bid(personas.rival_broker, order, quantity=500)

    moved(order, lambda: services.order_update(actor=personas.firm, order_id=order.pk,
                                               data={field_name: TERMS_EDITS[field_name]}),
          personas.firm, [("edited", "", "")])
    order.refresh_from_db()
    assert order.terms_version == 2
    assert OrderEvent.objects.filter(order=order).last().data == {
        "fields": [field_name], "terms_version": 2, "bids_to_reconfirm": 2}
    for each in (mine, theirs):
        each.refresh_from_db()
        assert (each.status, each.terms_version) == (Bid.Status.NEEDS_RECONFIRM, 1)


def test_a_bid_waiting_for_reconfirmation_cannot_be_awarded(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order)
    services.order_update(actor=personas.firm, order_id=order.pk, data={"ceiling_unit_price": D("2.4")})
    pass_deadline(order)
    refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk,
                                                 quantity=10), BidNotAwardable, "bid_not_awardable")
    # too late to re-confirm now: the deadline has passed
    refused(order, lambda: services.bid_reconfirm(actor=personas.broker, bid_id=mine.pk), BiddingClosed,
            "bidding_closed")


def test_a_reconfirmed_bid_can_be_awarded(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order)
    services.order_update(actor=personas.firm, order_id=order.pk, data={"quantity": 800})
    refused(order, lambda: services.bid_reconfirm(actor=personas.broker, bid_id=mine.pk), QuantityExceeded,
            "quantity_exceeded")  # it offered 1000 of what are now 800 pieces: revise instead
    services.bid_revise(actor=personas.broker, bid_id=mine.pk, quantity=800)
    mine.refresh_from_db()
    assert (mine.status, mine.terms_version, mine.revision) == (Bid.Status.ACTIVE, 2, 2)
    refused(order, lambda: services.bid_reconfirm(actor=personas.broker, bid_id=mine.pk), IllegalTransition,
            "bid_not_waiting")

    theirs = bid(personas.rival_broker, order, quantity=100)
    services.order_update(actor=personas.firm, order_id=order.pk, data={"ceiling_unit_price": D("2.4")})
    moved(order, lambda: services.bid_reconfirm(actor=personas.rival_broker, bid_id=theirs.pk), personas.rival_broker,
          [("bid_reconfirmed", "", "")])
    theirs.refresh_from_db()
    assert (theirs.status, theirs.terms_version) == (Bid.Status.ACTIVE, 3)
    pass_deadline(order)
    award = services.award_create(actor=personas.firm, order_id=order.pk, bid_id=theirs.pk, quantity=100)
    assert award.quantity == 100


def test_a_slower_procedure_raises_the_floor_under_a_waiting_bid(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order, unit_price="1.2000")
    services.order_update(actor=personas.firm, order_id=order.pk, data={"procedures": [
        {"name": "穿珠", "standard_minutes": D("9.00")}, {"name": "打结", "standard_minutes": D("1.00")}]})
    # 10 minutes: 10 × 2000 / 10440 = 1.9157… → 1.9158
    error = refused(order, lambda: services.bid_reconfirm(actor=personas.broker, bid_id=mine.pk), BelowFloor,
                    "below_fair_rate_floor")
    assert "1.9158" in error.message
    assert services.bid_revise(actor=personas.broker, bid_id=mine.pk, unit_price=D("1.9158")).status == "active"


def test_editing_other_fields_leaves_bids_alone(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order)
    services.order_update(actor=personas.firm, order_id=order.pk,
                          data={"description": "加急", "delivery_place": "义乌北苑"})
    order.refresh_from_db()
    mine.refresh_from_db()
    assert (order.terms_version, mine.status) == (1, Bid.Status.ACTIVE)


def test_sending_the_same_terms_back_is_not_an_edit(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order)
    same = order_data()
    before = snapshot(order)
    services.order_update(actor=personas.firm, order_id=order.pk, data={
        "quantity": same["quantity"], "ceiling_unit_price": same["ceiling_unit_price"],
        "procedures": same["procedures"], "materials": same["materials"]})
    assert snapshot(order) == before
    mine.refresh_from_db()
    assert mine.status == Bid.Status.ACTIVE


def test_a_published_order_cannot_move_its_deadline_into_the_past(personas):
    order = published(personas.firm)
    refused(order, lambda: services.order_update(actor=personas.firm, order_id=order.pk,
                                                 data={"bid_deadline": timezone.now() - dt.timedelta(minutes=1)}),
            ValidationFailed, "invalid")


def test_publishing_needs_a_future_deadline(personas):
    order = draft(personas.firm)
    pass_deadline(order)
    refused(order, lambda: services.order_publish(actor=personas.firm, order_id=order.pk), ValidationFailed,
            "invalid")


def test_another_firm_cannot_touch_the_order(personas):
    other_firm = UserFactory(role=Role.FIRM_MEMBER,
                             organisation=OrganisationFactory(kind=Organisation.Kind.FIRM, name="温州别家公司"))
    order = draft(personas.firm)
    for call in (lambda: services.order_publish(actor=other_firm, order_id=order.pk),
                 lambda: services.order_update(actor=other_firm, order_id=order.pk, data={"description": "x"}),
                 lambda: services.order_cancel(actor=other_firm, order_id=order.pk, reason="x")):
        refused(order, call, NotFound, "not_found")
    with pytest.raises(Forbidden):
        services.order_create(actor=personas.broker, data=order_data())


# --- awards ----------------------------------------------------------------------------------

def test_an_award_before_the_deadline_is_refused(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order)
    error = refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk,
                                                         quantity=10), DeadlineNotPassed, "deadline_not_passed")
    assert error.status_code == 409


def test_a_refused_award_after_the_deadline_closes_nothing(personas):
    """The award closes bidding when no scheduler has, but only as part of an award that happens:
    a refused request (or a stranger's) leaves the order as it was, with no event in anyone's name."""
    order = published(personas.firm, quantity=100)
    mine = bid(personas.broker, order, quantity=100)
    pass_deadline(order)
    refused(order, lambda: services.award_create(actor=personas.rival_broker, order_id=order.pk, bid_id=mine.pk,
                                                 quantity=10), NotFound, "not_found")
    refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk,
                                                 quantity=101), ValidationFailed, "invalid")
    refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=0, quantity=1),
            NotFound, "not_found")
    assert Order.objects.get(pk=order.pk).status == Order.Status.PUBLISHED


def test_split_awards_never_exceed_the_order_quantity(personas):
    scene = build(personas, "awarded")  # 60 of 100 to the broker
    error = refused(scene.order, lambda: services.award_create(actor=personas.firm, order_id=scene.order.pk,
                                                               bid_id=scene.bids[1].pk, quantity=41),
                    AwardQuantityExceeded, "award_quantity_exceeded")
    assert "40" in error.message and list(error.fields) == ["quantity"] and error.status_code == 409
    # the same bid twice is refused; so is a bid of another order
    refused(scene.order, lambda: services.award_create(actor=personas.firm, order_id=scene.order.pk,
                                                       bid_id=scene.bids[0].pk, quantity=1),
            BidNotAwardable, "bid_not_awardable")
    other = build(personas, "bidding_closed")
    refused(scene.order, lambda: services.award_create(actor=personas.firm, order_id=scene.order.pk,
                                                       bid_id=other.bids[1].pk, quantity=1), NotFound, "not_found")


def test_a_withdrawn_bid_cannot_be_awarded(personas):
    order = published(personas.firm)
    mine = bid(personas.broker, order)
    services.bid_withdraw(actor=personas.broker, bid_id=mine.pk)
    pass_deadline(order)
    refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk,
                                                 quantity=1), BidNotAwardable, "bid_not_awardable")


def test_a_decline_frees_the_quantity_for_the_next_bid(personas):
    order = published(personas.firm, quantity=100)
    mine, theirs = bid(personas.broker, order, quantity=100), bid(personas.rival_broker, order, quantity=100)
    pass_deadline(order)
    first = services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=100)
    refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=theirs.pk,
                                                 quantity=1), AwardQuantityExceeded, "award_quantity_exceeded")

    moved(order, lambda: services.award_decline(actor=personas.broker, award_id=first.pk, reason=BUSY),
          personas.broker, [("award_declined", "awarded", "bidding_closed")])
    assert OrderEvent.objects.filter(order=order).last().reason == BUSY
    moved(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=theirs.pk,
                                               quantity=100), personas.firm, [("awarded", "bidding_closed", "awarded")])
    # the declined bid stays declined: it cannot be awarded again
    refused(order, lambda: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk,
                                                 quantity=1), BidNotAwardable, "bid_not_awardable")


def test_declining_one_of_two_awards_keeps_the_order_awarded(personas):
    scene = build(personas, "awarded")
    services.award_create(actor=personas.firm, order_id=scene.order.pk, bid_id=scene.bids[1].pk, quantity=40)
    moved(scene.order, lambda: services.award_decline(actor=personas.broker, award_id=scene.award.pk, reason=BUSY),
          personas.broker, [("award_declined", "", "")])
    assert Order.objects.get(pk=scene.order.pk).status == Order.Status.AWARDED


def test_only_the_awarded_broker_declines_and_says_why(personas):
    scene = build(personas, "awarded")
    decline = services.award_decline
    refused(scene.order, lambda: decline(actor=personas.broker, award_id=scene.award.pk, reason=" "),
            ValidationFailed, "invalid")
    refused(scene.order, lambda: decline(actor=personas.rival_broker, award_id=scene.award.pk, reason=BUSY),
            NotFound, "not_found")
    refused(scene.order, lambda: decline(actor=personas.team_head, award_id=scene.award.pk, reason=BUSY),
            NotYours, "not_yours")
    refused(scene.order, lambda: decline(actor=personas.firm, award_id=scene.award.pk, reason=BUSY),
            NotYours, "not_yours")
    refused(scene.order, lambda: services.award_complete(actor=personas.broker, award_id=scene.award.pk),
            NotFound, "not_found")


# --- the beat job ----------------------------------------------------------------------------

def test_orders_close_due_closes_each_due_order_exactly_once(personas):
    firm = personas.firm
    due = [published(firm), published(firm)]
    bid(personas.broker, due[0])
    still_open = published(firm)
    draft_past = draft(firm)
    cancelled_past = published(firm)
    services.order_cancel(actor=firm, order_id=cancelled_past.pk, reason="取消")
    for order in (*due, draft_past, cancelled_past):
        pass_deadline(order)
    untouched = {o.pk: snapshot(o) for o in (still_open, draft_past, cancelled_past)}

    assert services.orders_close_due() == 2
    assert services.orders_close_due() == 0
    assert close_due_bidding() == 0  # the Celery task is the same service
    for order in due:
        order.refresh_from_db()
        assert order.status == Order.Status.BIDDING_CLOSED
        assert [(e.from_status, e.to_status, e.actor) for e in OrderEvent.objects.filter(
            order=order, action="bidding_closed")] == [("published", "bidding_closed", None)]
    assert OrderEvent.objects.get(order=due[0], action="bidding_closed").data == {"bids": 1}
    assert {o.pk: snapshot(o) for o in (still_open, draft_past, cancelled_past)} == untouched


def test_orders_close_due_never_closes_before_the_real_deadline(personas):
    order = published(personas.firm)  # deadline in 3 days
    assert services.orders_close_due(now=timezone.now()) == 0
    assert services.orders_close_due(now=order.bid_deadline) == 0  # each order re-checks the real clock
    assert Order.objects.get(pk=order.pk).status == Order.Status.PUBLISHED


# --- fulfilment ------------------------------------------------------------------------------

@pytest.mark.parametrize(("unit_price", "accepted", "rejected", "fee"), [
    ("0.0125", 7, 0, "0.09"),  # 0.0875, half up
    ("0.0050", 1, 0, "0.01"),  # the half-fen boundary
    ("0.0250", 1, 0, "0.03"),  # not banker's 0.02
    ("0.0125", 1, 6, "0.01"),  # 0.0125 rounds down
    ("1.2345", 7, 0, "8.64"),  # 8.6415
    ("1.2345", 0, 7, "0.00"),  # all rejected: nothing due
])
def test_processing_fee_due_is_accepted_times_unit_price_rounded_once(personas, unit_price, accepted, rejected, fee):
    order = published(personas.firm, quantity=10, procedures=[{"name": "穿珠", "standard_minutes": D("0.01")}])
    placed = bid(personas.broker, order, unit_price=unit_price)
    pass_deadline(order)
    award = services.award_create(actor=personas.firm, order_id=order.pk, bid_id=placed.pk, quantity=10)
    delivery = services.delivery_record(actor=personas.broker, award_id=award.pk, quantity=accepted + rejected)
    inspection = services.inspection_record(actor=personas.firm, delivery_id=delivery.pk, accepted=accepted,
                                            rejected=rejected, reason="返工" if rejected else "")
    due = services.processing_fee_due(inspection=inspection)
    assert due == services.FeeDue(
        award_id=award.pk, inspection_id=inspection.pk, firm_id=personas.firm_org.pk,
        broker_id=personas.broker_org.pk, quantity=accepted, unit_price=D(unit_price), amount=D(fee),
        due_on=timezone.localdate())
    assert str(due.amount) == fee
    assert OrderEvent.objects.filter(order=order, action="inspected").get().data["fee_due"] == fee


def test_deliveries_never_exceed_the_award_and_rejected_pieces_come_back(personas):
    scene = build(personas, "awarded")  # 60 to the broker
    p, award = personas, scene.award
    first = services.delivery_record(actor=p.team_head, award_id=award.pk, quantity=50)  # a team head may deliver
    error = refused(scene.order, lambda: services.delivery_record(actor=p.broker, award_id=award.pk, quantity=11),
                    QuantityExceeded, "quantity_exceeded")
    assert "10" in error.message
    refused(scene.order, lambda: services.inspection_record(actor=p.firm, delivery_id=first.pk, accepted=45,
                                                            rejected=4), ValidationFailed, "invalid")
    refused(scene.order, lambda: services.inspection_record(actor=p.firm, delivery_id=first.pk, accepted=45,
                                                            rejected=5), ValidationFailed, "invalid")  # no reason
    refused(scene.order, lambda: services.inspection_record(actor=p.broker, delivery_id=first.pk, accepted=50,
                                                            rejected=0), NotFound, "not_found")
    services.inspection_record(actor=p.firm, delivery_id=first.pk, accepted=45, rejected=5, reason="珠子松")
    # 45 accepted: 15 are open again (10 never delivered + 5 rejected)
    refused(scene.order, lambda: services.delivery_record(actor=p.broker, award_id=award.pk, quantity=16),
            QuantityExceeded, "quantity_exceeded")
    services.delivery_record(actor=p.broker, award_id=award.pk, quantity=15)
    refused(scene.order, lambda: services.delivery_record(actor=p.rival_broker, award_id=award.pk, quantity=1),
            NotFound, "not_found")


def test_material_receipt_and_returns_are_bounded(personas):
    scene = build(personas, "awarded")
    p, award, beads = personas, scene.award, _beads(scene)
    sent = services.dispatch_send(actor=p.firm, award_id=award.pk, lines=[{"material": beads, "quantity": D(100)}])
    refused(scene.order, lambda: services.dispatch_receive(actor=p.broker, dispatch_id=sent.pk,
                                                           lines=[{"material": beads, "quantity": D("100.0001")}]),
            ValidationFailed, "invalid")
    refused(scene.order, lambda: services.material_return(actor=p.broker, award_id=award.pk, material_id=beads,
                                                          quantity=D(1)), QuantityExceeded, "quantity_exceeded")
    services.dispatch_receive(actor=p.broker, dispatch_id=sent.pk, lines=[{"material": beads, "quantity": D(90)}])
    assert OrderEvent.objects.filter(order=scene.order).last().data["shortfall"] == {str(beads): "10.0000"}
    refused(scene.order, lambda: services.dispatch_receive(actor=p.broker, dispatch_id=sent.pk), IllegalTransition,
            "dispatch_received")
    services.material_return(actor=p.broker, award_id=award.pk, material_id=beads, quantity=D(60))
    error = refused(scene.order, lambda: services.material_return(actor=p.broker, award_id=award.pk,
                                                                  material_id=beads, quantity=D("30.0001")),
                    QuantityExceeded, "quantity_exceeded")
    assert "30" in error.message


def test_a_dispatch_names_only_materials_of_the_order(personas):
    scene = build(personas, "awarded")
    other = build(personas, "awarded")
    foreign = other.order.materials.first().pk
    refused(scene.order, lambda: services.dispatch_send(actor=personas.firm, award_id=scene.award.pk,
                                                        lines=[{"material": foreign, "quantity": D(1)}]),
            ValidationFailed, "invalid")
    refused(scene.order, lambda: services.dispatch_send(actor=personas.firm, award_id=scene.award.pk, lines=[]),
            ValidationFailed, "invalid")
    beads = _beads(scene)
    refused(scene.order, lambda: services.dispatch_send(actor=personas.firm, award_id=scene.award.pk,
                                                        lines=[{"material": beads, "quantity": D(1)},
                                                               {"material": beads, "quantity": D(2)}]),
            ValidationFailed, "invalid")


# --- subcontracts ----------------------------------------------------------------------------

def propose(actor, award, to, quantity=20, unit_price="1.0000"):
    return services.subcontract_propose(actor=actor, award_id=award.pk, to_broker_id=to.pk, quantity=quantity,
                                        unit_price=D(unit_price))


def test_a_subcontract_passes_at_most_the_awarded_quantity(personas):
    scene = build(personas, "awarded")  # 60 to the broker
    p, award = personas, scene.award
    third = add_broker(p.home["township"])
    first = moved(scene.order, lambda: propose(p.broker, award, p.rival_org, quantity=40), p.broker,
                  [("subcontract_proposed", "", "")])
    assert (first.from_broker, first.to_broker, first.status) == (p.broker_org, p.rival_org, "proposed")
    error = refused(scene.order, lambda: propose(p.broker, award, third.organisation, quantity=21),
                    QuantityExceeded, "quantity_exceeded")
    assert "20" in error.message
    # a declined proposal gives its quantity back
    services.subcontract_decline(actor=p.rival_broker, subcontract_id=first.pk)
    assert propose(p.broker, award, third.organisation, quantity=60).quantity == 60


def test_a_subcontract_pays_at_least_the_receivers_floor(personas):
    scene = build(personas, "awarded")
    p = personas
    error = refused(scene.order, lambda: propose(p.broker, scene.award, p.rival_org, unit_price="0.9578"),
                    BelowFloor, "below_fair_rate_floor")
    assert "0.9579" in error.message
    assert propose(p.broker, scene.award, p.rival_org, unit_price="0.9579").status == "proposed"
    # the floor is the receiver's county's: Longquan raises its wage, and its broker's floor rises
    MinimumWage.objects.create(county=p.away["county"], monthly_amount=D("2400"),
                               effective_from=timezone.localdate())
    longquan = add_broker(p.away["township"], "龙泉加工点")
    error = refused(scene.order, lambda: propose(p.broker, scene.award, longquan.organisation, unit_price="1.0000"),
                    BelowFloor, "below_fair_rate_floor")
    assert "1.1495" in error.message


def test_a_subcontract_goes_to_another_broker_only(personas):
    scene = build(personas, "awarded")
    p = personas
    for to in (p.broker_org, p.firm_org, p.federation_org):
        error = refused(scene.order, lambda: propose(p.broker, scene.award, to), ValidationFailed, "invalid")
        assert list(error.fields) == ["to_broker"]
    refused(scene.order, lambda: services.subcontract_propose(
        actor=p.broker, award_id=scene.award.pk, to_broker_id=0, quantity=1, unit_price=D(1)),
        ValidationFailed, "invalid")


def test_only_the_awarded_broker_proposes_and_only_on_an_active_award(personas):
    p = personas
    scene = build(p, "awarded")
    refused(scene.order, lambda: propose(p.rival_broker, scene.award, p.rival_org), NotFound, "not_found")
    refused(scene.order, lambda: propose(p.team_head, scene.award, p.rival_org), NotYours, "not_yours")
    refused(scene.order, lambda: propose(p.firm, scene.award, p.rival_org), NotYours, "not_yours")
    for state in ("declined", "completed", "cancelled"):
        gone = build(p, state)
        refused(gone.order, lambda: propose(p.broker, gone.award, p.rival_org), IllegalTransition,
                "award_not_active")


def test_each_party_decides_its_own_side_of_a_subcontract(personas):
    p = personas
    scene = build(p, "awarded")
    third = add_broker(p.home["township"])
    sub = propose(p.broker, scene.award, p.rival_org)
    # the receiver accepts or declines; the proposer cancels; nobody else does anything
    refused(scene.order, lambda: services.subcontract_accept(actor=p.broker, subcontract_id=sub.pk),
            NotFound, "not_found")
    refused(scene.order, lambda: services.subcontract_decline(actor=third, subcontract_id=sub.pk),
            NotFound, "not_found")
    refused(scene.order, lambda: services.subcontract_cancel(actor=p.rival_broker, subcontract_id=sub.pk),
            NotFound, "not_found")
    refused(scene.order, lambda: services.subcontract_accept(actor=p.firm, subcontract_id=sub.pk),
            NotYours, "not_yours")
    moved(scene.order, lambda: services.subcontract_accept(actor=p.rival_broker, subcontract_id=sub.pk),
          p.rival_broker, [("subcontract_accepted", "", "")])
    for decide, actor in ((services.subcontract_accept, p.rival_broker), (services.subcontract_decline, p.rival_broker),
                          (services.subcontract_cancel, p.broker)):
        refused(scene.order, lambda: decide(actor=actor, subcontract_id=sub.pk), IllegalTransition,
                "subcontract_decided")

    other = propose(p.broker, scene.award, third.organisation)
    moved(scene.order, lambda: services.subcontract_cancel(actor=p.broker, subcontract_id=other.pk), p.broker,
          [("subcontract_cancelled", "", "")])
    again = propose(p.broker, scene.award, third.organisation)
    moved(scene.order, lambda: services.subcontract_decline(actor=third, subcontract_id=again.pk), third,
          [("subcontract_declined", "", "")])
    assert list(Subcontract.objects.filter(award=scene.award).values_list("status", flat=True)) == [
        "accepted", "cancelled", "declined"]


def test_a_subcontract_of_a_cancelled_award_cannot_be_accepted(personas):
    p = personas
    scene = build(p, "awarded")
    sub = propose(p.broker, scene.award, p.rival_org)
    services.order_cancel(actor=p.firm, order_id=scene.order.pk, reason="客户取消")
    # cancelling the order closed the proposal with it: nobody can accept or decline it any more
    sub.refresh_from_db()
    assert sub.status == Subcontract.Status.CANCELLED
    refused(scene.order, lambda: services.subcontract_accept(actor=p.rival_broker, subcontract_id=sub.pk),
            IllegalTransition, "subcontract_decided")
