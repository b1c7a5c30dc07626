"""The subsidy rules' arithmetic (subsidies/rules.py), without a database. The expected figures
come from DESIGN.md's table of the 2009 Suichang policy, not from the code: each threshold is
tried on both sides, and exactly at it ("more than" is strict)."""
from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subsidies import rules
from subsidies.rules import BrokerYear, Loan, ParameterError, VillageIndex

D = Decimal
BACKEND = Path(__file__).resolve().parents[2] / "backend"
GENERAL, MACHINERY = rules.BROKER_REWARD_GENERAL, rules.BROKER_REWARD_MACHINERY


def general(wages: str, workers: int, **params):
    return rules.broker_reward(GENERAL, BrokerYear(D(wages), workers), params)


def machinery(wages: str, workers: int, **params):
    return rules.broker_reward(MACHINERY, BrokerYear(D(wages), workers), params)


# --- Suichang 2009 as data -------------------------------------------------------------------

def test_suichang_2009_has_every_figure_of_the_table():
    g, m = rules.SUICHANG_2009[GENERAL], rules.SUICHANG_2009[MACHINERY]
    assert [(g[f"tier_{n}_wages_over"], g[f"tier_{n}_workers_over"], g[f"tier_{n}_amount"]) for n in (1, 2, 3)] == [
        (D(200000), 100, D(2000)), (D(500000), 300, D(5000)), (D(1000000), 500, D(10000))]
    assert g["case_wages_over"] == D(2000000)
    assert [(m[f"tier_{n}_wages_over"], m[f"tier_{n}_workers_over"], m[f"tier_{n}_amount"]) for n in (1, 2, 3)] == [
        (D(500000), 40, D(2000)), (D(1000000), 80, D(5000)), (D(1500000), 120, D(10000))]
    assert m["case_wages_over"] == D(3000000)
    loan = rules.SUICHANG_2009[rules.LOAN_INTEREST]
    assert (loan["eligible_wages_over"], loan["principal_min"], loan["principal_max"], loan["monthly_rate"]) == (
        D(200000), D(20000), D(100000), D(5))
    assert (loan["above_max"], loan["eligibility_year"]) == ("first_max", "previous_calendar_year")
    assert rules.SUICHANG_2009[rules.FREIGHT] == {"rate": D(1), "base": "year_over_year_increase"}
    reloc = rules.SUICHANG_2009[rules.RELOCATION]
    assert (reloc["amount"], reloc["large_amount"], reloc["large_fee_over"]) == (D(3000), D(5000), D(2000000))
    assert reloc["fee_year"] == "last_full_calendar_year_before_move"
    assert rules.SUICHANG_2009[rules.NEW_PROFESSIONAL_VILLAGE]["amount"] == D(30000)
    top = rules.SUICHANG_2009[rules.TOP_VILLAGES]
    assert (top["first_amount"], top["second_amount"], top["third_amount"]) == (D(10000), D(5000), D(3000))
    assert top["index"] == "wages_to_village_workers"


def test_every_kind_is_listed_and_every_parameter_has_a_source_and_unit_where_it_has_one():
    assert set(rules.RULE_KINDS) == {GENERAL, MACHINERY, rules.LOAN_INTEREST, rules.FREIGHT, rules.RELOCATION,
                                     rules.NEW_PROFESSIONAL_VILLAGE, rules.TOP_VILLAGES}
    for kind in rules.RULE_KINDS:
        for spec in rules.SPECS[kind]:
            assert spec.type in rules.TYPES and spec.source, (kind, spec.name)
            if spec.type == rules.MONEY:
                assert spec.unit == "CNY"
            if spec.type == rules.CHOICE:
                assert spec.default in spec.choices and spec.reading, (kind, spec.name)
        assert rules.validate_parameters(kind, {}) == rules.SUICHANG_2009[kind]
    assert rules.spec_of(rules.LOAN_INTEREST, "monthly_rate").unit == "‰ per month"
    assert rules.spec_of(rules.FREIGHT, "rate").unit == "%"


