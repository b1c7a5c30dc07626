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


# --- payroll and payouts ----------------------------------------------------------------------

class RunNotPreview(Conflict):
    code = "run_closed"
    default_message = _("This payroll run is closed; its payslips cannot change.")


class PeriodClosed(Conflict):
    code = "period_closed"
    default_message = _(
        "Payroll for %(month)s or a later month is closed; late work goes into the next open month.")


class EarlierRunOpen(Conflict):
    code = "earlier_run_open"
    default_message = _("Close the payroll of %(month)s first: months close in order.")


class MonthNotOver(Conflict):
    code = "month_not_over"
    default_message = _("The month is not over yet; a run closes after its last day.")


class RunNotClosed(Conflict):
    code = "run_not_closed"
    default_message = _("Only a closed payroll run is paid.")


class BatchAlreadyPaid(Conflict):
    code = "batch_already_paid"
    default_message = _("This batch was already recorded as paid with bank reference %(reference)s.")


class BatchNotPaid(Conflict):
    code = "batch_not_paid"
    default_message = _("Record the bank's answer for this batch before retrying its failures.")


class NothingToRetry(Conflict):
    code = "nothing_to_retry"
    default_message = _(
        "No failed payment of this batch can be retried: none failed, or bank details are missing.")
