"""Date-times from clients are ones the database can store: a UTC offset beyond ±15:59
(PostgreSQL refuses it) or an instant outside the years 1..9999 in UTC or local time is a 400
naming the field, in query parameters and bodies alike."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import translation
from rest_framework import serializers

from core.fields import DateTimeField, MomentError, checked_moment

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFSET = "Give a UTC offset between -15:59 and +15:59."
RANGE = "Give a date and time between the years 1 and 9999 (in UTC and in local time)."
# "+" must be escaped in a query string
BAD_OFFSETS = ["2026-11-30T00:00:00%2B20:00", "2026-11-30T00:00:00-16:00", "2026-11-30T00:00:00%2B16:00"]
OUT_OF_RANGE = ["0001-01-01T00:00:00", "0001-01-01T05:00:00%2B08:00", "9999-12-31T23:00:00-05:00",
                "9999-12-31T20:00:00Z"]


def get(user, path: str):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client.get(path, HTTP_ACCEPT_LANGUAGE="en")


def assert_field_error(response, field: str, message: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "invalid"
    assert body["fields"] == {field: [message]}


def test_checked_moment():
    utc = dt.timezone.utc
    assert checked_moment(dt.datetime(2026, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=15, minutes=59)))) == \
        dt.datetime(2026, 11, 29, 8, 1, tzinfo=utc)
    naive = checked_moment(dt.datetime(2026, 12, 1, 0, 30))
    assert naive.tzinfo == SHANGHAI and naive == dt.datetime(2026, 11, 30, 16, 30, tzinfo=utc)
    # Shanghai's zone in year 1 is its local mean time, +08:05:43
    assert checked_moment(dt.datetime(1, 1, 1, 9, 0)) == dt.datetime(1, 1, 1, 0, 54, 17, tzinfo=utc)
    assert checked_moment(dt.datetime(9999, 12, 31, 15, 59, tzinfo=utc)).year == 9999
    for bad, reason in [
        (dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=16))), "offset"),
        (dt.datetime(2026, 1, 1, tzinfo=dt.timezone(-dt.timedelta(hours=16))), "offset"),
        (dt.datetime(1, 1, 1, 7, 59), "range"),  # local, so year 0 in UTC
        (dt.datetime(9999, 12, 31, 16, 0, tzinfo=utc), "range"),  # year 10000 in Shanghai
    ]:
        with pytest.raises(MomentError) as caught:
            checked_moment(bad)
        assert caught.value.reason == reason


def test_the_serializer_field_refuses_what_the_database_cannot_store():
    class Input(serializers.Serializer):
        at = DateTimeField()

    ok = Input(data={"at": "2026-11-30T00:00:00+14:00"})
    assert ok.is_valid(), ok.errors
    assert ok.validated_data["at"] == dt.datetime(2026, 11, 29, 18, 0, tzinfo=SHANGHAI)
    for value, message in [("2026-11-30T00:00:00+20:00", OFFSET), ("0001-01-01T00:00:00", RANGE),
                           ("9999-12-31T23:00:00-05:00", RANGE)]:
        bad = Input(data={"at": value})
        with translation.override("en"):  # not whatever language an earlier test left active
            assert not bad.is_valid()
            assert [str(m) for m in bad.errors["at"]] == [message], value


def test_as_of_with_an_offset_beyond_15_59_is_a_400(personas):
    for value in BAD_OFFSETS:
        assert_field_error(get(personas.broker, f"/api/ledger/accounts/?as_of={value}"), "as_of", OFFSET)


def test_as_of_outside_the_calendar_is_a_400(personas):
    for value in OUT_OF_RANGE:
        assert_field_error(get(personas.broker, f"/api/ledger/accounts/?as_of={value}"), "as_of", RANGE)


def test_as_of_still_takes_a_date_and_a_moment(personas):
    for value in ["2026-11-30", "2026-11-30T00:00:00%2B08:00", "2026-11-30T00:00:00%2B15:59", "9999-12-31",
                  "0001-01-01"]:
        response = get(personas.broker, f"/api/ledger/accounts/?as_of={value}")
        assert response.status_code == 200, (value, response.content)


@pytest.mark.parametrize("name", ["deadline_after", "deadline_before"])
def test_the_deadline_filters_refuse_an_offset_beyond_15_59(personas, name):
    for value in BAD_OFFSETS:
        assert_field_error(get(personas.firm, f"/api/orders/?{name}={value}"), name, OFFSET)
    for value in OUT_OF_RANGE:
        assert_field_error(get(personas.firm, f"/api/orders/?{name}={value}"), name, RANGE)
    assert get(personas.firm, f"/api/orders/?{name}=2026-11-30T00:00:00%2B15:00").status_code == 200


def test_an_order_body_with_a_deadline_beyond_15_59_is_a_400(personas):
    from ..orders.builders import api_order_data

    client = Client(raise_request_exception=False)
    client.force_login(personas.firm)
    body = api_order_data(bid_deadline=dt.datetime(2026, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=20))))
    response = client.post("/api/orders/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert_field_error(response, "bid_deadline", OFFSET)


@pytest.fixture
def rows(personas):
    """An account the broker sees and orders the firm sees, so the filters reach the database."""
    from payments.services import account_for

    from ..orders import builders

    account_for(purpose="broker_cash", organisation=personas.broker_org)
    builders.published(personas.firm, product="开放订单")
    return personas


@pytest.mark.postgres
def test_on_postgresql_the_offsets_and_the_calendar_are_400s(rows):
    """PostgreSQL refuses +20:00 (the 500 these gave); a year-0 instant would be stored and
    then be unreadable."""
    personas = rows
    for value in BAD_OFFSETS:
        assert_field_error(get(personas.broker, f"/api/ledger/accounts/?as_of={value}"), "as_of", OFFSET)
        assert_field_error(get(personas.firm, f"/api/orders/?deadline_after={value}"), "deadline_after", OFFSET)
        assert_field_error(get(personas.firm, f"/api/orders/?deadline_before={value}"), "deadline_before", OFFSET)
    for value in OUT_OF_RANGE:
        assert_field_error(get(personas.broker, f"/api/ledger/accounts/?as_of={value}"), "as_of", RANGE)
        assert_field_error(get(personas.firm, f"/api/orders/?deadline_after={value}"), "deadline_after", RANGE)
    # the extremes that are fine
    assert len(get(personas.firm, "/api/orders/?deadline_after=2000-01-01T00:00:00%2B15:59").json()["results"]) == 1
    assert len(get(personas.firm, "/api/orders/?deadline_before=2000-01-01T00:00:00-15:59").json()["results"]) == 0
    accounts = get(personas.broker, "/api/ledger/accounts/?as_of=2026-11-30T00:00:00-15:59").json()["results"]
    assert [a["balance"] for a in accounts] == ["0.00"]