# --- broker reward, general processing -------------------------------------------------------

@pytest.mark.parametrize(("wages", "workers", "amount"), [
    ("200000.00", 101, "0.00"),  # exactly at the line: "more than" is strict
    ("200000.01", 101, "2000.00"),
    ("200000.01", 100, "0.00"),  # exactly 100 workers: not more than 100
    ("200000.01", 99, "0.00"),
    ("199999.99", 500, "0.00"),
    ("500000.00", 301, "2000.00"),  # at tier 2's line: tier 1 only
    ("500000.01", 301, "5000.00"),
    ("500000.01", 300, "2000.00"),  # tier 2's wages but not its workers
    ("1000000.00", 501, "5000.00"),
    ("1000000.01", 501, "10000.00"),
    ("1000000.01", 500, "5000.00"),
    ("1999999.99", 10000, "10000.00"),  # the highest tier only, never a sum
    ("2000000.00", 501, "10000.00"),  # at the case line: still tier 3
])
def test_general_tiers_both_conditions_strict_highest_only(wages, workers, amount):
    outcome = general(wages, workers)
    assert outcome.amount == D(amount) and str(outcome.amount) == amount
    assert outcome.eligible is (amount != "0.00") and outcome.case is False


@pytest.mark.parametrize("workers", [0, 100, 5000])
def test_general_above_two_million_is_a_case_whatever_the_workers(workers):
    outcome = general("2000000.01", workers)
    assert outcome.case is True and outcome.amount is None and outcome.eligible is True


# --- broker reward, machinery processing -----------------------------------------------------

@pytest.mark.parametrize(("wages", "workers", "amount"), [
    ("500000.00", 41, "0.00"),
    ("500000.01", 41, "2000.00"),
    ("500000.01", 40, "0.00"),
    ("1000000.00", 81, "2000.00"),
    ("1000000.01", 81, "5000.00"),
    ("1000000.01", 80, "2000.00"),
    ("1500000.00", 121, "5000.00"),
    ("1500000.01", 121, "10000.00"),
    ("1500000.01", 120, "5000.00"),
    ("3000000.00", 121, "10000.00"),
    ("250000.00", 101, "0.00"),  # a general tier 1 is not a machinery tier
])
def test_machinery_tiers(wages, workers, amount):
    assert machinery(wages, workers).amount == D(amount)


def test_machinery_above_three_million_is_a_case():
    assert machinery("3000000.01", 1).case is True
    assert machinery("3000000.00", 1).case is False


def test_the_alternative_readings_of_the_tiers():
    assert general("200000.00", 100, comparison=rules.AT_LEAST).amount == D(2000)  # "at least" reading
    assert general("600000.00", 400, tier_rule="cumulative").amount == D(7000)
    assert general("1000000.01", 501, tier_rule="cumulative").amount == D(17000)


def test_workers_counted_needs_the_minimum_paid_in_the_year():
    paid = {1: D("2000.00"), 2: D("1999.99"), 3: D("15000"), 4: D("0.01")}
    assert rules.SUICHANG_2009[GENERAL]["worker_minimum_paid"] == D(2000)
    assert rules.workers_counted(paid, minimum_paid=D(2000)) == 2  # at least: 2,000.00 counts
    assert rules.workers_counted(paid, minimum_paid=D(0)) == 4


def test_reward_steps_show_each_test():
    outcome = general("523400.00", 312)
    by_label = {s.label: s for s in outcome.steps}
    assert by_label["tier_2_wages"] == rules.Step("tier_2_wages", ">", (D("523400.00"), D(500000)), True)
    assert by_label["tier_2_workers"] == rules.Step("tier_2_workers", ">", (312, 300), True)
    assert by_label["tier_3_wages"].result is False and by_label["tier_3_wages"].operator == "≤"
    assert by_label["amount"].result == D("5000.00")


