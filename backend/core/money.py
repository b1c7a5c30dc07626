"""Money in Lailiao: CNY, never a float. Amounts are kept to the fen (2 places), piece rates and
unit prices to 0.0001 yuan (bead work pays fractions of a fen a piece).

`round_amount` is the one rounding function for money that is paid: half up (四舍五入), once per
line (quantity × rate). Totals are sums of rounded lines and are never rounded again."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, ROUND_UP, Decimal

from moneyed import Money

CURRENCY = "CNY"
AMOUNT_PLACES = 2
RATE_PLACES = 4
AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)  # 0.01
RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)  # 0.0001
# Column sizes: amounts up to 10^12 yuan, rates up to 10^8 yuan a piece.
AMOUNT_DIGITS = 14
RATE_DIGITS = 12


def round_amount(value: Decimal) -> Decimal:
    """The one rounding of a payable amount: to the fen, half up."""
    return Decimal(value).quantize(AMOUNT_QUANTUM, rounding=ROUND_HALF_UP)


def line_amount(quantity: int | Decimal, rate: Decimal) -> Decimal:
    """quantity × rate, rounded once."""
    return round_amount(Decimal(quantity) * Decimal(rate))


def rate_ceiling(value: Decimal) -> Decimal:
    """A minimum price in rate precision, rounded up: the lowest rate that is not below `value`.
    Used for floors (a floor rounded half down would allow a price that pays too little)."""
    return Decimal(value).quantize(RATE_QUANTUM, rounding=ROUND_UP)


def cny(value: Decimal | int | str) -> Money:
    return Money(Decimal(value), CURRENCY)
