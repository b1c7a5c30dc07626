"""Piece logs through the API: membership, the bulk endpoint (limits, all or nothing, every bad
row by index, resends), a worker scanning a ticket and the scan guard, the rate in force when a
piece is logged, reversals and the bundle-size cap."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from brokers import services
from brokers.models import Bundle, PieceLog, PieceRate

from ..db_attacks import rewriting_history
from ..factories import UserFactory
from ..orders import builders
from .api_world import api_world, cid, extra_worker, procedures, refused_and_unchanged, set_rates  # noqa: F401

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def row(world, *, worker=None, bundle=None, procedure=None, quantity=5, work_date=None, **extra) -> dict:
    return {"worker": (worker or world.p.worker_record).pk, "bundle": (bundle or world.bundles[1]).pk,
            "procedure": (procedure or world.threading).pk, "quantity": quantity,
            "work_date": (work_date or TODAY()).isoformat(), "client_id": cid(), **extra}


def logger_with_login(world, broker):
    """A second worker of `broker` who has a login of her own."""
    user = UserFactory(role=Role.WORKER)
    return extra_worker(world.p, broker, user=user), user


# --- membership --------------------------------------------------------------------------------

def test_a_worker_whose_membership_ended_before_the_work_date_cannot_be_logged_for(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    yesterday = TODAY() - dt.timedelta(days=1)
    ended = broker.post(f"/api/workers/{world.p.worker_record.pk}/end-membership/",
                        {"ended_on": yesterday.isoformat()}, format="json")
    assert ended.status_code == 204

    # today is after the end: refused, nothing written
    response = refused_and_unchanged(lambda: broker.post("/api/piece-logs/", row(world), format="json"), 400,
                                     "not_a_member")
    assert set(response.json()["fields"]) == {"worker"}
    # she scans the ticket herself: refused the same way
    refused_and_unchanged(lambda: client_for(world.p.worker).post("/api/piece-logs/", scan(world), format="json"),
                          400, "not_a_member")
    # the last day of the membership still counts
    assert broker.post("/api/piece-logs/", row(world, work_date=yesterday), format="json").status_code == 201


def test_a_work_date_before_the_membership_started_is_refused(api_world, client_for):
    world = api_world
    started = world.p.worker_record.memberships.get().started_on
    response = client_for(world.p.broker).post(
        "/api/piece-logs/", row(world, work_date=started - dt.timedelta(days=1)), format="json")
    assert response.status_code == 400 and response.json()["code"] == "not_a_member"


def test_another_brokers_worker_enrolled_today_can_be_logged_for_from_today(api_world, client_for):
    world = api_world
    other = world.p.other_worker_record
    broker = client_for(world.p.broker)
    # not (yet) a member
    assert broker.post("/api/piece-logs/", row(world, worker=other), format="json").json()["code"] == "not_a_member"
    enrolled = broker.post("/api/workers/enrol/", {"national_id": other.national_id, "name": other.name},
                           format="json")
    assert enrolled.status_code == 201
    assert broker.post("/api/piece-logs/", row(world, worker=other), format="json").status_code == 201
    yesterday = TODAY() - dt.timedelta(days=1)
    late = broker.post("/api/piece-logs/", row(world, worker=other, work_date=yesterday), format="json")
    assert late.status_code == 400 and late.json()["code"] == "not_a_member"


# --- bulk --------------------------------------------------------------------------------------

@pytest.fixture
def big(api_world):
    """An award of 1,000 pieces in one bundle of 1,000, with rates."""
    p = api_world.p
    award = builders.awarded(p.firm, p.broker, quantity=1000, product="大单")
    [bundle] = services.bundles_cut(actor=p.broker, award_id=award.pk, size=1000)
    set_rates(p.broker, award)
    return bundle, procedures(award)[0]


def test_bulk_takes_1000_rows(api_world, client_for, big):
    world = api_world
    bundle, threading = big
    rows = [row(world, bundle=bundle, procedure=threading, quantity=1) for _ in range(1000)]
    response = client_for(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["duplicates"]) == (1000, 0)
    assert [r["index"] for r in body["results"]] == list(range(1000))
    assert PieceLog.objects.filter(bundle=bundle).count() == 1000


def test_bulk_refuses_1001_rows_and_writes_nothing(api_world, client_for, big):
    world = api_world
    bundle, threading = big
    rows = [row(world, bundle=bundle, procedure=threading, quantity=1) for _ in range(1001)]
    response = refused_and_unchanged(
        lambda: client_for(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json"), 400)
    assert set(response.json()["fields"]) == {"rows"}


def test_bulk_refuses_no_rows(api_world, client_for):
    response = refused_and_unchanged(
        lambda: client_for(api_world.p.broker).post("/api/piece-logs/bulk/", {"rows": []}, format="json"), 400)
    assert set(response.json()["fields"]) == {"rows"}


def test_bulk_is_all_or_nothing_and_names_every_bad_row(api_world, client_for):
    world = api_world
    tomorrow = TODAY() + dt.timedelta(days=1)
    first = row(world)
    rows = [
        first,                                                          # 0 good
        {**row(world), "bundle": 999_999},                              # 1 no such bundle
        row(world, worker=world.p.other_worker_record),                 # 2 not her broker's worker
        row(world, procedure=world.rival_threading),                    # 3 a procedure of another order
        row(world, work_date=tomorrow),                                 # 4 the future
        row(world, bundle=world.bundles[2], procedure=world.knotting, quantity=21),  # 5 over the 20 of the bundle
        {**row(world), "client_id": first["client_id"], "quantity": 6},  # 6 a client id used in this batch
        {**row(world), "client_id": world.plain.client_id},             # 7 a client id of another log
        row(world),                                                     # 8 good
    ]
    response = refused_and_unchanged(
        lambda: client_for(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json"), 400,
        "invalid_rows")
    assert list(response.json()["fields"]) == [
        "rows.1.bundle", "rows.2.worker", "rows.3.procedure", "rows.4.work_date", "rows.5.quantity",
        "rows.6.client_id", "rows.7.client_id"]


def test_bulk_names_badly_shaped_rows_and_rule_breaking_rows_in_one_answer(api_world, client_for):
    world = api_world
    rows = [
        row(world),                                                     # 0 good
        {**row(world), "quantity": 0},                                  # 1 shape: at least one piece
        row(world, worker=world.p.other_worker_record),                 # 2 rule: not a member
        {k: v for k, v in row(world).items() if k != "bundle"},         # 3 shape: no bundle, no ticket code
        row(world, bundle=world.bundles[2], procedure=world.knotting, quantity=21),  # 4 rule: over the cap
        {**row(world), "work_date": "not a date"},                      # 5 shape
    ]
    response = refused_and_unchanged(
        lambda: client_for(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json"), 400,
        "invalid_rows")
    assert list(response.json()["fields"]) == [
        "rows.1.quantity", "rows.2.worker", "rows.3.bundle", "rows.4.quantity", "rows.5.work_date"]


def test_bulk_with_only_badly_shaped_rows_names_them(api_world, client_for):
    world = api_world
    rows = [row(world), {**row(world), "quantity": -1}]
    response = refused_and_unchanged(
        lambda: client_for(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json"), 400,
        "invalid_rows")
    assert list(response.json()["fields"]) == ["rows.1.quantity"]


def test_bulk_badly_shaped_rows_from_someone_who_may_not_log_are_refused_as_such(api_world, client_for):
    world = api_world
    rows = [row(world), {**row(world), "quantity": -1}]
    refused_and_unchanged(
        lambda: client_for(world.p.auditor).post("/api/piece-logs/bulk/", {"rows": rows}, format="json"), 403)


def test_bulk_resend_reports_duplicates_and_inserts_only_the_new_rows(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    rows = [row(world, quantity=1), row(world, procedure=world.knotting, quantity=2), row(world, quantity=3)]
    first = broker.post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    assert first.status_code == 201 and first.json()["created"] == 3
    ids = [r["log"]["id"] for r in first.json()["results"]]
    before = PieceLog.objects.count()

    # the phone did not hear back and sends the batch again, with one new row
    again = broker.post("/api/piece-logs/bulk/", {"rows": rows + [row(world, quantity=4)]}, format="json")
    assert again.status_code == 201, again.json()
    body = again.json()
    assert (body["created"], body["duplicates"]) == (1, 3)
    assert [(r["index"], r["duplicate"]) for r in body["results"]] == [(0, True), (1, True), (2, True), (3, False)]
    assert [r["log"]["id"] for r in body["results"][:3]] == ids  # the first logs, not new ones
    assert PieceLog.objects.count() == before + 1

    # and once more, nothing new at all
    third = broker.post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    assert third.status_code == 200 and (third.json()["created"], third.json()["duplicates"]) == (0, 3)
    assert PieceLog.objects.count() == before + 1


def test_bulk_cap_counts_rows_of_the_same_batch(api_world, client_for):
    world = api_world
    small = world.bundles[2]  # 20 pieces
    rows = [row(world, bundle=small, quantity=15), row(world, bundle=small, quantity=6)]
    response = refused_and_unchanged(
        lambda: client_for(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json"), 400,
        "invalid_rows")
    assert list(response.json()["fields"]) == ["rows.1.quantity"]


# --- a worker scanning a ticket ----------------------------------------------------------------

def scan(world, bundle=None, procedure=None, quantity=5, **extra) -> dict:
    return {"bundle_code": (bundle or world.bundles[1]).code, "procedure": (procedure or world.threading).pk,
            "quantity": quantity, "work_date": TODAY().isoformat(), "client_id": cid(), **extra}


def test_a_worker_scanning_a_ticket_records_her_own_pieces(api_world, client_for):
    world = api_world
    response = client_for(world.p.worker).post("/api/piece-logs/", scan(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["worker"], body["bundle"], body["source"], body["recorded_by_name"]) == (
        world.p.worker_record.pk, world.bundles[1].pk, "scan", str(world.p.worker))
    log = PieceLog.objects.get(pk=body["id"])
    assert (log.recorded_by_id, log.rate, log.quantity) == (world.p.worker.pk, Decimal("0.9000"), 5)
    # naming herself is the same thing
    named = client_for(world.p.worker).post(
        "/api/piece-logs/", scan(world, procedure=world.knotting, worker=world.p.worker_record.pk), format="json")
    assert named.status_code == 201 and named.json()["source"] == "scan"


def test_a_worker_cannot_record_pieces_for_someone_else(api_world, client_for):
    world = api_world
    worker = client_for(world.p.worker)
    refused_and_unchanged(lambda: worker.post(
        "/api/piece-logs/", scan(world, worker=world.nologin.pk), format="json"), 403, "permission_denied")
    response = refused_and_unchanged(lambda: worker.post("/api/piece-logs/bulk/", {"rows": [
        scan(world), scan(world, procedure=world.knotting, worker=world.nologin.pk)]}, format="json"),
        400, "invalid_rows")
    assert list(response.json()["fields"]) == ["rows.1.worker"]


def test_a_worker_cannot_scan_a_ticket_of_a_broker_she_does_not_work_for(api_world, client_for):
    world = api_world
    refused_and_unchanged(lambda: client_for(world.p.worker).post(
        "/api/piece-logs/", scan(world, bundle=world.rival_bundles[1], procedure=world.rival_threading),
        format="json"), 400, "not_a_member")


def test_an_unknown_ticket_is_not_found(api_world, client_for):
    world = api_world
    refused_and_unchanged(lambda: client_for(world.p.worker).post(
        "/api/piece-logs/", {**scan(world), "bundle_code": "0" * 16}, format="json"), 404, "not_found")


def test_a_second_scan_of_the_same_ticket_and_procedure_within_the_guard_is_refused(api_world, client_for,
                                                                                       settings):
    settings.PIECE_SCAN_GUARD_SECONDS = 30
    world = api_world
    worker = client_for(world.p.worker)
    first = worker.post("/api/piece-logs/", scan(world), format="json")
    assert first.status_code == 201

    again = refused_and_unchanged(lambda: worker.post("/api/piece-logs/", scan(world), format="json"), 409,
                                  "duplicate_scan")
    assert "30" in again.json()["message"]
    # another procedure of the same ticket is other work
    assert worker.post("/api/piece-logs/", scan(world, procedure=world.knotting), format="json").status_code == 201
    # another worker scanning the same ticket is other work too
    _, colleague = logger_with_login(world, world.p.broker)
    assert client_for(colleague).post("/api/piece-logs/", scan(world), format="json").status_code == 201
    # two scans of it in one batch: the second is the double tap
    batch = refused_and_unchanged(lambda: worker.post("/api/piece-logs/bulk/", {"rows": [
        scan(world, bundle=world.bundles[2]), scan(world, bundle=world.bundles[2])]}, format="json"),
        400, "invalid_rows")
    assert list(batch.json()["fields"]) == ["rows.1.bundle"]

    # time moves on past the guard: she may scan it again
    with rewriting_history():  # the log is append-only: age it for the test only
        PieceLog.objects.filter(pk=first.json()["id"]).update(recorded_at=timezone.now() - dt.timedelta(seconds=31))
    assert worker.post("/api/piece-logs/", scan(world), format="json").status_code == 201


def test_the_scan_guard_window_comes_from_the_setting(api_world, client_for, settings):
    settings.PIECE_SCAN_GUARD_SECONDS = 0
    world = api_world
    worker = client_for(world.p.worker)
    assert worker.post("/api/piece-logs/", scan(world), format="json").status_code == 201
    assert worker.post("/api/piece-logs/", scan(world), format="json").status_code == 201


def test_the_brokers_own_entry_does_not_trip_her_scan_guard(api_world, client_for, settings):
    settings.PIECE_SCAN_GUARD_SECONDS = 60
    world = api_world
    assert client_for(world.p.broker).post("/api/piece-logs/", row(world), format="json").status_code == 201
    assert client_for(world.p.worker).post("/api/piece-logs/", scan(world), format="json").status_code == 201


# --- the rate in force -------------------------------------------------------------------------

def test_a_piece_is_paid_at_the_rate_in_force_when_it_was_logged(api_world, client_for):
    world = api_world
    broker, worker = client_for(world.p.broker), client_for(world.p.worker)
    rates_url = "/api/piece-rates/"

    # given a rise scheduled for an hour from now
    later = timezone.now() + dt.timedelta(hours=1)
    scheduled = broker.post(rates_url, {"award": world.award.pk, "procedure": world.threading.pk, "rate": "1.2000",
                                        "effective_from": later.isoformat()}, format="json")
    assert scheduled.status_code == 201, scheduled.json()
    threading_row = scheduled.json()["rows"][0]
    assert (threading_row["rate"], threading_row["next_rate"]) == ("0.9000", "1.2000")
    assert dt.datetime.fromisoformat(threading_row["next_from"]) == later

    # when a piece is logged now, the rise does not apply yet
    now_log = broker.post("/api/piece-logs/", row(world, quantity=10), format="json").json()
    assert (now_log["rate"], now_log["amount_unrounded"]) == ("0.9000", "9.0000")

    # time moves on: the rise is in force
    PieceRate.objects.filter(rate=Decimal("1.2000")).update(effective_from=timezone.now())
    risen = broker.post("/api/piece-logs/", row(world, quantity=7), format="json").json()
    assert (risen["rate"], risen["amount_unrounded"]) == ("1.2000", "8.4000")

    # a change from now applies to what is logged after it
    assert broker.post(rates_url, {"award": world.award.pk, "procedure": world.threading.pk, "rate": "1.5000"},
                       format="json").status_code == 201
    latest = broker.post("/api/piece-logs/", row(world, quantity=3), format="json").json()
    assert (latest["rate"], latest["amount_unrounded"]) == ("1.5000", "4.5000")

    # the earlier logs keep their rates
    assert PieceLog.objects.get(pk=now_log["id"]).rate == Decimal("0.9000")
    assert PieceLog.objects.get(pk=risen["id"]).rate == Decimal("1.2000")
    assert PieceLog.objects.get(pk=world.disputed.pk).rate == Decimal("0.9000")

    # her phone: one line per procedure and rate, each rounded once
    earnings = worker.get("/api/me/earnings/").json()
    lines = [(line["procedure_id"], line["rate"], line["quantity"], line["amount"]) for line in earnings["month_lines"]]
    assert lines == [(world.threading.pk, "0.9000", 20, "18.00"), (world.threading.pk, "1.2000", 7, "8.40"),
                     (world.threading.pk, "1.5000", 3, "4.50"), (world.knotting.pk, "0.3000", 10, "3.00")]
    assert earnings["today"] == earnings["week"] == earnings["month"] == "33.90"


def test_a_rate_cannot_start_in_the_past(api_world, client_for):
    world = api_world
    earlier = timezone.now() - dt.timedelta(hours=1)
    refused_and_unchanged(lambda: client_for(world.p.broker).post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.threading.pk, "rate": "1.0000",
        "effective_from": earlier.isoformat()}, format="json"), 400)


def test_no_rate_no_log(api_world, client_for):
    world = api_world
    p = world.p
    award = builders.awarded(p.firm, p.broker, quantity=10, product="无工价")
    [bundle] = services.bundles_cut(actor=p.broker, award_id=award.pk, size=10)
    threading = procedures(award)[0]
    response = refused_and_unchanged(lambda: client_for(p.broker).post(
        "/api/piece-logs/", row(world, bundle=bundle, procedure=threading), format="json"), 400, "no_piece_rate")
    assert set(response.json()["fields"]) == {"procedure"}


def test_earnings_round_once_per_line_not_per_log(api_world, client_for):
    # bead work: fractions of a fen a piece
    world = api_world
    p = world.p
    award = builders.awarded(p.firm, p.broker, quantity=100, product="小珠子", procedures=[
        {"name": "穿小珠", "standard_minutes": Decimal("0.01")}])
    [bundle] = services.bundles_cut(actor=p.broker, award_id=award.pk, size=100)
    [bead] = procedures(award)
    services.piece_rate_set(actor=p.broker, award_id=award.pk, procedure_id=bead.pk, rate=Decimal("0.0050"))
    beader, login = logger_with_login(world, p.broker)
    broker = client_for(p.broker)
    amounts = [broker.post("/api/piece-logs/", row(world, worker=beader, bundle=bundle, procedure=bead, quantity=1),
                           format="json").json()["amount_unrounded"] for _ in range(3)]
    assert amounts == ["0.0050", "0.0050", "0.0050"]  # a log is not paid on its own: unrounded
    earnings = client_for(login).get("/api/me/earnings/").json()
    assert earnings["month_lines"] == [{"broker_id": p.broker.organisation_id,
                                        "broker_name": p.broker.organisation.name, "month": f"{timezone.localdate():%Y-%m}", "procedure_id": bead.pk,
                                        "procedure_name": "穿小珠", "rate": "0.0050", "quantity": 3,
                                        "amount": "0.02"}]  # 3 × 0.005 = 0.015 → 0.02
    assert earnings["today"] == "0.02"


# --- reversals ---------------------------------------------------------------------------------

def test_a_reversal_needs_a_reason(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    url = f"/api/piece-logs/{world.plain.pk}/reverse/"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = refused_and_unchanged(lambda: broker.post(url, body, format="json"), 400, "invalid")
        assert set(response.json()["fields"]) == {"reason"}


def test_a_reversal_corrects_at_the_logs_own_rate_once(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    url = f"/api/piece-logs/{world.plain.pk}/reverse/"
    # the knotting rate has risen since; the reversal still takes back at 0.30
    assert broker.post("/api/piece-rates/", {"award": world.award.pk, "procedure": world.knotting.pk,
                                             "rate": "0.5000"}, format="json").status_code == 201

    too_many = refused_and_unchanged(lambda: broker.post(url, {"reason": "多记了", "quantity": 11}, format="json"),
                                     400)
    assert set(too_many.json()["fields"]) == {"quantity"}

    reversed_ = broker.post(url, {"reason": "多记了四件", "quantity": 4}, format="json")
    assert reversed_.status_code == 201, reversed_.json()
    body = reversed_.json()
    assert (body["quantity"], body["rate"], body["amount_unrounded"], body["reverses"], body["reason"],
            body["work_date"]) == (-4, "0.3000", "-1.2000", world.plain.pk, "多记了四件",
                                   world.plain.work_date.isoformat())

    # not twice; and a reversal is not itself reversed
    refused_and_unchanged(lambda: broker.post(url, {"reason": "再来一次"}, format="json"), 409, "already_reversed")
    refused_and_unchanged(lambda: broker.post(f"/api/piece-logs/{body['id']}/reverse/", {"reason": "撤销更正"},
                                              format="json"), 400, "reversal_of_reversal")

    # her pay: 10 threading at 0.90 and 6 knotting at 0.30
    earnings = client_for(world.p.worker).get("/api/me/earnings/").json()
    assert earnings["today"] == "10.80"
    assert PieceLog.objects.filter(worker=world.p.worker_record, procedure=world.knotting).count() == 2


def test_a_reversal_resent_with_its_client_id_counts_once(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    body = {"reason": "不是她做的", "client_id": cid()}
    first = broker.post(f"/api/piece-logs/{world.plain.pk}/reverse/", body, format="json")
    again = broker.post(f"/api/piece-logs/{world.plain.pk}/reverse/", body, format="json")
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert PieceLog.objects.filter(reverses=world.plain).count() == 1
    # the same client id on another log is a misuse
    refused_and_unchanged(lambda: broker.post(f"/api/piece-logs/{world.disputed.pk}/reverse/", body,
                                              format="json"), 409, "client_id_reused")


def test_the_bundle_cap_counts_reversals(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    small = world.bundles[2]  # 20 pieces
    full = broker.post("/api/piece-logs/", row(world, bundle=small, quantity=20), format="json")
    assert full.status_code == 201
    over = refused_and_unchanged(lambda: broker.post("/api/piece-logs/", row(world, bundle=small, quantity=1),
                                                     format="json"), 409, "bundle_overfilled")
    assert "0" in over.json()["message"]

    # five were someone else's: taken back, five fit again — and no more
    assert broker.post(f"/api/piece-logs/{full.json()['id']}/reverse/", {"reason": "五件是别人的", "quantity": 5},
                       format="json").status_code == 201
    assert broker.get(f"/api/bundles/{small.pk}/").json()["progress"] == {str(world.threading.pk): 15}
    refused_and_unchanged(lambda: broker.post("/api/piece-logs/", row(world, bundle=small, quantity=6),
                                              format="json"), 409, "bundle_overfilled")
    assert broker.post("/api/piece-logs/", row(world, bundle=small, quantity=5), format="json").status_code == 201
    assert broker.get(f"/api/bundles/{small.pk}/").json()["progress"] == {str(world.threading.pk): 20}
    assert Bundle.objects.get(pk=small.pk).size == 20
