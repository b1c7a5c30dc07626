"""Endpoints that answered 500 to one odd input: a village status without its evidence, a
capacity that starts at the end of the calendar."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from brokers.models import ProfessionalVillageStatus

pytestmark = pytest.mark.django_db

# 1 December 00:30 in Shanghai is still 30 November in UTC
NOW = dt.datetime(2026, 12, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def client_of(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def village_status(personas, body: dict):
    return client_of(personas.auditor).post(f"/api/villages/{personas.home['village'].pk}/status/", body,
                                            content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_a_village_status_without_evidence_is_a_400_naming_it(personas):
    response = village_status(personas, {"is_professional": True, "basis": "designation",
                                         "effective_from": "2026-12-01"})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "Some fields are not valid.",
                               "fields": {"evidence": ["This field is required."]}}
    assert not ProfessionalVillageStatus.objects.exists()


def test_a_village_status_with_blank_evidence_is_a_400_naming_it(personas):
    response = village_status(personas, {"is_professional": True, "basis": "designation",
                                         "effective_from": "2026-12-01", "evidence": "  "})
    assert response.status_code == 400
    assert response.json()["fields"] == {"evidence": ["Record the evidence for the decision."]}


def test_a_village_status_with_evidence_is_recorded(personas):
    response = village_status(personas, {"is_professional": True, "basis": "designation",
                                         "effective_from": "2026-12-01", "evidence": "县政府2026年第12号文"})
    assert response.status_code == 201, response.content
    assert ProfessionalVillageStatus.objects.get().evidence == "县政府2026年第12号文"


def capacity(personas, query: str):
    return client_of(personas.broker).get(f"/api/broker-profiles/me/capacity/?{query}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def profile(personas):
    from brokers.services import profile_for

    return profile_for(personas.broker_org.pk)


@pytest.mark.parametrize("start", ["9999-12-31", "9999-12-27", "0001-01-01", "2021-11-30", "2031-12-02"])
def test_a_capacity_start_far_from_today_is_a_400_naming_it(personas, profile, start):
    with time_machine.travel(NOW, tick=False):
        response = capacity(personas, f"start={start}&weeks=26")
    assert response.status_code == 400, response.content
    assert response.json() == {"code": "invalid", "message": "Some fields are not valid.",
                               "fields": {"start": ["Give a start between 2021-12-01 and 2031-12-01."]}}


@pytest.mark.parametrize("start, monday", [("2021-12-01", "2021-11-29"), ("2031-12-01", "2031-12-01")])
def test_a_capacity_start_within_five_years_is_answered(personas, profile, start, monday):
    with time_machine.travel(NOW, tick=False):
        response = capacity(personas, f"start={start}&weeks=26")
    assert response.status_code == 200, response.content
    weeks = response.json()
    assert len(weeks) == 26 and weeks[0]["week_start"] == monday


def test_the_capacity_range_on_29_february(personas, profile):
    with time_machine.travel(dt.datetime(2028, 2, 29, 12, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        response = capacity(personas, "start=2033-03-01")
    assert response.json()["fields"] == {"start": ["Give a start between 2023-02-28 and 2033-02-28."]}


@pytest.mark.parametrize("award", ["99999999999999999999999", "9223372036854775808", "x", "-1"])
def test_tickets_of_an_award_id_beyond_64_bits_are_a_404(personas, award):
    response = client_of(personas.broker).get(f"/api/bundles/tickets/?award={award}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}
