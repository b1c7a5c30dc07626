"""Pure piecework arithmetic over Decimals."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from core.money import RATE_QUANTUM, line_amount, rate_ceiling


def suggested_rate(*, standard_minutes: Decimal, minute_rate: Decimal) -> Decimal:
    """Standard minutes × the broker's minute rate, in rate precision."""
    return (Decimal(standard_minutes) * Decimal(minute_rate)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def procedure_floor(*, standard_minutes: Decimal, wage_per_minute: Decimal) -> Decimal:
    """The lowest piece rate that pays the minimum wage for this procedure's minutes."""
    return rate_ceiling(Decimal(standard_minutes) * Decimal(wage_per_minute))


def margin_per_piece(*, unit_price: Decimal, rates: list[Decimal]) -> Decimal:
    """What the broker keeps per piece: the award's unit price less every procedure's rate."""
    return Decimal(unit_price) - sum((Decimal(r) for r in rates), Decimal(0))


def provisional_amount(lines: list[tuple[int, Decimal]]) -> Decimal:
    """Pending pay: each (quantity, rate) line rounded once, then summed, as the payslip will."""
    return sum((line_amount(q, r) for q, r in lines), Decimal("0.00"))
