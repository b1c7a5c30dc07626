"""Stable error codes of the subsidies app (the frontend switches on `code`).

Four-eyes refusals are 403: the claim is in a state that allows the move, but not by this person
(another auditor may make it). State refusals are 409, input refusals 400 naming the field."""
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, Forbidden, ValidationFailed


class ClaimState(Conflict):
    code = "claim_state"
    default_message = _("This claim is in the state “%(status)s”, which does not allow this action.")


class BudgetExceeded(Conflict):
    """`params` (and `remaining` on the exception) name what is left of the year's fund."""

    code = "budget_exceeded"
    default_message = _("The fund for %(year)s has %(remaining)s yuan left; this claim needs %(amount)s yuan.")

    def __init__(self, *, year: int, remaining, amount) -> None:
        self.remaining, self.year, self.amount = remaining, year, amount
        super().__init__(params={"year": year, "remaining": remaining, "amount": amount})
        self.params = {"year": year, "remaining": str(remaining), "amount": str(amount)}


class BudgetBelowCommitted(Conflict):
    code = "budget_below_committed"
    default_message = _("%(committed)s yuan of the %(year)s fund is already committed; the budget cannot be lower.")


class SameApprover(Forbidden):
    code = "same_approver"
    default_message = _("The second approval must be given by someone other than the first approver.")


class CaseAuthorCannotApprove(Forbidden):
    code = "case_author_cannot_approve"
    default_message = _("Whoever entered a case amount approves neither step of that claim.")


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    default_message = _("Give a reason.")

    def __init__(self, message=None, **kw) -> None:
        kw.setdefault("field", "reason")
        super().__init__(message, **kw)


class CaseAmountRequired(Conflict):
    code = "case_amount_required"
    default_message = _("This is a case decision: enter its amount before approving it.")


class NotACase(Conflict):
    code = "not_a_case"
    default_message = _("Only a case decision's amount is entered by staff; this claim's amount is computed.")


class VersionFrozen(Conflict):
    code = "version_frozen"
    default_message = _("This version has produced claims; its rules and budget figures are never edited again.")


class ClaimInBatch(Conflict):
    code = "claim_in_batch"
    default_message = _("Claim %(key)s is already in payment batch %(batch)s.")


class BatchMixed(Conflict):
    code = "batch_mixed"
    default_message = _("A payment batch holds the claims of one policy and one county.")


class BatchAlreadyPaid(Conflict):
    code = "batch_already_paid"
    default_message = _("This batch was already recorded as paid with bank reference %(reference)s on %(paid_on)s.")


class NoFundOwner(Conflict):
    code = "no_fund_owner"
    default_message = _("The policy has no fund owner and the county has no Women's Federation office to hold "
                        "the fund.")
