"""Bounded input on the workforce and piecework API (issue 9 § 5, docs/piecework.md § Limits):
dates within a sensible range of today (Asia/Shanghai), rates and money with maxima, evidence
with a length limit, client ids of a documented alphabet. Each refusal is a 400 naming the field."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from brokers.models import Attendance, Availability, BrokerProfile, PieceLog, PieceRate, ProfessionalVillageStatus

from ..api_checks import english_client as client, refused
from ..personas import build_personas
from .api_world import build_world, cid

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)  # today 2026-11-16

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=True):
        yield build_world(build_personas())


# --- piece rates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, message", [
    ("99999999.9999", "Ensure this value is less than or equal to 1000."),
    ("1000.0001", "Ensure this value is less than or equal to 1000."),
    ("0.0000", "Ensure this value is greater than or equal to 0.0001."),
])
def test_a_piece_rate_above_1000_yuan_or_not_positive_is_refused(world, rate, message):
    before = PieceRate.objects.count()
    response = client(world.p.broker).post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.threading.pk, "rate": rate}, format="json")
    refused(response, "rate", message)
    assert PieceRate.objects.count() == before


def test_a_piece_rate_of_1000_yuan_is_accepted(world):
    response = client(world.p.broker).post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.threading.pk, "rate": "1000.0000"}, format="json")
    assert response.status_code == 201, response.content[:300]


def test_a_rate_starting_more_than_a_year_ahead_is_refused(world):
    response = client(world.p.broker).post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.threading.pk, "rate": "1.0000",
        "effective_from": "9999-12-31T00:00:00+08:00"}, format="json")
    refused(response, "effective_from", "Choose a date on or before 2027-11-17.")


# --- piece logs ------------------------------------------------------------------------------------

def log_row(world, **row):
    return {"worker": world.p.worker_record.pk, "bundle": world.bundles[1].pk, "procedure": world.threading.pk,
            "quantity": 1, "work_date": "2026-11-16", "client_id": cid(), **row}


@pytest.mark.parametrize("work_date", ["0001-01-01", "2024-11-14"])
def test_a_work_date_more_than_two_years_back_is_refused_naming_the_range(world, work_date):
    before = PieceLog.objects.count()
    response = client(world.p.broker).post("/api/piece-logs/", log_row(world, work_date=work_date), format="json")
    refused(response, "work_date", "Choose a date on or after 2024-11-15.")
    assert PieceLog.objects.count() == before


def test_a_bulk_row_with_a_bad_work_date_is_named_by_its_index(world):
    rows = [log_row(world), log_row(world, work_date="0780-04-01")]
    response = client(world.p.broker).post("/api/piece-logs/bulk/", {"rows": rows}, format="json")
    body = refused(response, "rows.1.work_date", "Choose a date on or after 2024-11-15.", code="invalid_rows")
    assert list(body["fields"]) == ["rows.1.work_date"]


@pytest.mark.parametrize("client_id", ["short", "x" * 65, "has space-123", "emoji-😀-1234", "semi;colon-1"])
def test_a_client_id_outside_the_documented_alphabet_or_length_is_refused(world, client_id):
    response = client(world.p.broker).post("/api/piece-logs/", log_row(world, client_id=client_id), format="json")
    refused(response, "client_id")


@pytest.mark.parametrize("client_id", ["a1b2c3d4", "0f8fad5b-d9cb-469f-a165-70867728950e", "app:v2.offline_00017",
                                       "x" * 64])
def test_a_client_id_of_the_documented_alphabet_is_accepted(world, client_id):
    response = client(world.p.broker).post("/api/piece-logs/", log_row(world, client_id=client_id), format="json")
    assert response.status_code == 201, response.content[:300]
    assert PieceLog.objects.get(pk=response.json()["id"]).client_id == client_id


# --- attendance and availability ------------------------------------------------------------------

@pytest.mark.parametrize("start, end, field, message", [
    ("9999-12-30", "9999-12-31", "start_date", "Choose a date from 2026-10-16 to 2027-11-17."),
    ("0001-01-01", "2026-11-20", "start_date", "Choose a date from 2026-10-16 to 2027-11-17."),
    ("2026-11-20", "2027-11-18", "end_date", "Choose a date from 2026-10-16 to 2027-11-17."),
])
def test_availability_is_declared_within_a_month_back_and_a_year_ahead(world, start, end, field, message):
    before = Availability.objects.count()
    response = client(world.p.worker).post("/api/availability/", {
        "start_date": start, "end_date": end, "reason": "farm_season"}, format="json")
    refused(response, field, message)
    assert Availability.objects.count() == before


def test_availability_at_the_ends_of_its_range_is_accepted(world):
    response = client(world.p.worker).post("/api/availability/", {
        "start_date": "2026-10-16", "end_date": "2027-11-17", "reason": "farm_season"}, format="json")
    assert response.status_code == 201, response.content[:300]


def test_attendance_more_than_a_year_back_is_refused(world):
    before = Attendance.objects.count()
    response = client(world.p.broker).post("/api/attendance/", {
        "date": "0001-01-01", "marks": [{"worker": world.p.worker_record.pk, "mark": "on_time"}]}, format="json")
    refused(response, "date", "Choose a date on or after 2025-11-15.")
    assert Attendance.objects.count() == before


# --- the workforce ---------------------------------------------------------------------------------

def test_a_membership_cannot_start_in_year_1(world):
    response = client(world.p.broker).post("/api/workers/", {
        "name": "孙丽", "village": world.p.home["village"].pk, "work_mode": "home", "started_on": "0001-01-01"},
        format="json")
    refused(response, "started_on", "Choose a date from 2021-11-12 to 2026-12-17.")


@pytest.mark.parametrize("url, data, field, message", [
    ("/api/broker-profiles/me/training/", {"course": "县经纪人培训", "completed_on": "2026-11-17", "days": "5"},
     "completed_on", "Choose a date from 2006-11-01 to 2026-11-16."),
    ("/api/broker-profiles/me/training/", {"course": "县经纪人培训", "completed_on": "2026-11-01", "days": "366"},
     "days", "Ensure this value is less than or equal to 365."),
    ("/api/broker-profiles/me/relocations/", {"zone_kind": "county_park", "zone_name": "安置区", "moved_on": "0001-01-01",
                                              "evidence": "县文件"},
     "moved_on", "Choose a date from 2006-11-01 to 2026-11-16."),
    ("/api/broker-profiles/me/relocations/", {"zone_kind": "county_park", "zone_name": "安置区", "moved_on": "2026-01-01",
                                              "evidence": "证" * 2001},
     "evidence", "Ensure this field has no more than 2000 characters."),
])
def test_profile_records_have_dates_and_lengths_in_range(world, url, data, field, message):
    refused(client(world.p.broker).post(url, data, format="json"), field, message)


@pytest.mark.parametrize("data, field", [
    ({"minute_rate": "100.0001"}, "minute_rate"),
    ({"attendance_bonus": "10000.01"}, "attendance_bonus"),
    ({"late_days_allowed": 32}, "late_days_allowed"),
])
def test_the_brokers_money_rules_have_maxima(world, data, field):
    before = list(BrokerProfile.objects.values_list("minute_rate", "attendance_bonus", "late_days_allowed"))
    refused(client(world.p.broker).patch("/api/broker-profiles/me/", data, format="json"), field)
    assert list(BrokerProfile.objects.values_list("minute_rate", "attendance_bonus", "late_days_allowed")) == before


@pytest.mark.parametrize("data, field, message", [
    ({"effective_from": "9999-12-31", "evidence": "县妇联认定"}, "effective_from",
     "Choose a date from 2006-11-01 to 2027-11-17."),
    ({"effective_from": "2026-11-16", "evidence": "证" * 2001}, "evidence",
     "Ensure this field has no more than 2000 characters."),
])
def test_a_village_status_has_a_date_range_and_bounded_evidence(world, data, field, message):
    before = ProfessionalVillageStatus.objects.count()
    response = client(world.p.auditor).post(f"/api/villages/{world.p.home['village'].pk}/status/", {
        "is_professional": True, "basis": "designation", **data}, format="json")
    refused(response, field, message)
    assert ProfessionalVillageStatus.objects.count() == before


def test_a_disputed_count_has_the_piece_logs_maximum(world):
    response = client(world.p.worker).post("/api/disputes/", {
        "log": world.plain.pk, "kind": "wrong_count", "correct_quantity": 100_001}, format="json")
    refused(response, "correct_quantity", "Ensure this value is less than or equal to 100000.")
