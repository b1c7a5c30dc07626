"""Pure calculations of the marketplace, over Decimals: no database, tested on their own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from core.money import line_amount, rate_ceiling, round_amount

# Material quantities (DispatchLine, MaterialReturn, ReconciliationLine) are kept to 4 places.
QUANTITY_QUANTUM = Decimal("0.0001")


def fair_rate_floor(*, standard_minutes: Decimal, wage_per_minute: Decimal) -> Decimal:
    """The lowest unit price that pays the minimum wage for the standard minutes of one piece,
    in rate precision, rounded up."""
    return rate_ceiling(Decimal(standard_minutes) * Decimal(wage_per_minute))


def implied_hourly_pay(*, unit_price: Decimal, standard_minutes: Decimal) -> Decimal:
    """What a bid pays per hour of standard work, to the fen (for display beside the bid)."""
    if not standard_minutes:
        return Decimal("0.00")
    return round_amount(Decimal(unit_price) * 60 / Decimal(standard_minutes))


def award_value(*, quantity: int, unit_price: Decimal) -> Decimal:
    return line_amount(quantity, unit_price)


@dataclass(frozen=True)
class FeeDue:
    """Processing fee that an accepted inspection makes due: accepted × unit price."""

    award_id: int
    inspection_id: int
    firm_id: int
    broker_id: int
    quantity: int
    unit_price: Decimal
    amount: Decimal
    due_on: date


def processing_fee(*, award_id: int, inspection_id: int, firm_id: int, broker_id: int, accepted: int,
                   unit_price: Decimal, inspected_at: datetime) -> FeeDue:
    """The fee due for `accepted` pieces at the award's unit price, rounded once, due on the
    inspection's local date."""
    return FeeDue(
        award_id=award_id, inspection_id=inspection_id, firm_id=firm_id, broker_id=broker_id,
        quantity=accepted, unit_price=unit_price, amount=award_value(quantity=accepted, unit_price=unit_price),
        due_on=timezone.localtime(inspected_at).date(),
    )


def processing_fee_due(*, inspection: Any) -> FeeDue:
    """`processing_fee` of an inspection, read from its attributes (this module imports no
    models, so orders' services and payments' invoicing both take the fee from here)."""
    award = inspection.award
    return processing_fee(
        award_id=award.pk, inspection_id=inspection.pk, firm_id=award.order.firm_id, broker_id=award.broker_id,
        accepted=inspection.accepted, unit_price=award.unit_price.amount, inspected_at=inspection.inspected_at,
    )


def quantity(value: Decimal) -> Decimal:
    """A material quantity in its column's precision (4 places), half up."""
    return Decimal(value).quantize(QUANTITY_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MaterialBalance:
    dispatched: Decimal
    received: Decimal
    consumed: Decimal
    returned: Decimal
    lost_within_allowance: Decimal
    excess_loss: Decimal
    excess_charge: Decimal
    # consumed + returned beyond what was received: material the records cannot account for
    # (shown to the firm, never charged); then received + discrepancy = consumed + returned + lost
    discrepancy: Decimal = Decimal(0)


def returnable(*, received: Decimal, returned: Decimal, pieces: int, quantity_per_piece: Decimal) -> Decimal:
    """What a broker can still send back: what arrived, less what the pieces made so far used and
    what was already returned (never below nothing)."""
    left = quantity(received) - quantity(Decimal(pieces) * Decimal(quantity_per_piece)) - quantity(returned)
    return max(left, Decimal(0)).quantize(QUANTITY_QUANTUM)


def reconcile_material(
    *,
    dispatched: Decimal,
    received: Decimal,
    returned: Decimal,
    accepted_pieces: int,
    quantity_per_piece: Decimal,
    loss_allowance_pct: Decimal,
    unit_value: Decimal,
) -> MaterialBalance:
    """Where the received material went. Consumption is what the accepted pieces needed; what
    the broker neither used nor returned is loss, free up to the allowance (a percentage of the
    consumption) and charged at the material's unit value beyond it. Material lost in transit
    (dispatched but not received) is the firm's risk, not the broker's. Returns are refused beyond
    what remains (`returnable`), but pieces accepted after a return can still use more than the
    records show received: that gap is the `discrepancy`, so the line always balances:
    received + discrepancy = consumed + returned + lost within allowance + excess loss."""
    # sums read back from SQLite may carry float noise: each figure in the column's precision
    received, returned = quantity(received), quantity(returned)
    consumed = quantity(Decimal(accepted_pieces) * Decimal(quantity_per_piece))
    unaccounted = received - consumed - returned
    loss = max(unaccounted, Decimal(0))
    # Only the allowance is rounded; the excess is the rest of the loss, so the parts add up to
    # what was received and the charge is exactly the stored excess × unit value, rounded once.
    allowance = quantity(consumed * Decimal(loss_allowance_pct) / 100)
    within = min(loss, allowance)
    excess = loss - within
    return MaterialBalance(
        dispatched=quantity(dispatched),
        received=received,
        consumed=consumed,
        returned=returned,
        lost_within_allowance=quantity(within),
        excess_loss=quantity(excess),
        excess_charge=line_amount(excess, unit_value),
        discrepancy=max(-unaccounted, Decimal(0)).quantize(QUANTITY_QUANTUM),
    )