@pytest.mark.parametrize(("wages", "workers", "zh", "en"), [
    ("523400", 312, "工资发放 523,400.00 元 > 500,000 且 加工人员 312 人 > 300 → 5,000 元",
     "wages issued 523,400.00 yuan > 500,000 and 312 workers > 300 → 5,000 yuan"),
    ("200000.00", 150, "工资发放 200,000.00 元 ≤ 200,000 → 不予奖励",
     "wages issued 200,000.00 yuan ≤ 200,000 → no reward"),
    ("250000.50", 100, "工资发放 250,000.50 元 > 200,000 但 加工人员 100 人 ≤ 100 → 不予奖励",
     "wages issued 250,000.50 yuan > 200,000 but 100 workers ≤ 100 → no reward"),
    ("2000000.01", 40, "工资发放 2,000,000.01 元 > 2,000,000 → 一事一议，金额由工作人员核定",
     "wages issued 2,000,000.01 yuan > 2,000,000 → one strategy for one event: amount set by staff"),
])
def test_reward_sentences(wages, workers, zh, en):
    assert general(wages, workers).sentence == {"zh-CN": zh, "en": en}


money = st.decimals(min_value=0, max_value=5_000_000, places=2, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=2000)


@settings(deadline=None)  # pure arithmetic, but a loaded CI machine can take over 200 ms for an example
@given(wages=money, workers=counts, more_wages=money, more_workers=counts, kind=st.sampled_from([GENERAL, MACHINERY]))
def test_the_reward_never_decreases_when_wages_and_workers_both_increase(wages, workers, more_wages, more_workers,
                                                                        kind):
    before = rules.broker_reward(kind, BrokerYear(wages, workers))
    after = rules.broker_reward(kind, BrokerYear(wages + more_wages, workers + more_workers))
    if before.case:
        assert after.case
    elif not after.case:
        assert after.amount >= before.amount
    assert before.amount is None or before.amount in {D(0), D(2000), D(5000), D(10000)}


# --- loan interest ---------------------------------------------------------------------------

MARCH = date(2009, 3, 1)
WAGES = D("300000.00")


def interest(principal: str, start=date(2009, 1, 1), end=None, month=MARCH, wages=WAGES, **params):
    return rules.loan_interest(Loan(D(principal), start, end), month, wages, params)


def test_a_150000_loan_under_both_readings():
    first = interest("150000")  # default: the first 100,000
    assert first.amount == D("500.00")  # 100,000 × 5‰ for a whole month
    excluded = interest("150000", above_max="exclude")
    assert excluded.eligible is False and excluded.amount == D("0.00") and excluded.reason == "principal_above_max"


@pytest.mark.parametrize(("principal", "amount"), [
    ("15000", "0.00"),  # below 20,000: not eligible
    ("19999.99", "0.00"),
    ("20000", "100.00"),  # the range includes both ends
    ("60000", "300.00"),
    ("100000", "500.00"),
    ("100000.01", "500.00"),
])
def test_the_principal_range(principal, amount):
    assert interest(principal).amount == D(amount)


def test_a_15000_loan_is_not_eligible_with_the_reason():
    outcome = interest("15000")
    assert (outcome.eligible, outcome.reason) == (False, "principal_below_min")


@pytest.mark.parametrize(("wages", "eligible"), [("200000.00", False), ("200000.01", True)])
def test_interest_needs_annual_wages_over_200000(wages, eligible):
    outcome = interest("50000", wages=D(wages))
    assert outcome.eligible is eligible
    assert outcome.amount == (D("250.00") if eligible else D("0.00"))


@pytest.mark.parametrize(("start", "end", "amount"), [
    (date(2009, 3, 15), None, "274.19"),  # 17 of 31 days: 100,000 × 5‰ × 17/31 = 274.1935…
    (date(2009, 2, 1), date(2009, 3, 11), "161.29"),  # repaid on the 11th: 10 days (the repayment day not counted)
    (date(2009, 3, 31), None, "16.13"),  # one day
    (date(2009, 3, 1), date(2009, 4, 1), "500.00"),  # the whole month
    (date(2009, 4, 1), None, "0.00"),  # starts after the month
    (date(2009, 1, 1), date(2009, 3, 1), "0.00"),  # repaid on the month's first day
])
def test_a_loan_that_starts_or_ends_mid_month_is_pro_rata_by_days(start, end, amount):
    assert interest("100000", start=start, end=end).amount == D(amount)


