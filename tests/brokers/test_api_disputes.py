"""Disputes through the API: a worker disputes her own log within the window; the broker accepts
(a reversing log) or rejects (with a resolution, writing no log); the county's auditor watches."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from brokers.models import Dispute, PieceLog

from ..db_attacks import rewriting_history
from .api_world import api_world, refused_and_unchanged  # noqa: F401

pytestmark = pytest.mark.django_db


def open_dispute(client, log, **body):
    return client.post("/api/disputes/", {"log": log.pk, **body}, format="json")


def test_only_her_own_log_can_be_disputed(api_world, client_for):
    world = api_world
    # the other worker, on the worker's log; the worker, on the other worker's log
    refused_and_unchanged(lambda: open_dispute(client_for(world.p.other_worker), world.plain, kind="not_mine"), 404)
    refused_and_unchanged(lambda: open_dispute(client_for(world.p.worker), world.rival_log, kind="not_mine"), 404)


def test_a_reversing_log_cannot_be_disputed(api_world, client_for):
    world = api_world
    reversal = client_for(world.p.broker).post(f"/api/piece-logs/{world.plain.pk}/reverse/",
                                               {"reason": "记错人了", "quantity": 3}, format="json").json()
    refused_and_unchanged(lambda: open_dispute(client_for(world.p.worker), PieceLog.objects.get(pk=reversal["id"]),
                                               kind="not_mine"), 404)
    # nor the log it reversed: it is already corrected
    refused_and_unchanged(lambda: open_dispute(client_for(world.p.worker), world.plain, kind="not_mine"), 409,
                          "already_reversed")


def test_a_log_is_disputed_once_at_a_time(api_world, client_for):
    world = api_world
    refused_and_unchanged(lambda: open_dispute(client_for(world.p.worker), world.disputed, kind="not_mine"), 400,
                          "dispute_open")


@pytest.mark.parametrize("correct, ok", [(None, False), (10, False), (11, False), (-1, False), (9, True), (0, True)])
def test_a_wrong_count_names_a_correct_count_below_the_logged_one(api_world, client_for, correct, ok):
    world = api_world  # `plain` logged 10 pieces
    body = {"kind": "wrong_count"} | ({} if correct is None else {"correct_quantity": correct})
    worker = client_for(world.p.worker)
    if not ok:
        response = refused_and_unchanged(lambda: open_dispute(worker, world.plain, **body), 400)
        assert set(response.json()["fields"]) == {"correct_quantity"}
        return
    response = open_dispute(worker, world.plain, **body)
    assert response.status_code == 201, response.json()
    assert (response.json()["kind"], response.json()["correct_quantity"], response.json()["status"]) == (
        "wrong_count", correct, "open")


def test_not_mine_keeps_no_count(api_world, client_for):
    world = api_world
    response = open_dispute(client_for(world.p.worker), world.plain, kind="not_mine", correct_quantity=4)
    assert response.status_code == 201
    assert response.json()["correct_quantity"] is None


def test_the_dispute_window(api_world, client_for, settings):
    settings.PIECE_DISPUTE_WINDOW_DAYS = 3
    world = api_world
    worker = client_for(world.p.worker)
    now = timezone.now()
    # recorded three days ago, less an hour: still open to dispute
    with rewriting_history():  # the log is append-only: age it for the test only
        PieceLog.objects.filter(pk=world.plain.pk).update(recorded_at=now - dt.timedelta(days=3) + dt.timedelta(hours=1))
    assert open_dispute(worker, world.plain, kind="not_mine").status_code == 201
    # a log recorded three days and an hour ago: too late
    late = PieceLog.objects.get(pk=world.plain.pk)
    Dispute.objects.filter(log=late).delete()
    with rewriting_history():
        PieceLog.objects.filter(pk=late.pk).update(recorded_at=now - dt.timedelta(days=3, hours=1))
    response = refused_and_unchanged(lambda: open_dispute(worker, world.plain, kind="not_mine"), 409,
                                     "dispute_window_closed")
    assert "3" in response.json()["message"]


def test_a_rejection_needs_a_resolution_and_writes_no_log(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    url = f"/api/disputes/{world.dispute.pk}/resolve/"
    for body in ({"accept": False}, {"accept": False, "resolution": ""}, {"accept": False, "resolution": "  "}):
        response = refused_and_unchanged(lambda: broker.post(url, body, format="json"), 400)
        assert set(response.json()["fields"]) == {"resolution"}

    logs = PieceLog.objects.count()
    response = broker.post(url, {"accept": False, "resolution": "监控核对，确实是10件"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["resolution"], body["reversal"]) == ("rejected", "监控核对，确实是10件", None)
    assert body["resolved_at"] is not None
    assert PieceLog.objects.count() == logs
    # her pay is as it was: 10 × 0.90 + 10 × 0.30
    assert client_for(world.p.worker).get("/api/me/earnings/").json()["today"] == "12.00"
    # she sees the answer
    mine = client_for(world.p.worker).get("/api/disputes/").json()["results"]
    assert [(d["id"], d["status"], d["resolution"]) for d in mine] == [
        (world.dispute.pk, "rejected", "监控核对，确实是10件")]
    # and it cannot be resolved again
    refused_and_unchanged(lambda: broker.post(url, {"accept": True, "resolution": "改主意了"}, format="json"), 409,
                          "dispute_closed")


def test_accepting_a_wrong_count_writes_the_reversing_log_of_the_difference(api_world, client_for):
    world = api_world  # disputed: 10 threading at 0.90, she says 8
    response = client_for(world.p.team_head).post(f"/api/disputes/{world.dispute.pk}/resolve/",
                                                  {"accept": True, "resolution": "重新点过，8件"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    reversal = PieceLog.objects.get(pk=response.json()["reversal"])
    assert (reversal.quantity, str(reversal.rate), reversal.reverses_id, reversal.worker_id, reversal.work_date) == (
        -2, "0.9000", world.disputed.pk, world.p.worker_record.pk, world.disputed.work_date)
    assert "重新点过，8件" in reversal.reason
    # 8 × 0.90 + 10 × 0.30
    assert client_for(world.p.worker).get("/api/me/earnings/").json()["today"] == "10.20"
    # the reversal is on her list of logs, and the auditor no longer has an open dispute of hers
    logs = client_for(world.p.worker).get("/api/piece-logs/").json()["results"]
    assert {log["quantity"] for log in logs} == {10, -2}
    open_ = client_for(world.p.auditor).get("/api/disputes/?status=open").json()["results"]
    assert [d["id"] for d in open_] == [world.rival_dispute.pk]


def test_accepting_not_mine_reverses_the_whole_log(api_world, client_for):
    world = api_world
    response = client_for(world.p.rival_broker).post(f"/api/disputes/{world.rival_dispute.pk}/resolve/",
                                                     {"accept": True, "resolution": "是别人做的"}, format="json")
    assert response.status_code == 200, response.json()
    reversal = PieceLog.objects.get(pk=response.json()["reversal"])
    assert (reversal.quantity, reversal.reverses_id) == (-10, world.rival_log.pk)
    assert client_for(world.p.other_worker).get("/api/me/earnings/").json()["today"] == "0.00"


def test_accepting_a_dispute_on_a_log_the_broker_already_reversed_is_refused(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    assert broker.post(f"/api/piece-logs/{world.disputed.pk}/reverse/", {"reason": "已更正"},
                       format="json").status_code == 201
    refused_and_unchanged(lambda: broker.post(f"/api/disputes/{world.dispute.pk}/resolve/",
                                              {"accept": True, "resolution": "同意"}, format="json"), 409,
                          "already_reversed")
    assert Dispute.objects.get(pk=world.dispute.pk).status == "open"


def test_the_county_auditor_sees_the_open_disputes(api_world, client_for):
    world = api_world
    open_ = client_for(world.p.auditor).get("/api/disputes/?status=open").json()["results"]
    assert [(d["id"], d["broker_name"], d["worker_name"]) for d in open_] == [
        (world.dispute.pk, "建明服装厂", "王秀英"), (world.rival_dispute.pk, "对手加工点", "李桂兰")]
    assert client_for(world.p.other_auditor).get("/api/disputes/?status=open").json()["results"] == []
