"""Bundles, their printable tickets, and the piece-rate table (suggested rate, fair-rate floor,
rate in force, margin per piece) through the API."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import MinimumWage
from brokers import services
from brokers.models import Bundle

from ..orders import builders
from .api_world import api_world, refused_and_unchanged, rows_of  # noqa: F401

pytestmark = pytest.mark.django_db

PAGE = re.compile(rb"/Type /Page(?!s)")  # a page object, not the /Pages tree


@pytest.mark.parametrize("bundles, pages", [(1, 1), (8, 1), (9, 2), (16, 2), (17, 3)])
def test_tickets_print_eight_bundles_a_page(api_world, client_for, bundles, pages):
    p = api_world.p
    award = builders.awarded(p.firm, p.broker, quantity=bundles * 10, product="票据测试")
    services.bundles_cut(actor=p.broker, award_id=award.pk, size=10)
    response = client_for(p.broker).get(f"/api/bundles/tickets/?award={award.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"tickets-award-{award.pk}.pdf" in response["Content-Disposition"]
    assert len(PAGE.findall(response.content)) == pages


@pytest.mark.parametrize("query", ["", "?award=", "?award=abc", "?award=999999"])
def test_tickets_of_no_award_are_not_found(api_world, client_for, query):
    response = client_for(api_world.p.broker).get(f"/api/bundles/tickets/{query}")
    assert response.status_code == 404


def test_tickets_of_an_award_without_bundles_are_not_found(api_world, client_for):
    assert client_for(api_world.p.broker).get(f"/api/bundles/tickets/?award={api_world.uncut.pk}").status_code == 404


def test_cut_carries_on_numbering_and_refuses_a_fully_cut_award(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    first = broker.post("/api/bundles/cut/", {"award": world.uncut.pk, "size": 30}, format="json")
    assert [(b["number"], b["size"]) for b in first.json()] == [(1, 30), (2, 30), (3, 30), (4, 10)]
    assert len({b["code"] for b in first.json()}) == 4
    refused_and_unchanged(lambda: broker.post("/api/bundles/cut/", {"award": world.uncut.pk, "size": 30},
                                              format="json"), 400, "award_fully_bundled")
    response = refused_and_unchanged(lambda: broker.post("/api/bundles/cut/", {"award": world.uncut.pk, "size": 0},
                                                         format="json"), 400)
    assert set(response.json()["fields"]) == {"size"}
    # the list filters by award
    listed = rows_of(broker.get(f"/api/bundles/?award={world.uncut.pk}"))
    assert [b["number"] for b in listed] == [1, 2, 3, 4]
    assert Bundle.objects.filter(award=world.uncut).count() == 4


# --- the piece-rate table ----------------------------------------------------------------------

def table(client, award):
    response = client.get(f"/api/piece-rates/?award={award.pk}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_rate_table(api_world, client_for):
    world = api_world
    body = table(client_for(world.p.team_head), world.award)
    # unit price 1.20; threading 4 and knotting 1 standard minutes; minute rate 0.25; the default
    # minimum wage 2,000 a month over 21.75 days × 8 hours = 0.19157... a minute, floors rounded up
    assert (body["award_id"], body["unit_price"]) == (world.award.pk, "1.2000")
    assert [(r["procedure_id"], r["standard_minutes"], r["suggested"], r["floor"], r["rate"], r["next_rate"],
             r["next_from"]) for r in body["rows"]] == [
        (world.threading.pk, "4.00", "1.0000", "0.7663", "0.9000", None, None),
        (world.knotting.pk, "1.00", "0.2500", "0.1916", "0.3000", None, None)]
    assert (body["margin_per_piece"], body["margin_negative"]) == ("0.0000", False)


def test_the_margin_turns_negative_with_a_warning(api_world, client_for):
    world = api_world
    body = client_for(world.p.broker).post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.knotting.pk, "rate": "0.3500"}, format="json").json()
    assert (body["margin_per_piece"], body["margin_negative"]) == ("-0.0500", True)
    body = client_for(world.p.broker).post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.threading.pk, "rate": "0.7700"}, format="json").json()
    assert (body["margin_per_piece"], body["margin_negative"]) == ("0.0800", False)


def test_no_margin_until_every_procedure_has_a_rate(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    body = table(broker, world.uncut)
    assert [r["rate"] for r in body["rows"]] == [None, None]
    assert (body["margin_per_piece"], body["margin_negative"]) == (None, False)
    threading = world.uncut.order.procedures.order_by("sequence").first()
    body = broker.post("/api/piece-rates/", {"award": world.uncut.pk, "procedure": threading.pk, "rate": "1.3000"},
                       format="json").json()
    assert (body["margin_per_piece"], body["margin_negative"]) == (None, False)


def test_the_suggestion_follows_the_brokers_minute_rate(api_world, client_for):
    world = api_world
    broker = client_for(world.p.broker)
    assert broker.patch("/api/broker-profiles/me/", {"minute_rate": "0.3125"}, format="json").status_code == 200
    assert [r["suggested"] for r in table(broker, world.award)["rows"]] == ["1.2500", "0.3125"]
    # the rival's minute rate is its own
    assert [r["suggested"] for r in table(client_for(world.p.rival_broker), world.rival_award)["rows"]] == [
        "1.0000", "0.2500"]


def test_the_floor_follows_the_countys_minimum_wage(api_world, client_for):
    world = api_world
    # 2,400 a month: 2400 / (21.75 × 8 × 60) = 0.229885... a minute
    MinimumWage.objects.create(county=world.p.home["county"], monthly_amount=Decimal("2400"),
                               effective_from=timezone.localdate() - dt.timedelta(days=1))
    broker = client_for(world.p.broker)
    assert [r["floor"] for r in table(broker, world.award)["rows"]] == ["0.9196", "0.2299"]
    refused = refused_and_unchanged(lambda: broker.post("/api/piece-rates/", {
        "award": world.award.pk, "procedure": world.threading.pk, "rate": "0.9195"}, format="json"), 400,
        "below_fair_rate_floor")
    assert "0.9196" in refused.json()["message"] and set(refused.json()["fields"]) == {"rate"}
    at_floor = broker.post("/api/piece-rates/", {"award": world.award.pk, "procedure": world.threading.pk,
                                                 "rate": "0.9196"}, format="json")
    assert at_floor.status_code == 201
    assert at_floor.json()["rows"][0]["rate"] == "0.9196"


@pytest.mark.parametrize("body, field", [
    ({"procedure": "rival"}, "procedure"),
    ({"rate": "0"}, "rate"),
    ({"rate": "0.12345"}, "rate"),
    ({"rate": "abc"}, "rate"),
])
def test_a_rate_refuses_bad_input(api_world, client_for, body, field):
    world = api_world
    data = {"award": world.award.pk, "procedure": world.threading.pk, "rate": "1.0000", **body}
    if data["procedure"] == "rival":
        data["procedure"] = world.rival_threading.pk  # a procedure of another order
    response = refused_and_unchanged(lambda: client_for(world.p.broker).post("/api/piece-rates/", data,
                                                                             format="json"), 400)
    assert set(response.json()["fields"]) == {field}


@pytest.mark.parametrize("query", ["", "?award=", "?award=abc"])
def test_the_rate_table_needs_an_award(api_world, client_for, query):
    response = client_for(api_world.p.broker).get(f"/api/piece-rates/{query}")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"award"}
