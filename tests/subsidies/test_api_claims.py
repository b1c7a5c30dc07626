"""The claims API as an auditor checks a claim by hand: the list and its filters, the detail with
everything the arithmetic used, the evidence down to the payslips, the review inputs refused before
any service, evaluations, the budget, payment batches and the audit trail; no N+1 on any list.

The services behind the writes are stubs in this branch (their behaviour is tested with them, in
tests/subsidies/test_api_review_actions.py); here a write reaches a recorder where it must."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from subsidies import rules
from subsidies.models import AuditEvent, Claim, ClaimEvidence, Evaluation, PolicyVersion, RiskFlag
from subsidies.services import evaluation as evaluation_service
from subsidies.services import flags as flag_service
from subsidies.services import review

from ..factories import UserFactory
from .api_world import FLAG_PARAMS, build_world
from .factories import make_claim

pytestmark = pytest.mark.django_db

API = "/api/subsidies"


@pytest.fixture
def world(personas):
    return build_world(personas)


@pytest.fixture
def auditor(client_for, world):
    return client_for(world.p.auditor)


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _ids(response) -> list[int]:
    return [row["id"] for row in _rows(response)]


# --- the list ----------------------------------------------------------------------------------------

def test_list_newest_first_with_beneficiary_sentence_and_flags(auditor, world):
    rows = _rows(auditor.get(f"{API}/claims/", HTTP_ACCEPT_LANGUAGE="en"))
    assert [row["id"] for row in rows] == [world.village.pk, world.rival.pk, world.mine.pk]
    village, _rival, mine = rows
    assert mine["beneficiary"] == {"type": "broker", "id": world.p.broker_org.pk, "name": "建明服装厂"}
    assert village["beneficiary"] == {"type": "village", "id": world.p.home["village"].pk, "name": "遂昌县某村"}
    assert mine["sentence"] == {"zh-CN": "工资发放 120,000.00 元 > 100,000 → 2,000 元",
                                "en": "wages issued 120,000.00 yuan > 100,000 → 2,000 yuan"}
    assert (mine["amount"], mine["computed_amount"], mine["status"], mine["kind"]) == \
        ("2000.00", "2000.00", "computed", "broker_reward_general")
    assert mine["kind_label"] == "Broker reward, general processing"
    assert mine["status_label"] == "Computed"
    assert (mine["flag_count"], village["flag_count"]) == (1, 0)
    assert (mine["version"], mine["version_number"], mine["fund_year"]) == (world.version.pk, 1, 2025)
    assert village["needs_second_approval"] is True and mine["needs_second_approval"] is False


@pytest.mark.parametrize("query, expected", [
    ("status=computed", {"mine", "rival", "village"}),
    ("status=approved", set()),
    ("kind=new_professional_village", {"village"}),
    ("kind=broker_reward_general", {"mine", "rival"}),
    ("fund_year=2025", {"mine", "rival", "village"}),
    ("fund_year=2024", set()),
    ("has_flags=true", {"mine"}),
    ("has_flags=false", {"rival", "village"}),
])
def test_list_filters(auditor, world, query, expected):
    names = {world.mine.pk: "mine", world.rival.pk: "rival", world.village.pk: "village"}
    assert {names[i] for i in _ids(auditor.get(f"{API}/claims/?{query}"))} == expected


def test_list_filters_by_related_ids(auditor, world):
    assert _ids(auditor.get(f"{API}/claims/?broker={world.p.rival_org.pk}")) == [world.rival.pk]
    assert _ids(auditor.get(f"{API}/claims/?village={world.p.home['village'].pk}")) == [world.village.pk]
    assert len(_ids(auditor.get(f"{API}/claims/?version={world.version.pk}"))) == 3
    assert _ids(auditor.get(f"{API}/claims/?version={world.away_version.pk}")) == []  # another county's: empty
    assert _ids(auditor.get(f"{API}/claims/?broker=999999")) == []


@pytest.mark.parametrize("query, field", [
    ("status=", "status"), ("status=nonsense", "status"), ("kind=payslip", "kind"), ("fund_year=20x5", "fund_year"),
    ("has_flags=maybe", "has_flags"), ("broker=0", "broker"), ("version=abc", "version"), ("page_size=501", "page_size"),
])
def test_list_refuses_bad_filters(auditor, world, query, field):
    response = auditor.get(f"{API}/claims/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_brokers_neither_see_nor_filter_by_flags(client_for, world):
    broker = client_for(world.p.broker)
    [row] = _rows(broker.get(f"{API}/claims/"))
    assert "flag_count" not in row
    body = broker.get(f"{API}/claims/{world.mine.pk}/").json()
    assert "flags" not in body and "flag_count" not in body
    response = broker.get(f"{API}/claims/?has_flags=true")
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "fields"}


def test_list_pages_by_cursor(auditor, world):
    first = auditor.get(f"{API}/claims/?page_size=2").json()
    assert [row["id"] for row in first["results"]] == [world.village.pk, world.rival.pk]
    second = auditor.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [world.mine.pk] and second["next"] is None


def _more_claims(world, n: int) -> None:
    from accounts.models import Organisation

    from ..factories import OrganisationFactory

    for i in range(n):
        broker = OrganisationFactory(kind=Organisation.Kind.BROKER, jurisdiction=world.p.home["township"])
        claim = make_claim(world.version, broker=broker, amount=Decimal("2000.00"))
        RiskFlag.objects.create(claim=claim, code=RiskFlag.Code.YEAR_END_SPIKE,
                                params=FLAG_PARAMS[RiskFlag.Code.YEAR_END_SPIKE])


@pytest.mark.parametrize("n", [0, 25])
def test_list_queries_do_not_grow_with_the_claims(client_for, world, django_assert_max_num_queries, n):
    _more_claims(world, n)
    for user in (world.p.auditor, world.p.admin, world.p.broker):
        client = client_for(user)
        with django_assert_max_num_queries(4):
            response = client.get(f"{API}/claims/?page_size=100")
        assert response.status_code == 200


# --- the detail --------------------------------------------------------------------------------------

def test_detail_has_everything_to_check_it_by_hand(auditor, world):
    body = auditor.get(f"{API}/claims/{world.mine.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["kind"] == rules.BROKER_REWARD_GENERAL
    assert body["policy_ref"]["id"] == world.version.policy_id and body["version_number"] == 1
    assert body["rule"] == world.version.rules.get(kind=rules.BROKER_REWARD_GENERAL).pk
    assert (body["period_start"], body["period_end"]) == ("2025-01-01", "2025-12-31")
    assert body["inputs"] == {"wages_issued": "120000.00", "workers_counted": 2}
    assert body["steps"][0]["label"] == "tier_1_wages"
    assert body["sentence"]["en"] == "wages issued 120,000.00 yuan > 100,000 → 2,000 yuan"
    # the parameters used, each with its unit and the sentence of the document it comes from
    tier = body["parameters"]["tier_1_wages_over"]
    assert (tier["value"], tier["unit"]) == ("200000", "CNY")
    assert "200,000 yuan" in tier["source"] and tier["reading"]
    assert body["evidence_counts"] == {"payout_batch": 1, "payslip": 2, "invoice": 0, "loan": 1, "relocation": 1,
                                       "village_status": 1, "worker": 2, "broker": 1}
    [flag] = body["flags"]
    assert flag["code"] == "just_over_tier" and flag["label"] == "Just above a tier boundary"
    assert flag["records"] == [{"kind": "payout_batch", "id": world.batch.pk}]
    assert flag["params"]["wages_line"] == "100000" and flag["message"]  # the flags service's sentence, or the label
    assert body["approvals"] == dict.fromkeys(["case_entered_by", "case_entered_at", "first_approved_by",
                                               "first_approved_at", "approved_by", "approved_at", "rejected_by",
                                               "rejected_at", "superseded_at", "paid_at"])
    assert body["reasons"] == {"case": "", "rejection": ""}
    assert (body["adjusts"], body["adjusts_ref"], body["corrections"]) == (None, None, [])
    assert (body["is_case"], body["is_adjustment"]) == (False, False)


def test_detail_flag_message_comes_from_the_flags_service(auditor, world, monkeypatch):
    monkeypatch.setattr(flag_service, "message",
                        lambda flag: f"within {flag.params['wages_margin_percent']}% of the line", raising=False)
    [flag] = auditor.get(f"{API}/claims/{world.mine.pk}/").json()["flags"]
    assert flag["message"] == "within 20% of the line"


def test_detail_names_approvers_reasons_and_corrections(auditor, world):
    second = UserFactory(role=Role.AUDITOR, organisation=world.p.federation_org, display_name="复核员")
    at = timezone.now().replace(microsecond=0)
    # a case claim: the amount entered by one auditor, first approved by another
    case = make_claim(world.version, broker=world.p.rival_org, kind=rules.BROKER_REWARD_MACHINERY, amount=None,
                      is_case=True)
    Claim.objects.filter(pk=case.pk).update(amount=Decimal("15000.00"), case_entered_by=world.p.auditor,
                                            case_entered_at=at, case_reason="县政府专题会议纪要", first_approved_by=second,
                                            first_approved_at=at, status=Claim.Status.FIRST_APPROVED)
    adjustment = make_claim(world.version, broker=world.p.rival_org, kind=rules.BROKER_REWARD_MACHINERY,
                            amount=Decimal("-500.00"), adjusts=case, is_adjustment=True)
    body = auditor.get(f"{API}/claims/{case.pk}/").json()
    assert body["status"] == "first_approved" and body["is_case"] is True
    assert (body["amount"], body["computed_amount"]) == ("15000.00", None)
    approvals = body["approvals"]
    assert approvals["case_entered_by"] == {"id": world.p.auditor.pk, "name": world.p.auditor.display_name}
    assert approvals["first_approved_by"] == {"id": second.pk, "name": "复核员"}
    assert approvals["first_approved_at"] == timezone.localtime(at).isoformat()
    assert approvals["approved_by"] is None
    assert body["reasons"]["case"] == "县政府专题会议纪要"
    assert body["corrections"] == [{"id": adjustment.pk, "key": adjustment.key, "amount": "-500.00",
                                    "status": "computed", "is_adjustment": True}]
    corrected = auditor.get(f"{API}/claims/{adjustment.pk}/").json()
    assert corrected["is_adjustment"] is True and corrected["adjusts"] == case.pk
    assert corrected["adjusts_ref"] == {"id": case.pk, "key": case.key, "amount": "15000.00",
                                        "status": "first_approved", "is_adjustment": False}


def test_detail_of_a_rejected_claim(auditor, world):
    Claim.objects.filter(pk=world.rival.pk).update(status=Claim.Status.REJECTED, rejected_by=world.p.auditor,
                                                   rejected_at=timezone.now(), reject_reason="工资发放记录不完整")
    body = auditor.get(f"{API}/claims/{world.rival.pk}/").json()
    assert body["status"] == "rejected"
    assert body["reasons"] == {"case": "", "rejection": "工资发放记录不完整"}
    assert body["approvals"]["rejected_by"]["id"] == world.p.auditor.pk


def test_detail_queries_are_bounded(auditor, world, django_assert_max_num_queries):
    for _ in range(5):
        make_claim(world.version, broker=world.p.broker_org, amount=Decimal("100.00"), adjusts=world.mine,
                   is_adjustment=True)
    for code in (RiskFlag.Code.OPEN_DISPUTES, RiskFlag.Code.YEAR_END_SPIKE):
        RiskFlag.objects.create(claim=world.mine, code=code, params=FLAG_PARAMS[code])
    with django_assert_max_num_queries(8):
        response = auditor.get(f"{API}/claims/{world.mine.pk}/")
    body = response.json()
    assert len(body["corrections"]) == 5 and len(body["flags"]) == 3


def test_detail_of_an_unknown_or_malformed_id_is_404(auditor, world):
    assert auditor.get(f"{API}/claims/999999/").status_code == 404
    assert auditor.get(f"{API}/claims/abc/").status_code == 404


# --- evidence ------------------------------------------------------------------------------------------

def _evidence(client, world, kind: str, claim=None) -> list[dict]:
    return _rows(client.get(f"{API}/claims/{(claim or world.mine).pk}/evidence/?kind={kind}"))


def test_evidence_payout_batches_with_their_paths(auditor, world):
    [row] = _evidence(auditor, world, "payout_batch")
    assert row["object_id"] == world.batch.pk and row["path"] == f"/api/payout-batches/{world.batch.pk}/"
    assert (row["amount"], row["note"]) == ("120000.00", "2025")
    assert row["name"] == "建明服装厂 2025-03 #1"
    assert row["details"] == {"run": world.batch.run_id, "month": "2025-03", "number": 1, "status": "paid",
                              "paid_on": "2025-03-10", "broker": world.p.broker_org.pk}


def test_evidence_payslips_are_those_of_the_claims_batches(auditor, world):
    rows = _evidence(auditor, world, "payslip")
    assert [row["object_id"] for row in rows] == [slip.pk for slip in world.slips]  # not the April batch's
    first = rows[0]
    assert first["path"] == f"/api/payslips/{world.slips[0].pk}/"
    assert (first["name"], first["amount"]) == ("王秀英", "61000.00")
    assert first["details"]["worker_path"] == f"/api/workers/{world.p.worker_record.pk}/"
    assert first["details"]["month"] == "2025-03" and first["details"]["broker_name"] == "建明服装厂"


def test_evidence_payslip_in_two_evidence_batches_appears_once(auditor, world):
    ClaimEvidence.objects.create(claim=world.mine, kind=ClaimEvidence.Kind.PAYOUT_BATCH,
                                 object_id=world.other_batch.pk, amount=Decimal("100.00"))
    rows = _evidence(auditor, world, "payslip")
    assert len(rows) == 3 and len({row["object_id"] for row in rows}) == 3
    assert auditor.get(f"{API}/claims/{world.mine.pk}/").json()["evidence_counts"]["payslip"] == 3


def test_evidence_workers_loans_relocations_and_village_status(auditor, world):
    workers = _evidence(auditor, world, "worker")
    assert [(w["name"], w["path"], w["amount"]) for w in workers] == [
        ("王秀英", f"/api/workers/{world.p.worker_record.pk}/", "61000.00"),
        ("陈美华", f"/api/workers/{world.colleague.pk}/", "59000.00")]
    assert "*" in workers[0]["details"]["national_id_masked"]
    [loan] = _evidence(auditor, world, "loan")
    # the staff's read of a broker's loans (brokers' loans API, issue 11)
    assert (loan["name"], loan["path"]) == ("遂昌农商银行", f"/api/brokers/{world.p.broker_org.pk}/loans/{world.loan.pk}/")
    assert loan["details"]["principal"] == "80000.00" and loan["details"]["start"] == "2025-01-15"
    assert loan["details"]["contract_path"] is None  # no contract uploaded
    [relocation] = _evidence(auditor, world, "relocation")
    assert relocation["details"]["zone_kind"] == "county_park" and relocation["details"]["moved_on"] == "2025-06-01"
    [status] = _evidence(auditor, world, "village_status")
    assert status["path"] == f"/api/villages/{world.p.home['village'].pk}/status/"
    assert status["details"]["is_professional"] is True and status["details"]["evidence"] == "县妇联认定"
    [broker] = _evidence(auditor, world, "broker")
    assert broker["path"] == f"/api/organisations/{world.p.broker_org.pk}/"
    assert _evidence(auditor, world, "invoice") == []


def test_evidence_of_a_record_gone_since_is_the_row_alone(auditor, world):
    ClaimEvidence.objects.create(claim=world.mine, kind=ClaimEvidence.Kind.INVOICE, object_id=424242,
                                 amount=Decimal("10.00"))
    [row] = _evidence(auditor, world, "invoice")
    assert (row["object_id"], row["amount"], row["name"], row["path"], row["details"]) == \
        (424242, "10.00", "", None, {})


@pytest.mark.parametrize("query", ["", "?kind=", "?kind=claim", "?kind=PAYSLIP"])
def test_evidence_needs_a_known_kind(auditor, world, query):
    response = auditor.get(f"{API}/claims/{world.mine.pk}/evidence/{query}")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["kind"]


def test_evidence_pages_and_its_queries_do_not_grow(auditor, world, django_assert_max_num_queries):
    from brokers.models import Worker

    from ..factories import WorkerFactory

    WorkerFactory.create_batch(30, village=world.p.home["village"])
    ClaimEvidence.objects.bulk_create([ClaimEvidence(claim=world.mine, kind=ClaimEvidence.Kind.WORKER, object_id=w.pk)
                                       for w in Worker.objects.exclude(pk__in=[world.p.worker_record.pk,
                                                                               world.colleague.pk])])
    with django_assert_max_num_queries(6):
        first = auditor.get(f"{API}/claims/{world.mine.pk}/evidence/?kind=worker&page_size=20").json()
    assert len(first["results"]) == 20 and all(row["name"] for row in first["results"])
    rest = auditor.get(first["next"]).json()["results"]
    assert len(first["results"]) + len(rest) == world.mine.evidence.filter(kind="worker").count()
    with django_assert_max_num_queries(6):
        auditor.get(f"{API}/claims/{world.mine.pk}/evidence/?kind=payslip")


# --- review inputs, refused before any service ---------------------------------------------------------

@pytest.fixture
def no_service(monkeypatch):
    """Any review service reached fails the test: these inputs must be refused first."""
    def reached(**kwargs):
        raise AssertionError("the service was called")

    for name in ("approve", "approve_many", "reject", "enter_case_amount", "open_payment_batch", "mark_batch_paid",
                 "set_budget"):
        monkeypatch.setattr(review, name, reached)
    monkeypatch.setattr(evaluation_service, "request_evaluation", reached)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 5}, {"reason": "x" * 501}])
def test_reject_needs_a_reason(auditor, world, no_service, body):
    response = auditor.post(f"{API}/claims/{world.mine.pk}/reject/", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["reason"]


@pytest.mark.parametrize("body, field", [
    ({"reason": "会议纪要"}, "amount"),
    ({"amount": "12000.00"}, "reason"),
    ({"amount": 12000, "reason": "会议纪要"}, "amount"),  # money is a string, never a JSON number
    ({"amount": "-1.00", "reason": "会议纪要"}, "amount"),
    ({"amount": "0.00", "reason": "会议纪要"}, "amount"),
    ({"amount": "12000.001", "reason": "会议纪要"}, "amount"),
    ({"amount": "100000000.01", "reason": "会议纪要"}, "amount"),
])
def test_case_amount_input(auditor, world, no_service, body, field):
    response = auditor.post(f"{API}/claims/{world.mine.pk}/case-amount/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": "1"}, {"ids": [0]}, {"ids": [2**63]}, {"ids": ["a"]}])
def test_batch_approve_input(auditor, world, no_service, body):
    response = auditor.post(f"{API}/claims/approve/", body, format="json")
    assert response.status_code == 400
    assert [f.split(".")[0] for f in response.json()["fields"]] == ["ids"]


def test_batch_approve_names_each_claim_once(auditor, world, no_service):
    response = auditor.post(f"{API}/claims/approve/", {"ids": [world.mine.pk, world.mine.pk]}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["ids"]


def test_batch_approve_of_an_unknown_claim_is_404(auditor, world, no_service):
    response = auditor.post(f"{API}/claims/approve/", {"ids": [world.mine.pk, 999999]}, format="json")
    assert response.status_code == 404 and list(response.json()["fields"]) == ["ids"]


# --- evaluations --------------------------------------------------------------------------------------------

def test_evaluation_list_and_detail(auditor, world):
    evaluation = world.mine.evaluation
    Evaluation.objects.filter(pk=evaluation.pk).update(
        started_at=dt.datetime(2026, 1, 2, 1, 0, 0, tzinfo=dt.timezone.utc),
        finished_at=dt.datetime(2026, 1, 2, 1, 0, 7, 250000, tzinfo=dt.timezone.utc),
        counts={"created": 3, "adjusted": 0}, requested_by=world.p.auditor)
    simulation = Evaluation.objects.create(version=world.version, period=Evaluation.Period.YEAR,
                                           period_start=dt.date(2025, 1, 1), simulation=True,
                                           status=Evaluation.Status.DONE, results={"totals": {"freight": "10.00"}})
    rows = _rows(auditor.get(f"{API}/evaluations/"))
    assert rows[0]["id"] == simulation.pk and "results" not in rows[0]
    body = auditor.get(f"{API}/evaluations/{evaluation.pk}/").json()
    assert body["duration_seconds"] == 7.25 and body["counts"] == {"created": 3, "adjusted": 0}
    assert body["requested_by"]["id"] == world.p.auditor.pk
    assert (body["period"], body["period_start"], body["status"], body["version_number"]) == \
        ("year", "2025-01-01", "done", 1)
    assert auditor.get(f"{API}/evaluations/{simulation.pk}/").json()["results"] == {"totals": {"freight": "10.00"}}
    assert _ids(auditor.get(f"{API}/evaluations/?simulation=true")) == [simulation.pk]


def test_evaluation_list_queries_are_bounded(auditor, world, django_assert_max_num_queries):
    for _ in range(20):
        Evaluation.objects.create(version=world.version, period="year", period_start=dt.date(2025, 1, 1),
                                  requested_by=world.p.auditor)
    with django_assert_max_num_queries(4):
        assert len(_rows(auditor.get(f"{API}/evaluations/?page_size=100"))) == 23


@pytest.mark.parametrize("body, field", [
    ({"period": "year", "period_start": "2025-01-01"}, "version"),
    ({"version": 1, "period": "week", "period_start": "2025-01-01"}, "period"),
    ({"version": 1, "period": "year"}, "period_start"),
    ({"version": 1, "period": "year", "period_start": "2025-13-01"}, "period_start"),
    ({"version": 1, "period": "year", "period_start": "2025-01-01", "simulation": "maybe"}, "simulation"),
])
def test_evaluation_request_input(auditor, world, no_service, body, field):
    response = auditor.post(f"{API}/evaluations/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_evaluation_request_of_a_draft_simulation_answers_202(auditor, world, monkeypatch):
    draft = PolicyVersion.objects.create(policy=world.version.policy, number=2, annual_budget=Decimal("1000000"))

    def request_evaluation(*, actor, version, period, period_start, simulation):
        return Evaluation.objects.create(version=version, period=period, period_start=period_start,
                                         simulation=simulation, requested_by=actor)

    monkeypatch.setattr(evaluation_service, "request_evaluation", request_evaluation)
    response = auditor.post(f"{API}/evaluations/", {"version": draft.pk, "period": "year",
                                                    "period_start": "2025-01-01", "simulation": True}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["version"], body["simulation"], body["status"], body["results"]) == (draft.pk, True, "queued", {})


# --- budget ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ("year=2025", "version"), ("version=1", "year"), ("version=1&year=1999", "year"), ("version=1&year=2101", "year"),
    ("version=1&year=abc", "year"),
])
def test_budget_query(auditor, world, query, field):
    response = auditor.get(f"{API}/budget/?{query}")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_budget_answers_the_services_figures(auditor, world, monkeypatch):
    asked = []

    def budget_of(version, year):
        asked.append((version, year))
        return {"year": year, "budget": Decimal("2000000.00"), "committed": Decimal("7000.00"),
                "remaining": Decimal("1993000.00"), "pending": Decimal("32000.00")}

    monkeypatch.setattr(review, "budget_of", budget_of)
    body = auditor.get(f"{API}/budget/?version={world.version.pk}&year=2025").json()
    assert body == {"version": world.version.pk, "year": 2025, "budget": "2000000.00", "committed": "7000.00",
                    "remaining": "1993000.00", "pending": "32000.00"}
    assert asked == [(world.version, 2025)]


@pytest.mark.parametrize("body, field", [
    ({"version": 1, "year": 2025}, "amount"), ({"version": 1, "year": 2025, "amount": "-1"}, "amount"),
    ({"version": 1, "year": 2025, "amount": 100}, "amount"), ({"year": 2025, "amount": "1"}, "version"),
])
def test_budget_set_input(auditor, world, no_service, body, field):
    response = auditor.put(f"{API}/budget/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


# --- payment batches ---------------------------------------------------------------------------------------

def test_payment_batch_detail_lists_its_claims(auditor, world):
    Claim.objects.filter(pk__in=[world.mine.pk, world.rival.pk]).update(payment_batch=world.payment_batch)
    body = auditor.get(f"{API}/payment-batches/{world.payment_batch.pk}/").json()
    assert body["claim_count"] == 2 and body["status"] == "open"
    assert [c["id"] for c in body["claims"]] == [world.mine.pk, world.rival.pk]
    assert body["claims"][0]["beneficiary"]["name"] == "建明服装厂"
    assert body["created_by"]["id"] == world.p.auditor.pk and body["paid_by"] is None
    [row] = _rows(auditor.get(f"{API}/payment-batches/"))
    assert row["claim_count"] == 2 and "claims" not in row


def test_payment_batch_list_queries_are_bounded(auditor, world, django_assert_max_num_queries):
    from subsidies.models import PaymentBatch

    for _ in range(20):
        PaymentBatch.objects.create(policy=world.version.policy, county=world.p.home["county"],
                                    created_by=world.p.auditor)
    with django_assert_max_num_queries(4):
        assert len(_rows(auditor.get(f"{API}/payment-batches/?page_size=100"))) == 21


@pytest.mark.parametrize("body, field", [({}, "claims"), ({"claims": []}, "claims"), ({"claims": [1, 1]}, "claims")])
def test_payment_batch_open_input(auditor, world, no_service, body, field):
    response = auditor.post(f"{API}/payment-batches/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_payment_batch_open_with_another_countys_claim_is_404(auditor, world, no_service):
    response = auditor.post(f"{API}/payment-batches/", {"claims": [world.mine.pk, world.away.pk]}, format="json")
    assert response.status_code == 404 and list(response.json()["fields"]) == ["claims"]


@pytest.mark.parametrize("body, field", [
    ({"paid_on": "2026-01-20"}, "bank_reference"), ({"bank_reference": "ZJ-1"}, "paid_on"),
    ({"bank_reference": "x" * 101, "paid_on": "2026-01-20"}, "bank_reference"),
])
def test_payment_batch_paid_input(auditor, world, no_service, body, field):
    response = auditor.post(f"{API}/payment-batches/{world.payment_batch.pk}/paid/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_bank_file_is_a_protected_csv_download(auditor, world, monkeypatch):
    monkeypatch.setattr(review, "bank_file", lambda batch: "收款人,金额\r\n建明服装厂,2000.00\r\n".encode(),
                        raising=False)
    response = auditor.get(f"{API}/payment-batches/{world.payment_batch.pk}/bank-file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="subsidies-batch-{world.payment_batch.pk}.csv"'
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.decode() == "收款人,金额\r\n建明服装厂,2000.00\r\n"


# --- audit trail ----------------------------------------------------------------------------------------------

def test_audit_trail_newest_first_and_filtered(auditor, world):
    approve = AuditEvent.objects.create(county=world.p.home["county"], actor=world.p.admin,
                                        action=AuditEvent.Action.APPROVE, object_type="claim",
                                        object_id=world.mine.pk, before={"status": "computed"},
                                        after={"status": "approved"})
    rows = _rows(auditor.get(f"{API}/audit/", HTTP_ACCEPT_LANGUAGE="en"))
    # newest first, the county's only (with any event the world's records produced themselves)
    assert [row["id"] for row in rows][:2] == [approve.pk, world.event.pk]
    assert {row["id"] for row in rows} == world.events_of(world.p.home["county"])
    assert rows[0] | {"at": None} == {"id": approve.pk, "county": world.p.home["county"].pk,
                                      "actor": {"id": world.p.admin.pk, "name": world.p.admin.display_name},
                                      "action": "approve", "action_label": "Approve", "object_type": "claim",
                                      "object_id": world.mine.pk, "before": {"status": "computed"},
                                      "after": {"status": "approved"}, "at": None}
    assert _ids(auditor.get(f"{API}/audit/?object_type=claim&object_id={world.mine.pk}")) == [approve.pk]
    assert _ids(auditor.get(f"{API}/audit/?action=set_budget")) == [world.event.pk]
    assert _ids(auditor.get(f"{API}/audit/?actor={world.p.admin.pk}")) == [approve.pk]
    assert _ids(auditor.get(f"{API}/audit/?object_type=rule")) == []
    assert auditor.get(f"{API}/audit/?action=delete").status_code == 400
    assert auditor.get(f"{API}/audit/?object_id=x").status_code == 400


def test_audit_trail_queries_are_bounded(auditor, world, django_assert_max_num_queries):
    AuditEvent.objects.bulk_create([
        AuditEvent(county=world.p.home["county"], actor=UserFactory(role=Role.AUDITOR), action="approve",
                   object_type="claim", object_id=i) for i in range(20)])
    with django_assert_max_num_queries(4):
        rows = _rows(auditor.get(f"{API}/audit/?page_size=100"))
    assert len(rows) == len(world.events_of(world.p.home["county"])) >= 21



# --- the answers are what the schema says ----------------------------------------------------------------------

def _nullable(node):
    """OpenAPI 3.0's `nullable` as JSON Schema's null type, for jsonschema."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        out = {**out, "type": [out["type"], "null"]} if "type" in out else {"anyOf": [out, {"type": "null"}]}
    return out


