"""A broker runs work through the API: bundles, piece rates, piece logs (single, bulk,
resent), the worker's view of her earnings, a dispute and its resolution."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from brokers.models import PieceLog

from ..orders.builders import awarded

pytestmark = pytest.mark.django_db


def cid() -> str:
    return uuid.uuid4().hex


def test_bundles_rates_logs_earnings_dispute(personas, client_for):
    broker, worker = client_for(personas.broker), client_for(personas.worker)
    award = awarded(personas.firm, personas.broker, quantity=120)  # unit price 1.20, 4 + 1 standard minutes
    order = award.order
    threading, knotting = order.procedures.order_by("sequence")
    me = personas.worker_record.pk

    # bundles of 50: 50, 50, 20
    cut = broker.post("/api/bundles/cut/", {"award": award.pk, "size": 50}, format="json")
    assert cut.status_code == 201, cut.json()
    assert [b["size"] for b in cut.json()] == [50, 50, 20]
    first = cut.json()[0]
    assert broker.post("/api/bundles/cut/", {"award": award.pk, "size": 50}, format="json").json()["code"] == \
        "award_fully_bundled"
    pdf = broker.get(f"/api/bundles/tickets/?award={award.pk}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # rates: suggested = minutes × the broker's minute rate (default 0.25); floor from the wage
    table = broker.get(f"/api/piece-rates/?award={award.pk}").json()
    assert [(r["suggested"], r["floor"], r["rate"]) for r in table["rows"]] == [
        ("1.0000", "0.7663", None), ("0.2500", "0.1916", None)]
    low = broker.post("/api/piece-rates/", {"award": award.pk, "procedure": threading.pk, "rate": "0.7662"},
                      format="json")
    assert low.status_code == 400 and low.json()["code"] == "below_fair_rate_floor"
    assert broker.post("/api/piece-rates/", {"award": award.pk, "procedure": threading.pk, "rate": "0.9000"},
                       format="json").status_code == 201
    table = broker.post("/api/piece-rates/", {"award": award.pk, "procedure": knotting.pk, "rate": "0.3500"},
                        format="json").json()
    assert table["margin_per_piece"] == "-0.0500" and table["margin_negative"] is True

    # no rate → no log; a log with a client id, then the same resend counts once
    today = timezone.localdate()
    row = {"worker": me, "bundle": first["id"], "procedure": threading.pk, "quantity": 30, "work_date": today.isoformat(),
           "client_id": cid()}
    created = broker.post("/api/piece-logs/", row, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["amount_unrounded"] == "27.0000"
    again = broker.post("/api/piece-logs/", row, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert PieceLog.objects.count() == 1
    misuse = broker.post("/api/piece-logs/", {**row, "quantity": 31}, format="json")
    assert misuse.status_code == 409 and misuse.json()["code"] == "client_id_reused"

    # the cap: 30 of 50 logged, 21 more is refused, 20 fits
    over = broker.post("/api/piece-logs/", {**row, "quantity": 21, "client_id": cid()}, format="json")
    assert over.status_code == 409 and over.json()["code"] == "bundle_overfilled"

    # bulk, all or nothing: row 1 is bad (a rival's worker), so nothing is written
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    rows = [
        {"worker": me, "bundle": first["id"], "procedure": knotting.pk, "quantity": 50, "work_date": yesterday,
         "client_id": cid()},
        {"worker": personas.other_worker_record.pk, "bundle": first["id"], "procedure": knotting.pk, "quantity": 1,
         "work_date": yesterday, "client_id": cid()},
    ]
    bad = broker.post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_rows"
    assert list(bad.json()["fields"]) == ["rows.1.worker"]
    assert PieceLog.objects.count() == 1
    good = broker.post("/api/piece-logs/bulk/", {"rows": rows[:1] + [
        {"worker": me, "bundle": first["id"], "procedure": threading.pk, "quantity": 20, "work_date": yesterday,
         "client_id": cid()}]}, format="json")
    assert good.status_code == 201, good.json()
    assert good.json()["created"] == 2

    # the worker's phone: 30 + 20 threading at 0.90 = 45.00; 50 knotting at 0.35 = 17.50
    earnings = worker.get("/api/me/earnings/").json()
    assert earnings["today"] == "27.00"
    same_month = yesterday[:7] == today.isoformat()[:7]
    assert earnings["month"] == ("62.50" if same_month else "27.00")
    logs = worker.get("/api/piece-logs/").json()["results"]
    assert {log["recorded_by_name"] for log in logs} == {str(personas.broker)}
    assert client_for(personas.other_worker).get("/api/piece-logs/").json()["results"] == []

    # she disputes today's log: it was 25, not 30; the broker accepts → a reversing log of 5
    log_id = created.json()["id"]
    dispute = worker.post("/api/disputes/", {"log": log_id, "kind": "wrong_count", "correct_quantity": 25,
                                             "note": "少了五件"}, format="json")
    assert dispute.status_code == 201, dispute.json()
    assert client_for(personas.auditor).get("/api/disputes/?status=open").json()["results"][0]["id"] == \
        dispute.json()["id"]
    resolved = broker.post(f"/api/disputes/{dispute.json()['id']}/resolve/",
                           {"accept": True, "resolution": "重新点过，25件"}, format="json")
    assert resolved.status_code == 200, resolved.json()
    reversal = PieceLog.objects.get(pk=resolved.json()["reversal"])
    assert (reversal.quantity, reversal.rate, reversal.reverses_id) == (-5, Decimal("0.9000"), log_id)
    assert worker.get("/api/me/earnings/").json()["today"] == "22.50"

    # progress of the bundle per procedure
    bundle = broker.get(f"/api/bundles/{first['id']}/").json()
    assert bundle["progress"] == {str(threading.pk): 45, str(knotting.pk): 50}