@pytest.mark.parametrize(("start", "end", "amount"), [
    (date(2009, 3, 15), None, "500.00"),  # outstanding on the 31st: the whole month
    (date(2009, 2, 1), date(2009, 3, 11), "0.00"),  # repaid before the month's last day
    (date(2009, 2, 1), date(2009, 4, 1), "500.00"),
])
def test_the_last_day_reading_of_the_interest_month(start, end, amount):
    assert interest("100000", start=start, end=end, month_basis="outstanding_on_last_day").amount == D(amount)


def test_interest_sentences():
    outcome = interest("150000", start=date(2009, 3, 15))
    assert outcome.sentence == {
        "zh-CN": "工资发放 300,000.00 元 > 200,000，贷款本金 150,000.00 元，贴息本金 100,000.00 元 × 5‰ × 17/31 天"
                 " → 274.19 元",
        "en": "wages issued 300,000.00 yuan > 200,000, principal 150,000.00 yuan, eligible principal 100,000.00 yuan"
              " × 5‰ × 17/31 days → 274.19 yuan"}
    assert interest("15000").sentence == {"zh-CN": "贷款本金 15,000.00 元 < 20,000 → 不予贴息",
                                          "en": "principal 15,000.00 yuan < 20,000 → no interest subsidy"}


@settings(deadline=None)  # pure arithmetic, but a loaded CI machine can take over 200 ms for an example
@given(hundreds=st.integers(min_value=100, max_value=250), factor=st.integers(min_value=1, max_value=2),
       day=st.integers(min_value=1, max_value=31))
def test_interest_is_linear_in_the_eligible_principal(hundreds, factor, day):
    # 200 yuan × 5‰ is exactly one yuan, so a whole month of a multiple of 200 has nothing to round
    principal = D(hundreds * 200)
    assert interest(str(principal * factor)).amount == interest(str(principal)).amount * factor == hundreds * factor
    # mid-month: linear before the one rounding, so within a fen per unit of the factor
    start = date(2009, 3, day)
    one, many = interest(str(principal), start=start), interest(str(principal * factor), start=start)
    assert abs(many.amount - one.amount * factor) <= D("0.01") * factor


# --- freight ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("this", "last", "base", "amount"), [
    ("1200000.00", "1000000.00", "year_over_year_increase", "2000.00"),
    ("900000.00", "1000000.00", "year_over_year_increase", "0.00"),  # a decrease: nothing, never negative
    ("1000000.00", "1000000.00", "year_over_year_increase", "0.00"),
    ("900000.00", "1000000.00", "whole_income", "9000.00"),  # the whole income, whatever last year was
    ("1234.56", "0", "year_over_year_increase", "12.35"),  # 12.3456, rounded once
])
def test_freight_under_both_bases(this, last, base, amount):
    assert rules.freight(D(this), D(last), {"base": base}).amount == D(amount)


def test_freight_sentences():
    assert rules.freight(D("1200000"), D("1000000")).sentence == {
        "zh-CN": "加工费收入 1,200,000.00 元 − 上年 1,000,000.00 元 = 新增 200,000.00 元 × 1% → 2,000.00 元",
        "en": "processing-fee income 1,200,000.00 yuan − last year 1,000,000.00 yuan = additional 200,000.00 yuan"
              " × 1% → 2,000.00 yuan"}
    decrease = rules.freight(D("900000"), D("1000000"))
    assert decrease.reason == "no_additional_fee" and decrease.sentence["en"] == (
        "processing-fee income 900,000.00 yuan − last year 1,000,000.00 yuan ≤ 0 → no additional fee, no subsidy")


@settings(deadline=None)  # pure arithmetic, but a loaded CI machine can take over 200 ms for an example
@given(this=money, last=money, base=st.sampled_from(["year_over_year_increase", "whole_income"]))
def test_freight_is_never_negative(this, last, base):
    assert rules.freight(this, last, {"base": base}).amount >= 0


