"""The whole marketplace chain through the API, as a firm and a broker would use it:
post → publish → bid → award → dispatch → receive → deliver → inspect (with a rejection and a
re-delivery) → return material → complete → reconcile."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order

from ..orders.builders import api_order_data, pass_deadline

pytestmark = pytest.mark.django_db


def test_post_bid_award_dispatch_deliver_inspect_reconcile(personas, client_for):
    firm, broker, rival = client_for(personas.firm), client_for(personas.broker), client_for(personas.rival_broker)

    # the firm posts a draft and publishes it
    response = firm.post("/api/orders/", api_order_data(quantity=100), format="json")
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "draft"
    assert order["standard_minutes"] == "5.00"
    assert [p["name"] for p in order["procedures"]] == ["穿珠", "打结"]
    assert broker.get(f"/api/orders/{order['id']}/").status_code == 404  # drafts are the firm's alone
    assert firm.post(f"/api/orders/{order['id']}/publish/").json()["status"] == "published"

    # brokers see it on the board, with their fair-rate floor: 5 min × 2000/(21.75×8×60) = 0.9579
    board = broker.get("/api/orders/?open=true").json()["results"]
    assert [o["id"] for o in board] == [order["id"]]
    assert broker.get(f"/api/orders/{order['id']}/").json()["fair_rate_floor"] == "0.9579"

    promised = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    low = broker.post(f"/api/orders/{order['id']}/bids/", {"unit_price": "0.9578", "quantity": 100,
                                                            "promised_date": promised}, format="json",
                      HTTP_ACCEPT_LANGUAGE="en")
    assert low.status_code == 400
    assert low.json()["code"] == "below_fair_rate_floor"
    assert "0.9579" in low.json()["message"]
    assert list(low.json()["fields"]) == ["unit_price"]

    mine = broker.post(f"/api/orders/{order['id']}/bids/", {"unit_price": "1.2000", "quantity": 60,
                                                             "promised_date": promised}, format="json")
    assert mine.status_code == 201, mine.json()
    theirs = rival.post(f"/api/orders/{order['id']}/bids/", {"unit_price": "1.1000", "quantity": 100,
                                                              "promised_date": promised}, format="json")
    assert theirs.status_code == 201

    # sealed: before the deadline the firm sees the count only, each broker only its own bid
    assert firm.get(f"/api/orders/{order['id']}/").json()["bid_count"] == 2
    assert firm.get(f"/api/orders/{order['id']}/bids/").json() == []
    assert [b["id"] for b in broker.get(f"/api/orders/{order['id']}/bids/").json()] == [mine.json()["id"]]

    # after the deadline the firm sees both, cheapest first, with track records
    pass_deadline(Order.objects.get(pk=order["id"]))
    bids = firm.get(f"/api/orders/{order['id']}/bids/").json()
    assert [b["unit_price"] for b in bids] == ["1.1000", "1.2000"]
    assert bids[1]["implied_hourly_pay"] == "14.40"  # 1.20 yuan per 5 minutes
    assert bids[1]["track_record"]["worker_count"] == 1

    # split award: 60 to the broker, 40 to the rival; nothing more is left
    a1 = firm.post(f"/api/orders/{order['id']}/awards/", {"bid": mine.json()["id"], "quantity": 60}, format="json")
    assert a1.status_code == 201, a1.json()
    assert a1.json()["value"] == "72.00"
    a2 = firm.post(f"/api/orders/{order['id']}/awards/", {"bid": theirs.json()["id"], "quantity": 41},
                   format="json")
    assert a2.status_code == 409 and a2.json()["code"] == "award_quantity_exceeded"
    a2 = firm.post(f"/api/orders/{order['id']}/awards/", {"bid": theirs.json()["id"], "quantity": 40},
                   format="json")
    assert a2.status_code == 201
    assert firm.get(f"/api/orders/{order['id']}/").json()["status"] == "awarded"

    award = a1.json()["id"]
    detail = firm.get(f"/api/orders/{order['id']}/").json()
    beads, thread = detail["materials"]

    # materials: 60 pieces × 20 beads = 1200 (+ 2% allowance); send 1300, 1250 arrive
    sent = firm.post(f"/api/awards/{award}/dispatches/", {"lines": [
        {"material": beads["id"], "quantity": "1300"}, {"material": thread["id"], "quantity": "16"}]}, format="json")
    assert sent.status_code == 201, sent.json()
    assert firm.get(f"/api/orders/{order['id']}/").json()["status"] == "in_production"
    received = broker.post(f"/api/dispatches/{sent.json()['id']}/receive/",
                           {"lines": [{"material": beads["id"], "quantity": "1250"}]}, format="json")
    assert received.status_code == 200, received.json()
    assert [line["received_quantity"] for line in received.json()["lines"]] == ["1250.0000", "16.0000"]

    # deliveries and inspection: 60 delivered, 55 accepted, 5 rejected for rework, re-delivered
    d1 = broker.post(f"/api/awards/{award}/deliveries/", {"quantity": 60}, format="json")
    assert d1.status_code == 201
    too_many = broker.post(f"/api/awards/{award}/deliveries/", {"quantity": 1}, format="json")
    assert too_many.status_code == 400 and too_many.json()["code"] == "quantity_exceeded"
    i1 = firm.post(f"/api/deliveries/{d1.json()['id']}/inspect/", {"accepted": 55, "rejected": 5,
                                                                   "reason": "结松了"}, format="json")
    assert i1.status_code == 201, i1.json()
    assert i1.json()["fee_due"] == "66.00"
    d2 = broker.post(f"/api/awards/{award}/deliveries/", {"quantity": 5}, format="json")
    assert d2.status_code == 201
    assert firm.post(f"/api/awards/{award}/complete/").json()["code"] == "award_incomplete"
    firm.post(f"/api/deliveries/{d2.json()['id']}/inspect/", {"accepted": 5, "rejected": 0}, format="json")

    # the broker returns 20 unused beads; then the firm completes the award
    assert broker.post(f"/api/awards/{award}/returns/", {"material": beads["id"], "quantity": "20"},
                       format="json").status_code == 201
    done = firm.post(f"/api/awards/{award}/complete/")
    assert done.status_code == 200, done.json()
    lines = {line["material_name"]: line for line in done.json()["reconciliation"]}
    # beads: received 1250, consumed 1200, returned 20 → 30 lost; allowance 24 → 6 excess × 0.01 = 0.06
    assert lines["玻璃珠"] == {**lines["玻璃珠"], "dispatched": "1300.0000", "received": "1250.0000",
                               "consumed": "1200.0000", "returned": "20.0000", "lost_within_allowance": "24.0000",
                               "excess_loss": "6.0000", "excess_charge": "0.06"}
    # thread: 16 received, 15 consumed, 1 lost; allowance 0.75 → 0.25 excess × 0.20 = 0.05
    assert lines["弹力线"]["excess_charge"] == "0.05"
    assert done.json()["progress"] == {"delivered": 65, "accepted": 60, "rejected": 5, "pending": 0}
    # one award is still active: the order is not complete yet
    assert firm.get(f"/api/orders/{order['id']}/").json()["status"] == "in_production"

    events = [e["action"] for e in firm.get(f"/api/orders/{order['id']}/events/").json()]
    assert events[:3] == ["created", "published", "bid_placed"]
    assert "award_completed" in events
    assert Decimal(done.json()["value"]) == Decimal("72.00")
