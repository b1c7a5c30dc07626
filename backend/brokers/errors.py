"""Stable error codes of the brokers app."""
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, ValidationFailed


class DuplicateNationalId(Conflict):
    code = "duplicate_national_id"
    default_message = _("A worker with this national ID is already registered; add her to your workforce instead.")


class NotAMember(ValidationFailed):
    code = "not_a_member"
    default_message = _("This worker is not a current member of your workforce.")


class BundleOverfilled(Conflict):
    code = "bundle_overfilled"
    default_message = _("Only %(left)s more pieces of this procedure fit in bundle %(bundle)s.")


class ClientIdReused(Conflict):
    code = "client_id_reused"
    default_message = _("This client id was already used for a different piece log.")


class DuplicateScan(Conflict):
    code = "duplicate_scan"
    default_message = _("This ticket was just scanned; wait %(seconds)s seconds before scanning it again.")


class RateBelowFloor(ValidationFailed):
    code = "below_fair_rate_floor"
    default_message = _("The rate is below the fair-rate floor of %(floor)s yuan per piece for this procedure.")


class RateAlreadyScheduled(Conflict):
    code = "piece_rate_exists"
    default_message = _("A rate of this procedure already starts at this moment; rates are never edited, choose "
                        "another start.")


class DisputeClosed(Conflict):
    code = "dispute_closed"
    default_message = _("This dispute is already resolved.")


class DisputeWindowClosed(Conflict):
    code = "dispute_window_closed"
    default_message = _("Logs older than %(days)s days can no longer be disputed.")


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_message = _("This log has already been reversed.")


class TicketRequired(ValidationFailed):
    code = "ticket_required"
    default_message = _("Scan the bundle's ticket: a worker records her pieces by the ticket's code (bundle_code), "
                        "not by a bundle id.")


class ScanTooLarge(ValidationFailed):
    code = "scan_too_large"
    default_message = _("At most %(max)s pieces a scan; the broker records more.")


class MonthClosed(ValidationFailed):
    code = "payroll_month_closed"
    default_message = _("The payroll of %(month)s is closed: only the broker's owner may log work into it, with a "
                        "reason, and it is paid as an adjustment on the next payslip.")


class AdjustmentReasonRequired(ValidationFailed):
    code = "reason_required"
    default_message = _("Say why work of %(month)s, whose payroll is closed, is logged now: the reason is printed on "
                        "the payslip's adjustment line.")
