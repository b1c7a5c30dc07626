"""The permission matrix of subcontracts, against every persona: /api/subcontracts/ (list,
detail, accept, decline, cancel).

In busy season the awarded broker passes part of its award to another broker (seed 002). Both
brokers see the subcontract, the receiver also sees the order; the firm sees that it happened
and to whom, never the price; only the receiver's owner accepts or declines, only the passing
broker's owner cancels."""
from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services

from . import builders
from .permissions_world import NAMES, add_broker, assert_refused, build_world, refused_and_unchanged

pytestmark = pytest.mark.django_db

# Everyone who may open /api/subcontracts/ at all, and what each sees of the one in `solo`.
SEES_IT = {"firm", "broker", "team_head", "rival_broker", "admin"}
SUBCONTRACT_READERS = SEES_IT | {"other_firm"}


@pytest.fixture
def solo(personas):
    """The firm's order bid on by the broker alone and awarded to it whole; the broker passes
    300 pieces to the rival, who never bid on the order."""
    world = build_world(personas)
    p = personas
    order = builders.published(p.firm, product="转包订单")
    placed = builders.bid(p.broker, order)
    builders.pass_deadline(order)
    award = services.award_create(actor=p.firm, order_id=order.pk, bid_id=placed.pk, quantity=1000)
    sub = services.subcontract_propose(actor=p.broker, award_id=award.pk, to_broker_id=p.rival_org.pk, quantity=300,
                                       unit_price=Decimal("1.0000"), note="旺季帮忙")
    return world, order, award, sub


@pytest.mark.parametrize("name", NAMES)
def test_subcontract_list_is_scoped(solo, client_for, name):
    world, order, award, sub = solo
    response = client_for(world.user(name)).get("/api/subcontracts/")
    if name not in SUBCONTRACT_READERS:
        assert_refused(response, 403)
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == ([sub.pk] if name in SEES_IT else [])
    if name == "firm":
        assert "unit_price" not in rows[0] and "note" not in rows[0]
        assert rows[0]["to_broker"] == world.p.rival_org.pk and rows[0]["quantity"] == 300
    elif rows:
        assert rows[0]["unit_price"] == "1.0000"


@pytest.mark.parametrize("name", NAMES)
def test_subcontract_detail(solo, client_for, name):
    world, order, award, sub = solo
    response = client_for(world.user(name)).get(f"/api/subcontracts/{sub.pk}/")
    if name not in SUBCONTRACT_READERS:
        assert_refused(response, 403)
    elif name not in SEES_IT:
        assert_refused(response, 404)
    else:
        assert response.status_code == 200
        body = response.json()
        assert body["order"] == order.pk
        assert ("unit_price" in body) == (name != "firm")


def test_the_receiver_sees_the_order_but_not_the_award_of_another_broker(solo, client_for):
    world, order, award, sub = solo
    rival = client_for(world.p.rival_broker)
    assert rival.get(f"/api/orders/{order.pk}/").status_code == 200
    assert order.pk in {o["id"] for o in rival.get("/api/orders/").json()["results"]}
    assert rival.get(f"/api/awards/{award.pk}/").status_code == 404
    assert rival.get(f"/api/orders/{order.pk}/awards/").json() == []
    assert rival.get(f"/api/orders/{order.pk}/bids/").json() == []


def test_a_broker_outside_the_subcontract_sees_neither_it_nor_the_order(solo, client_for):
    world, order, award, sub = solo
    outsider = client_for(add_broker("无关加工点", world.p.home["township"]))
    assert outsider.get(f"/api/subcontracts/{sub.pk}/").status_code == 404
    assert outsider.get("/api/subcontracts/").json()["results"] == []
    assert outsider.get(f"/api/orders/{order.pk}/").status_code == 404
    assert_refused(outsider.post(f"/api/subcontracts/{sub.pk}/accept/"), 404)


def test_the_firm_reads_in_the_trail_that_work_moved_but_not_the_price(solo, client_for):
    world, order, award, sub = solo
    services.subcontract_accept(actor=world.p.rival_broker, subcontract_id=sub.pk)
    events = client_for(world.p.firm).get(f"/api/orders/{order.pk}/events/").json()
    moved = [e for e in events if e["action"].startswith("subcontract_")]
    assert [e["action"] for e in moved] == ["subcontract_proposed", "subcontract_accepted"]
    for event in moved:
        assert event["data"]["quantity"] == 300
        assert "unit_price" not in event["data"] and "1.0000" not in str(event["data"])


def receiver_status(name: str) -> int:
    """Accept or decline: the receiving broker's owner only. The passing broker sees the
    subcontract but may not decide for the receiver (403), nor may anyone else."""
    return 200 if name == "rival_broker" else 403


@pytest.mark.parametrize("action, after", [("accept", "accepted"), ("decline", "declined")])
@pytest.mark.parametrize("name", NAMES)
def test_subcontract_accept_and_decline(solo, client_for, name, action, after, django_capture_on_commit_callbacks):
    world, order, award, sub = solo
    client = client_for(world.user(name))
    decide = lambda: client.post(f"/api/subcontracts/{sub.pk}/{action}/")  # noqa: E731
    status = receiver_status(name)
    if status != 200:
        refused_and_unchanged(decide, status, django_capture_on_commit_callbacks)
        return
    response = decide()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == after


@pytest.mark.parametrize("name", NAMES)
def test_subcontract_cancel(solo, client_for, name, django_capture_on_commit_callbacks):
    world, order, award, sub = solo
    client = client_for(world.user(name))
    cancel = lambda: client.post(f"/api/subcontracts/{sub.pk}/cancel/")  # noqa: E731
    if name != "broker":
        # the receiver sees it but only the passing broker's owner may withdraw the offer
        refused_and_unchanged(cancel, 403, django_capture_on_commit_callbacks)
        return
    response = cancel()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
