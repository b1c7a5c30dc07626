"""Pure tests of the marketplace's arithmetic (orders/calculations.py) and of money rounding
(core/money.py): exact Decimals, no database."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import line_amount, rate_ceiling, round_amount
from orders.calculations import award_value, fair_rate_floor, implied_hourly_pay, reconcile_material

D = Decimal
# The seed's default minimum wage: 2,000 yuan a month over 21.75 days × 8 hours.
DEFAULT_PER_MINUTE = D(2000) / (D("21.75") * 8 * 60)


def exact(value: Decimal, text: str) -> bool:
    """Equal in value *and* in exponent: 0.96 is not 0.9600 for a rate column."""
    return value == D(text) and value.as_tuple().exponent == D(text).as_tuple().exponent


# --- core/money.py ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("0.005", "0.01"),  # half up (四舍五入), not banker's rounding
    ("0.015", "0.02"),
    ("0.025", "0.03"),  # banker's rounding would give 0.02
    ("0.0049999", "0.00"),
    ("0.0050001", "0.01"),
    ("2.675", "2.68"),
    ("-0.005", "-0.01"),
    ("7", "7.00"),
])
def test_round_amount_is_half_up_to_the_fen(value, expected):
    assert exact(round_amount(D(value)), expected)


@pytest.mark.parametrize(("value", "expected"), [
    ("0.95785", "0.9579"),
    ("0.95780", "0.9578"),  # already at rate precision: unchanged
    ("0.00000001", "0.0001"),  # any fraction of the last place goes up
    ("1", "1.0000"),
])
def test_rate_ceiling_rounds_up_at_four_places(value, expected):
    assert exact(rate_ceiling(D(value)), expected)


def test_line_amount_rounds_the_product_once():
    # 3 × 0.3335 = 1.0005 → 1.00 only if rounded once; rounding the rate first would give 1.02
    assert exact(line_amount(3, D("0.3335")), "1.00")
    assert exact(line_amount(D("1.5"), D("0.0100")), "0.02")  # 0.015 → 0.02


# --- fair_rate_floor -------------------------------------------------------------------------

def test_fair_rate_floor_of_five_minutes_at_the_default_wage():
    # 5 × 2000 / 10440 = 0.95785… → rounded up at 4 places
    assert exact(fair_rate_floor(standard_minutes=D("5.00"), wage_per_minute=DEFAULT_PER_MINUTE), "0.9579")


def test_fair_rate_floor_rounds_up_even_a_tiny_remainder():
    # 0.01 minute of bead work: 0.0019157… yuan → 0.0020, never 0.0019
    assert exact(fair_rate_floor(standard_minutes=D("0.01"), wage_per_minute=DEFAULT_PER_MINUTE), "0.0020")
    # a hundred-millionth of a yuan is still more than nothing: the lowest payable rate
    assert exact(fair_rate_floor(standard_minutes=D("1"), wage_per_minute=D("0.00000001")), "0.0001")


def test_fair_rate_floor_that_is_exact_stays_exact():
    assert exact(fair_rate_floor(standard_minutes=D("2"), wage_per_minute=D("0.0123")), "0.0246")
    assert exact(fair_rate_floor(standard_minutes=D("4.00"), wage_per_minute=D("0.25")), "1.0000")


def test_fair_rate_floor_follows_a_higher_county_wage():
    per_minute = D(2400) / (D("21.75") * 8 * 60)  # 5 × 2400 / 10440 = 1.149425…
    assert exact(fair_rate_floor(standard_minutes=D(5), wage_per_minute=per_minute), "1.1495")


minutes_st = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)
monthly_st = st.decimals(min_value=D("500.00"), max_value=D("9999.99"), places=2)
days_st = st.decimals(min_value=D("15.00"), max_value=D("31.00"), places=2)
hours_st = st.decimals(min_value=D("1.00"), max_value=D("12.00"), places=2)


@given(minutes=minutes_st, monthly=monthly_st, days=days_st, hours=hours_st)
def test_floor_never_pays_below_the_minimum_wage_and_is_the_lowest_such_rate(minutes, monthly, days, hours):
    per_minute = monthly / (days * hours * 60)
    floor = fair_rate_floor(standard_minutes=minutes, wage_per_minute=per_minute)
    assert floor.as_tuple().exponent == -4
    # paid at the floor, a worker earns at least the minimum wage per minute of standard work …
    assert floor >= minutes * per_minute
    assert floor / minutes >= per_minute
    # … and one step lower would not
    assert floor - D("0.0001") < minutes * per_minute


# --- implied_hourly_pay ----------------------------------------------------------------------

def test_implied_hourly_pay_of_a_bid():
    assert exact(implied_hourly_pay(unit_price=D("1.2000"), standard_minutes=D("5.00")), "14.40")
    assert exact(implied_hourly_pay(unit_price=D("0.9579"), standard_minutes=D("5.00")), "11.49")  # 11.4948


def test_implied_hourly_pay_rounds_half_up_at_the_fen():
    # 0.0001 × 60 / 1.2 = 0.005 exactly
    assert exact(implied_hourly_pay(unit_price=D("0.0001"), standard_minutes=D("1.2")), "0.01")


def test_implied_hourly_pay_without_minutes_is_zero():
    assert exact(implied_hourly_pay(unit_price=D("1.0000"), standard_minutes=D(0)), "0.00")


@given(minutes=minutes_st, monthly=monthly_st, days=days_st, hours=hours_st)
def test_a_bid_at_the_floor_implies_at_least_the_hourly_minimum_less_half_a_fen(minutes, monthly, days, hours):
    per_minute = monthly / (days * hours * 60)
    floor = fair_rate_floor(standard_minutes=minutes, wage_per_minute=per_minute)
    # display rounding may take off at most half a fen from what the floor really pays
    assert implied_hourly_pay(unit_price=floor, standard_minutes=minutes) >= per_minute * 60 - D("0.005")


# --- award_value -----------------------------------------------------------------------------

@pytest.mark.parametrize(("quantity", "unit_price", "expected"), [
    (1, "0.0050", "0.01"),  # the half-fen boundary goes up
    (1, "0.0049", "0.00"),
    (1, "0.0250", "0.03"),  # not banker's 0.02
    (7, "0.0125", "0.09"),  # 0.0875, rounded once
    (3, "0.3335", "1.00"),  # 1.0005
    (60, "1.2000", "72.00"),
    (100_000, "0.0001", "10.00"),
])
def test_award_value_is_quantity_times_price_rounded_once_half_up(quantity, unit_price, expected):
    assert exact(award_value(quantity=quantity, unit_price=D(unit_price)), expected)


@given(quantity=st.integers(min_value=1, max_value=10_000_000),
       unit_price=st.decimals(min_value=D("0.0001"), max_value=D("99999.9999"), places=4))
def test_award_value_is_within_half_a_fen_of_the_exact_product(quantity, unit_price):
    value = award_value(quantity=quantity, unit_price=unit_price)
    assert value.as_tuple().exponent == -2
    assert abs(value - quantity * unit_price) <= D("0.005")


# --- reconcile_material ----------------------------------------------------------------------

def reconcile(**overrides):
    # beads: 20 a piece, 2 % loss allowance, 0.01 yuan each; 60 pieces accepted → 1200 consumed, 24 allowed
    args = {"dispatched": D("1300"), "received": D("1300"), "returned": D(0), "accepted_pieces": 60,
            "quantity_per_piece": D("20.0000"), "loss_allowance_pct": D("2.00"), "unit_value": D("0.0100")}
    return reconcile_material(**(args | overrides))


def test_loss_within_the_allowance_is_free():
    balance = reconcile(received=D("1220"))
    assert balance.consumed == D("1200") and balance.lost_within_allowance == D("20")
    assert balance.excess_loss == 0
    assert exact(balance.excess_charge, "0.00")


def test_loss_beyond_the_allowance_is_charged_at_unit_value():
    balance = reconcile(received=D("1250"), returned=D("20"))
    assert (balance.dispatched, balance.received, balance.consumed, balance.returned) == (
        D("1300"), D("1250"), D("1200"), D("20"))
    assert exact(balance.lost_within_allowance, "24.0000")
    assert exact(balance.excess_loss, "6.0000")
    assert exact(balance.excess_charge, "0.06")


def test_returned_material_is_not_loss():
    balance = reconcile(received=D("1300"), returned=D("100"))
    assert balance.lost_within_allowance == 0 and balance.excess_loss == 0
    assert exact(balance.excess_charge, "0.00")


def test_nothing_received_charges_nothing():
    balance = reconcile(received=D(0))
    assert balance.received == 0
    assert balance.lost_within_allowance == 0 and balance.excess_loss == 0
    assert exact(balance.excess_charge, "0.00")


def test_shortfall_in_transit_is_the_firms_risk():
    # 1300 sent, 1200 arrived, 1200 consumed: the 100 lost on the road cost the broker nothing
    balance = reconcile(dispatched=D("1300"), received=D("1200"))
    assert balance.dispatched == D("1300") and balance.received == D("1200")
    assert balance.lost_within_allowance == 0 and balance.excess_loss == 0
    assert exact(balance.excess_charge, "0.00")


def test_no_allowance_charges_every_lost_unit():
    balance = reconcile(received=D("1201"), loss_allowance_pct=D(0))
    assert balance.lost_within_allowance == 0
    assert exact(balance.excess_loss, "1.0000")
    assert exact(balance.excess_charge, "0.01")


def test_excess_charge_rounds_half_up_at_the_fen():
    # 0.5 m of thread beyond the allowance at 0.01 yuan/m = 0.005 → 0.01
    balance = reconcile(received=D("1200.5"), loss_allowance_pct=D(0))
    assert exact(balance.excess_charge, "0.01")


def test_allowance_finer_than_the_quantity_precision_still_adds_up():
    # 1 piece × 0.0001 consumed, 50 % allowance = 0.00005: the two loss parts must still sum to the loss
    balance = reconcile(received=D("0.0002"), accepted_pieces=1, quantity_per_piece=D("0.0001"),
                        loss_allowance_pct=D("50"), unit_value=D("100"))
    assert balance.lost_within_allowance + balance.excess_loss == D("0.0001")
    assert balance.lost_within_allowance.as_tuple().exponent == -4
    assert balance.excess_loss.as_tuple().exponent == -4


def test_excess_charge_is_the_stored_excess_times_unit_value():
    # found by hypothesis: the charge was computed from the unrounded excess (31.7740958 → 4039.08)
    # while the line showed 31.7741, which an auditor multiplies out to 4039.09
    balance = reconcile(received=D("31.7874"), accepted_pieces=130, quantity_per_piece=D("0.0001"),
                        loss_allowance_pct=D("2.34"), unit_value=D("127.1188"))
    assert exact(balance.lost_within_allowance, "0.0003")
    assert exact(balance.excess_loss, "31.7741")
    assert exact(balance.excess_charge, "4039.09")


quantity_st = st.decimals(min_value=D(0), max_value=D("1000000"), places=4)


@given(
    accepted=st.integers(min_value=0, max_value=100_000),
    per_piece=st.decimals(min_value=D("0.0001"), max_value=D("100"), places=4),
    pct=st.decimals(min_value=D(0), max_value=D(100), places=2),
    unit_value=st.decimals(min_value=D(0), max_value=D("1000"), places=4),
    extra=quantity_st,
    returned=quantity_st,
    in_transit=quantity_st,
)
def test_reconciliation_parts_add_up_to_what_was_received(accepted, per_piece, pct, unit_value, extra, returned,
                                                          in_transit):
    consumed = accepted * per_piece
    received = consumed + returned + extra  # received ≥ consumed + returned
    balance = reconcile_material(dispatched=received + in_transit, received=received, returned=returned,
                                 accepted_pieces=accepted, quantity_per_piece=per_piece, loss_allowance_pct=pct,
                                 unit_value=unit_value)
    assert balance.consumed + balance.returned + balance.lost_within_allowance + balance.excess_loss == received
    assert balance.lost_within_allowance >= 0 and balance.excess_loss >= 0
    # free loss never exceeds the allowance; excess appears only once the allowance is used up
    assert balance.lost_within_allowance <= consumed * pct / 100 + D("0.00005")
    if balance.excess_loss:
        assert balance.lost_within_allowance >= consumed * pct / 100 - D("0.00005")
    assert balance.excess_charge == line_amount(balance.excess_loss, unit_value)
    # material lost in transit never costs the broker
    assert balance.excess_charge == reconcile_material(
        dispatched=received, received=received, returned=returned, accepted_pieces=accepted,
        quantity_per_piece=per_piece, loss_allowance_pct=pct, unit_value=unit_value,
    ).excess_charge
