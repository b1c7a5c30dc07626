"""Stable error codes of the payments app."""
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, ValidationFailed


class Unbalanced(ValidationFailed):
    code = "unbalanced"
    default_message = _("The entries of a transaction must sum to zero; these sum to %(total)s.")


class OverPrecise(ValidationFailed):
    code = "over_precise"
    default_message = _("Amounts are kept to the fen: %(amount)s has more than 2 decimal places.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = _("This idempotency key was already used for a different posting.")


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_message = _("This transaction has already been reversed.")
