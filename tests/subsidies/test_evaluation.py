"""Each rule through a whole evaluation (the county's year or month built by `world`, then
`run_evaluation`, then the claims), on both sides of every threshold of DESIGN.md's table:
strict "more than", the highest tier only, the case line, machinery's own tiers, the loan's range
and 5‰ a month (pro rata by days), freight never negative, relocation 3,000 / 5,000 never twice,
a new professional village once, and the top three villages with a tie for third."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from subsidies import rules
from subsidies.models import Claim, ClaimEvidence, Evaluation, PolicyVersion, Rule
from subsidies.services.evaluation import request_evaluation, run_evaluation

from .world import CountyWorld, county_world

pytestmark = pytest.mark.django_db
D = Decimal
Y = 2025
JAN_1 = dt.date(Y, 1, 1)
LOCAL_NOON = dt.time(12, 0)


@pytest.fixture
def w() -> CountyWorld:
    return county_world()


def evaluate(w: CountyWorld, *, period: str = "year", start: dt.date = JAN_1, version: PolicyVersion | None = None,
             today: dt.date | None = None) -> Evaluation:
    """Request and run an evaluation the day after the period (Asia/Shanghai noon)."""
    if today is None:
        today = dt.date(start.year + 1, 1, 2) if period == "year" else (start + dt.timedelta(days=40)).replace(day=2)
    instant = dt.datetime.combine(today, LOCAL_NOON, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with time_machine.travel(instant, tick=False):
        evaluation = request_evaluation(actor=w.staff, version=version or w.version, period=period,
                                        period_start=start)
        return run_evaluation(evaluation.pk)


def claims(kind: str, **filters) -> list[Claim]:
    return list(Claim.objects.filter(kind=kind, **filters).order_by("id"))


def by_broker(kind: str) -> dict[int, Decimal | None]:
    return {c.broker_id: c.amount for c in claims(kind)}


# --- broker reward, general -------------------------------------------------------------------

def test_wages_must_be_more_than_200000_with_101_workers(w):
    # given: the counting threshold lowered to 1,000 so 101 workers fit under 200,000 yuan
    w.set_params(rules.BROKER_REWARD_GENERAL, worker_minimum_paid="1000")
    at_line, over = w.broker("刚好二十万"), w.broker("多一分")
    w.pay_evenly(at_line, w.workers(101), "200000.00", on=dt.date(Y, 6, 30))
    w.pay_evenly(over, w.workers(101), "200000.01", on=dt.date(Y, 6, 30))
    # when
    evaluation = evaluate(w)
    # then
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {over.pk: D("2000.00")}
    claim = claims(rules.BROKER_REWARD_GENERAL)[0]
    assert claim.sentence_zh == "工资发放 200,000.01 元 > 200,000 且 加工人员 101 人 > 100 → 2,000 元"
    assert claim.sentence_en == "wages issued 200,000.01 yuan > 200,000 and 101 workers > 100 → 2,000 yuan"
    assert claim.inputs["wages_issued"] == "200000.01" and claim.inputs["workers_counted"] == 101
    assert claim.needs_second_approval is False and claim.second_approval_over == D("5000.00")
    assert (claim.period_start, claim.period_end, claim.fund_year) == (JAN_1, dt.date(Y, 12, 31), Y)
    assert claim.version == w.version and claim.rule.kind == rules.BROKER_REWARD_GENERAL
    assert claim.evaluation == evaluation and claim.county == w.county and claim.status == Claim.Status.COMPUTED
    assert claim.key == claim.subject == f"{w.policy.pk}:broker_reward_general:{Y}:broker:{over.pk}"
    assert any(step["label"] == "tier_1_met" and step["result"] is True for step in claim.steps)
    assert evaluation.counts["created"] >= 1 and evaluation.status == Evaluation.Status.DONE


def test_100_workers_are_not_more_than_100(w):
    hundred, hundred_and_one = w.broker(), w.broker()
    w.pay(hundred, {worker: "2500" for worker in w.workers(100)}, on=dt.date(Y, 3, 31))
    w.pay(hundred_and_one, {worker: "2500" for worker in w.workers(101)}, on=dt.date(Y, 3, 31))
    evaluate(w)
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {hundred_and_one.pk: D("2000.00")}


def test_a_worker_paid_just_below_the_counting_threshold_is_not_counted(w):
    short, enough = w.broker(), w.broker()
    low, ok = w.workers(1)[0], w.workers(1)[0]
    w.pay(short, {**{x: "2500" for x in w.workers(100)}, low: "1999.99"}, on=dt.date(Y, 5, 31))
    w.pay(enough, {**{x: "2500" for x in w.workers(100)}, ok: "2000.00"}, on=dt.date(Y, 5, 31))
    evaluate(w)
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {enough.pk: D("2000.00")}
    claim = claims(rules.BROKER_REWARD_GENERAL)[0]
    counted = ClaimEvidence.objects.filter(claim=claim, kind=ClaimEvidence.Kind.WORKER)
    assert counted.count() == 101 and counted.filter(object_id=ok.pk, amount=D("2000.00")).exists()
    # the payout batch behind the wages, with what it paid
    batches = list(ClaimEvidence.objects.filter(claim=claim, kind=ClaimEvidence.Kind.PAYOUT_BATCH)
                   .values_list("amount", flat=True))
    assert batches == [D("252000.00")]


def test_a_worker_paid_the_threshold_over_two_payouts_is_counted(w):
    broker = w.broker()
    split = w.workers(1)[0]
    team = w.workers(100)
    w.pay(broker, {**{x: "2500" for x in team}, split: "1000.00"}, on=dt.date(Y, 2, 28))
    w.pay(broker, {split: "1000.00"}, on=dt.date(Y, 11, 30))
    evaluate(w)
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {broker.pk: D("2000.00")}


def test_only_the_highest_tier_met_is_awarded(w):
    broker = w.broker()
    w.pay(broker, {x: "2000" for x in w.workers(501)}, on=dt.date(Y, 12, 31))  # 1,002,000 by 501 workers
    evaluate(w)
    [claim] = claims(rules.BROKER_REWARD_GENERAL)
    assert claim.amount == D("10000.00") and claim.needs_second_approval is True  # 10,000 > 5,000
    assert "→ 10,000 元" in claim.sentence_zh


def test_wages_paid_on_new_years_day_belong_to_the_next_year(w):
    broker = w.broker()
    team = w.workers(101)
    w.pay(broker, {x: "2000" for x in team[:100]}, on=dt.date(Y, 12, 31))
    w.pay(broker, {team[100]: "2000"}, on=dt.date(Y + 1, 1, 1))
    evaluate(w)
    assert claims(rules.BROKER_REWARD_GENERAL) == []


def test_above_2000000_is_a_case_for_staff_whatever_the_worker_count(w):
    big, at_line = w.broker("一事一议"), w.broker("两百万")
    w.pay_evenly(big, w.workers(2), "2000000.01", on=dt.date(Y, 8, 31))
    w.pay_evenly(at_line, w.workers(501), "2000000.00", on=dt.date(Y, 8, 31))
    evaluate(w)
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {big.pk: None, at_line.pk: D("10000.00")}
    case = Claim.objects.get(broker=big)
    assert case.is_case and case.amount is None and case.computed_amount is None and case.needs_second_approval
    assert case.sentence_en == ("wages issued 2,000,000.01 yuan > 2,000,000 → one strategy for one event: amount "
                                "set by staff")


# --- broker reward, machinery ------------------------------------------------------------------

def test_machinery_brokers_have_their_own_tiers(w):
    tier_1 = w.broker("机械一档", category="machinery")
    forty = w.broker("机械四十人", category="machinery")
    tier_3 = w.broker("机械三档", category="machinery")
    case = w.broker("机械一事一议", category="machinery")
    general = w.broker("普通加工点")  # the same figures as tier_1: general needs more than 100 workers
    w.pay_evenly(tier_1, w.workers(41), "500000.01", on=dt.date(Y, 9, 30))
    w.pay_evenly(forty, w.workers(40), "900000.00", on=dt.date(Y, 9, 30))
    w.pay_evenly(tier_3, w.workers(121), "1500000.01", on=dt.date(Y, 9, 30))
    w.pay_evenly(case, w.workers(3), "3000000.01", on=dt.date(Y, 9, 30))
    w.pay_evenly(general, w.workers(41), "500000.01", on=dt.date(Y, 9, 30))
    evaluate(w)
    assert by_broker(rules.BROKER_REWARD_MACHINERY) == {tier_1.pk: D("2000.00"), tier_3.pk: D("10000.00"),
                                                         case.pk: None}
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {}
    assert Claim.objects.get(broker=case).is_case


def test_machinery_at_1500000_with_121_workers_is_the_second_tier(w):
    broker = w.broker(category="machinery")
    w.pay_evenly(broker, w.workers(121), "1500000.00", on=dt.date(Y, 9, 30))
    evaluate(w)
    assert by_broker(rules.BROKER_REWARD_MACHINERY) == {broker.pk: D("5000.00")}


# --- loan interest -----------------------------------------------------------------------------

MARCH = dt.date(Y + 1, 3, 1)


def loan_world(w: CountyWorld, wages: str = "200000.01"):
    broker = w.broker()
    w.pay_evenly(broker, w.workers(10), wages, on=dt.date(Y, 12, 15))  # last year's wages decide
    return broker


def test_a_150000_loan_gets_interest_on_its_first_100000(w):
    broker = loan_world(w)
    loan = w.loan(broker, "150000", start=dt.date(Y + 1, 1, 15))
    evaluate(w, period="month", start=MARCH)
    [claim] = claims(rules.LOAN_INTEREST)
    assert (claim.amount, claim.loan_id, claim.broker_id) == (D("500.00"), loan.pk, broker.pk)
    assert (claim.period_start, claim.period_end, claim.fund_year) == (MARCH, dt.date(Y + 1, 3, 31), Y + 1)
    assert claim.subject == f"{w.policy.pk}:loan_interest:{Y + 1}-03:loan:{loan.pk}"
    assert claim.inputs["wages_issued"] == "200000.01" and claim.inputs["principal"] == "150000.00"
    assert set(claim.evidence.values_list("kind", "object_id")) == {(ClaimEvidence.Kind.LOAN, loan.pk),
                                                                    (ClaimEvidence.Kind.BROKER, broker.pk)}


def test_a_150000_loan_is_excluded_under_the_other_reading(w):
    w.set_params(rules.LOAN_INTEREST, above_max="exclude")
    broker = loan_world(w)
    w.loan(broker, "150000", start=dt.date(Y + 1, 1, 15))
    w.loan(broker, "100000", start=dt.date(Y + 1, 1, 15))
    evaluate(w, period="month", start=MARCH)
    assert [c.amount for c in claims(rules.LOAN_INTEREST)] == [D("500.00")]  # the 100,000 loan only


def test_no_interest_when_last_years_wages_are_not_more_than_200000(w):
    broker = loan_world(w, wages="200000.00")
    w.loan(broker, "50000", start=dt.date(Y + 1, 1, 15))
    evaluate(w, period="month", start=MARCH)
    assert claims(rules.LOAN_INTEREST) == []


def test_this_years_wages_do_not_make_a_loan_eligible_by_default(w):
    broker = w.broker()
    w.pay_evenly(broker, w.workers(10), "900000.00", on=dt.date(Y + 1, 2, 1))
    w.loan(broker, "50000", start=dt.date(Y + 1, 1, 15))
    evaluate(w, period="month", start=MARCH)
    assert claims(rules.LOAN_INTEREST) == []
    # the trailing-twelve-months reading counts February's payout
    w.set_params(rules.LOAN_INTEREST, eligibility_year="trailing_twelve_months")
    evaluate(w, period="month", start=dt.date(Y + 1, 4, 1))
    assert [c.amount for c in claims(rules.LOAN_INTEREST)] == [D("250.00")]


def test_a_partial_month_is_pro_rata_by_days_exactly(w):
    broker = loan_world(w)
    starts = w.loan(broker, "100000", start=dt.date(Y + 1, 3, 10))  # 22 days of 31
    repaid = w.loan(broker, "100000", start=dt.date(Y + 1, 1, 1), end=dt.date(Y + 1, 3, 20))  # 19 days
    w.loan(broker, "100000", start=dt.date(Y + 1, 1, 1), end=dt.date(Y + 1, 3, 1))  # repaid on the 1st: 0 days
    w.loan(broker, "100000", start=dt.date(Y + 1, 4, 1))  # not yet
    evaluate(w, period="month", start=MARCH)
    got = {c.loan_id: c.amount for c in claims(rules.LOAN_INTEREST)}
    # 100,000 × 5‰ × 22 / 31 = 354.8387… → 354.84; × 19 / 31 = 306.4516… → 306.45
    assert got == {starts.pk: D("354.84"), repaid.pk: D("306.45")}


def test_one_claim_per_loan_and_month(w):
    broker = loan_world(w)
    loan = w.loan(broker, "20000", start=dt.date(Y + 1, 1, 1))
    evaluate(w, period="month", start=dt.date(Y + 1, 1, 1))
    evaluate(w, period="month", start=dt.date(Y + 1, 2, 1))
    evaluate(w, period="month", start=dt.date(Y + 1, 2, 1))  # again: nothing new
    assert [(c.period_start, c.amount) for c in claims(rules.LOAN_INTEREST, loan=loan)] == [
        (dt.date(Y + 1, 1, 1), D("100.00")), (dt.date(Y + 1, 2, 1), D("100.00"))]


def test_a_year_evaluation_makes_no_loan_claims_and_a_month_no_rewards(w):
    broker = loan_world(w)
    w.pay(broker, {x: "2500" for x in w.workers(101)}, on=dt.date(Y + 1, 1, 31))
    w.loan(broker, "20000", start=dt.date(Y, 6, 1))
    evaluate(w, period="month", start=dt.date(Y + 1, 1, 1))
    assert set(Claim.objects.values_list("kind", flat=True)) == {rules.LOAN_INTEREST}
    evaluate(w, start=JAN_1)
    assert not Claim.objects.filter(kind=rules.LOAN_INTEREST, period_start__year=Y).exists()


# --- freight -----------------------------------------------------------------------------------

def test_freight_is_one_percent_of_the_increase_and_never_negative(w):
    grew, fell, new = w.broker("增长"), w.broker("下降"), w.broker("新开")
    w.invoice(grew, "100000.00", on=dt.date(Y - 1, 6, 1))
    w.invoice(grew, "70000.00", on=dt.date(Y, 3, 1))
    w.invoice(grew, "50000.55", on=dt.date(Y, 12, 31))
    w.invoice(fell, "90000.00", on=dt.date(Y - 1, 6, 1))
    w.invoice(fell, "80000.00", on=dt.date(Y, 6, 1))
    w.invoice(new, "1234.56", on=dt.date(Y, 6, 1))
    evaluate(w)
    # (120,000.55 − 100,000) × 1% = 200.0055 → 200.01; 1,234.56 × 1% = 12.3456 → 12.35
    assert by_broker(rules.FREIGHT) == {grew.pk: D("200.01"), new.pk: D("12.35")}
    claim = Claim.objects.get(kind=rules.FREIGHT, broker=grew)
    notes = sorted(claim.evidence.values_list("note", "amount"))
    assert notes == [(str(Y - 1), D("100000.00")), (str(Y), D("120000.55"))]  # one invoice, each year's part


def test_freight_on_the_whole_income_under_the_other_reading(w):
    w.set_params(rules.FREIGHT, base="whole_income")
    fell = w.broker()
    w.invoice(fell, "90000.00", on=dt.date(Y - 1, 6, 1))
    w.invoice(fell, "80000.00", on=dt.date(Y, 6, 1))
    evaluate(w)
    assert by_broker(rules.FREIGHT) == {fell.pk: D("800.00")}


# --- relocation --------------------------------------------------------------------------------

def second_version(w: CountyWorld, start: dt.date) -> PolicyVersion:
    """Version 2 of the policy, the same rules, active from `start` (version 1 ends the day before)."""
    PolicyVersion.objects.filter(pk=w.version.pk).update(status=PolicyVersion.Status.RETIRED,
                                                         effective_to=start - dt.timedelta(days=1))
    v2 = PolicyVersion.objects.create(policy=w.policy, number=2, status=PolicyVersion.Status.ACTIVE,
                                      effective_from=start, annual_budget=w.version.annual_budget,
                                      copied_from=w.version)
    Rule.objects.bulk_create([Rule(version=v2, kind=r.kind, parameters=r.parameters, enabled=r.enabled)
                              for r in w.version.rules.all()])
    w.version.refresh_from_db()
    return v2


def test_relocation_3000_or_5000_above_2000000_of_last_years_fee_never_twice(w):
    small, large = w.broker("小厂"), w.broker("大厂")
    w.invoice(small, "2000000.00", on=dt.date(Y - 1, 5, 1))
    w.invoice(large, "2000000.01", on=dt.date(Y - 1, 5, 1))
    w.invoice(small, "9000000.00", on=dt.date(Y, 5, 1))  # this year's fee does not count
    w.relocation(small, on=dt.date(Y, 7, 1))
    w.relocation(large, on=dt.date(Y, 3, 1))
    evaluate(w)
    assert by_broker(rules.RELOCATION) == {small.pk: D("3000.00"), large.pk: D("5000.00")}
    claim = Claim.objects.get(kind=rules.RELOCATION, broker=large)
    assert claim.subject == f"{w.policy.pk}:relocation:broker:{large.pk}" and claim.relocation is not None
    assert claim.inputs["processing_fee"] == "2000000.01"
    # under the next version the same enterprise moves again: no second subsidy
    v2 = second_version(w, dt.date(Y + 1, 1, 1))
    w.relocation(small, on=dt.date(Y + 1, 4, 1), zone_kind="township_zone")
    evaluation = evaluate(w, start=dt.date(Y + 1, 1, 1), version=v2)
    assert Claim.objects.filter(kind=rules.RELOCATION).count() == 2
    assert not Claim.objects.filter(evaluation=evaluation, kind=rules.RELOCATION).exists()


# --- villages ----------------------------------------------------------------------------------

def test_a_new_professional_village_is_awarded_once(w):
    new, old, never = w.villages
    w.village_status(old, on=dt.date(Y - 1, 5, 1))
    w.village_status(new, on=dt.date(Y, 4, 1))
    w.village_status(never, professional=False, on=dt.date(Y, 4, 1))
    evaluate(w)
    [claim] = claims(rules.NEW_PROFESSIONAL_VILLAGE)
    assert (claim.village_id, claim.broker_id, claim.amount) == (new.pk, None, D("30000.00"))
    assert claim.needs_second_approval  # 30,000 > 5,000
    assert claim.subject == f"{w.policy.pk}:new_professional_village:village:{new.pk}"
    # revoked and professional again the next year: not new, not again
    w.village_status(new, professional=False, on=dt.date(Y, 10, 1))
    w.village_status(new, on=dt.date(Y + 1, 3, 1))
    w.village_status(never, on=dt.date(Y + 1, 3, 1))
    evaluate(w, start=dt.date(Y + 1, 1, 1))
    assert [(c.village_id, c.fund_year) for c in claims(rules.NEW_PROFESSIONAL_VILLAGE)] == [
        (new.pk, Y), (never.pk, Y + 1)]


def test_top_three_villages_with_a_tie_for_third_broken_by_more_workers(w):
    w.enable_only(rules.TOP_VILLAGES)
    first, second = w.villages[0], w.villages[1]
    third, fourth = w.villages[2], w.village("第四村")
    revoked = w.village("撤销村")
    broker = w.broker()
    for village in (first, second, third, fourth, revoked):
        w.village_status(village, on=dt.date(Y - 1, 1, 1))
    w.village_status(revoked, professional=False, on=dt.date(Y, 12, 31))
    pay = {}
    pay.update({x: "300.00" for x in w.workers(1, village=first)})
    pay.update({x: "200.00" for x in w.workers(1, village=second)})
    pay.update({x: "50.00" for x in w.workers(2, village=third)})  # 100.00 by two workers
    pay.update({x: "100.00" for x in w.workers(1, village=fourth)})  # 100.00 by one
    pay.update({x: "999.00" for x in w.workers(1, village=revoked)})  # not professional on 31 December
    w.pay(broker, pay, on=dt.date(Y, 6, 30))
    evaluate(w)
    got = [(c.village_id, c.rank, c.amount) for c in Claim.objects.filter(kind=rules.TOP_VILLAGES).order_by("rank")]
    assert got == [(first.pk, 1, D("10000.00")), (second.pk, 2, D("5000.00")), (third.pk, 3, D("3000.00"))]
    claim = Claim.objects.get(kind=rules.TOP_VILLAGES, rank=3)
    assert [(r["village"], r["index"], r["workers"]) for r in claim.inputs["ranking"]] == [
        (first.pk, "300.00", 1), (second.pk, "200.00", 1), (third.pk, "100.00", 2), (fourth.pk, "100.00", 1)]
    assert "指数相同" in claim.sentence_zh


def test_only_enabled_rules_make_claims(w):
    w.version.rules.filter(kind=rules.BROKER_REWARD_GENERAL).update(enabled=False)
    broker = w.broker()
    w.pay(broker, {x: "2500" for x in w.workers(101)}, on=dt.date(Y, 3, 31))
    w.invoice(broker, "100.00", on=dt.date(Y, 3, 1))
    evaluate(w)
    assert set(Claim.objects.values_list("kind", flat=True)) == {rules.FREIGHT}


def test_another_countys_brokers_are_not_evaluated(w):
    other = county_world("龙泉市")
    theirs = other.broker()
    other.pay(theirs, {x: "2500" for x in other.workers(101)}, on=dt.date(Y, 3, 31))
    evaluate(w)
    assert not Claim.objects.exists()
    evaluate(other)
    assert by_broker(rules.BROKER_REWARD_GENERAL) == {theirs.pk: D("2000.00")}
