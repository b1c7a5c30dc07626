"""Every subsidies claims, evaluations, budget, payment-batch and audit endpoint against every
persona: exactly what each may see or do.

The rules (DESIGN.md: staff see only their own county): Suichang's auditor sees and acts on
Suichang's claims, evaluations, batches and audit events; Longquan's auditor gets 404 for each of
them and empty lists; an admin sees all. Broker staff (owner and team head) read their own claims,
list and detail and evidence, never a rival's (404) nor a village's, and are refused every review
action and everything else (403). Firms and workers are refused every endpoint (403); anonymous
too (403 not_authenticated).

The services behind the writes are replaced by recorders here: what is checked is who reaches
them, with which object (the behaviour of the real services is tests/subsidies/test_api_review_actions.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from subsidies.models import Evaluation
from subsidies.services import evaluation as evaluation_service
from subsidies.services import review

from .api_world import build_world

pytestmark = pytest.mark.django_db

ALL = ["firm", "broker", "team_head", "rival_broker", "worker", "other_worker", "auditor", "other_auditor", "admin",
       "anonymous"]
REFUSED = {"firm", "worker", "other_worker", "anonymous"}  # every subsidies endpoint: 403
BROKERS = {"broker", "team_head", "rival_broker"}
API = "/api/subsidies"


@pytest.fixture
def world(personas):
    return build_world(personas)


class Calls(list):
    def names(self) -> list[str]:
        return [name for name, _kwargs in self]


@pytest.fixture
def calls(monkeypatch, world):
    """Every write service replaced by a recorder that answers as the real one would."""
    made = Calls()

    def recorder(name, answer):
        def call(*args, **kwargs):
            made.append((name, kwargs))
            return answer(*args, **kwargs)
        return call

    claim = lambda **kw: world.mine  # noqa: E731
    monkeypatch.setattr(review, "approve", recorder("approve", claim))
    monkeypatch.setattr(review, "reject", recorder("reject", claim))
    monkeypatch.setattr(review, "enter_case_amount", recorder("enter_case_amount", claim))
    monkeypatch.setattr(review, "approve_many", recorder("approve_many", lambda **kw: [world.mine]))
    monkeypatch.setattr(review, "budget_of", recorder("budget_of", lambda version, year: {
        "year": year, "budget": Decimal("2000000.00"), "committed": Decimal("0.00"),
        "remaining": Decimal("2000000.00"), "pending": Decimal("39000.00")}))
    monkeypatch.setattr(review, "set_budget", recorder("set_budget", lambda **kw: None))
    monkeypatch.setattr(review, "open_payment_batch", recorder("open_payment_batch", lambda **kw: world.payment_batch))
    monkeypatch.setattr(review, "mark_batch_paid", recorder("mark_batch_paid", lambda **kw: world.payment_batch))
    monkeypatch.setattr(review, "bank_file", recorder("bank_file", lambda batch: "name,amount\r\n".encode()),
                        raising=False)
    monkeypatch.setattr(evaluation_service, "request_evaluation", recorder(
        "request_evaluation", lambda **kw: Evaluation.objects.create(
            version=kw["version"], period=kw["period"], period_start=kw["period_start"], simulation=kw["simulation"],
            requested_by=kw["actor"])))
    return made


def _client(client_for, world, name):
    return client_for(world.user(name))


def _refused(response, name):
    assert response.status_code == 403, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if name == "anonymous":
        assert body["code"] == "not_authenticated"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- claims ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_claim_list(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/claims/")
    if name in REFUSED:
        return _refused(response, name)
    expected = {
        "broker": {world.mine.pk}, "team_head": {world.mine.pk}, "rival_broker": {world.rival.pk},
        "auditor": world.home_claims(), "other_auditor": {world.away.pk},
        "admin": world.home_claims() | {world.away.pk},
    }[name]
    assert _ids(response) == expected


DETAIL = {"broker": 200, "team_head": 200, "rival_broker": 404, "auditor": 200, "other_auditor": 404, "admin": 200}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("suffix", ["", "evidence/?kind=worker", "evidence/?kind=payslip"])
def test_claim_detail_and_evidence(client_for, world, name, suffix):
    response = _client(client_for, world, name).get(f"{API}/claims/{world.mine.pk}/{suffix}")
    if name in REFUSED:
        return _refused(response, name)
    assert response.status_code == DETAIL[name], response.content
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("name", ALL)
def test_a_village_claim_is_no_brokers(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/claims/{world.village.pk}/")
    if name in REFUSED:
        return _refused(response, name)
    assert response.status_code == {"auditor": 200, "admin": 200}.get(name, 404)


@pytest.mark.parametrize("name", ALL)
def test_the_other_countys_claim(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/claims/{world.away.pk}/")
    if name in REFUSED:
        return _refused(response, name)
    assert response.status_code == {"other_auditor": 200, "admin": 200}.get(name, 404)


REVIEW = [
    ("approve/", {}, "approve"),
    ("reject/", {"reason": "材料不全"}, "reject"),
    ("case-amount/", {"amount": "12000.00", "reason": "县政府常务会议纪要"}, "enter_case_amount"),
]
# a role that may never review gets 403 before anything else; an auditor of another county 404
ACT = {"auditor": 200, "admin": 200, "other_auditor": 404} | dict.fromkeys(BROKERS | REFUSED, 403)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("suffix, body, service", REVIEW)
def test_review_actions(client_for, world, calls, name, suffix, body, service):
    response = _client(client_for, world, name).post(f"{API}/claims/{world.mine.pk}/{suffix}", body, format="json")
    assert response.status_code == ACT[name], response.content
    if ACT[name] == 200:
        assert calls.names() == [service]
        assert calls[0][1]["actor"] == world.user(name) and calls[0][1]["claim_id"] == world.mine.pk
        assert response.json()["id"] == world.mine.pk
    else:
        assert calls == []
        assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("name", ALL)
def test_batch_approve(client_for, world, calls, name):
    response = _client(client_for, world, name).post(f"{API}/claims/approve/", {"ids": [world.mine.pk]},
                                                     format="json")
    assert response.status_code == ACT[name], response.content
    if ACT[name] == 200:
        assert calls == [("approve_many", {"actor": world.user(name), "claim_ids": [world.mine.pk]})]
        assert [row["id"] for row in response.json()] == [world.mine.pk]
    else:
        assert calls == []
    if name == "other_auditor":
        assert response.json()["fields"] == {"ids": [response.json()["message"]]}


def test_the_review_actions_of_the_other_county_are_404_for_this_auditor(client_for, world, calls):
    auditor = client_for(world.p.auditor)
    for suffix, body, _service in REVIEW:
        assert auditor.post(f"{API}/claims/{world.away.pk}/{suffix}", body, format="json").status_code == 404
    response = auditor.post(f"{API}/claims/approve/", {"ids": [world.mine.pk, world.away.pk]}, format="json")
    assert response.status_code == 404  # all or nothing: one claim she may not see refuses the batch
    assert calls == []


# --- evaluations -------------------------------------------------------------------------------------

def _home_evaluations(world) -> set[int]:
    return {world.mine.evaluation_id, world.rival.evaluation_id, world.village.evaluation_id}


@pytest.mark.parametrize("name", ALL)
def test_evaluation_list(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/evaluations/")
    if name in REFUSED | BROKERS:
        return _refused(response, name)
    expected = {"auditor": _home_evaluations(world), "other_auditor": {world.away.evaluation_id},
                "admin": _home_evaluations(world) | {world.away.evaluation_id}}[name]
    assert _ids(response) == expected


STAFF_READ = {"auditor": 200, "admin": 200, "other_auditor": 404} | dict.fromkeys(BROKERS | REFUSED, 403)


@pytest.mark.parametrize("name", ALL)
def test_evaluation_detail(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/evaluations/{world.mine.evaluation_id}/")
    assert response.status_code == STAFF_READ[name]


@pytest.mark.parametrize("name", ALL)
def test_evaluation_request(client_for, world, calls, name):
    body = {"version": world.version.pk, "period": "year", "period_start": "2025-01-01", "simulation": False}
    response = _client(client_for, world, name).post(f"{API}/evaluations/", body, format="json")
    expected = {**STAFF_READ, "auditor": 202, "admin": 202}[name]
    assert response.status_code == expected, response.content
    if expected == 202:
        assert calls.names() == ["request_evaluation"]
        assert calls[0][1] == {"actor": world.user(name), "version": world.version, "period": "year",
                               "period_start": dt.date(2025, 1, 1), "simulation": False}
    else:
        assert calls == []
    if name == "other_auditor":
        assert list(response.json()["fields"]) == ["version"]


# --- budget --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_budget_read(client_for, world, calls, name):
    response = _client(client_for, world, name).get(f"{API}/budget/?version={world.version.pk}&year=2025")
    assert response.status_code == STAFF_READ[name], response.content
    assert calls.names() == (["budget_of"] if STAFF_READ[name] == 200 else [])


@pytest.mark.parametrize("method", ["put", "post"])
@pytest.mark.parametrize("name", ALL)
def test_budget_set(client_for, world, calls, name, method):
    body = {"version": world.version.pk, "year": 2025, "amount": "2500000.00"}
    response = getattr(_client(client_for, world, name), method)(f"{API}/budget/", body, format="json")
    assert response.status_code == STAFF_READ[name], response.content
    if STAFF_READ[name] == 200:
        assert calls[0] == ("set_budget", {"actor": world.user(name), "version_id": world.version.pk, "year": 2025,
                                           "amount": Decimal("2500000.00")})
    else:
        assert calls == []


# --- payment batches ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_payment_batch_list(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/payment-batches/")
    if name in REFUSED | BROKERS:
        return _refused(response, name)
    home, away = world.payment_batch.pk, world.away_payment_batch.pk
    assert _ids(response) == {"auditor": {home}, "other_auditor": {away}, "admin": {home, away}}[name]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("suffix", ["", "bank-file/"])
def test_payment_batch_reads(client_for, world, calls, name, suffix):
    response = _client(client_for, world, name).get(f"{API}/payment-batches/{world.payment_batch.pk}/{suffix}")
    assert response.status_code == STAFF_READ[name]
    assert calls.names() == (["bank_file"] if suffix and STAFF_READ[name] == 200 else [])


@pytest.mark.parametrize("name", ALL)
def test_payment_batch_open(client_for, world, calls, name):
    response = _client(client_for, world, name).post(f"{API}/payment-batches/", {"claims": [world.mine.pk]},
                                                     format="json")
    expected = {**STAFF_READ, "auditor": 201, "admin": 201}[name]
    assert response.status_code == expected, response.content
    assert calls.names() == (["open_payment_batch"] if expected == 201 else [])


@pytest.mark.parametrize("name", ALL)
def test_payment_batch_paid(client_for, world, calls, name):
    response = _client(client_for, world, name).post(f"{API}/payment-batches/{world.payment_batch.pk}/paid/",
                                                     {"bank_reference": "ZJ-2026-0001", "paid_on": "2026-01-20"},
                                                     format="json")
    assert response.status_code == STAFF_READ[name], response.content
    if STAFF_READ[name] == 200:
        assert calls == [("mark_batch_paid", {"actor": world.user(name), "batch_id": world.payment_batch.pk,
                                              "bank_reference": "ZJ-2026-0001", "paid_on": dt.date(2026, 1, 20)})]
    else:
        assert calls == []


# --- audit trail -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_audit_trail(client_for, world, name):
    response = _client(client_for, world, name).get(f"{API}/audit/")
    if name in REFUSED | BROKERS:
        return _refused(response, name)
    # the county's events: the world's own and any its records produced (a designated village's)
    home, away = world.events_of(world.p.home["county"]), world.events_of(world.p.away["county"])
    assert world.event.pk in home and world.away_event.pk in away
    assert _ids(response) == {"auditor": home, "other_auditor": away, "admin": home | away}[name]


def test_an_auditor_without_an_office_sees_nothing(client_for, world):
    from tests.factories import UserFactory
    from accounts.models import Role

    loose = UserFactory(role=Role.AUDITOR, organisation=None)
    client = client_for(loose)
    for url in ["claims/", "evaluations/", "payment-batches/", "audit/"]:
        assert _ids(client.get(f"{API}/{url}")) == set(), url
    assert client.get(f"{API}/claims/{world.mine.pk}/").status_code == 404
