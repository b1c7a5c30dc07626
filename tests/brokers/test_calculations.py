"""Pure tests of the piecework arithmetic (brokers/calculations.py): exact Decimals, no database."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokers.calculations import margin_per_piece, procedure_floor, provisional_amount, suggested_rate

D = Decimal
# The seed's default minimum wage: 2,000 yuan a month over 21.75 days × 8 hours.
DEFAULT_PER_MINUTE = D(2000) / (D("21.75") * 8 * 60)


def exact(value: Decimal, text: str) -> bool:
    """Equal in value *and* in exponent: 0.09 is not 0.0900, and a rate is not an amount."""
    return isinstance(value, Decimal) and value == D(text) and value.as_tuple().exponent == D(text).as_tuple().exponent


# --- suggested_rate --------------------------------------------------------------------------

@pytest.mark.parametrize(("minutes", "minute_rate", "expected"), [
    ("4.00", "0.2500", "1.0000"),  # the flow's threading: 4 standard minutes at the default minute rate
    ("1.00", "0.2500", "0.2500"),
    ("1.23", "0.3333", "0.4100"),  # 0.409959 → rate precision
    ("0.50", "0.0005", "0.0003"),  # 0.00025: half up (banker's rounding would give 0.0002)
    ("0.50", "0.0003", "0.0002"),  # 0.00015 → 0.0002
    ("0.01", "0.0004", "0.0000"),  # 0.000004 → below half a unit: 0
    ("12.50", "0.3100", "3.8750"),
])
def test_suggested_rate_is_minutes_times_minute_rate_half_up_at_four_places(minutes, minute_rate, expected):
    assert exact(suggested_rate(standard_minutes=D(minutes), minute_rate=D(minute_rate)), expected)


def test_suggested_rate_takes_ints_and_strings_as_exact_decimals():
    assert exact(suggested_rate(standard_minutes=4, minute_rate=D("0.25")), "1.0000")
    assert exact(suggested_rate(standard_minutes="0.5", minute_rate="0.0005"), "0.0003")


# --- procedure_floor -------------------------------------------------------------------------

@pytest.mark.parametrize(("minutes", "expected"), [
    ("4.00", "0.7663"),  # 4 × 2000 / 10440 = 0.76628… → up
    ("1.00", "0.1916"),  # 0.19157…
    ("5.00", "0.9579"),  # 0.95785… (half up would agree; 0.95784 would not, see below)
    ("0.05", "0.0096"),  # 0.009578…
])
def test_procedure_floor_at_the_default_wage(minutes, expected):
    assert exact(procedure_floor(standard_minutes=D(minutes), wage_per_minute=DEFAULT_PER_MINUTE), expected)


@pytest.mark.parametrize(("minutes", "per_minute", "expected"), [
    ("1", "0.19151", "0.1916"),  # rounded half up this would be 0.1915: a rate that pays too little
    ("1", "0.19150001", "0.1916"),  # any fraction of the last place goes up
    ("1", "0.5", "0.5000"),  # already exact: unchanged
    ("2", "0.25", "0.5000"),
    ("3", "0.00001", "0.0001"),  # 0.00003 → the smallest rate, never 0
])
def test_procedure_floor_rounds_up_never_below_the_wage(minutes, per_minute, expected):
    floor = procedure_floor(standard_minutes=D(minutes), wage_per_minute=D(per_minute))
    assert exact(floor, expected)
    assert floor >= D(minutes) * D(per_minute)


@given(
    minutes=st.decimals(min_value=D("0.01"), max_value=D("600"), places=2),
    monthly=st.decimals(min_value=D("500"), max_value=D("10000"), places=2),
)
def test_procedure_floor_is_the_lowest_rate_that_pays_the_wage(minutes, monthly):
    per_minute = monthly / (D("21.75") * 8 * 60)
    floor = procedure_floor(standard_minutes=minutes, wage_per_minute=per_minute)
    assert floor.as_tuple().exponent == -4
    assert floor >= minutes * per_minute  # pays at least the wage
    assert floor - D("0.0001") < minutes * per_minute  # one unit less would not


# --- margin_per_piece ------------------------------------------------------------------------

def test_margin_is_the_unit_price_less_every_rate():
    assert exact(margin_per_piece(unit_price=D("1.2000"), rates=[D("0.9000"), D("0.3500")]), "-0.0500")
    assert exact(margin_per_piece(unit_price=D("1.2000"), rates=[D("0.7663"), D("0.1916")]), "0.2421")
    assert exact(margin_per_piece(unit_price=D("1.2000"), rates=[D("0.9000"), D("0.3000")]), "0.0000")


def test_margin_without_rates_is_the_unit_price():
    assert exact(margin_per_piece(unit_price=D("1.2000"), rates=[]), "1.2000")


# --- provisional_amount ----------------------------------------------------------------------

@pytest.mark.parametrize(("quantity", "rate", "expected"), [
    (7, "0.0125", "0.09"),  # 0.0875 → 0.09
    (2, "0.0125", "0.03"),  # 0.025 → 0.03: half up (banker's rounding would give 0.02)
    (1, "0.0050", "0.01"),  # exactly half a fen goes up
    (1, "0.0049", "0.00"),  # just under half a fen goes down
    (1, "0.0051", "0.01"),
    (3, "0.0015", "0.00"),  # 0.0045: the decision is made once, on the product (not 0.0045 → 0.005 → 0.01)
    (1, "0.0150", "0.02"),
    (1, "0.0250", "0.03"),
    (3, "0.3335", "1.00"),  # 1.0005: rounding the rate first would give 1.02
    (30, "0.9000", "27.00"),
    (0, "0.9000", "0.00"),
])
def test_one_line_is_quantity_times_rate_rounded_once_half_up(quantity, rate, expected):
    assert exact(provisional_amount([(quantity, D(rate))]), expected)


def test_each_line_is_rounded_then_the_rounded_lines_are_summed():
    # two lines of 1 × 0.0125: 0.01 + 0.01 = 0.02; rounding the sum (0.025) would give 0.03
    assert exact(provisional_amount([(1, D("0.0125")), (1, D("0.0125"))]), "0.02")
    # 7 × 0.0125 = 0.0875 → 0.09 and 3 × 0.0135 = 0.0405 → 0.04: 0.13 (unrounded sum 0.128 → 0.13 too)
    assert exact(provisional_amount([(7, D("0.0125")), (3, D("0.0135"))]), "0.13")
    # three half-fen lines: 0.01 × 3 = 0.03, not round(0.015) = 0.02
    assert exact(provisional_amount([(1, D("0.0050"))] * 3), "0.03")
    # the flow's month: 50 × 0.90 = 45.00 and 50 × 0.35 = 17.50
    assert exact(provisional_amount([(50, D("0.9000")), (50, D("0.3500"))]), "62.50")


def test_no_lines_is_zero_to_the_fen():
    assert exact(provisional_amount([]), "0.00")


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=100_000),
                          st.decimals(min_value=D("0.0001"), max_value=D("100"), places=4)), max_size=20))
def test_the_total_is_exactly_the_sum_of_lines_rounded_half_up(lines):
    def fen_half_up(value: Decimal) -> Decimal:
        # independent of core.money: scale to fen, add half, truncate (all values are ≥ 0)
        return D(int(value * 100 + D("0.5"))) / 100

    expected = sum((fen_half_up(q * r) for q, r in lines), D(0))
    total = provisional_amount(lines)
    assert total == expected
    assert total.as_tuple().exponent == -2
