"""The policies, exports and impact API against every persona (who may, who may not: another
county's auditor gets 404, firms and workers 403, brokers read their county's policies only),
and what each endpoint answers: versions with their rules and each parameter's value, unit,
source and reading; drafts edited and activated in the one error shape; exports as protected
downloads of the caller's claims, filtered and audited; the impact report's figures as text."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook
from rest_framework.test import APIClient

from subsidies import rules
from subsidies.models import AuditEvent, Claim, Policy, PolicyVersion
from subsidies.services import policies

from ..api_checks import english_client, refused
from .factories import active_version, make_claim, policy_for

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ALL = ["firm", "broker", "team_head", "rival_broker", "worker", "other_worker", "auditor", "other_auditor", "admin",
       "anonymous"]
BROKERS = ["broker", "team_head", "rival_broker"]
NOBODY = ["firm", "worker", "other_worker", "anonymous"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def world(personas):
    home = policy_for(personas.home["county"])
    away = policy_for(personas.away["county"])
    return {"home": home, "away": away, "v1": active_version(home), "away_v1": active_version(away)}


def client(user) -> APIClient:
    return english_client(user) if user is not None else APIClient(HTTP_ACCEPT_LANGUAGE="en")


def as_(personas, name) -> APIClient:
    return client(personas.users()[name])


def reads(name) -> int:
    """The status a persona gets reading the home county's policy."""
    if name in NOBODY:
        return 403
    if name == "other_auditor":
        return 404
    return 200


def writes(name, ok: int) -> int:
    """The status a persona gets changing the home county's policy (`ok` when allowed)."""
    if name in ("auditor", "admin"):
        return ok
    return 404 if name == "other_auditor" else 403


# --- reading ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_policy_list(personas, world, name):
    response = as_(personas, name).get("/api/subsidies/policies/")
    if name in NOBODY:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    # the administrator also sees Suichang's own policy, loaded by the data migration
    expected = {"admin": set(Policy.objects.values_list("code", flat=True)), "other_auditor": {world["away"].code}}
    assert codes == expected.get(name, {world["home"].code})
    if name == "admin":
        assert {world["home"].code, world["away"].code} < codes


@pytest.mark.parametrize("name", ALL)
def test_policy_detail_lists_the_versions(personas, world, name):
    draft = policies.draft_version(actor=personas.auditor, from_version_id=world["v1"].pk)
    make_claim(world["v1"], broker=personas.broker_org)
    response = as_(personas, name).get(f"/api/subsidies/policies/{world['home'].pk}/")
    assert response.status_code == reads(name)
    if response.status_code != 200:
        assert set(response.json()) == {"code", "message", "fields"}
        return
    data = response.json()
    assert data["county"]["id"] == personas.home["county"].pk and data["title"] == world["home"].title
    versions = [(v["number"], v["status"], v["has_claims"], v["copied_from"]) for v in data["versions"]]
    assert data["versions"][0]["effective_from"] == "2009-01-01"
    if name in BROKERS:  # brokers read the rules they are paid under, not drafts
        assert versions == [(1, "active", True, None)]
        return
    assert versions == [(1, "active", True, None), (2, "draft", False, world["v1"].pk)]
    assert data["versions"][1]["id"] == draft.pk and data["versions"][1]["annual_budget"] == "2000000.00"


@pytest.mark.parametrize("name", ALL)
def test_version_detail_has_every_parameter_with_its_source(personas, world, name):
    response = as_(personas, name).get(f"/api/subsidies/versions/{world['v1'].pk}/")
    assert response.status_code == reads(name)
    if response.status_code != 200:
        return
    data = response.json()
    assert (data["number"], data["status"], data["policy"]["id"]) == (1, "active", world["home"].pk)
    assert [r["kind"] for r in data["rules"]] == list(rules.RULE_KINDS)
    general = data["rules"][0]
    assert [p["name"] for p in general["parameters"]] == [s.name for s in rules.SPECS[rules.BROKER_REWARD_GENERAL]]
    tier_1 = general["parameters"][0]
    spec = rules.spec_of(rules.BROKER_REWARD_GENERAL, "tier_1_wages_over")
    assert tier_1 == {"name": "tier_1_wages_over", "type": "money", "value": "200000", "default": "200000",
                      "unit": "CNY", "source": spec.source, "reading": spec.reading, "choices": []}
    comparison = next(p for p in general["parameters"] if p["name"] == "comparison")
    assert (comparison["value"], comparison["choices"]) == ("strictly_greater", ["strictly_greater", "at_least"])


