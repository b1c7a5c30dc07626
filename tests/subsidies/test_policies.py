"""Drafting and activating policy versions (services): a draft is an exact copy; only drafts are
edited (409 `version_not_draft` otherwise); parameters are checked by the rules module and every
bad one named; activation retires the version in force the day before; every action is audited
with before and after; a village's status decision is audited through the signal."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from brokers import services as broker_services
from core.errors import Conflict, Forbidden, ValidationFailed
from subsidies import rules
from subsidies.models import AuditEvent, PolicyVersion, Rule
from subsidies.services import policies

from .factories import active_version, make_claim, policy_for

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
D = Decimal


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def policy(personas, clock):
    return policy_for(personas.home["county"])


@pytest.fixture
def v1(policy):
    return active_version(policy)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- drafting -------------------------------------------------------------------------------------

def test_a_draft_is_an_exact_copy_numbered_after_the_highest(personas, v1):
    v1.annual_budget, v1.second_approval_over = D("1500000.00"), D("8000.00")
    v1.save()
    Rule.objects.filter(version=v1, kind=rules.FREIGHT).update(enabled=False)

    draft = policies.draft_version(actor=personas.auditor, from_version_id=v1.pk)

    assert (draft.number, draft.status, draft.copied_from_id) == (2, PolicyVersion.Status.DRAFT, v1.pk)
    assert (draft.annual_budget, draft.second_approval_over) == (D("1500000.00"), D("8000.00"))
    assert (draft.effective_from, draft.effective_to, draft.created_by) == (None, None, personas.auditor)
    copied = {r.kind: (r.parameters, r.enabled) for r in draft.rules.all()}
    original = {r.kind: (r.parameters, r.enabled) for r in v1.rules.all()}
    assert copied == original and len(copied) == len(rules.RULE_KINDS)
    assert copied[rules.FREIGHT][1] is False
    # the copy is its own: changing the draft's parameters leaves the original alone
    assert set(draft.rules.values_list("pk", flat=True)).isdisjoint(v1.rules.values_list("pk", flat=True))
    [event] = events("draft_version")
    assert (event.actor, event.object_type, event.object_id, event.county_id) == (
        personas.auditor, "policy_version", draft.pk, personas.home["county"].pk)
    assert event.before["copied_from"] == v1.pk and event.before["number"] == 1
    assert event.after == {"number": 2, "status": "draft", "effective_from": None, "effective_to": None,
                           "annual_budget": "1500000.00", "second_approval_over": "8000.00", "note": ""}


def test_drafts_are_numbered_one_after_another_from_any_version(personas, v1):
    second = policies.draft_version(actor=personas.auditor, from_version_id=v1.pk)
    third = policies.draft_version(actor=personas.admin, from_version_id=second.pk)
    assert (second.number, third.number, third.copied_from_id) == (2, 3, second.pk)


def test_only_the_countys_staff_draft(personas, v1):
    for outsider in (personas.other_auditor, personas.broker, personas.firm, personas.worker):
        with pytest.raises(Forbidden):
            policies.draft_version(actor=outsider, from_version_id=v1.pk)
    assert PolicyVersion.objects.filter(policy=v1.policy).count() == 1
    assert not events("draft_version")


# --- editing a draft --------------------------------------------------------------------------------

@pytest.fixture
def draft(personas, v1):
    return policies.draft_version(actor=personas.auditor, from_version_id=v1.pk)


def test_editing_a_draft_records_before_and_after(personas, draft):
    policies.edit_draft(actor=personas.auditor, version_id=draft.pk,
                        data={"annual_budget": D("2500000.50"), "note": "2027 修订", "second_approval_over": D("5000")})

    draft.refresh_from_db()
    assert (draft.annual_budget, draft.second_approval_over, draft.note) == (D("2500000.50"), D("5000.00"), "2027 修订")
    [event] = events("edit_draft")
    # the threshold did not change (5000 = 5000.00): only what changed is recorded
    assert event.before == {"annual_budget": "2000000.00", "note": ""}
    assert event.after == {"annual_budget": "2500000.50", "note": "2027 修订"}
    assert (event.object_type, event.object_id) == ("policy_version", draft.pk)


def test_a_drafts_budget_is_at_most_what_a_years_budget_may_be(personas, draft):
    policies.edit_draft(actor=personas.auditor, version_id=draft.pk, data={"annual_budget": D("100000000.00")})
    with pytest.raises(ValidationFailed) as refused:
        policies.edit_draft(actor=personas.auditor, version_id=draft.pk, data={"annual_budget": D("100000000.01")})
    assert list(refused.value.fields) == ["annual_budget"]
    draft.refresh_from_db()
    assert draft.annual_budget == D("100000000.00")


@pytest.mark.parametrize("field, value", [("annual_budget", D("-1")), ("annual_budget", D("1.005")),
                                          ("second_approval_over", D("-0.01"))])
def test_a_draft_refuses_negative_or_too_precise_amounts(personas, draft, field, value):
    with pytest.raises(ValidationFailed) as refused:
        policies.edit_draft(actor=personas.auditor, version_id=draft.pk, data={field: value})
    assert list(refused.value.fields) == [field]
    assert not events("edit_draft")


@pytest.mark.parametrize("status", [PolicyVersion.Status.ACTIVE, PolicyVersion.Status.RETIRED])
def test_only_a_draft_is_edited(personas, v1, status):
    PolicyVersion.objects.filter(pk=v1.pk).update(status=status)
    with pytest.raises(Conflict) as refused:
        policies.edit_draft(actor=personas.auditor, version_id=v1.pk, data={"annual_budget": D("1")})
    assert refused.value.code == "version_not_draft"
    v1.refresh_from_db()
    assert v1.annual_budget == D("2000000.00")
    assert not events("edit_draft")


def test_a_version_with_claims_is_never_edited(personas, v1):
    make_claim(v1, broker=personas.broker_org)
    rule = v1.rules.get(kind=rules.BROKER_REWARD_GENERAL)
    with pytest.raises(Conflict):
        policies.edit_rule(actor=personas.auditor, rule_id=rule.pk, parameters={"tier_1_amount": "2500"})
    with pytest.raises(Conflict):
        policies.edit_draft(actor=personas.auditor, version_id=v1.pk, data={"note": "x"})
    rule.refresh_from_db()
    assert rule.parameters["tier_1_amount"]["value"] == "2000"


# --- editing a rule -------------------------------------------------------------------------------------

def _rule(version, kind=rules.BROKER_REWARD_GENERAL) -> Rule:
    return version.rules.get(kind=kind)


def test_editing_a_rule_stores_text_values_and_keeps_unit_source_and_reading(personas, draft):
    rule = _rule(draft)
    before = rule.parameters["tier_1_wages_over"]

    policies.edit_rule(actor=personas.auditor, rule_id=rule.pk,
                       parameters={"tier_1_wages_over": "250000.00", "tier_1_workers_over": 120,
                                   "comparison": rules.AT_LEAST})

    rule.refresh_from_db()
    assert rule.parameters["tier_1_wages_over"] == {**before, "value": "250000.00"}
    assert rule.parameters["tier_1_workers_over"]["value"] == "120"
    assert rule.parameters["comparison"]["value"] == rules.AT_LEAST
    assert rule.parameters["tier_2_wages_over"]["value"] == "500000"  # left alone
    assert rules.validate_parameters(rule.kind, rule.values())["tier_1_wages_over"] == D("250000.00")
    [event] = events("edit_draft")
    assert (event.object_type, event.object_id) == ("rule", rule.pk)
    assert event.before == {"version": draft.pk, "kind": rule.kind, "tier_1_wages_over": "200000",
                            "tier_1_workers_over": "100", "comparison": rules.STRICTLY_GREATER}
    assert event.after == {"version": draft.pk, "kind": rule.kind, "tier_1_wages_over": "250000.00",
                           "tier_1_workers_over": "120", "comparison": rules.AT_LEAST}


def test_disabling_a_rule(personas, draft):
    rule = _rule(draft, rules.FREIGHT)
    policies.edit_rule(actor=personas.auditor, rule_id=rule.pk, enabled=False)
    rule.refresh_from_db()
    assert rule.enabled is False
    [event] = events("edit_draft")
    assert (event.before["enabled"], event.after["enabled"]) == (True, False)


def test_every_bad_parameter_is_named_with_a_message_of_its_own(personas, draft):
    rule = _rule(draft)
    stored = dict(rule.parameters)
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        policies.edit_rule(actor=personas.auditor, rule_id=rule.pk, parameters={
            "tier_1_amount": 2500.0,           # a float
            "tier_2_amount": "-5",             # negative
            "tier_3_amount": "1.005",          # too precise
            "tier_2_workers_over": 50,         # below tier 1's 100: tiers rise
            "tier_1_workers_over": "many",     # not a whole number
            "comparison": "roughly",           # not a choice
            "bonus": "1",                      # no such parameter
        })
    assert refused.value.code == "invalid_parameters"
    assert refused.value.fields == {
        "parameters.tier_1_amount": ["Write the number as text (for example \"2.5\") or as a whole number, never as "
                                     "a float."],
        "parameters.tier_2_amount": ["Must not be negative."],
        "parameters.tier_3_amount": ["At most 2 decimal places."],
        "parameters.tier_1_workers_over": ["Give a whole number."],
        "parameters.comparison": ["Choose one of: strictly_greater, at_least."],
        "parameters.bonus": ["This rule has no parameter of this name."],
    }
    # tier 2's workers are only compared once tier 1's are valid: fix that, and the rise is refused
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        policies.edit_rule(actor=personas.auditor, rule_id=rule.pk, parameters={"tier_2_workers_over": 50})
    assert refused.value.fields == {"parameters.tier_2_workers_over": [
        "Must be more than tier_1_workers_over: tiers rise."]}
    rule.refresh_from_db()
    assert rule.parameters == stored
    assert not events("edit_draft")


def test_range_and_maximum_messages(personas, draft):
    rule = _rule(draft, rules.LOAN_INTEREST)
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        policies.edit_rule(actor=personas.auditor, rule_id=rule.pk,
                           parameters={"principal_max": "10000", "monthly_rate": "1000.0001"})
    assert refused.value.fields == {"parameters.principal_max": ["Must not be less than principal_min."],
                                    "parameters.monthly_rate": ["Must be at most 1000."]}


def test_every_parameter_error_code_has_its_own_message():
    codes = ["unknown_kind", "unknown_parameter", "float", "not_a_number", "too_large", "too_precise", "negative",
             "not_whole", "unknown_choice", "not_boolean", "below_minimum", "above_maximum", "tiers_must_rise",
             "range_reversed"]
    with translation.override("en"):
        fallback = policies.parameter_message(rules.FREIGHT, "rate", "something_else")
        messages = {code: policies.parameter_message(rules.BROKER_REWARD_GENERAL, "tier_2_amount", code)
                    for code in codes}
    assert fallback == "This value is not valid."
    assert fallback not in messages.values()
    assert len(set(messages.values())) == len(codes)


def test_a_rule_of_an_active_version_is_not_edited(personas, v1):
    rule = _rule(v1)
    with pytest.raises(Conflict) as refused:
        policies.edit_rule(actor=personas.auditor, rule_id=rule.pk, parameters={"tier_1_amount": "3000"})
    assert refused.value.code == "version_not_draft"
    with pytest.raises(Forbidden):
        policies.edit_rule(actor=personas.other_auditor, rule_id=rule.pk, enabled=False)


# --- activation -------------------------------------------------------------------------------------------

def test_activating_retires_the_version_in_force_the_day_before(personas, v1, draft):
    version = policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=dt.date(2027, 1, 1))

    v1.refresh_from_db()
    assert (version.status, version.effective_from, version.effective_to) == ("active", dt.date(2027, 1, 1), None)
    assert (version.activated_by, version.activated_at) == (personas.auditor, NOW)
    assert (v1.status, v1.effective_from, v1.effective_to) == ("retired", dt.date(2009, 1, 1), dt.date(2026, 12, 31))
    assert v1.in_force_on(dt.date(2026, 12, 31)) and not v1.in_force_on(dt.date(2027, 1, 1))
    assert version.in_force_on(dt.date(2027, 1, 1)) and not version.in_force_on(dt.date(2026, 12, 31))
    [event] = events("activate_version")
    assert (event.object_type, event.object_id, event.actor) == ("policy_version", draft.pk, personas.auditor)
    assert event.before == {"status": "draft", "effective_from": None,
                            "retires": {"id": v1.pk, "number": 1, "status": "active", "effective_to": None}}
    assert event.after == {"status": "active", "effective_from": "2027-01-01",
                           "retires": {"id": v1.pk, "number": 1, "status": "retired", "effective_to": "2026-12-31"}}


def test_a_later_activation_retires_the_one_then_active(personas, v1, draft):
    policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=dt.date(2026, 7, 1))
    third = policies.draft_version(actor=personas.auditor, from_version_id=draft.pk)
    policies.activate(actor=personas.admin, version_id=third.pk, effective_from=dt.date(2026, 7, 2))

    rows = dict(PolicyVersion.objects.filter(policy=v1.policy).values_list("number", "status"))
    assert rows == {1: "retired", 2: "retired", 3: "active"}
    draft.refresh_from_db()
    assert (draft.effective_from, draft.effective_to) == (dt.date(2026, 7, 1), dt.date(2026, 7, 1))


@pytest.mark.parametrize("day", [dt.date(2009, 1, 1), dt.date(2008, 12, 31)])
def test_the_new_version_must_start_after_the_one_in_force(personas, v1, draft, day):
    # both are within the twenty-year window (from 2006-05-31), neither after v1's start
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=day)
    assert refused.value.fields == {"effective_from": [
        "Version 1 is in force from 2009-01-01: the new version must start after that day."]}
    v1.refresh_from_db()
    draft.refresh_from_db()
    assert (v1.status, v1.effective_to, draft.status) == ("active", None, "draft")
    assert not events("activate_version")


@pytest.mark.parametrize("day", [dt.date(2006, 5, 30), dt.date(2027, 6, 17)])
def test_the_activation_date_is_within_twenty_years_back_and_a_year_ahead(personas, draft, day):
    # today 2026-06-15: 7,320 days back is 2006-05-31, 366 ahead 2027-06-16
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=day)
    assert refused.value.fields == {"effective_from": ["Choose a date from 2006-05-31 to 2027-06-16."]}


def test_the_last_day_a_year_ahead_is_accepted(personas, draft):
    version = policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=dt.date(2027, 6, 16))
    assert version.effective_from == dt.date(2027, 6, 16)


def test_a_version_is_activated_once(personas, v1, draft):
    policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=dt.date(2026, 7, 1))
    for version in (draft, v1):
        with pytest.raises(Conflict) as refused:
            policies.activate(actor=personas.auditor, version_id=version.pk, effective_from=dt.date(2026, 8, 1))
        assert refused.value.code == "version_not_draft"
    assert len(events("activate_version")) == 1


def test_a_first_version_activates_with_nothing_to_retire(personas, policy, v1):
    PolicyVersion.objects.filter(pk=v1.pk).update(status=PolicyVersion.Status.RETIRED, effective_to=dt.date(2020, 1, 1))
    draft = policies.draft_version(actor=personas.auditor, from_version_id=v1.pk)
    version = policies.activate(actor=personas.auditor, version_id=draft.pk, effective_from=dt.date(2010, 1, 1))
    assert version.status == "active"
    [event] = events("activate_version")
    assert "retires" not in event.after


def test_only_the_countys_staff_activate(personas, draft):
    for outsider in (personas.other_auditor, personas.broker, personas.worker):
        with pytest.raises(Forbidden):
            policies.activate(actor=outsider, version_id=draft.pk, effective_from=dt.date(2026, 7, 1))
    draft.refresh_from_db()
    assert draft.status == "draft"


# --- the village decision's audit event -----------------------------------------------------------------

def test_a_village_status_decision_is_audited(personas, clock):
    village = personas.home["village"]
    row = broker_services.village_status_set(actor=personas.auditor, village_id=village.pk, is_professional=True,
                                             basis="designation", evidence="县妇联 2026 第 3 号文",
                                             effective_from=dt.date(2026, 6, 1))
    [event] = events("designate_village")
    assert (event.actor, event.object_type, event.object_id, event.county_id) == (
        personas.auditor, "village", village.pk, personas.home["county"].pk)
    assert event.after == {"status_record": row.pk, "is_professional": True, "basis": "designation",
                           "effective_from": "2026-06-01", "evidence": "县妇联 2026 第 3 号文"}
    # saving the record again (an admin fixing a typo) is not a new decision
    row.save()
    assert len(events("designate_village")) == 1


# --- concurrent activations, on PostgreSQL (row locks are real there) ---------------------------------

@pytest.mark.parametrize("days", [(dt.date(2026, 7, 1), dt.date(2026, 8, 1)),
                                  (dt.date(2026, 8, 1), dt.date(2026, 7, 1))])
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_activations_at_once_leave_one_version_active_and_no_day_twice(personas, v1, days):
    from ..brokers.test_piecework_race import race

    drafts = [policies.draft_version(actor=personas.auditor, from_version_id=v1.pk) for _ in range(2)]

    with time_machine.travel(NOW, tick=True):
        outcomes = race(2, lambda i: policies.activate(actor=personas.auditor, version_id=drafts[i].pk,
                                                       effective_from=days[i]).number)

    versions = list(PolicyVersion.objects.filter(policy=v1.policy).order_by("effective_from"))
    assert [v.status for v in versions].count("active") == 1
    dated = [v for v in versions if v.status != "draft"]
    for earlier, later in zip(dated, dated[1:]):
        assert earlier.status == "retired" and earlier.effective_to == later.effective_from - dt.timedelta(days=1)
    # the later date always wins in the end; the earlier one is refused if it came second
    assert dated[-1].effective_from == dt.date(2026, 8, 1) and dated[-1].status == "active"
    winner = drafts[days.index(dt.date(2026, 8, 1))].number
    assert set(outcomes) in ({("ok", 2), ("ok", 3)}, {("ok", winner), ("refused", "invalid")})
    assert AuditEvent.objects.filter(action="activate_version").count() == [o[0] for o in outcomes].count("ok")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_draft_activated_twice_at_once_is_activated_once(personas, v1):
    from ..brokers.test_piecework_race import race

    draft = policies.draft_version(actor=personas.auditor, from_version_id=v1.pk)
    with time_machine.travel(NOW, tick=True):
        outcomes = race(2, lambda i: policies.activate(actor=personas.auditor, version_id=draft.pk,
                                                       effective_from=dt.date(2026, 7, 1)).status)
    assert sorted(outcomes) == [("ok", "active"), ("refused", "version_not_draft")]
    assert AuditEvent.objects.filter(action="activate_version").count() == 1
    v1.refresh_from_db()
    assert (v1.status, v1.effective_to) == ("retired", dt.date(2026, 6, 30))
