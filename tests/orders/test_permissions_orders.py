"""The permission matrix of /api/orders/ and everything under an order, against every persona:
who sees which orders (list, detail, events, attachments, bids, awards), who may create, edit,
publish, cancel and attach, and that a refused write changes nothing.

Rules (DESIGN.md, issue 3): a firm sees only its own orders (another firm's is 404); a draft is
the owning firm's alone; brokers see the board and the orders they take part in; auditors the
orders awarded to brokers of their county, read-only; workers and anonymous users get 403; a
role that may never do a write gets 403, a write on an object one cannot see 404."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders import services
from orders.models import Bid, Order, OrderEvent

from .. import upload_files
from . import builders
from .permissions_world import (
    MARKET, NAMES, VISIBLE_ORDERS, assert_refused, build_world, deliver_and_accept, firm_write_status,
    refused_and_unchanged,
)

pytestmark = pytest.mark.django_db

ORDER_KEYS = ["draft", "open", "awarded", "other_open", "other_draft"]


@pytest.fixture
def world(personas):
    return build_world(personas)


def read_status(name: str, key: str) -> int:
    if name not in MARKET:
        return 403
    return 200 if key in VISIBLE_ORDERS[name] else 404


# --- reads ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_order_list_is_scoped(world, client_for, name):
    response = client_for(world.user(name)).get("/api/orders/")
    if name not in MARKET:
        assert_refused(response, 403)
        return
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {world.orders[key].pk for key in VISIBLE_ORDERS[name]}


@pytest.mark.parametrize("suffix", ["", "events/", "attachments/", "bids/", "awards/"])
@pytest.mark.parametrize("key", ORDER_KEYS)
@pytest.mark.parametrize("name", NAMES)
def test_order_and_its_read_endpoints(world, client_for, name, key, suffix):
    response = client_for(world.user(name)).get(f"/api/orders/{world.orders[key].pk}/{suffix}")
    status = read_status(name, key)
    if status != 200:
        assert_refused(response, status)
        return
    assert response.status_code == 200
    if suffix == "":
        assert response.json()["id"] == world.orders[key].pk


@pytest.mark.parametrize("name", sorted(MARKET))
@pytest.mark.parametrize("query", ["status=draft", "status=published", "status=awarded", "open=true", "open=false",
                                   "category=bead_work", "mode=home", "quantity_min=1", "due_after=2000-01-01"])
def test_order_filters_never_widen_what_a_persona_sees(world, client_for, name, query):
    response = client_for(world.user(name)).get(f"/api/orders/?{query}")
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids <= {world.orders[key].pk for key in VISIBLE_ORDERS[name]}


@pytest.mark.parametrize(
    "name, query, expected",
    [
        ("broker", "status=draft", set()),
        ("broker", "open=true", {"open", "other_open"}),
        ("broker", "open=false", {"awarded"}),
        ("rival_broker", "status=awarded", {"awarded"}),
        ("firm", "status=draft", {"draft"}),
        ("firm", "open=true", {"open"}),
        ("other_firm", "status=draft", {"other_draft"}),
        ("auditor", "open=true", set()),
        ("admin", "status=draft", {"draft", "other_draft"}),
    ],
)
def test_order_filters_within_what_is_visible(world, client_for, name, query, expected):
    response = client_for(world.user(name)).get(f"/api/orders/?{query}")
    assert {row["id"] for row in response.json()["results"]} == {world.orders[key].pk for key in expected}


@pytest.mark.parametrize(
    "name, bid_count, floor",
    [("firm", 2, None), ("admin", 2, None), ("broker", None, "0.9579"), ("team_head", None, "0.9579"),
     ("rival_broker", None, "0.9579")],
)
def test_only_the_firm_learns_the_live_bid_count(world, client_for, name, bid_count, floor):
    body = client_for(world.user(name)).get(f"/api/orders/{world.orders['open'].pk}/").json()
    assert body["bid_count"] == bid_count
    assert body["fair_rate_floor"] == floor


def test_an_auditor_sees_an_awarded_order_without_bid_count_or_floor(world, client_for):
    body = client_for(world.p.auditor).get(f"/api/orders/{world.orders['awarded'].pk}/").json()
    assert body["status"] == "awarded"
    assert body["bid_count"] is None and body["fair_rate_floor"] is None


def test_a_broker_sees_a_published_order_past_its_deadline_before_any_scheduler_closed_it(world, client_for):
    # given an order whose deadline passed but which no beat job closed yet
    late = builders.published(world.p.firm)
    builders.pass_deadline(late)
    # then it is still on every broker's list (not on the open board), as the rule "published" says
    for name in ["broker", "rival_broker", "team_head"]:
        client = client_for(world.user(name))
        assert client.get(f"/api/orders/{late.pk}/").status_code == 200
        assert late.pk not in {o["id"] for o in client.get("/api/orders/?open=true").json()["results"]}


# --- writes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_order_create(world, client_for, name, django_capture_on_commit_callbacks):
    client = client_for(world.user(name))
    post = lambda: client.post("/api/orders/", builders.api_order_data(product="新订单"), format="json")  # noqa: E731
    if name in {"firm", "other_firm"}:
        response = post()
        assert response.status_code == 201, response.json()
        order = Order.objects.get(pk=response.json()["id"])
        assert order.firm_id == world.user(name).organisation_id
        assert order.status == Order.Status.DRAFT
        return
    # brokers, auditors and even an admin (who belongs to no firm) cannot post an order
    refused_and_unchanged(post, 403, django_capture_on_commit_callbacks)


@pytest.mark.parametrize("name", NAMES)
def test_order_patch_of_terms(world, client_for, name, django_capture_on_commit_callbacks):
    order = world.orders["open"]
    client = client_for(world.user(name))
    patch = lambda: client.patch(f"/api/orders/{order.pk}/", {"quantity": 900}, format="json")  # noqa: E731
    status = firm_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(patch, status, django_capture_on_commit_callbacks)
        return
    response = patch()
    assert response.status_code == 200, response.json()
    assert response.json()["quantity"] == 900
    # not silently: the live bids wait for their brokers to re-confirm
    assert set(Bid.objects.filter(order=order).values_list("status", flat=True)) == {Bid.Status.NEEDS_RECONFIRM}


@pytest.mark.parametrize("name", NAMES)
def test_order_publish(world, client_for, name, django_capture_on_commit_callbacks):
    order = world.orders["draft"]
    client = client_for(world.user(name))
    publish = lambda: client.post(f"/api/orders/{order.pk}/publish/")  # noqa: E731
    status = firm_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(publish, status, django_capture_on_commit_callbacks)
        return
    response = publish()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "published"


@pytest.mark.parametrize("name", NAMES)
def test_order_cancel(world, client_for, name, django_capture_on_commit_callbacks):
    order = world.orders["open"]
    client = client_for(world.user(name))
    cancel = lambda: client.post(f"/api/orders/{order.pk}/cancel/", {"reason": "客户取消"}, format="json")  # noqa: E731
    status = firm_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(cancel, status, django_capture_on_commit_callbacks)
        return
    response = cancel()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("name", NAMES)
def test_order_attachment_upload(world, client_for, name, django_capture_on_commit_callbacks):
    order = world.orders["open"]
    client = client_for(world.user(name))

    def upload():
        photo = SimpleUploadedFile("sample.jpg", upload_files.jpeg(), content_type="image/jpeg")
        return client.post(f"/api/orders/{order.pk}/attachments/", {"file": photo, "caption": "样品"},
                           format="multipart")

    status = firm_write_status(name, 201)
    if status != 201:
        refused_and_unchanged(upload, status, django_capture_on_commit_callbacks)
        return
    response = upload()
    assert response.status_code == 201, response.json()
    assert response.json()["caption"] == "样品"
    assert order.attachments.count() == 1


def test_an_attachment_is_seen_by_whoever_sees_the_order(world, client_for):
    order = world.orders["open"]
    photo = SimpleUploadedFile("sample.jpg", upload_files.jpeg(), content_type="image/jpeg")
    client_for(world.p.firm).post(f"/api/orders/{order.pk}/attachments/", {"file": photo}, format="multipart")
    for name in ["firm", "broker", "team_head", "rival_broker", "admin"]:
        rows = client_for(world.user(name)).get(f"/api/orders/{order.pk}/attachments/").json()
        assert len(rows) == 1
        detail = client_for(world.user(name)).get(f"/api/orders/{order.pk}/").json()
        assert len(detail["attachments"]) == 1


# --- the audit trail: sealed bids and other brokers' awards never leak through it -------------

def events_of(client, order) -> list[dict]:
    response = client.get(f"/api/orders/{order.pk}/events/")
    assert response.status_code == 200
    return response.json()


def test_the_firm_sees_that_bids_exist_but_not_whose_before_the_deadline(world, client_for):
    events = events_of(client_for(world.p.firm), world.orders["open"])
    placed = [e for e in events if e["action"] == "bid_placed"]
    assert len(placed) == 2
    bidders = {world.p.broker.pk, world.p.rival_broker.pk}
    for event in placed:
        assert event["actor"] not in bidders
        assert event["actor_name"] not in {str(world.p.broker), str(world.p.rival_broker)}


@pytest.mark.parametrize("name", ["broker", "team_head", "rival_broker"])
def test_brokers_see_no_bid_traffic_in_the_trail_of_an_open_order(world, client_for, name):
    # given the firm changed the terms, which asked both bidders to re-confirm
    client_for(world.p.firm).patch(f"/api/orders/{world.orders['open'].pk}/", {"quantity": 900}, format="json")
    events = events_of(client_for(world.user(name)), world.orders["open"])
    assert [e["action"] for e in events if e["action"].startswith("bid_")] == []
    for event in events:
        assert "bids" not in event["data"] and "bids_to_reconfirm" not in event["data"]


# Keys of an event's data that tell about bids or about a particular broker's award.
BID_OR_AWARD_KEYS = {"bids", "bids_to_reconfirm", "bid", "award", "broker", "quantity", "fee_due", "excess_charge",
                     "accepted", "rejected", "delivery", "dispatch", "to_broker", "subcontract"}


@pytest.mark.parametrize("name", ["broker", "team_head", "rival_broker", "auditor"])
def test_no_one_but_the_firm_reads_bid_counts_or_other_brokers_awards_in_the_trail(world, client_for, name):
    # given bidding closed with two bids, a split award, a delivery inspected (fee due)
    p = world.p
    deliver_and_accept(p, world.awards["broker"], quantity=100)
    order = world.orders["awarded"]
    assert OrderEvent.objects.filter(order=order, action="bidding_closed", data__bids=2).exists()
    # then the trail others read is the order's state changes, none telling a figure of the bids
    # or of an award that is not theirs (the fee due reveals the broker's unit price)
    events = events_of(client_for(world.user(name)), order)
    assert {e["action"] for e in events} >= {"created", "published", "bidding_closed", "awarded"}
    for event in events:
        assert not event["action"].startswith("bid_")
        assert not BID_OR_AWARD_KEYS & set(event["data"]), event
        if name in {"rival_broker", "auditor"}:
            assert event["actor"] != p.broker.pk  # who delivered says who won
    # the firm reads all of it
    firm_events = events_of(client_for(p.firm), order)
    assert any(e["data"].get("fee_due") == "130.00" for e in firm_events)
    assert any(e["data"].get("bids") == 2 for e in firm_events)


def test_a_broker_still_sees_why_an_order_it_bid_on_was_cancelled(world, client_for):
    client_for(world.p.firm).post(f"/api/orders/{world.orders['open'].pk}/cancel/", {"reason": "客户取消"},
                                  format="json")
    events = events_of(client_for(world.p.rival_broker), world.orders["open"])
    cancelled = [e for e in events if e["action"] == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0]["reason"] == "客户取消"


def test_an_order_invisible_to_a_broker_stays_invisible_when_its_deadline_passes(world, client_for):
    # given another firm's order nobody bid on, closed by the deadline
    order = world.orders["other_open"]
    builders.pass_deadline(order)
    services.order_close_bidding(order_id=order.pk)
    for name in ["broker", "rival_broker", "auditor", "firm"]:
        assert client_for(world.user(name)).get(f"/api/orders/{order.pk}/").status_code == 404
    assert client_for(world.other_firm).get(f"/api/orders/{order.pk}/").status_code == 200



def test_attachment_files_are_served_to_who_may_see_the_order(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = world.orders["open"]
    photo = SimpleUploadedFile("样品.jpg", upload_files.jpeg(), content_type="image/jpeg")
    posted = client_for(world.p.firm).post(f"/api/orders/{order.pk}/attachments/", {"file": photo}, format="multipart")
    assert posted.status_code == 201, posted.json()
    url = posted.json()["url"]
    assert posted.json()["name"].endswith(".jpg")
    response = client_for(world.p.broker).get(url)  # the board's orders are open to every broker
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == upload_files.jpeg()
    assert client_for(world.other_firm).get(url).status_code == 404
    assert client_for(world.p.worker).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 403
    assert client_for(world.p.broker).get(url.replace(f"/{posted.json()['id']}/", "/999999/")).status_code == 404
