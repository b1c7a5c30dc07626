"""Pure calculations of the marketplace, over Decimals: no database, tested on their own."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

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
    (dispatched but not received) is the firm's risk, not the broker's."""
    consumed = quantity(Decimal(accepted_pieces) * Decimal(quantity_per_piece))
    loss = max(quantity(Decimal(received) - consumed - Decimal(returned)), Decimal(0))
    # Only the allowance is rounded; the excess is the rest of the loss, so the parts add up to
    # what was received and the charge is exactly the stored excess × unit value, rounded once.
    allowance = quantity(consumed * Decimal(loss_allowance_pct) / 100)
    within = min(loss, allowance)
    excess = loss - within
    return MaterialBalance(
        dispatched=Decimal(dispatched),
        received=Decimal(received),
        consumed=consumed,
        returned=Decimal(returned),
        lost_within_allowance=quantity(within),
        excess_loss=quantity(excess),
        excess_charge=line_amount(excess, unit_value),
    )
