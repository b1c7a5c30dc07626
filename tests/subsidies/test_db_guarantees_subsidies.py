"""The subsidies' guarantees hold against raw SQL, on SQLite and on PostgreSQL (the CI runs this
module on both): four eyes and the fund's ceiling (the models' CHECK constraints), and the
triggers of migration 0003 — the audit trail append-only, a version frozen once it has claims,
a claim's computed facts fixed, its status only moving forward, its evidence insert-only. Each
attack is refused and leaves its rows as they were; the service paths still work."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Role
from subsidies.models import AuditEvent, Claim, ClaimEvidence, Fund, PolicyVersion, Rule
from subsidies.services import review

from ..factories import UserFactory
from .factories import active_version, make_claim, policy_for

D = Decimal
S = Claim.Status

pytestmark = pytest.mark.django_db


def run(sql: str, params=()) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refused(sql: str, params=(), *, because: str) -> None:
    """The statement fails, for the reason named (a constraint name or the trigger's words)."""
    with pytest.raises(DatabaseError) as exc:
        run(sql, params)
    assert because in str(exc.value), str(exc.value)


def row(table: str, pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed table names
        return tuple(cursor.fetchone() or ())


class World:
    def __init__(self, personas):
        self.p = personas
        self.policy = policy_for(personas.home["county"], fund_owner=personas.federation_org, budget=D("100000"))
        self.version = active_version(self.policy)
        self.second = UserFactory(role=Role.AUDITOR, organisation=personas.federation_org)

    def claim(self, amount=D("2000.00"), **kw):
        kw.setdefault("broker", self.p.broker_org)
        return make_claim(self.version, amount=amount, **kw)

    def approved(self, amount=D("2000.00")):
        claim = self.claim(amount)
        review.approve(actor=self.p.auditor, claim_id=claim.pk)
        if amount > self.version.second_approval_over:
            review.approve(actor=self.second, claim_id=claim.pk)
        claim.refresh_from_db()
        return claim


@pytest.fixture
def world(personas):
    return World(personas)


# --- four eyes and the fund (CHECK constraints) ----------------------------------------------------

def test_the_first_approver_cannot_be_the_second_by_sql(world):
    claim = world.claim(D("9000.00"))
    review.approve(actor=world.p.auditor, claim_id=claim.pk)
    before = row("subsidies_claim", claim.pk)
    refused("UPDATE subsidies_claim SET status = 'approved', approved_by_id = first_approved_by_id, "
            "approved_at = first_approved_at WHERE id = %s", [claim.pk], because="claim_two_different_approvers")
    assert row("subsidies_claim", claim.pk) == before


def test_a_large_claim_cannot_skip_the_second_approval_by_sql(world):
    claim = world.claim(D("9000.00"))
    refused("UPDATE subsidies_claim SET status = 'approved', approved_by_id = %s WHERE id = %s",
            [world.p.auditor.pk, claim.pk], because="claim_committed_second_approval")
    # the flag itself is a computed fact (the 0003 trigger); an amount raised over the threshold
    # without it, while the claim is computed, is the CHECK's to refuse
    refused("UPDATE subsidies_claim SET needs_second_approval = %s WHERE id = %s", [False, claim.pk],
            because="computed facts of a claim")
    small = world.claim(D("100.00"))
    refused("UPDATE subsidies_claim SET amount = 5000.01 WHERE id = %s", [small.pk],
            because="claim_large_needs_second")
    refused("UPDATE subsidies_claim SET amount = -5000.01 WHERE id = %s", [small.pk],
            because="claim_large_needs_second")


def test_the_case_author_approves_neither_step_by_sql(world):
    claim = world.claim(None, is_case=True)
    review.enter_case_amount(actor=world.p.auditor, claim_id=claim.pk, amount=D("20000"), reason="minute 3")
    refused("UPDATE subsidies_claim SET status = 'first_approved', first_approved_by_id = case_entered_by_id "
            "WHERE id = %s", [claim.pk], because="claim_case_author_approves_neither")
    review.approve(actor=world.second, claim_id=claim.pk)
    refused("UPDATE subsidies_claim SET status = 'approved', approved_by_id = case_entered_by_id WHERE id = %s",
            [claim.pk], because="claim_case_author_approves_neither")
    claim.refresh_from_db()
    assert claim.status == S.FIRST_APPROVED and claim.approved_by_id is None


def test_the_fund_is_never_overspent_by_sql(world):
    world.approved()
    fund = Fund.objects.get(version=world.version, year=2025)
    refused("UPDATE subsidies_fund SET committed = budget + 0.01 WHERE id = %s", [fund.pk],
            because="fund_never_overspent")
    refused("UPDATE subsidies_fund SET budget = 1999.99 WHERE id = %s", [fund.pk], because="fund_never_overspent")
    fund.refresh_from_db()
    assert (fund.budget, fund.committed) == (D("100000.00"), D("2000.00"))


# --- the audit trail -----------------------------------------------------------------------------------

def test_the_audit_trail_is_append_only(world):
    world.approved()
    event = AuditEvent.objects.get(action=AuditEvent.Action.APPROVE)
    before = row("subsidies_auditevent", event.pk)
    refused("UPDATE subsidies_auditevent SET actor_id = NULL WHERE id = %s", [event.pk], because="append-only")
    refused("UPDATE subsidies_auditevent SET after = '{}' WHERE id = %s", [event.pk], because="append-only")
    refused("DELETE FROM subsidies_auditevent WHERE id = %s", [event.pk], because="append-only")
    assert row("subsidies_auditevent", event.pk) == before
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- a version with claims is frozen ----------------------------------------------------------------------

def test_a_versions_rules_are_frozen_once_it_has_claims(world):
    rule = world.version.rules.get(kind="broker_reward_general")
    # before any claim the rules may still change (the data migration's and a draft's state)
    assert run("UPDATE subsidies_rule SET enabled = %s WHERE id = %s", [True, rule.pk]) == 1
    world.claim()
    before = row("subsidies_rule", rule.pk)
    refused("UPDATE subsidies_rule SET parameters = '{}' WHERE id = %s", [rule.pk], because="rules are frozen")
    refused("UPDATE subsidies_rule SET enabled = %s WHERE id = %s", [False, rule.pk], because="rules are frozen")
    refused("DELETE FROM subsidies_rule WHERE id = %s", [rule.pk], because="rules are frozen")
    assert row("subsidies_rule", rule.pk) == before
    # a draft copy, which has no claims, is edited freely; its rules cannot move into the frozen one
    draft = PolicyVersion.objects.create(policy=world.policy, number=2, annual_budget=D("1"))
    draft_rule = Rule.objects.create(version=draft, kind="broker_reward_general", parameters={})
    assert run("UPDATE subsidies_rule SET parameters = '{\"a\": 1}' WHERE id = %s", [draft_rule.pk]) == 1
    refused("UPDATE subsidies_rule SET version_id = %s WHERE id = %s", [world.version.pk, draft_rule.pk],
            because="rules are frozen")
    assert run("DELETE FROM subsidies_rule WHERE id = %s", [draft_rule.pk]) == 1


def test_a_rule_cannot_be_added_to_a_version_with_claims(world):
    # every kind already has a rule in the loaded version: use a version with one rule and a claim
    other = PolicyVersion.objects.create(policy=world.policy, number=3, annual_budget=D("1000"))
    rule = Rule.objects.create(version=other, kind="broker_reward_general", parameters={})
    make_claim(other, broker=world.p.broker_org)
    refused("INSERT INTO subsidies_rule (version_id, kind, parameters, enabled) VALUES (%s, 'freight', '{}', %s)",
            [other.pk, True], because="rules are frozen")
    assert list(other.rules.values_list("pk", flat=True)) == [rule.pk]


def test_a_versions_budget_threshold_and_start_are_frozen_but_it_can_retire(world):
    world.claim()
    before = row("subsidies_policyversion", world.version.pk)
    for assignment in ("annual_budget = 1", "second_approval_over = 1", "effective_from = '2010-01-01'"):
        refused(f"UPDATE subsidies_policyversion SET {assignment} WHERE id = %s", [world.version.pk],
                because="its budget, threshold and start date are frozen")
    assert row("subsidies_policyversion", world.version.pk) == before
    # retirement: a successor's activation ends it
    assert run("UPDATE subsidies_policyversion SET status = 'retired', effective_to = '2026-12-31' WHERE id = %s",
               [world.version.pk]) == 1
    world.version.refresh_from_db()
    assert (world.version.status, world.version.effective_to) == ("retired", dt.date(2026, 12, 31))
    # a version without claims is still edited
    draft = PolicyVersion.objects.create(policy=world.policy, number=2, annual_budget=D("1"))
    assert run("UPDATE subsidies_policyversion SET annual_budget = 500000 WHERE id = %s", [draft.pk]) == 1


# --- a claim's facts and its forward-only status ---------------------------------------------------------------

FACT_ATTACKS = [
    ("inputs", "inputs = '{{\"wages\": \"999999\"}}'"),
    ("steps", "steps = '[{{\"step\": 1}}]'"),
    ("computed amount", "computed_amount = 1"),
    ("fingerprint", "fingerprint = 'forged'"),
    ("beneficiary", "broker_id = NULL, village_id = {village}"),
    ("period", "period_start = '2024-01-01'"),
    ("fund year", "fund_year = 2024"),
    ("key", "key = 'forged'"),
    ("subject", "subject = 'forged'"),
    ("kind", "kind = 'freight'"),
    ("second approver needed", "needs_second_approval = {true}"),
    ("case", "is_case = {true}"),
]


@pytest.mark.parametrize("what, assignment", FACT_ATTACKS, ids=[a for a, _ in FACT_ATTACKS])
def test_a_claims_computed_facts_never_change(world, what, assignment):
    claim = world.claim()
    sql = assignment.format(village=world.p.home["village"].pk, true="TRUE" if connection.vendor == "postgresql"
                            else "1")
    before = row("subsidies_claim", claim.pk)
    refused(f"UPDATE subsidies_claim SET {sql} WHERE id = %s", [claim.pk], because="computed facts of a claim")
    assert row("subsidies_claim", claim.pk) == before


def test_a_claims_amount_changes_only_while_computed(world):
    claim = world.claim(None, is_case=True)
    assert run("UPDATE subsidies_claim SET amount = 100 WHERE id = %s", [claim.pk]) == 1  # the case entry
    approved = world.approved()
    refused("UPDATE subsidies_claim SET amount = 1 WHERE id = %s", [approved.pk], because="only while it is computed")
    big = world.claim(D("9000.00"))
    review.approve(actor=world.p.auditor, claim_id=big.pk)
    refused("UPDATE subsidies_claim SET amount = 9000.01 WHERE id = %s", [big.pk], because="only while it is computed")
    refused("UPDATE subsidies_claim SET case_reason = 'rewritten' WHERE id = %s", [big.pk],
            because="only while it is computed")
    approved.refresh_from_db()
    assert approved.amount == D("2000.00")


def test_a_claims_status_only_moves_forward(world):
    approved = world.approved()
    for status in ("computed", "first_approved", "rejected", "superseded"):
        refused(f"UPDATE subsidies_claim SET status = '{status}', reject_reason = 'x' WHERE id = %s", [approved.pk],
                because="only moves forward")
    rejected = world.claim()
    review.reject(actor=world.p.auditor, claim_id=rejected.pk, reason="duplicate")
    for status in ("computed", "superseded"):
        refused(f"UPDATE subsidies_claim SET status = '{status}' WHERE id = %s", [rejected.pk],
                because="only moves forward")
    superseded = world.claim()
    assert run("UPDATE subsidies_claim SET status = 'superseded', superseded_at = %s WHERE id = %s",
               [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), superseded.pk]) == 1
    refused("UPDATE subsidies_claim SET status = 'computed' WHERE id = %s", [superseded.pk],
            because="only moves forward")
    assert Claim.objects.get(pk=approved.pk).status == S.APPROVED
    assert Claim.objects.get(pk=rejected.pk).status == S.REJECTED


def test_who_approved_a_claim_and_its_postings_are_set_once(world):
    approved = world.approved()
    before = row("subsidies_claim", approved.pk)
    refused("UPDATE subsidies_claim SET approved_by_id = %s WHERE id = %s", [world.second.pk, approved.pk],
            because="set once")
    refused("UPDATE subsidies_claim SET approval_ledger_id = NULL WHERE id = %s", [approved.pk], because="set once")
    assert row("subsidies_claim", approved.pk) == before


def test_claims_are_never_deleted(world):
    claim = world.claim()
    refused("DELETE FROM subsidies_claim WHERE id = %s", [claim.pk], because="never deleted")
    assert Claim.objects.filter(pk=claim.pk).exists()


def test_evidence_is_insert_only(world):
    claim = world.claim()
    evidence = ClaimEvidence.objects.create(claim=claim, kind=ClaimEvidence.Kind.PAYSLIP, object_id=7,
                                            amount=D("1500.00"))
    before = row("subsidies_claimevidence", evidence.pk)
    refused("UPDATE subsidies_claimevidence SET amount = 99999 WHERE id = %s", [evidence.pk], because="insert-only")
    refused("UPDATE subsidies_claimevidence SET object_id = 8 WHERE id = %s", [evidence.pk], because="insert-only")
    refused("DELETE FROM subsidies_claimevidence WHERE id = %s", [evidence.pk], because="insert-only")
    assert row("subsidies_claimevidence", evidence.pk) == before


# --- the legitimate paths still work under the guards --------------------------------------------------------------

def test_the_service_paths_pass_the_guards(world):
    big = world.claim(D("9000.00"))
    case = world.claim(None, is_case=True)
    small = world.claim(D("100.00"))
    doomed = world.claim(D("50.00"))
    review.enter_case_amount(actor=world.p.auditor, claim_id=case.pk, amount=D("12000"), reason="minute 9")
    review.enter_case_amount(actor=world.p.auditor, claim_id=case.pk, amount=D("12500"), reason="minute 9, revised")
    review.approve_many(actor=world.p.auditor, claim_ids=[big.pk, small.pk])
    review.approve(actor=world.second, claim_id=case.pk)
    review.approve(actor=world.second, claim_id=big.pk)
    review.approve(actor=world.p.admin, claim_id=case.pk)
    review.reject(actor=world.p.auditor, claim_id=doomed.pk, reason="no longer in business")
    batch = review.open_payment_batch(actor=world.p.auditor, claim_ids=[big.pk, case.pk, small.pk])
    review.set_budget(actor=world.p.auditor, version_id=world.version.pk, year=2025, amount=D("50000"))
    with time_machine.travel(batch.created_at, tick=False):
        review.mark_batch_paid(actor=world.p.auditor, batch_id=batch.pk, bank_reference="FIN-2026-001",
                               paid_on=timezone.localdate(batch.created_at))
    statuses = dict(Claim.objects.filter(pk__in=[big.pk, case.pk, small.pk, doomed.pk]).values_list("pk", "status"))
    assert statuses == {big.pk: S.PAID, case.pk: S.PAID, small.pk: S.PAID, doomed.pk: S.REJECTED}
    assert Fund.objects.get(version=world.version, year=2025).committed == D("21600.00")
    # two case entries, five approvals, a rejection, the batch, the budget, three claims and the batch paid
    assert AuditEvent.objects.count() == 14


def test_saving_a_claim_unchanged_passes_the_guards(world):
    # code elsewhere may save a whole row (every column written back): nothing changes, nothing is refused
    base = world.claim()
    fields = {f.attname: getattr(base, f.attname) for f in Claim._meta.concrete_fields if f.name != "id"}
    claim = Claim.objects.create(**fields | {
        "key": base.key + ":copy", "subject": base.subject + ":copy", "amount": D("1234.56"),
        "computed_amount": D("1234.56"), "inputs": {"wages_issued": "200000.01", "workers": 101, "nested": {"a": [1]}},
        "steps": [{"step": "tier", "value": "2000"}]})
    review.approve(actor=world.p.auditor, claim_id=claim.pk)
    claim = Claim.objects.get(pk=claim.pk)
    claim.save()
    claim.rank = 3  # not a computed fact: the top villages' rank is written after the claims
    claim.save(update_fields=["rank"])
    assert Claim.objects.get(pk=claim.pk).rank == 3


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_still_empties_guarded_tables(world):
    # committed rows in every guarded table: the flush after this test (DELETE on SQLite with
    # the maintenance row set, TRUNCATE on PostgreSQL) must get past the guards
    claim = world.approved(D("9000.00"))
    ClaimEvidence.objects.create(claim=claim, kind=ClaimEvidence.Kind.BROKER, object_id=claim.broker_id)
    assert AuditEvent.objects.filter(object_id=claim.pk).count() == 2
    with pytest.raises(DatabaseError):
        run("DELETE FROM subsidies_claimevidence")
