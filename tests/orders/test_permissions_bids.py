"""The permission matrix of sealed bids, against every persona: /api/orders/{id}/bids/ (read and
place) and /api/bids/ (list, detail, revise, withdraw, re-confirm).

Sealed (DESIGN.md flow 2, issue 3): a broker sees only its own bids; the firm sees the bids on
its order once the deadline has passed (before, only the count); nobody else — workers,
auditors, rival brokers — ever sees one. Only a broker's owner bids, revises, withdraws and
re-confirms."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orders.models import Bid

from .builders import pass_deadline
from .permissions_world import (
    MARKET, NAMES, VISIBLE_ORDERS, assert_refused, build_world, refused_and_unchanged, snapshot,
)

pytestmark = pytest.mark.django_db

BID_KEYS = ["open_broker", "open_rival", "awarded_broker", "awarded_rival"]

# Which of the world's bids each persona sees in /api/bids/ (and by id).
VISIBLE_BIDS = {
    "firm": {"awarded_broker", "awarded_rival"},  # its own orders', past the deadline only
    "other_firm": set(),
    "broker": {"open_broker", "awarded_broker"},
    "team_head": {"open_broker", "awarded_broker"},
    "rival_broker": {"open_rival", "awarded_rival"},
    "admin": set(BID_KEYS),
}
BID_READERS = set(VISIBLE_BIDS)  # auditors, workers and anonymous may not read bids at all


@pytest.fixture
def world(personas):
    return build_world(personas)


def owner_write_status(name: str, ok: int) -> int:
    """A write only the bid's own broker owner may do: its owner; a rival cannot see the bid
    (404); every other role, the team head and admins included, may never (403)."""
    return {"broker": ok, "rival_broker": 404}.get(name, 403)


# --- reads ------------------------------------------------------------------------------------

# What /api/orders/{id}/bids/ shows each persona who can see the order.
ORDER_BIDS = {
    # before the deadline: sealed, even to the firm
    "open": {"firm": set(), "broker": {"open_broker"}, "team_head": {"open_broker"},
             "rival_broker": {"open_rival"}, "admin": {"open_broker", "open_rival"}},
    # after it: the firm sees them all; an auditor who sees the order sees no bid
    "awarded": {"firm": {"awarded_broker", "awarded_rival"}, "broker": {"awarded_broker"},
                "team_head": {"awarded_broker"}, "rival_broker": {"awarded_rival"}, "auditor": set(),
                "admin": {"awarded_broker", "awarded_rival"}},
}


@pytest.mark.parametrize("key", ["open", "awarded"])
@pytest.mark.parametrize("name", NAMES)
def test_bids_of_an_order(world, client_for, name, key):
    response = client_for(world.user(name)).get(f"/api/orders/{world.orders[key].pk}/bids/")
    if name not in MARKET:
        assert_refused(response, 403)
        return
    if key not in VISIBLE_ORDERS[name]:
        assert_refused(response, 404)
        return
    assert response.status_code == 200
    assert {row["id"] for row in response.json()} == {world.bids[k].pk for k in ORDER_BIDS[key][name]}


def test_the_firm_sees_the_bids_the_moment_the_deadline_passes(world, client_for):
    order = world.orders["open"]
    firm = client_for(world.p.firm)
    assert firm.get(f"/api/orders/{order.pk}/bids/").json() == []
    assert firm.get(f"/api/orders/{order.pk}/").json()["bid_count"] == 2
    pass_deadline(order)  # no scheduler ran: the order is still "published"
    rows = firm.get(f"/api/orders/{order.pk}/bids/").json()
    assert {row["id"] for row in rows} == {world.bids["open_broker"].pk, world.bids["open_rival"].pk}
    assert {row["unit_price"] for row in rows} == {"1.2000", "1.1000"}


@pytest.mark.parametrize("name", NAMES)
def test_bid_list_is_scoped(world, client_for, name):
    response = client_for(world.user(name)).get("/api/bids/")
    if name not in BID_READERS:
        assert_refused(response, 403)
        return
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {world.bids[k].pk for k in VISIBLE_BIDS[name]}


@pytest.mark.parametrize("name", sorted(BID_READERS))
@pytest.mark.parametrize("query", ["status=active", "status=withdrawn", "order={open}", "order={awarded}"])
def test_bid_filters_never_widen_what_a_persona_sees(world, client_for, name, query):
    query = query.format(open=world.orders["open"].pk, awarded=world.orders["awarded"].pk)
    response = client_for(world.user(name)).get(f"/api/bids/?{query}")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} <= {world.bids[k].pk for k in VISIBLE_BIDS[name]}


@pytest.mark.parametrize("key", BID_KEYS)
@pytest.mark.parametrize("name", NAMES)
def test_bid_detail(world, client_for, name, key):
    response = client_for(world.user(name)).get(f"/api/bids/{world.bids[key].pk}/")
    if name not in BID_READERS:
        assert_refused(response, 403)
    elif key not in VISIBLE_BIDS[name]:
        assert_refused(response, 404)
    else:
        assert response.status_code == 200
        assert response.json()["unit_price"] == str(world.bids[key].unit_price.amount)


# --- writes -----------------------------------------------------------------------------------

def promised() -> str:
    return (timezone.localdate() + dt.timedelta(days=15)).isoformat()


@pytest.mark.parametrize("name", NAMES)
def test_bid_place(world, client_for, name, django_capture_on_commit_callbacks):
    # the other firm's open order: on the board, nobody has bid yet
    order = world.orders["other_open"]
    client = client_for(world.user(name))
    place = lambda: client.post(f"/api/orders/{order.pk}/bids/",  # noqa: E731
                                {"unit_price": "1.5000", "quantity": 500, "promised_date": promised()}, format="json")
    if name in {"broker", "rival_broker"}:
        response = place()
        assert response.status_code == 201, response.json()
        assert Bid.objects.get(pk=response.json()["id"]).broker_id == world.user(name).organisation_id
        return
    # a team head, the firm itself, auditors and admins may not bid
    refused_and_unchanged(place, 403, django_capture_on_commit_callbacks)


@pytest.mark.parametrize("key", ["draft", "other_draft"])
def test_a_broker_cannot_bid_on_a_draft_it_cannot_see(world, client_for, key, django_capture_on_commit_callbacks):
    client = client_for(world.p.broker)
    place = lambda: client.post(f"/api/orders/{world.orders[key].pk}/bids/",  # noqa: E731
                                {"unit_price": "1.5000", "quantity": 500, "promised_date": promised()}, format="json")
    refused_and_unchanged(place, 404, django_capture_on_commit_callbacks)


def bid_write(client, action: str, bid: Bid):
    if action == "revise":
        return client.patch(f"/api/bids/{bid.pk}/", {"unit_price": "1.0500"}, format="json")
    return client.post(f"/api/bids/{bid.pk}/{action}/")


@pytest.mark.parametrize("action, status_after", [("revise", "active"), ("withdraw", "withdrawn")])
@pytest.mark.parametrize("name", NAMES)
def test_bid_revise_and_withdraw(world, client_for, name, action, status_after, django_capture_on_commit_callbacks):
    bid = world.bids["open_broker"]
    client = client_for(world.user(name))
    status = owner_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(lambda: bid_write(client, action, bid), status, django_capture_on_commit_callbacks)
        return
    response = bid_write(client, action, bid)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == status_after


@pytest.mark.parametrize("name", NAMES)
def test_bid_reconfirm(world, client_for, name, django_capture_on_commit_callbacks):
    # given the firm changed the terms (more pieces): both bids wait for re-confirmation
    response = client_for(world.p.firm).patch(f"/api/orders/{world.orders['open'].pk}/", {"quantity": 1200},
                                              format="json")
    assert response.status_code == 200
    bid = world.bids["open_broker"]
    client = client_for(world.user(name))
    status = owner_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(lambda: bid_write(client, "reconfirm", bid), status,
                              django_capture_on_commit_callbacks)
        return
    response = bid_write(client, "reconfirm", bid)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active"


@pytest.mark.parametrize("action", ["revise", "withdraw", "reconfirm"])
@pytest.mark.parametrize("name", ["firm", "admin", "team_head"])
def test_who_sees_a_bid_after_the_deadline_still_cannot_touch_it(world, client_for, name, action,
                                                                 django_capture_on_commit_callbacks):
    bid = world.bids["awarded_broker"]
    client = client_for(world.user(name))
    assert client.get(f"/api/bids/{bid.pk}/").status_code == 200
    refused_and_unchanged(lambda: bid_write(client, action, bid), 403, django_capture_on_commit_callbacks)


def test_a_refused_write_reveals_nothing_of_the_bid(world, client_for):
    before = snapshot()
    response = bid_write(client_for(world.p.rival_broker), "revise", world.bids["open_broker"])
    assert_refused(response, 404)
    assert "1.2000" not in response.content.decode()
    assert snapshot() == before


def test_a_withdrawn_bid_stays_sealed_from_the_firm(world, client_for):
    order = world.orders["open"]
    withdrawn = world.bids["open_rival"]
    assert client_for(world.p.rival_broker).post(f"/api/bids/{withdrawn.pk}/withdraw/").status_code == 200
    pass_deadline(order)
    seen = {b["id"] for b in client_for(world.p.firm).get(f"/api/orders/{order.pk}/bids/").json()}
    assert seen == {world.bids["open_broker"].pk}
    assert client_for(world.p.firm).get(f"/api/bids/{withdrawn.pk}/").status_code == 404
    # the broker still sees its own withdrawn bid
    assert client_for(world.p.rival_broker).get(f"/api/bids/{withdrawn.pk}/").json()["status"] == "withdrawn"