@pytest.mark.parametrize("name", ALL)
def test_a_draft_is_for_staff_only(personas, world, name):
    draft = policies.draft_version(actor=personas.auditor, from_version_id=world["v1"].pk)
    response = as_(personas, name).get(f"/api/subsidies/versions/{draft.pk}/")
    expected = 404 if name in BROKERS else reads(name)
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == "draft"


def test_an_unknown_or_other_countys_version_is_404(personas, world):
    auditor = client(personas.auditor)
    assert auditor.get(f"/api/subsidies/versions/{world['away_v1'].pk}/").status_code == 404
    assert auditor.get("/api/subsidies/versions/999999/").status_code == 404
    assert auditor.get(f"/api/subsidies/policies/{world['away'].pk}/").status_code == 404


def test_reads_are_a_fixed_number_of_queries(personas, world, django_assert_max_num_queries):
    for _ in range(3):
        policies.draft_version(actor=personas.auditor, from_version_id=world["v1"].pk)
    auditor = client(personas.auditor)
    with django_assert_max_num_queries(4):
        assert auditor.get("/api/subsidies/policies/").status_code == 200
    with django_assert_max_num_queries(5):
        assert len(auditor.get(f"/api/subsidies/policies/{world['home'].pk}/").json()["versions"]) == 4
    with django_assert_max_num_queries(5):
        assert len(auditor.get(f"/api/subsidies/versions/{world['v1'].pk}/").json()["rules"]) == 7


# --- drafting, editing, activating ------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_who_drafts(personas, world, name):
    response = as_(personas, name).post(f"/api/subsidies/versions/{world['v1'].pk}/draft/", {}, format="json")
    assert response.status_code == writes(name, 201)
    drafts = PolicyVersion.objects.filter(policy=world["home"], status="draft")
    if response.status_code == 201:
        [draft] = drafts
        data = response.json()
        assert (data["id"], data["number"], data["status"], data["copied_from"]) == (draft.pk, 2, "draft",
                                                                                      world["v1"].pk)
        assert len(data["rules"]) == len(rules.RULE_KINDS)
    else:
        assert not drafts.exists()


@pytest.fixture
def draft(personas, world):
    return policies.draft_version(actor=personas.auditor, from_version_id=world["v1"].pk)


@pytest.mark.parametrize("name", ALL)
def test_who_edits_a_draft(personas, draft, name):
    response = as_(personas, name).patch(f"/api/subsidies/versions/{draft.pk}/",
                                         {"annual_budget": "1800000.00", "note": "降低预算"}, format="json")
    assert response.status_code == writes(name, 200)
    draft.refresh_from_db()
    if response.status_code == 200:
        assert response.json()["annual_budget"] == "1800000.00" and response.json()["note"] == "降低预算"
        assert (draft.annual_budget, draft.note) == (Decimal("1800000.00"), "降低预算")
    else:
        assert draft.annual_budget == Decimal("2000000.00")


