"""The review actions through the API with the real services (services/review.py and
services/evaluation.py): approvals and four eyes, rejection, case amounts, the budget refusing an
approval with what remains, batch approval all or nothing, evaluations requested, payment batches
opened, exported and paid, and the audit trail of it all. The clock is fixed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from accounts.models import Role
from subsidies import rules
from subsidies.models import AuditEvent, Claim, Evaluation

from ..factories import UserFactory
from .api_world import build_world
from .factories import make_claim

pytestmark = pytest.mark.django_db

API = "/api/subsidies"
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone.utc)
S = Claim.Status


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(personas):
    return build_world(personas)


@pytest.fixture
def second(world):
    """A second auditor of the county, for four eyes."""
    return UserFactory(role=Role.AUDITOR, organisation=world.p.federation_org, display_name="复核员")


@pytest.fixture
def auditor(client_for, world):
    return client_for(world.p.auditor)


def _post(client, url, body=None):
    return client.post(f"{API}/{url}", body or {}, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_a_small_claim_is_approved_in_one_step(auditor, world):
    response = _post(auditor, f"claims/{world.mine.pk}/approve/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["approvals"]["approved_by"] == {"id": world.p.auditor.pk, "name": world.p.auditor.display_name}
    assert body["approvals"]["approved_at"] is not None and body["approvals"]["first_approved_by"] is None
    budget = auditor.get(f"{API}/budget/?version={world.version.pk}&year=2025").json()
    assert (budget["committed"], budget["remaining"]) == ("2000.00", "1998000.00")


def test_a_large_claim_needs_a_second_approver_who_is_not_the_first(client_for, auditor, world, second):
    first = _post(auditor, f"claims/{world.village.pk}/approve/")
    assert first.status_code == 200 and first.json()["status"] == "first_approved"
    again = _post(auditor, f"claims/{world.village.pk}/approve/")
    assert again.status_code == 403 and again.json()["code"] == "same_approver"
    final = _post(client_for(second), f"claims/{world.village.pk}/approve/")
    assert final.status_code == 200, final.content
    approvals = final.json()["approvals"]
    assert final.json()["status"] == "approved"
    assert (approvals["first_approved_by"]["id"], approvals["approved_by"]["id"]) == (world.p.auditor.pk, second.pk)


def test_reject_needs_a_reason_and_records_it(auditor, world):
    missing = _post(auditor, f"claims/{world.rival.pk}/reject/", {})
    assert missing.status_code == 400 and list(missing.json()["fields"]) == ["reason"]
    response = _post(auditor, f"claims/{world.rival.pk}/reject/", {"reason": "工资发放记录不完整"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected" and body["reasons"]["rejection"] == "工资发放记录不完整"
    assert body["approvals"]["rejected_by"]["id"] == world.p.auditor.pk
    twice = _post(auditor, f"claims/{world.rival.pk}/approve/")
    assert twice.status_code == 409 and twice.json()["code"] == "claim_state"


def test_a_case_amount_is_entered_by_one_and_approved_by_two_others(client_for, auditor, world, second):
    third = UserFactory(role=Role.AUDITOR, organisation=world.p.federation_org)
    case = make_claim(world.version, broker=world.p.rival_org, kind=rules.BROKER_REWARD_MACHINERY, amount=None,
                      is_case=True)
    early = _post(auditor, f"claims/{case.pk}/approve/")
    assert early.status_code == 409 and early.json()["code"] == "case_amount_required"
    entered = _post(auditor, f"claims/{case.pk}/case-amount/", {"amount": "12000.00", "reason": "县政府专题会议纪要"})
    assert entered.status_code == 200, entered.content
    assert (entered.json()["amount"], entered.json()["reasons"]["case"]) == ("12000.00", "县政府专题会议纪要")
    assert entered.json()["approvals"]["case_entered_by"]["id"] == world.p.auditor.pk
    author = _post(auditor, f"claims/{case.pk}/approve/")
    assert author.status_code == 403 and author.json()["code"] == "case_author_cannot_approve"
    assert _post(client_for(second), f"claims/{case.pk}/approve/").json()["status"] == "first_approved"
    assert _post(client_for(third), f"claims/{case.pk}/approve/").json()["status"] == "approved"


def test_a_computed_claims_amount_is_not_a_case(auditor, world):
    response = _post(auditor, f"claims/{world.mine.pk}/case-amount/", {"amount": "1.00", "reason": "x"})
    assert response.status_code == 409 and response.json()["code"] == "not_a_case"


def test_an_approval_over_the_budget_is_refused_with_what_remains(auditor, world):
    set_budget = auditor.put(f"{API}/budget/", {"version": world.version.pk, "year": 2025, "amount": "6000.00"},
                             format="json")
    assert set_budget.status_code == 200, set_budget.content
    assert set_budget.json()["budget"] == "6000.00" and set_budget.json()["remaining"] == "6000.00"
    assert _post(auditor, f"claims/{world.mine.pk}/approve/").status_code == 200  # 2,000 of 6,000
    response = _post(auditor, f"claims/{world.rival.pk}/approve/")  # 5,000 > 4,000 left
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "budget_exceeded"
    assert "4000.00" in body["message"] and "5000.00" in body["message"]
    assert Claim.objects.get(pk=world.rival.pk).status == S.COMPUTED
    budget = auditor.get(f"{API}/budget/?version={world.version.pk}&year=2025").json()
    assert (budget["committed"], budget["remaining"]) == ("2000.00", "4000.00")
    below = auditor.put(f"{API}/budget/", {"version": world.version.pk, "year": 2025, "amount": "1000.00"},
                        format="json")
    assert below.status_code == 409 and below.json()["code"] == "budget_below_committed"


def test_batch_approval_is_all_or_nothing(auditor, world):
    _post(auditor, f"claims/{world.rival.pk}/reject/", {"reason": "重复申报"})
    refused = _post(auditor, "claims/approve/", {"ids": [world.mine.pk, world.rival.pk]})
    assert refused.status_code == 409 and refused.json()["code"] == "claim_state"
    assert Claim.objects.get(pk=world.mine.pk).status == S.COMPUTED  # nothing approved
    other = make_claim(world.version, broker=world.p.rival_org, kind=rules.FREIGHT, amount=Decimal("300.00"))
    response = _post(auditor, "claims/approve/", {"ids": [world.mine.pk, other.pk, world.village.pk]})
    assert response.status_code == 200, response.content
    assert {row["id"]: row["status"] for row in response.json()} == {
        world.mine.pk: "approved", other.pk: "approved", world.village.pk: "first_approved"}


def test_evaluations_are_requested_and_checked(auditor, world):
    response = _post(auditor, "evaluations/", {"version": world.version.pk, "period": "year",
                                               "period_start": "2025-01-01"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["simulation"], body["requested_by"]["id"]) == ("queued", False, world.p.auditor.pk)
    again = _post(auditor, "evaluations/", {"version": world.version.pk, "period": "year",
                                            "period_start": "2025-01-01"})
    assert again.json()["id"] == body["id"]  # one queued run of a version and period
    wrong = _post(auditor, "evaluations/", {"version": world.version.pk, "period": "year",
                                            "period_start": "2025-03-01"})
    assert wrong.status_code == 400, wrong.content
    assert Evaluation.objects.filter(status=Evaluation.Status.QUEUED).count() == 1
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.EVALUATE)
    assert _post(auditor, "claims/approve/", {"ids": [world.mine.pk]}).status_code == 200
    trail = auditor.get(f"{API}/audit/?object_type=evaluation").json()["results"]
    assert [row["id"] for row in trail] == [event.pk]


def test_a_payment_batch_is_opened_exported_and_paid(auditor, world):
    assert _post(auditor, f"claims/{world.mine.pk}/approve/").status_code == 200
    early = _post(auditor, "payment-batches/", {"claims": [world.rival.pk]})
    assert early.status_code == 409 and early.json()["code"] == "claim_state"
    opened = _post(auditor, "payment-batches/", {"claims": [world.mine.pk]})
    assert opened.status_code == 201, opened.content
    batch = opened.json()
    assert (batch["status"], batch["total"], batch["claim_count"]) == ("open", "2000.00", 1)
    assert [c["id"] for c in batch["claims"]] == [world.mine.pk]
    export = auditor.get(f"{API}/payment-batches/{batch['id']}/bank-file/")
    assert export.status_code == 200 and export["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in export["Content-Disposition"]
    text = export.content.decode("utf-8-sig")
    assert "建明服装厂" in text and "2000.00" in text
    assert auditor.head(f"{API}/payment-batches/{batch['id']}/bank-file/").status_code == 200  # not an export
    exported = auditor.get(f"{API}/audit/?object_type=payment_batch&object_id={batch['id']}&action=export").json()
    assert [(e["action"], e["after"]["format"], e["after"]["total"]) for e in exported["results"]
            if e["after"].get("format") == "bank_csv"] == [("export", "bank_csv", "2000.00")]
    paid = _post(auditor, f"payment-batches/{batch['id']}/paid/", {"bank_reference": "ZJ-2026-0001",
                                                                   "paid_on": "2026-03-10"})
    assert paid.status_code == 200, paid.content
    assert (paid.json()["status"], paid.json()["bank_reference"]) == ("paid", "ZJ-2026-0001")
    assert paid.json()["claims"][0]["status"] == "paid"
    other = _post(auditor, f"payment-batches/{batch['id']}/paid/", {"bank_reference": "ZJ-OTHER",
                                                                    "paid_on": "2026-03-10"})
    assert other.status_code == 409 and other.json()["code"] == "batch_already_paid"
    actions = {row["action"] for row in auditor.get(f"{API}/audit/?object_type=claim&object_id={world.mine.pk}")
               .json()["results"]}
    assert actions == {"approve", "pay"}
