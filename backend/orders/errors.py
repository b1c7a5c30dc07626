"""Stable error codes of the orders app (the frontend switches on `code`)."""
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = _("This order cannot do that in its current state (%(status)s).")


class BiddingClosed(Conflict):
    code = "bidding_closed"
    default_message = _("Bidding on this order is closed.")


class DeadlineNotPassed(Conflict):
    code = "deadline_not_passed"
    default_message = _("Bids can be awarded only after the bid deadline.")


class BidExists(Conflict):
    code = "bid_exists"
    default_message = _("You already have a bid on this order; revise or withdraw it.")


class BidNotAwardable(Conflict):
    code = "bid_not_awardable"
    default_message = _("This bid cannot be awarded (%(reason)s).")


class AwardQuantityExceeded(Conflict):
    code = "award_quantity_exceeded"
    default_message = _("Only %(remaining)s pieces of this order are left to award.")


class BelowFloor(ValidationFailed):
    code = "below_fair_rate_floor"
    default_message = _(
        "The unit price is below the fair-rate floor of %(floor)s yuan per piece "
        "(%(minutes)s standard minutes at the minimum wage)."
    )


class AboveCeiling(ValidationFailed):
    code = "above_ceiling"
    default_message = _("The unit price is above the order's ceiling of %(ceiling)s yuan per piece.")


class QuantityExceeded(ValidationFailed):
    code = "quantity_exceeded"


class NotYours(Forbidden):
    code = "not_yours"


__all__ = [
    "AboveCeiling", "AwardQuantityExceeded", "BelowFloor", "BidExists", "BidNotAwardable", "BiddingClosed",
    "DeadlineNotPassed", "IllegalTransition", "NotFound", "NotYours", "QuantityExceeded", "ValidationFailed",
]