def test_an_active_version_is_not_edited(personas, world):
    response = client(personas.auditor).patch(f"/api/subsidies/versions/{world['v1'].pk}/", {"note": "x"},
                                              format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "version_not_draft" and set(body) == {"code", "message", "fields"}
    assert body["message"].startswith("Version 1 is active: only a draft is edited or activated")


def test_draft_amounts_are_text_and_not_negative(personas, draft):
    auditor = client(personas.auditor)
    refused(auditor.patch(f"/api/subsidies/versions/{draft.pk}/", {"annual_budget": 100}, format="json"),
            "annual_budget")
    refused(auditor.patch(f"/api/subsidies/versions/{draft.pk}/", {"second_approval_over": "-1"}, format="json"),
            "second_approval_over")
    refused(auditor.patch(f"/api/subsidies/versions/{draft.pk}/", {"note": "x" * 501}, format="json"), "note")


@pytest.mark.parametrize("name", ALL)
def test_who_edits_a_rule(personas, draft, name):
    rule = draft.rules.get(kind=rules.BROKER_REWARD_GENERAL)
    response = as_(personas, name).patch(f"/api/subsidies/rules/{rule.pk}/",
                                         {"parameters": {"tier_1_amount": "2500"}, "enabled": False}, format="json")
    assert response.status_code == writes(name, 200)
    rule.refresh_from_db()
    if response.status_code == 200:
        data = response.json()
        assert data["enabled"] is False
        assert next(p for p in data["parameters"] if p["name"] == "tier_1_amount")["value"] == "2500"
        assert (rule.parameters["tier_1_amount"]["value"], rule.enabled) == ("2500", False)
    else:
        assert (rule.parameters["tier_1_amount"]["value"], rule.enabled) == ("2000", True)


def test_bad_parameters_are_named_one_by_one(personas, draft):
    rule = draft.rules.get(kind=rules.LOAN_INTEREST)
    response = client(personas.auditor).patch(f"/api/subsidies/rules/{rule.pk}/", {"parameters": {
        "monthly_rate": 5.5, "principal_min": "-1", "above_max": "all", "month": "x"}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameters"
    assert body["fields"] == {
        "parameters.monthly_rate": ["Write the number as text (for example \"2.5\") or as a whole number, never as a "
                                    "float."],
        "parameters.principal_min": ["Must not be negative."],
        "parameters.above_max": ["Choose one of: first_max, exclude."],
        "parameters.month": ["This rule has no parameter of this name."],
    }
    refused(client(personas.auditor).patch(f"/api/subsidies/rules/{rule.pk}/", {"parameters": ["x"]}, format="json"),
            "parameters")


def test_a_rule_of_an_active_version_is_409(personas, world):
    rule = world["v1"].rules.get(kind=rules.FREIGHT)
    response = client(personas.auditor).patch(f"/api/subsidies/rules/{rule.pk}/", {"enabled": False}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "version_not_draft"


def test_another_countys_rule_is_404(personas, world):
    other = policies.draft_version(actor=personas.other_auditor, from_version_id=world["away_v1"].pk)
    rule = other.rules.first()
    assert client(personas.auditor).patch(f"/api/subsidies/rules/{rule.pk}/", {"enabled": False},
                                          format="json").status_code == 404


@pytest.mark.parametrize("name", ALL)
def test_who_activates(personas, world, draft, name):
    response = as_(personas, name).post(f"/api/subsidies/versions/{draft.pk}/activate/",
                                        {"effective_from": "2027-01-01"}, format="json")
    assert response.status_code == writes(name, 200)
    draft.refresh_from_db()
    world["v1"].refresh_from_db()
    if response.status_code == 200:
        assert response.json()["status"] == "active" and response.json()["effective_from"] == "2027-01-01"
        assert (world["v1"].status, world["v1"].effective_to) == ("retired", dt.date(2026, 12, 31))
    else:
        assert (draft.status, world["v1"].status) == ("draft", "active")


def test_activation_refusals(personas, world, draft):
    auditor = client(personas.auditor)
    url = f"/api/subsidies/versions/{draft.pk}/activate/"
    refused(auditor.post(url, {}, format="json"), "effective_from")
    refused(auditor.post(url, {"effective_from": "2009-01-01"}, format="json"), "effective_from",
            "Version 1 is in force from 2009-01-01: the new version must start after that day.")
    assert auditor.post(f"/api/subsidies/versions/{world['v1'].pk}/activate/", {"effective_from": "2027-01-01"},
                        format="json").json()["code"] == "version_not_draft"


def test_every_write_is_in_the_audit_trail(personas, world):
    auditor = client(personas.auditor)
    draft_id = auditor.post(f"/api/subsidies/versions/{world['v1'].pk}/draft/", {}, format="json").json()["id"]
    auditor.patch(f"/api/subsidies/versions/{draft_id}/", {"note": "n"}, format="json")
    rule = PolicyVersion.objects.get(pk=draft_id).rules.get(kind=rules.FREIGHT)
    auditor.patch(f"/api/subsidies/rules/{rule.pk}/", {"parameters": {"rate": "2"}}, format="json")
    auditor.post(f"/api/subsidies/versions/{draft_id}/activate/", {"effective_from": "2027-01-01"}, format="json")
    assert list(AuditEvent.objects.order_by("id").values_list("action", "object_type", "actor")) == [
        ("draft_version", "policy_version", personas.auditor.pk), ("edit_draft", "policy_version", personas.auditor.pk),
        ("edit_draft", "rule", personas.auditor.pk), ("activate_version", "policy_version", personas.auditor.pk)]


# --- exports --------------------------------------------------------------------------------------------

@pytest.fixture
def claims(personas, world):
    made = {
        "general": make_claim(world["v1"], broker=personas.broker_org, amount=Decimal("2000.00")),
        "loan": make_claim(world["v1"], broker=personas.rival_org, kind=rules.LOAN_INTEREST, amount=Decimal("41.67"),
                           year=2026),
        "rejected": make_claim(world["v1"], broker=personas.rival_org, status=Claim.Status.REJECTED,
                               rejected_by=personas.admin, reject_reason="重复"),
        "away": make_claim(world["away_v1"], broker=personas.rival_org, amount=Decimal("5000.00")),
    }
    return {name: claim.pk for name, claim in made.items()}


def csv_ids(response) -> list[int]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    return [int(row[0]) for row in rows[1:]]


def xlsx_ids(response) -> list[int]:
    book = load_workbook(io.BytesIO(response.content))
    return [row[0] for row in book["claims"].iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_who_exports_which_claims(personas, claims, name, fmt):
    response = as_(personas, name).get(f"/api/subsidies/exports/claims.{fmt}")
    if name not in ("auditor", "other_auditor", "admin"):
        assert response.status_code == 403
        assert not AuditEvent.objects.filter(action="export").exists()
        return
    assert response.status_code == 200
    ids = xlsx_ids(response) if fmt == "xlsx" else csv_ids(response)
    expected = {"auditor": sorted([claims["general"], claims["loan"], claims["rejected"]]),
                "other_auditor": [claims["away"]], "admin": sorted(claims.values())}[name]
    assert ids == expected
    assert response["Content-Type"] == (XLSX if fmt == "xlsx" else "text/csv; charset=utf-8")
    assert response["Content-Disposition"] == f'attachment; filename="claims-2026-06-15.{fmt}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    [event] = AuditEvent.objects.filter(action="export")
    assert (event.actor, event.after["format"], event.after["claims"]) == (personas.users()[name], fmt, expected)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_head_request_hands_nothing_out_and_records_no_export(personas, claims, fmt):
    response = client(personas.auditor).head(f"/api/subsidies/exports/claims.{fmt}")
    assert response.status_code == 200 and not response.content
    assert not AuditEvent.objects.filter(action="export").exists()


def test_export_filters(personas, claims, world):
    auditor = client(personas.auditor)
    get = lambda query: csv_ids(auditor.get(f"/api/subsidies/exports/claims.csv?{query}"))  # noqa: E731
    assert get("status=rejected") == [claims["rejected"]]
    assert get("kind=loan_interest") == [claims["loan"]]
    assert get("fund_year=2026") == [claims["loan"]]
    assert get(f"version={world['v1'].pk}&status=computed") == sorted([claims["general"], claims["loan"]])
    assert get(f"version={world['away_v1'].pk}") == []  # another county's version: nothing of it is seen
    event = AuditEvent.objects.filter(action="export").order_by("id").last()
    assert event.after["filters"] == {"version": str(world["away_v1"].pk)} and event.after["count"] == 0
    refused(auditor.get("/api/subsidies/exports/claims.csv?status=paidish"), "status")
    refused(auditor.get("/api/subsidies/exports/claims.xlsx?fund_year=2026.5"), "fund_year")
    refused(auditor.get("/api/subsidies/exports/claims.csv?kind="), "kind")


def test_the_admin_exports_one_county(personas, claims):
    response = client(personas.admin).get(f"/api/subsidies/exports/claims.xlsx?county={personas.away['county'].pk}")
    assert xlsx_ids(response) == [claims["away"]]


# --- impact ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_who_reads_the_impact_report(personas, name):
    response = as_(personas, name).get("/api/subsidies/impact/?year=2025")
    if name in ("auditor", "other_auditor"):
        assert response.status_code == 200
        county = personas.home["county"] if name == "auditor" else personas.away["county"]
        data = response.json()
        assert (data["county"]["id"], data["year"]) == (county.pk, 2025)
        assert data["wages_issued"] == "0.00" and data["average_monthly_earnings"] is None
        assert data["workers_by_household_tag"]["poor_household"] == 0 and data["villages"] == []
    elif name == "admin":
        refused(response, "county")
    else:
        assert response.status_code == 403


def test_the_impact_report_scope(personas):
    auditor, admin = client(personas.auditor), client(personas.admin)
    home, away = personas.home, personas.away
    assert auditor.get(f"/api/subsidies/impact/?year=2025&county={home['county'].pk}").status_code == 200
    assert auditor.get(f"/api/subsidies/impact/?year=2025&county={away['county'].pk}").status_code == 404
    assert auditor.get(f"/api/subsidies/impact/?year=2025&village={away['village'].pk}").status_code == 404
    response = auditor.get(f"/api/subsidies/impact/?year=2025&village={home['village'].pk}")
    assert [row["village"]["id"] for row in response.json()["villages"]] == [home["village"].pk]
    assert response.json()["villages"][0]["processing_fee_income"] == "0.00"
    response = admin.get(f"/api/subsidies/impact/?year=2025&county={away['county'].pk}")
    assert response.status_code == 200 and response.json()["county"]["id"] == away["county"].pk
    assert admin.get(f"/api/subsidies/impact/?year=2025&county={home['village'].pk}").status_code == 404


@pytest.mark.parametrize("query, field", [("", "year"), ("year=1999", "year"), ("year=2027", "year"),
                                          ("year=x", "year"), ("year=2025&village=0", "village")])
def test_the_impact_reports_inputs(personas, query, field):
    refused(client(personas.auditor).get(f"/api/subsidies/impact/?{query}"), field)
