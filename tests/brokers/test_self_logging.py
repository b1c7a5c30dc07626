"""A worker cannot credit herself what she did not do (issue 10, item 4), on the API: she records
her own pieces only by the code of the ticket she scanned, of today (or WORKER_LOG_WINDOW_DAYS
back), at most WORKER_SCAN_MAX_QUANTITY a scan, never into a closed payroll month; only the
broker's owner logs work into a closed month, with a reason, and it is paid as an adjustment on
the next payslip naming her and the reason; the broker sees the worker's scans as such and
reverses one with a reason, which gives the bundle's pieces back to her colleagues."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from brokers import services
from brokers.errors import MonthClosed
from brokers.models import Membership, PieceLog
from payments.models import PayslipLine
from payments.payroll import payroll_close, payroll_preview

from ..factories import UserFactory
from .api_world import extra_worker, refused_and_unchanged, rows_of
from .shop import cid, logged, open_shop
from .test_piecework_race import finishes_while_locked

pytestmark = pytest.mark.django_db
D = Decimal
K = PayslipLine.Kind
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Thursday 2 September 2027, 10:00 in Shanghai: August is over and may be closed
SECOND_OF_SEPTEMBER = dt.datetime(2027, 9, 2, 10, 0, tzinfo=SHANGHAI)
AUGUST, SEPTEMBER = dt.date(2027, 8, 1), dt.date(2027, 9, 1)
LONG_AGO = dt.date(2020, 1, 1)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def shop_floor(p, *, size: int = 40):
    """The broker's award of 200 pieces in bundles of `size`: threading 0.9000, knotting 0.3500 a
    piece; its workers members since long ago (any month a test reaches is worked)."""
    shop = open_shop(p, quantity=200, size=size, rates=("0.9000", "0.3500"))
    Membership.objects.filter(broker=p.broker_org).update(started_on=LONG_AGO)
    return shop


def scan(shop, *, bundle: int = 0, procedure: int = 0, quantity: int = 5, work_date=None, **extra) -> dict:
    return {"bundle_code": shop.bundles[bundle].code, "procedure": shop.procedures[procedure].pk,
            "quantity": quantity, "work_date": (work_date or timezone.localdate()).isoformat(), "client_id": cid(),
            **extra}


def by_id(shop, worker, *, bundle: int = 0, procedure: int = 0, quantity: int = 5, work_date=None, **extra) -> dict:
    return {"worker": worker.pk, "bundle": shop.bundles[bundle].pk, "procedure": shop.procedures[procedure].pk,
            "quantity": quantity, "work_date": (work_date or timezone.localdate()).isoformat(), "client_id": cid(),
            **extra}


def post(client, body, url="/api/piece-logs/"):
    return client.post(url, body, format="json", **EN)


def colleague(p):
    """A second worker of the broker, with a login of her own."""
    user = UserFactory(role=Role.WORKER)
    return extra_worker(p, p.broker, user=user, started_on=LONG_AGO), user


def close_august(p):
    run, _created = payroll_preview(actor=p.broker, month="2027-08")
    return payroll_close(actor=p.broker, run_id=run.pk)


# --- only by the ticket ------------------------------------------------------------------------

def test_a_worker_sending_a_bundle_id_is_refused_naming_bundle(personas, client_for):
    shop = shop_floor(personas)
    worker = client_for(personas.worker)
    # the finding: by bundle id, no ticket scanned, the whole bundle
    attack = by_id(shop, personas.worker_record, quantity=40)
    response = refused_and_unchanged(lambda: post(worker, attack), 400, "ticket_required")
    assert list(response.json()["fields"]) == ["bundle"]
    assert "bundle_code" in response.json()["message"]
    # the id beside the right code is refused too: she names the bundle by the ticket only
    both = {**scan(shop), "bundle": shop.bundles[1].pk}
    assert list(refused_and_unchanged(lambda: post(worker, both), 400, "ticket_required").json()["fields"]) == [
        "bundle"]
    # in bulk, the row is named
    bulk = refused_and_unchanged(lambda: post(worker, {"rows": [scan(shop), by_id(shop, personas.worker_record)]},
                                              "/api/piece-logs/bulk/"), 400, "invalid_rows")
    assert list(bulk.json()["fields"]) == ["rows.1.bundle"]
    # the ticket's code is the way
    scanned = post(worker, scan(shop))
    assert scanned.status_code == 201, scanned.json()
    assert (scanned.json()["source"], scanned.json()["recorded_by"]) == ("scan", personas.worker.pk)


def test_broker_staff_still_log_by_bundle_id(personas, client_for):
    shop = shop_floor(personas)
    for user in (personas.broker, personas.team_head):
        response = post(client_for(user), by_id(shop, personas.worker_record))
        assert response.status_code == 201, response.json()


# --- today, or a short window ------------------------------------------------------------------

def test_a_worker_logs_only_today_by_default(personas, client_for, settings):
    assert settings.WORKER_LOG_WINDOW_DAYS == 0
    shop = shop_floor(personas)
    worker = client_for(personas.worker)
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    response = refused_and_unchanged(lambda: post(worker, scan(shop, work_date=yesterday)), 400, "invalid")
    assert response.json()["fields"] == {"work_date": [f"Choose a date from {today} to {today}."]}
    assert post(worker, scan(shop, work_date=today)).status_code == 201
    # the broker still logs yesterday's work for her
    assert post(client_for(personas.broker), by_id(shop, personas.worker_record, work_date=yesterday,
                                                   bundle=1)).status_code == 201


def test_the_window_comes_from_the_setting(personas, client_for, settings):
    settings.WORKER_LOG_WINDOW_DAYS = 3
    settings.PIECE_SCAN_GUARD_SECONDS = 0
    with time_machine.travel(dt.datetime(2027, 9, 20, 10, 0, tzinfo=SHANGHAI), tick=False):
        shop = shop_floor(personas)
        worker = client_for(personas.worker)
        assert post(worker, scan(shop, work_date=dt.date(2027, 9, 17))).status_code == 201
        response = refused_and_unchanged(lambda: post(worker, scan(shop, work_date=dt.date(2027, 9, 16))), 400,
                                         "invalid")
        assert response.json()["fields"] == {"work_date": ["Choose a date from 2027-09-17 to 2027-09-20."]}


def test_a_worker_never_logs_into_a_closed_month_even_within_her_window(personas, client_for, settings):
    settings.WORKER_LOG_WINDOW_DAYS = 3
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        shop = shop_floor(personas)
        worker = client_for(personas.worker)
        # August open: the 31st is within her three days
        assert post(worker, scan(shop, work_date=dt.date(2027, 8, 31))).status_code == 201
        close_august(personas)
        response = refused_and_unchanged(
            lambda: post(worker, scan(shop, bundle=1, work_date=dt.date(2027, 8, 31))), 400, "payroll_month_closed")
        assert list(response.json()["fields"]) == ["work_date"] and "2027-08" in response.json()["message"]
        # September is open: yesterday, the 1st, is fine
        assert post(worker, scan(shop, bundle=1, work_date=dt.date(2027, 9, 1))).status_code == 201


# --- at most a scan's worth --------------------------------------------------------------------

def test_a_scan_is_at_most_the_cap(personas, client_for, settings):
    assert settings.WORKER_SCAN_MAX_QUANTITY == 50
    shop = shop_floor(personas, size=100)
    worker = client_for(personas.worker)
    response = refused_and_unchanged(lambda: post(worker, scan(shop, quantity=51)), 400, "scan_too_large")
    assert response.json()["fields"] == {"quantity": ["At most 50 pieces a scan; the broker records more."]}
    assert post(worker, scan(shop, quantity=50)).status_code == 201
    # the broker records a bigger count
    assert post(client_for(personas.broker), by_id(shop, personas.worker_record, bundle=1,
                                                   quantity=100)).status_code == 201


def test_the_cap_comes_from_the_setting(personas, client_for, settings):
    settings.WORKER_SCAN_MAX_QUANTITY = 10
    shop = shop_floor(personas)
    worker = client_for(personas.worker)
    bulk = refused_and_unchanged(lambda: post(worker, {"rows": [scan(shop, quantity=10), scan(
        shop, procedure=1, quantity=11)]}, "/api/piece-logs/bulk/"), 400, "invalid_rows")
    assert list(bulk.json()["fields"]) == ["rows.1.quantity"]
    assert post(worker, scan(shop, quantity=10)).status_code == 201


# --- a closed month: the owner only, with a reason ---------------------------------------------

def test_only_the_owner_logs_into_a_closed_month_with_a_reason_and_it_is_a_named_adjustment(personas, client_for):
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        shop = shop_floor(personas)
        owner, head = client_for(personas.broker), client_for(personas.team_head)
        assert post(owner, by_id(shop, personas.worker_record, quantity=10, work_date=dt.date(2027, 8, 2))
                    ).status_code == 201  # 10 × 0.90 = 9.00 in August
        august = close_august(personas)
        assert august.payslips.get(worker=personas.worker_record).total == D("9.00")
        late = dt.date(2027, 8, 20)

        # a team head may not, with or without a reason
        for body in (by_id(shop, personas.worker_record, work_date=late),
                     by_id(shop, personas.worker_record, work_date=late, reason="补记")):
            response = refused_and_unchanged(lambda: post(head, body), 400, "payroll_month_closed")
            assert list(response.json()["fields"]) == ["work_date"]
        # the owner must say why
        for reason in ({}, {"reason": ""}, {"reason": "   "}):
            response = refused_and_unchanged(
                lambda: post(owner, by_id(shop, personas.worker_record, work_date=late, **reason)), 400,
                "reason_required")
            assert list(response.json()["fields"]) == ["reason"]
        made = post(owner, by_id(shop, personas.worker_record, quantity=30, work_date=late,
                                 reason="8月20日漏记的穿线"))
        assert made.status_code == 201, made.json()
        assert made.json()["reason"] == "8月20日漏记的穿线"

        # late work of the open month is as ever: the team head logs September 1st, a piece line
        assert post(head, by_id(shop, personas.worker_record, bundle=1, procedure=1, quantity=4,
                                work_date=SEPTEMBER)).status_code == 201

        run, _created = payroll_preview(actor=personas.broker, month="2027-09")
        slip = run.payslips.get(worker=personas.worker_record)
        body = client_for(personas.broker).get(f"/api/payslips/{slip.pk}/", **EN).json()
        assert [(line["kind"], line["work_month"], line["quantity"], line["amount"], line["adjusted_by"],
                 line["adjusted_by_name"], line["reason"]) for line in body["lines"]] == [
            ("pieces", "2027-09", 4, "1.40", None, None, None),  # 4 × 0.35
            ("adjustment", "2027-08", 30, "27.00", personas.broker.pk, str(personas.broker), "8月20日漏记的穿线"),
        ]
        assert body["total"] == "28.40" and slip.total == D("28.40")
        assert f"By {personas.broker}: 8月20日漏记的穿线" in body["lines"][1]["explanation"]


def test_one_query_for_closed_months_per_request_not_per_row(personas, client_for):
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        shop = shop_floor(personas, size=100)  # 2 bundles of 100 pieces, two procedures: 400 pieces
        close_august(personas)
        rows = [by_id(shop, personas.worker_record, bundle=i % 2, procedure=(i // 2) % 2, quantity=1,
                      work_date=dt.date(2027, 8, 30) if i % 10 == 0 else SEPTEMBER,
                      reason="补记" if i % 10 == 0 else "") for i in range(400)]
        owner = client_for(personas.broker)
        with CaptureQueriesContext(connection) as queries:
            response = post(owner, {"rows": rows}, "/api/piece-logs/bulk/")
        assert response.status_code == 201, response.json()
        assert response.json()["created"] == 400
        runs = [q["sql"] for q in queries.captured_queries if "payments_payrollrun" in q["sql"]]
        assert len(runs) == 1


def test_bulk_of_1000_rows_asks_for_closed_months_once(personas, client_for, django_assert_max_num_queries):
    shop = open_shop(personas, quantity=1000, size=250, rates=("0.9000", "0.3500"))
    rows = [by_id(shop, personas.worker_record, bundle=i % 4, procedure=(i // 4) % 2, quantity=1)
            for i in range(1000)]
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(40):
        response = post(client_for(personas.broker), {"rows": rows}, "/api/piece-logs/bulk/")
    assert response.status_code == 201 and response.json()["created"] == 1000
    assert len([q for q in queries.captured_queries if "payments_payrollrun" in q["sql"]]) == 1


# --- the broker sees the scans, and reverses one -----------------------------------------------

def test_the_broker_sees_who_recorded_each_log_and_filters_the_scans(personas, client_for):
    shop = shop_floor(personas)
    scanned = post(client_for(personas.worker), scan(shop)).json()
    entered = post(client_for(personas.team_head), by_id(shop, personas.worker_record, bundle=1)).json()
    broker = client_for(personas.broker)
    everything = {row["id"]: row for row in rows_of(broker.get("/api/piece-logs/", **EN))}
    assert (everything[scanned["id"]]["source"], everything[scanned["id"]]["source_label"],
            everything[scanned["id"]]["recorded_by"], everything[scanned["id"]]["recorded_by_name"]) == (
        "scan", "Worker scan", personas.worker.pk, str(personas.worker))
    assert (everything[entered["id"]]["source"], everything[entered["id"]]["recorded_by"]) == (
        "team_head", personas.team_head.pk)
    assert [row["id"] for row in rows_of(broker.get("/api/piece-logs/?source=scan"))] == [scanned["id"]]
    assert [row["id"] for row in rows_of(broker.get(f"/api/piece-logs/?recorded_by={personas.team_head.pk}"))] == [
        entered["id"]]
    bad = broker.get("/api/piece-logs/?source=forged", **EN)
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["source"]


@pytest.mark.parametrize("reverser", ["broker", "team_head"])
def test_the_broker_reverses_a_workers_scan_and_her_colleagues_can_log_the_bundle(personas, client_for, reverser):
    shop = shop_floor(personas)  # bundles of 40
    other, other_user = colleague(personas)
    # she scans the whole bundle's threading (within the cap of 50)
    grab = post(client_for(personas.worker), scan(shop, quantity=40))
    assert grab.status_code == 201
    # her colleague, who really did 10 of them, is refused
    refused_and_unchanged(lambda: post(client_for(other_user), scan(shop, quantity=10)), 409, "bundle_overfilled")

    staff = client_for(personas.users()[reverser])
    url = f"/api/piece-logs/{grab.json()['id']}/reverse/"
    for body in ({}, {"reason": ""}):
        response = refused_and_unchanged(lambda: staff.post(url, body, format="json", **EN), 400)
        assert list(response.json()["fields"]) == ["reason"]
    # the worker may not reverse it herself
    refused_and_unchanged(lambda: client_for(personas.worker).post(url, {"reason": "x"}, format="json"), 403)
    reversal = staff.post(url, {"reason": "没有扫码记录，车间主任核实她没做"}, format="json")
    assert reversal.status_code == 201, reversal.json()
    assert (reversal.json()["quantity"], reversal.json()["reverses"], reversal.json()["source"]) == (
        -40, grab.json()["id"], "broker" if reverser == "broker" else "team_head")
    assert logged(shop.bundles[0], shop.procedures[0]) == 0

    # the bundle's pieces are back: the colleague logs hers
    again = post(client_for(other_user), scan(shop, quantity=10))
    assert again.status_code == 201, again.json()
    assert PieceLog.objects.get(pk=again.json()["id"]).worker_id == other.pk


def test_a_log_of_a_closed_month_is_reversed_by_the_owner_only(personas, client_for):
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        shop = shop_floor(personas)
        made = post(client_for(personas.broker), by_id(shop, personas.worker_record, quantity=10,
                                                       work_date=dt.date(2027, 8, 5)))
        close_august(personas)
        url = f"/api/piece-logs/{made.json()['id']}/reverse/"
        refused_and_unchanged(lambda: client_for(personas.team_head).post(
            url, {"reason": "点错了"}, format="json"), 403, "permission_denied")
        reversal = client_for(personas.broker).post(url, {"reason": "点错了", "quantity": 3}, format="json")
        assert reversal.status_code == 201, reversal.json()
        run, _created = payroll_preview(actor=personas.broker, month="2027-09")
        line, carried = run.payslips.get(worker=personas.worker_record).lines.all()
        assert (line.kind, line.work_month, line.quantity, line.amount, line.params["adjusted_by"],
                line.params["reason"]) == (K.ADJUSTMENT, AUGUST, -3, D("-2.70"), personas.broker.pk, "点错了")
        assert (carried.kind, carried.amount) == (K.CARRIED_FORWARD, D("2.70"))  # nobody is paid a negative total


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_team_heads_log_racing_the_close_of_its_month_waits_and_is_refused(personas):
    """The closed months are read under the broker's payroll share lock: a log that arrives while
    the close is in flight waits for it, then finds the month closed (not a log slipped in behind
    the watermark, paid next month as an adjustment nobody approved)."""
    shop = shop_floor(personas)
    last_day = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    run, _created = payroll_preview(actor=personas.broker, month=f"{last_day:%Y-%m}")
    refusals: list[MonthClosed] = []

    def team_head_logs() -> None:
        try:
            services.piece_logs_record(actor=personas.team_head, rows=[{
                "worker": personas.worker_record.pk, "bundle": shop.bundles[0].pk, "procedure": shop.procedures[0].pk,
                "quantity": 5, "work_date": last_day, "client_id": cid()}])
        except MonthClosed as refusal:
            refusals.append(refusal)

    assert not finishes_while_locked(lambda: payroll_close(actor=personas.broker, run_id=run.pk), team_head_logs)
    assert [refusal.code for refusal in refusals] == ["payroll_month_closed"]
    assert not PieceLog.objects.filter(work_date=last_day).exists()