# --- relocation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("fee", "amount"), [
    ("0", "3000.00"), ("2000000.00", "3000.00"), ("2000000.01", "5000.00"), ("9000000", "5000.00")])
def test_relocation_3000_or_5000_above_two_million(fee, amount):
    assert rules.relocation(D(fee)).amount == D(amount)


def test_relocation_is_never_granted_twice_and_its_sentences():
    assert rules.relocation(D("5000000"), already_granted=True).amount == D(0)
    assert rules.relocation(D("2000000.00")).sentence == {
        "zh-CN": "迁入工业园区，加工费 2,000,000.00 元 ≤ 2,000,000 → 3,000 元",
        "en": "relocated into an industrial zone, processing fee 2,000,000.00 yuan ≤ 2,000,000 → 3,000 yuan"}


# --- new professional village ----------------------------------------------------------------

def test_new_professional_village_once():
    assert rules.new_professional_village(became_professional=True).amount == D("30000.00")
    assert rules.new_professional_village(became_professional=True, already_awarded=True).amount == D(0)
    assert rules.new_professional_village(became_professional=False).eligible is False


# --- top villages ----------------------------------------------------------------------------

def ranked(villages, **params):
    return [(a.village_id, a.rank, a.outcome.amount) for a in rules.top_villages(villages, params)]


def test_top_three_by_index_10000_5000_3000():
    villages = [VillageIndex(i, D(i * 1000), 10) for i in range(1, 6)]
    assert ranked(villages) == [(5, 1, D(10000)), (4, 2, D(5000)), (3, 3, D(3000))]


def test_a_tie_for_third_is_broken_by_more_workers_then_the_lower_village_id():
    villages = [VillageIndex(1, D(900), 5), VillageIndex(2, D(800), 5), VillageIndex(7, D(500), 9),
                VillageIndex(3, D(500), 12), VillageIndex(4, D(500), 12)]
    assert ranked(villages) == [(1, 1, D(10000)), (2, 2, D(5000)), (3, 3, D(3000))]
    # the same index and workers: the lower id (3 before 4); more workers beat a lower id (3 before 7)
    assert rules.top_villages(villages)[0].ranking == (1, 2, 3, 4, 7)
    assert ranked(villages, tie_break="lower_id")[2] == (3, 3, D(3000))
    assert ranked(list(reversed(villages))) == ranked(villages)  # the input order does not matter


def test_a_zero_index_gets_nothing_and_fewer_than_three_may_win():
    assert ranked([VillageIndex(1, D(0)), VillageIndex(2, D(10)), VillageIndex(3, D(0))]) == [(2, 1, D(10000))]
    assert ranked([]) == []


def test_village_sentences():
    award = rules.top_villages([VillageIndex(1, D("1234567"), 80), VillageIndex(2, D("5"), 1)])[0]
    assert award.outcome.sentence == {
        "zh-CN": "加工指数（村民工资发放）1,234,567.00 元，全县第 1 名 → 10,000 元",
        "en": "processing index (wages to village workers) 1,234,567.00 yuan, rank 1 in the county → 10,000 yuan"}


# --- parameter validation --------------------------------------------------------------------

def test_validate_parameters_types_strings_and_ints():
    typed = rules.validate_parameters(GENERAL, {"tier_1_wages_over": "250000.50", "tier_1_workers_over": "120"})
    assert typed["tier_1_wages_over"] == D("250000.50") and isinstance(typed["tier_1_wages_over"], Decimal)
    assert typed["tier_1_workers_over"] == 120 and typed["tier_2_amount"] == D(5000)
    assert rules.validate_parameters(GENERAL, {"tier_1_amount": "2000.000"})["tier_1_amount"] == D(2000)