def test_answers_match_the_openapi_schema(client_for, world, monkeypatch):
    """Each read and review answer, as an auditor and as a broker (whose answers leave the flags
    out), validates against its operation's documented schema."""
    import jsonschema

    monkeypatch.setattr(review, "approve", lambda **kw: world.village)
    monkeypatch.setattr(review, "budget_of", lambda version, year: {
        "year": year, "budget": Decimal("2000000.00"), "committed": Decimal("0.00"), "remaining": Decimal("2000000"),
        "pending": Decimal("0")})
    schema = _nullable(client_for(world.p.admin).get("/api/schema/?format=json").json())
    Claim.objects.filter(pk=world.mine.pk).update(payment_batch=world.payment_batch)
    reads = [(user, f"claims/{world.mine.pk}/evidence/?kind={kind}") for user in ("auditor", "broker")
             for kind in ClaimEvidence.Kind.values] + [
        ("auditor", "claims/"), ("broker", "claims/"), ("auditor", f"claims/{world.mine.pk}/"),
        ("broker", f"claims/{world.mine.pk}/"), ("auditor", f"claims/{world.village.pk}/"),
        ("auditor", "evaluations/"), ("auditor", f"evaluations/{world.mine.evaluation_id}/"),
        ("auditor", "payment-batches/"), ("auditor", f"payment-batches/{world.payment_batch.pk}/"),
        ("auditor", "audit/"), ("auditor", f"budget/?version={world.version.pk}&year=2025")]
    checked = 0
    for name, url in reads + [("auditor", f"claims/{world.village.pk}/approve/")]:
        client = client_for(world.user(name))
        method = "post" if url.endswith("approve/") else "get"
        response = client.post(f"{API}/{url}", {}, format="json") if method == "post" else client.get(f"{API}/{url}")
        assert response.status_code == 200, (url, response.content)
        template = re.sub(r"/\d+/", "/{id}/", "/api/subsidies/" + url.split("?")[0])
        body_schema = schema["paths"][template][method]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), {**body_schema, "components": schema["components"]},
                            format_checker=jsonschema.FormatChecker())
        checked += 1
    assert checked == len(reads) + 1


def test_evidence_invoices_name_the_firm(auditor, world):
    from payments.models import Invoice

    from ..orders.builders import awarded

    award = awarded(world.p.firm, world.p.broker, quantity=100)
    invoice = Invoice.objects.filter(award=award).first() or Invoice.objects.create(
        award=award, firm=world.p.firm_org, broker=world.p.broker_org)
    ClaimEvidence.objects.create(claim=world.mine, kind=ClaimEvidence.Kind.INVOICE, object_id=invoice.pk,
                                 amount=Decimal("3500.00"), note="2025")
    [row] = _evidence(auditor, world, "invoice")
    assert (row["name"], row["path"], row["amount"]) == ("义乌测试饰品公司", f"/api/invoices/{invoice.pk}/", "3500.00")
    assert row["details"]["firm"] == world.p.firm_org.pk and row["details"]["award"] == award.pk
    assert row["details"]["broker"] == world.p.broker_org.pk
