"""Review of claims (services/review.py): the moves and their refusals, four eyes, case amounts,
the fund budget, the ledger postings and payment batches with their bank file. Amounts are exact
Decimals; the clock is fixed."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.utils import translation

from accounts.models import Organisation, Role
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from payments.models import Account, Entry, Transaction
from subsidies.models import AuditEvent, Claim, Fund
from subsidies.services import review

from ..factories import UserFactory
from .factories import active_version, make_claim, policy_for

D = Decimal
S = Claim.Status
P = Account.Purpose
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone.utc)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


class World:
    def __init__(self, personas, budget=D("100000")):
        self.p = personas
        self.policy = policy_for(personas.home["county"], fund_owner=personas.federation_org, budget=budget)
        self.version = active_version(self.policy)
        self.second = UserFactory(role=Role.AUDITOR, organisation=personas.federation_org)
        self.broker = personas.broker_org

    def claim(self, amount=D("2000.00"), **kw):
        kw.setdefault("broker", None if "village" in kw else self.broker)
        return make_claim(self.version, amount=amount, **kw)


@pytest.fixture
def world(personas):
    return World(personas)


def balance(purpose, organisation) -> Decimal:
    total = Entry.objects.filter(account__purpose=purpose, account__organisation=organisation).aggregate(
        s=Sum("amount"))["s"]
    return total if total is not None else D("0")


def refused(exc_info) -> str:
    return exc_info.value.code


# --- moves ---------------------------------------------------------------------------------------

def test_a_small_claim_is_approved_in_one_step_and_commits_the_fund(world):
    claim = world.claim(D("2000.00"))
    approved = review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert approved.status == S.APPROVED and approved.approved_by == world.p.auditor
    assert approved.first_approved_by is None
    fund = Fund.objects.get(version=world.version, year=2025)
    assert (fund.budget, fund.committed) == (D("100000.00"), D("2000.00"))
    assert review.budget_of(world.version, 2025) == {"year": 2025, "budget": D("100000.00"),
                                                     "committed": D("2000.00"), "remaining": D("98000.00"),
                                                     "pending": D("0")}
    event = AuditEvent.objects.get(object_type="claim", object_id=claim.pk, action=AuditEvent.Action.APPROVE)
    assert event.actor == world.p.auditor and event.county_id == world.policy.jurisdiction_id
    assert event.before["status"] == "computed" and event.after["status"] == "approved"
    assert event.after["amount"] == "2000.00" and event.after["approved_by"] == world.p.auditor.pk


def test_a_large_claim_needs_two_different_approvers(world):
    claim = world.claim(D("5000.01"))
    assert claim.needs_second_approval
    first = review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert first.status == S.FIRST_APPROVED and first.first_approved_by == world.p.auditor
    assert Fund.objects.filter(version=world.version).first() is None or \
        Fund.objects.get(version=world.version).committed == 0
    assert review.budget_of(world.version, 2025)["pending"] == D("5000.01")
    with pytest.raises(Forbidden) as exc:
        review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert refused(exc) == "same_approver"
    final = review.approve(actor=world.second, claim_id=claim.pk)
    assert final.status == S.APPROVED and final.approved_by == world.second
    assert Fund.objects.get(version=world.version, year=2025).committed == D("5000.01")
    actions = list(AuditEvent.objects.filter(object_id=claim.pk, object_type="claim").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["first_approve", "approve"]


def test_exactly_the_threshold_needs_one_approver(world):
    claim = world.claim(D("5000.00"))
    assert review.approve(actor=world.p.auditor, claim_id=claim.pk).status == S.APPROVED


def test_illegal_moves_are_refused_with_claim_state(world):
    approved = world.claim()
    review.approve(actor=world.p.auditor, claim_id=approved.pk)
    for move in (lambda: review.approve(actor=world.second, claim_id=approved.pk),
                 lambda: review.reject(actor=world.second, claim_id=approved.pk, reason="late")):
        with pytest.raises(DomainError) as exc:
            move()
        assert exc.value.status_code == 409 and refused(exc) == "claim_state"
    rejected = world.claim()
    review.reject(actor=world.p.auditor, claim_id=rejected.pk, reason="duplicate of another claim")
    with pytest.raises(DomainError) as exc:
        review.approve(actor=world.p.auditor, claim_id=rejected.pk)
    assert refused(exc) == "claim_state"
    superseded = world.claim(status=S.SUPERSEDED)
    with pytest.raises(DomainError) as exc:
        review.approve(actor=world.p.auditor, claim_id=superseded.pk)
    assert refused(exc) == "claim_state"


def test_reject_needs_a_reason_and_works_after_a_first_approval(world):
    claim = world.claim(D("8000.00"))
    review.approve(actor=world.p.auditor, claim_id=claim.pk)
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        review.reject(actor=world.second, claim_id=claim.pk, reason="   ")
    assert exc.value.status_code == 400 and refused(exc) == "reason_required" and "reason" in exc.value.fields
    rejected = review.reject(actor=world.second, claim_id=claim.pk, reason=" workers double counted ")
    assert rejected.status == S.REJECTED and rejected.reject_reason == "workers double counted"
    assert rejected.rejected_by == world.second
    event = AuditEvent.objects.get(object_id=claim.pk, action=AuditEvent.Action.REJECT)
    assert event.before["status"] == "first_approved" and event.after["reason"] == "workers double counted"


def test_another_countys_auditor_sees_no_claim_and_other_roles_are_refused(world):
    claim = world.claim()
    with pytest.raises(NotFound):
        review.approve(actor=world.p.other_auditor, claim_id=claim.pk)
    with pytest.raises(NotFound):
        review.reject(actor=world.p.other_auditor, claim_id=claim.pk, reason="x")
    with pytest.raises(Forbidden):
        review.approve(actor=world.p.broker, claim_id=claim.pk)
    with pytest.raises(NotFound):
        review.approve(actor=world.p.auditor, claim_id=claim.pk + 10_000)
    claim.refresh_from_db()
    assert claim.status == S.COMPUTED and not AuditEvent.objects.filter(object_id=claim.pk).exists()
    assert review.approve(actor=world.p.admin, claim_id=claim.pk).status == S.APPROVED


# --- case decisions ----------------------------------------------------------------------------------

def test_a_case_claim_needs_its_amount_and_its_author_approves_neither_step(world):
    third = UserFactory(role=Role.AUDITOR, organisation=world.p.federation_org)
    claim = world.claim(amount=None, is_case=True)
    with pytest.raises(DomainError) as exc:
        review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert exc.value.status_code == 409 and refused(exc) == "case_amount_required"
    with pytest.raises(ValidationFailed) as exc:
        review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount=D("30000"), reason="")
    assert refused(exc) == "reason_required"
    for bad in (D("0"), D("-5"), D("1.005"), "abc", 1.5):
        with pytest.raises(ValidationFailed) as exc:
            review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount=bad, reason="committee minute 7")
        assert "amount" in exc.value.fields
    entered = review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount="30000.5",
                                       reason="county committee minute 7")
    assert entered.amount == D("30000.50") and entered.computed_amount is None
    assert entered.case_entered_by == world.p.auditor and entered.case_entered_at == NOW
    assert entered.case_reason == "county committee minute 7"
    with pytest.raises(Forbidden) as exc:
        review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert refused(exc) == "case_author_cannot_approve"
    review.approve(actor=world.second, claim_id=claim.pk)
    with pytest.raises(Forbidden) as exc:
        review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert refused(exc) == "case_author_cannot_approve"
    with pytest.raises(DomainError) as exc:  # once reviewed, the amount is fixed
        review.enter_case_amount(actor=third, claim_id=claim.pk, amount=D("1"), reason="again")
    assert refused(exc) == "claim_state"
    final = review.approve(actor=third, claim_id=claim.pk)
    assert final.status == S.APPROVED and Fund.objects.get(version=world.version).committed == D("30000.50")
    event = AuditEvent.objects.get(object_id=claim.pk, action=AuditEvent.Action.ENTER_CASE_AMOUNT)
    assert event.before["amount"] is None and event.after["amount"] == "30000.50"


def test_a_case_amount_has_one_author(world):
    """A colleague cannot overwrite the amount: the first author, who did enter one, would then be
    free to approve it. The author herself may correct it while it is computed."""
    claim = world.claim(amount=None, is_case=True)
    review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount=D("1234.56"), reason="决定")
    with pytest.raises(DomainError) as exc:
        review.enter_case_amount(actor=world.second, claim_id=claim.pk, amount=D("1234.57"), reason="改")
    assert exc.value.status_code == 409 and refused(exc) == "case_amount_entered_by_other"
    corrected = review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount=D("1234.50"), reason="更正")
    assert (corrected.amount, corrected.case_entered_by) == (D("1234.50"), world.p.auditor)
    with pytest.raises(Forbidden):
        review.approve(actor=world.p.auditor, claim_id=claim.pk)


def test_only_a_case_claims_amount_is_entered(world):
    claim = world.claim()
    with pytest.raises(DomainError) as exc:
        review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount=D("1"), reason="x")
    assert exc.value.status_code == 409 and refused(exc) == "not_a_case"


# --- budget --------------------------------------------------------------------------------------------

def test_an_approval_beyond_the_budget_is_refused_naming_what_is_left(personas):
    world = World(personas, budget=D("5000"))
    first, second, third = world.claim(D("2000.00")), world.claim(D("2500.00")), world.claim(D("500.01"))
    review.approve(actor=world.p.auditor, claim_id=first.pk)
    review.approve(actor=world.p.auditor, claim_id=second.pk)
    with translation.override("en"), pytest.raises(DomainError) as exc:
        review.approve(actor=world.p.auditor, claim_id=third.pk)
    assert exc.value.status_code == 409 and refused(exc) == "budget_exceeded"
    assert exc.value.params["remaining"] == "500.00" and exc.value.remaining == D("500.00")
    assert "500.00" in exc.value.message and "500.01" in exc.value.message
    third.refresh_from_db()
    assert third.status == S.COMPUTED and third.approval_ledger is None
    assert review.budget_of(world.version, 2025) == {"year": 2025, "budget": D("5000.00"), "committed": D("4500.00"),
                                                     "remaining": D("500.00"), "pending": D("500.01")}
    # exactly what is left still fits
    last = world.claim(D("500.00"))
    review.approve(actor=world.p.auditor, claim_id=last.pk)
    assert Fund.objects.get(version=world.version, year=2025).committed == D("5000.00")


def test_a_negative_adjustment_gives_budget_back_and_posts_the_opposite(personas):
    world = World(personas, budget=D("5000"))
    original = world.claim(D("5000.00"))
    review.approve(actor=world.p.auditor, claim_id=original.pk)
    correction = world.claim(D("-3000.00"), is_adjustment=True, adjusts=original)
    review.approve(actor=world.p.auditor, claim_id=correction.pk)
    assert Fund.objects.get(version=world.version).committed == D("2000.00")
    assert balance(P.SUBSIDY_PAYABLE, world.broker) == D("-2000.00")
    assert balance(P.POLICY_FUND, world.p.federation_org) == D("2000.00")


def test_budgets_are_per_year(world):
    review.approve(actor=world.p.auditor, claim_id=world.claim(D("2000.00"), year=2025).pk)
    review.approve(actor=world.p.auditor, claim_id=world.claim(D("3000.00"), year=2026).pk)
    assert review.budget_of(world.version, 2025)["committed"] == D("2000.00")
    assert review.budget_of(world.version, 2026)["committed"] == D("3000.00")
    assert review.budget_of(world.version, 2027) == {"year": 2027, "budget": D("100000.00"), "committed": D("0.00"),
                                                     "remaining": D("100000.00"), "pending": D("0.00")}


def test_set_budget_never_below_committed(world):
    review.approve(actor=world.p.auditor, claim_id=world.claim(D("4000.00")).pk)
    with pytest.raises(DomainError) as exc:
        review.set_budget(actor=world.p.auditor, version_id=world.version.pk, year=2025, amount=D("3999.99"))
    assert exc.value.status_code == 409 and refused(exc) == "budget_below_committed"
    with pytest.raises(NotFound):
        review.set_budget(actor=world.p.other_auditor, version_id=world.version.pk, year=2025, amount=D("9000"))
    fund = review.set_budget(actor=world.p.auditor, version_id=world.version.pk, year=2025, amount=D("4000.00"))
    assert (fund.budget, fund.committed) == (D("4000.00"), D("4000.00"))
    with pytest.raises(DomainError) as exc:
        review.approve(actor=world.p.auditor, claim_id=world.claim(D("0.01")).pk)
    assert refused(exc) == "budget_exceeded" and exc.value.params["remaining"] == "0.00"
    event = AuditEvent.objects.get(action=AuditEvent.Action.SET_BUDGET)
    assert event.before["budget"] == "100000.00" and event.after["budget"] == "4000.00"
    # another year's fund is set without touching this one
    review.set_budget(actor=world.p.auditor, version_id=world.version.pk, year=2026, amount=D("7000"))
    assert review.budget_of(world.version, 2026)["budget"] == D("7000.00")
    assert review.budget_of(world.version, 2025)["budget"] == D("4000.00")


# --- approve_many ----------------------------------------------------------------------------------------

def test_approve_many_is_all_or_nothing(personas):
    world = World(personas, budget=D("5000"))
    claims = [world.claim(D("2000.00")) for _ in range(3)]
    with pytest.raises(DomainError) as exc:
        review.approve_many(actor=world.p.auditor, claim_ids=[c.pk for c in reversed(claims)])
    assert refused(exc) == "budget_exceeded"
    assert set(Claim.objects.filter(pk__in=[c.pk for c in claims]).values_list("status", flat=True)) == {S.COMPUTED}
    assert review.budget_of(world.version, 2025)["committed"] == 0
    assert not Transaction.objects.filter(idempotency_key__startswith="subsidy:").exists()
    assert not AuditEvent.objects.filter(object_type="claim").exists()
    done = review.approve_many(actor=world.p.auditor, claim_ids=[claims[1].pk, claims[0].pk, claims[1].pk])
    assert [c.pk for c in done] == [claims[0].pk, claims[1].pk] and {c.status for c in done} == {S.APPROVED}
    assert Fund.objects.get(version=world.version).committed == D("4000.00")


def test_approve_many_mixes_first_and_final_approvals(world):
    small, large = world.claim(D("100.00")), world.claim(D("9000.00"))
    done = review.approve_many(actor=world.p.auditor, claim_ids=[small.pk, large.pk])
    assert [c.status for c in done] == [S.APPROVED, S.FIRST_APPROVED]
    with pytest.raises(Forbidden):
        review.approve_many(actor=world.p.auditor, claim_ids=[large.pk])
    assert review.approve_many(actor=world.second, claim_ids=[large.pk])[0].status == S.APPROVED


# --- ledger ------------------------------------------------------------------------------------------------

def test_final_approval_posts_fund_to_payable_once(world):
    claim = world.claim(D("2000.00"))
    approved = review.approve(actor=world.p.auditor, claim_id=claim.pk)
    posting = approved.approval_ledger
    assert posting.idempotency_key == f"subsidy:claim:{claim.pk}:approve"
    lines = {(e.account.purpose, e.account.organisation_id): e.amount.amount for e in posting.entries.all()}
    assert lines == {(P.POLICY_FUND, world.p.federation_org.pk): D("2000.00"),
                     (P.SUBSIDY_PAYABLE, world.broker.pk): D("-2000.00")}


def test_first_approval_posts_nothing(world):
    claim = world.claim(D("6000.00"))
    review.approve(actor=world.p.auditor, claim_id=claim.pk)
    assert not Transaction.objects.filter(idempotency_key__startswith="subsidy:").exists()


def test_a_village_award_is_payable_to_its_committee_made_on_first_use(personas):
    world = World(personas)
    village = personas.home["village"]
    first = world.claim(D("3000.00"), village=village, kind="new_professional_village")
    review.approve(actor=world.p.auditor, claim_id=first.pk)
    committee = Organisation.objects.get(kind=Organisation.Kind.VILLAGE_COMMITTEE, jurisdiction=village)
    assert committee.name == "遂昌县某村委会"
    second = world.claim(D("1000.00"), village=village)
    review.approve(actor=world.p.auditor, claim_id=second.pk)
    assert Organisation.objects.filter(kind=Organisation.Kind.VILLAGE_COMMITTEE).count() == 1
    assert balance(P.SUBSIDY_PAYABLE, committee) == D("-4000.00")


def test_without_a_fund_owner_the_countys_federation_holds_the_fund(personas):
    policy = policy_for(personas.home["county"], budget=D("10000"))
    assert policy.fund_owner is None
    claim = make_claim(active_version(policy), broker=personas.broker_org, amount=D("700.00"))
    review.approve(actor=personas.auditor, claim_id=claim.pk)
    assert balance(P.POLICY_FUND, personas.federation_org) == D("700.00")


# --- payment ----------------------------------------------------------------------------------------------

def _approved(world, amounts, **kw):
    claims = [world.claim(a, **kw) for a in amounts]
    review.approve_many(actor=world.p.auditor, claim_ids=[c.pk for c in claims])
    return claims


def test_a_batch_is_paid_once_and_settles_the_payables(world):
    village = world.p.home["village"]
    claims = _approved(world, [D("2000.00"), D("3000.00")]) + _approved(world, [D("1500.50")], village=village)
    batch = review.open_payment_batch(actor=world.p.auditor, claim_ids=[c.pk for c in claims])
    assert batch.total == D("6500.50") and batch.status == "open"
    assert set(batch.claims.values_list("pk", flat=True)) == {c.pk for c in claims}
    with pytest.raises(DomainError) as exc:
        review.open_payment_batch(actor=world.p.auditor, claim_ids=[claims[0].pk])
    assert refused(exc) == "claim_in_batch"

    with pytest.raises(ValidationFailed) as exc:
        review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference="B1",
                               paid_on=dt.date(2026, 3, 11))
    assert "paid_on" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference="B1",
                               paid_on=dt.date(2026, 3, 9))
    assert "paid_on" in exc.value.fields
    paid = review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference="B1",
                                  paid_on=dt.date(2026, 3, 10))
    assert paid.status == "paid" and paid.paid_on == dt.date(2026, 3, 10) and paid.paid_by == world.p.auditor
    rows = Claim.objects.filter(payment_batch=batch)
    assert set(rows.values_list("status", flat=True)) == {S.PAID}
    assert set(rows.values_list("paid_at", flat=True)) == {NOW}
    posting = Transaction.objects.get(idempotency_key=f"subsidy:batch:{batch.pk}:paid")
    assert set(rows.values_list("payment_ledger", flat=True)) == {posting.pk}
    committee = Organisation.objects.get(kind=Organisation.Kind.VILLAGE_COMMITTEE)
    lines = {(e.account.purpose, e.account.organisation_id): e.amount.amount for e in posting.entries.all()}
    assert lines == {(P.SUBSIDY_PAYABLE, world.broker.pk): D("5000.00"),
                     (P.SUBSIDY_PAYABLE, committee.pk): D("1500.50"),
                     (P.POLICY_FUND_BANK, world.p.federation_org.pk): D("-6500.50")}
    assert balance(P.SUBSIDY_PAYABLE, world.broker) == 0 and balance(P.SUBSIDY_PAYABLE, committee) == 0
    # paid claims still count against the fund
    assert Fund.objects.get(version=world.version).committed == D("6500.50")

    # a retry with the same data answers with the batch; different data is refused
    again = review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference=" B1 ",
                                   paid_on=dt.date(2026, 3, 10))
    assert again.pk == batch.pk
    assert Transaction.objects.filter(idempotency_key__startswith="subsidy:batch:").count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PAY).count() == len(claims) + 1
    with pytest.raises(DomainError) as exc:
        review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference="B2",
                               paid_on=dt.date(2026, 3, 10))
    assert exc.value.status_code == 409 and refused(exc) == "batch_already_paid"
    with pytest.raises(DomainError) as exc:
        review.approve(actor=world.second, claim_id=claims[0].pk)
    assert refused(exc) == "claim_state"


def test_a_batch_takes_only_approved_claims_of_one_policy_and_county(personas):
    world = World(personas)
    computed = world.claim()
    [approved] = _approved(world, [D("10.00")])
    with pytest.raises(DomainError) as exc:
        review.open_payment_batch(actor=world.p.auditor, claim_ids=[approved.pk, computed.pk])
    assert refused(exc) == "claim_state"
    other = policy_for(personas.away["county"], fund_owner=personas.other_federation_org)
    foreign = make_claim(active_version(other), broker=personas.rival_org, amount=D("10.00"))
    review.approve(actor=personas.other_auditor, claim_id=foreign.pk)
    with pytest.raises(NotFound):
        review.open_payment_batch(actor=world.p.auditor, claim_ids=[approved.pk, foreign.pk])
    with pytest.raises(DomainError) as exc:
        review.open_payment_batch(actor=world.p.admin, claim_ids=[approved.pk, foreign.pk])
    assert refused(exc) == "batch_mixed"
    with pytest.raises(ValidationFailed):
        review.open_payment_batch(actor=world.p.auditor, claim_ids=[])
    assert not Claim.objects.filter(payment_batch__isnull=False).exists()


def test_the_bank_file_lists_each_claim_with_the_brokers_bank_details(world):
    profile = world.broker.broker_profile
    profile.bank_name, profile.bank_account, profile.account_holder = "遂昌农商银行", "6228000011112222", "=张建明"
    profile.save()
    village = world.p.home["village"]
    claims = _approved(world, [D("2000.00")]) + _approved(world, [D("800.00")], village=village)
    batch = review.open_payment_batch(actor=world.p.auditor, claim_ids=[c.pk for c in claims])
    data = review.bank_file(batch)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [review.BANK_FILE_HEADER,
                    [world.broker.name, "'=张建明", "遂昌农商银行", "6228000011112222", "2000.00", claims[0].key],
                    ["遂昌县某村委会", "", "", "", "800.00", claims[1].key]]


def test_marking_paid_needs_a_bank_reference_and_the_batchs_county(world):
    [claim] = _approved(world, [D("10.00")])
    batch = review.open_payment_batch(actor=world.p.auditor, claim_ids=[claim.pk])
    with pytest.raises(NotFound):
        review.mark_batch_paid(actor=world.p.other_auditor, batch_id=batch.pk, bank_reference="B1",
                               paid_on=dt.date(2026, 3, 10))
    with pytest.raises(ValidationFailed) as exc:
        review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference="  ",
                               paid_on=dt.date(2026, 3, 10))
    assert "bank_reference" in exc.value.fields
    batch.refresh_from_db()
    claim.refresh_from_db()
    assert batch.status == "open" and claim.status == S.APPROVED and claim.payment_ledger is None
    event = AuditEvent.objects.get(object_type="payment_batch", object_id=batch.pk)
    assert event.action == AuditEvent.Action.EXPORT and event.after == {"status": "open", "total": "10.00",
                                                                       "claims": [claim.pk]}