def test_validate_parameters_lists_every_bad_field_at_once():
    with pytest.raises(ParameterError) as caught:
        rules.validate_parameters(rules.LOAN_INTEREST, {
            "principal_min": -1,  # negative money
            "monthly_rate": 0.005,  # a float: not exact
            "above_max": "half",  # unknown choice
            "eligible_wages_over": "lots",  # not a number
            "interest": "5",  # unknown name
        })
    assert set(caught.value.fields) == {"principal_min", "monthly_rate", "above_max", "eligible_wages_over",
                                        "interest"}
    assert caught.value.fields["interest"] == "unknown parameter"
    assert caught.value.fields["principal_min"] == "must not be negative"
    assert caught.value.codes == {"principal_min": "negative", "monthly_rate": "float", "above_max": "unknown_choice",
                                  "eligible_wages_over": "not_a_number", "interest": "unknown_parameter"}


@pytest.mark.parametrize(("kind", "values", "bad"), [
    (GENERAL, {"tier_1_workers_over": 1.5}, "tier_1_workers_over"),
    (GENERAL, {"tier_1_workers_over": True}, "tier_1_workers_over"),
    (GENERAL, {"tier_1_workers_over": -3}, "tier_1_workers_over"),
    (GENERAL, {"tier_1_amount": "2000.001"}, "tier_1_amount"),  # money is to the fen
    (GENERAL, {"tier_1_amount": "1e30"}, "tier_1_amount"),  # an exponent, and more than an amount column holds
    (GENERAL, {"tier_1_amount": "1e3"}, "tier_1_amount"),  # written out in full, or it is stored as "1E+3"
    (GENERAL, {"tier_1_amount": "Infinity"}, "tier_1_amount"),
    (GENERAL, {"tier_1_workers_over": "²"}, "tier_1_workers_over"),
    (GENERAL, {"tier_1_wages_over": None}, "tier_1_wages_over"),
    (GENERAL, {"tier_2_wages_over": "100000"}, "tier_2_wages_over"),  # tiers must rise
    (GENERAL, {"case_wages_over": "900000"}, "case_wages_over"),
    (rules.FREIGHT, {"rate": "NaN"}, "rate"),
    (rules.FREIGHT, {"rate": "101"}, "rate"),
    (rules.LOAN_INTEREST, {"principal_max": "10000"}, "principal_max"),
    (rules.TOP_VILLAGES, {"index": "population"}, "index"),
])
def test_validate_parameters_refuses(kind, values, bad):
    with pytest.raises(ParameterError) as caught:
        rules.validate_parameters(kind, values)
    assert set(caught.value.fields) == {bad}


def test_an_unknown_kind_is_refused():
    with pytest.raises(ParameterError) as caught:
        rules.validate_parameters("lottery", {})
    assert set(caught.value.fields) == {"kind"}


def test_evaluations_refuse_bad_parameters():
    with pytest.raises(ParameterError):
        general("300000", 200, tier_1_amount="-5")


def test_interest_steps_can_be_checked_by_hand():
    steps = {s.label: s for s in interest("150000", start=date(2009, 3, 15)).steps}
    assert steps["eligible_principal"] == rules.Step("eligible_principal", "min", (D(150000), D(100000)), D(100000))
    assert (steps["days_outstanding"].result, steps["days_in_month"].result) == (17, 31)
    assert steps["interest"].operands == (D(100000), D(5), 17, 31)
    assert steps["interest"].result == D(100000) * 5 * 17 / (1000 * D(31))
    assert steps["amount"].result == D("274.19")


def test_the_rules_module_imports_no_django():
    # pure arithmetic: importable and testable without settings or a database
    code = ("import sys; import subsidies.rules; "
            "print([m for m in sys.modules if m.split('.')[0] in {'django', 'orders', 'payments', 'brokers'}])")
    out = subprocess.run([sys.executable, "-c", code], cwd=BACKEND, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_boolean_parameter_takes_only_true_or_false():
    # no Suichang rule has one yet; the type is there for the next policy's
    flag = rules.ParameterSpec("flag", rules.BOOLEAN, "", False, "a sentence")
    assert rules._typed(flag, True) is True
    for bad in ("true", 1, None):
        with pytest.raises(ValueError, match="true or false"):
            rules._typed(flag, bad)
