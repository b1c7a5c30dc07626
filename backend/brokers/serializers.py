"""Input and output serializers of the workforce and piecework API. Shapes only; rules live in
services."""
from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Jurisdiction
from accounts.serializers import JurisdictionBriefSerializer
from core.fields import DateTimeField, IdField, MonthField
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES, RATE_DIGITS, RATE_PLACES, RATE_QUANTUM

from . import limits
from .models import (
    Attendance, Availability, BrokerProfile, Bundle, Dispute, HouseholdTag, Loan, PieceLog, ProcessingSite,
    ProfessionalVillageStatus, Relocation, TrainingRecord, Worker, WorkMode,
)
from .services.piecework import MAX_BULK_ROWS
from .services.workforce import LOAN_MAX_PRINCIPAL

# How far from today the weekly capacity may start, either way.
CAPACITY_YEARS = 5


def _shift_years(day, years: int):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # from 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def can_see_national_id(user, worker: Worker) -> bool:
    """The full ID: the worker herself, her own brokers, her county's auditors, admins."""
    if user.is_admin_role:
        return True
    if user.is_worker:
        return worker.user_id == user.pk
    if user.is_broker_staff:
        annotated = getattr(worker, "works_for_viewer", None)  # set by the worker list's queryset
        if annotated is not None:
            return annotated
        return worker.memberships.filter(broker_id=user.organisation_id).exists()
    if user.is_auditor:
        return user.organisation.jurisdiction.county_id == worker.village.county_id
    return False


class WorkerSerializer(serializers.ModelSerializer):
    village = JurisdictionBriefSerializer(read_only=True)
    work_mode_label = serializers.CharField(source="get_work_mode_display", read_only=True)
    national_id_masked = serializers.CharField(read_only=True)
    national_id = serializers.SerializerMethodField()
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = ["id", "name", "phone", "national_id", "national_id_masked", "village", "work_mode",
                  "work_mode_label", "household_tags", "bank_name", "bank_account", "full_time_roster", "has_login"]

    def get_national_id(self, worker) -> str | None:
        request = self.context.get("request")
        if request is None or not can_see_national_id(request.user, worker):
            return None
        return worker.national_id

    def get_has_login(self, worker) -> bool:
        return worker.user_id is not None


class WorkerInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone = serializers.RegexField(r"^(1\d{10})?$", required=False, allow_blank=True, default="")
    national_id = serializers.RegexField(r"^\d{17}[\dXx]$", required=False, allow_null=True, default=None)
    village = serializers.PrimaryKeyRelatedField(queryset=Jurisdiction.objects.filter(level="village"))
    work_mode = serializers.ChoiceField(choices=WorkMode.choices)
    household_tags = serializers.ListField(child=serializers.ChoiceField(choices=HouseholdTag.choices),
                                           required=False, default=list)
    bank_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    bank_account = serializers.RegexField(r"^[\d ]{0,40}$", required=False, allow_blank=True, default="")
    full_time_roster = serializers.BooleanField(required=False, default=False)
    started_on = serializers.DateField(required=False)
    password = serializers.CharField(required=False, min_length=8, max_length=128, write_only=True)

    def validate_national_id(self, value):
        return value.upper() if value else value


class WorkerUpdateInput(WorkerInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class EnrolInput(serializers.Serializer):
    national_id = serializers.RegexField(r"^\d{17}[\dXx]$")
    name = serializers.CharField(max_length=100)
    started_on = serializers.DateField(required=False)


class EndMembershipInput(serializers.Serializer):
    ended_on = serializers.DateField(required=False)


class LoginInput(serializers.Serializer):
    password = serializers.CharField(min_length=8, max_length=128)


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessingSite
        fields = ["id", "kind", "name", "location", "address", "active"]


class TrainingSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRecord
        fields = ["id", "course", "completed_on", "days", "certificate_no"]
        extra_kwargs = {"days": {"min_value": Decimal("0.1"), "max_value": limits.MAX_TRAINING_DAYS}}


class RelocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Relocation
        fields = ["id", "zone_kind", "zone_name", "moved_on", "evidence"]
        extra_kwargs = {"evidence": {"max_length": limits.EVIDENCE_MAX_LENGTH}}


class LoanInput(serializers.Serializer):
    """A loan to register: JSON, or multipart with the contract file in `contract`."""

    lender = serializers.CharField(max_length=200)
    principal = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                         max_value=LOAN_MAX_PRINCIPAL)
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True, default=None,
                                help_text="The repayment day (not counted as outstanding); empty while not repaid.")
    contract_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    contract = serializers.FileField(required=False, max_length=200,
                                     help_text="The signed contract: PDF, JPEG or PNG, checked by its bytes.")


class LoanContractSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField()
    url = serializers.CharField()


class LoanSerializer(serializers.ModelSerializer):
    """A registered loan. `contract` is null without a file; its `url` is the caller's download
    path (`brokers/me/loans/…` for the broker, `brokers/{id}/loans/…` for the county's staff)."""

    registered_by_name = serializers.CharField(source="registered_by.__str__", read_only=True)
    contract = serializers.SerializerMethodField()

    class Meta:
        model = Loan
        fields = ["id", "broker", "lender", "principal", "start", "end", "contract_number", "contract",
                  "registered_by_name", "registered_at"]

    @extend_schema_field(LoanContractSerializer(allow_null=True))
    def get_contract(self, loan) -> dict | None:
        if not loan.contract:
            return None
        base = "/api/brokers/me/loans" if self.context.get("mine") else f"/api/brokers/{loan.broker_id}/loans"
        return {"name": loan.contract_name, "content_type": loan.contract_type, "url": f"{base}/{loan.pk}/contract/"}


class BrokerProfileSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    county = serializers.IntegerField(source="organisation.jurisdiction.county_id", read_only=True)
    township = serializers.CharField(source="organisation.jurisdiction.name", read_only=True)
    sites = SiteSerializer(source="organisation.sites", many=True, read_only=True)
    training_records = TrainingSerializer(source="organisation.training_records", many=True, read_only=True)
    relocations = RelocationSerializer(source="organisation.relocations", many=True, read_only=True)

    class Meta:
        model = BrokerProfile
        fields = ["organisation", "organisation_name", "county", "township", "category", "minute_rate", "bank_name",
                  "bank_account", "account_holder", "attendance_bonus", "attendance_bonus_enabled",
                  "late_days_allowed", "sites", "training_records", "relocations"]
        read_only_fields = ["organisation"]
        extra_kwargs = {
            "minute_rate": {"min_value": Decimal("0.0001"), "max_value": limits.MAX_MINUTE_RATE},
            "attendance_bonus": {"min_value": Decimal("0"), "max_value": limits.MAX_ATTENDANCE_BONUS},
            "late_days_allowed": {"max_value": limits.MAX_LATE_DAYS_ALLOWED},
        }


class CapacityQuery(serializers.Serializer):
    weeks = serializers.IntegerField(required=False)
    start = serializers.DateField(required=False)

    def validate_start(self, value):
        # a planning view: weeks around today (and no 9999-12-31, whose weeks overflow the calendar)
        today = timezone.localdate()
        first, last = _shift_years(today, -CAPACITY_YEARS), _shift_years(today, CAPACITY_YEARS)
        if not first <= value <= last:
            raise serializers.ValidationError(
                _("Give a start between %(first)s and %(last)s.") % {"first": first, "last": last})
        return value


class CapacityWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    workers = serializers.IntegerField(help_text="Workers on the books some day of the week")
    worker_days = serializers.IntegerField(help_text="Days they can work (present minus declared absences)")
    unavailable_worker_days = serializers.IntegerField()


class VillageSerializer(serializers.ModelSerializer):
    is_professional = serializers.SerializerMethodField()

    class Meta:
        model = Jurisdiction
        fields = ["id", "code", "name", "name_en", "parent", "county", "is_professional"]

    def get_is_professional(self, village) -> bool:
        return bool(getattr(village, "is_professional_now", False))


class VillageStatusSerializer(serializers.ModelSerializer):
    decided_by_name = serializers.CharField(source="decided_by.__str__", read_only=True)

    class Meta:
        model = ProfessionalVillageStatus
        fields = ["id", "village", "is_professional", "effective_from", "basis", "evidence", "decided_by_name",
                  "decided_at"]
        read_only_fields = ["village", "decided_by_name", "decided_at"]
        # the model allows a blank (old rows), a new decision needs it: the service refuses a blank one
        extra_kwargs = {"evidence": {"required": True, "max_length": limits.EVIDENCE_MAX_LENGTH}}


class BundleSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="award.order_id", read_only=True)
    product = serializers.CharField(source="award.order.product", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Bundle
        fields = ["id", "award", "order", "product", "number", "size", "code", "created_at", "progress"]

    def get_progress(self, bundle) -> dict[str, int]:
        progress = self.context.get("progress", {}).get(bundle.pk, {})
        return {str(procedure): n for procedure, n in progress.items()}


class CutInput(serializers.Serializer):
    award = IdField()
    size = serializers.IntegerField(min_value=1, max_value=limits.MAX_PIECES_PER_LOG)


class PieceRateInput(serializers.Serializer):
    award = IdField()
    procedure = IdField()
    rate = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, min_value=limits.MIN_PIECE_RATE,
                                    max_value=limits.MAX_PIECE_RATE)
    effective_from = DateTimeField(required=False)


class RateRowSerializer(serializers.Serializer):
    procedure_id = serializers.IntegerField()
    procedure_name = serializers.CharField()
    standard_minutes = serializers.DecimalField(max_digits=8, decimal_places=2)
    suggested = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    floor = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    rate = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, allow_null=True)
    next_rate = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, allow_null=True)
    next_from = serializers.DateTimeField(allow_null=True)


class RateTableSerializer(serializers.Serializer):
    award_id = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    rows = RateRowSerializer(many=True)
    margin_per_piece = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, allow_null=True)
    margin_negative = serializers.BooleanField()


def client_id_input(**kwargs) -> serializers.RegexField:
    """A piece log's client-made id (docs/piecework.md): 8 to 64 of A-Z a-z 0-9 . _ : -"""
    return serializers.RegexField(
        limits.CLIENT_ID_PATTERN, min_length=limits.CLIENT_ID_MIN_LENGTH, max_length=limits.CLIENT_ID_MAX_LENGTH,
        error_messages={"invalid": _("Use 8 to 64 letters, digits or . _ : - (a UUID will do).")}, **kwargs)


class PieceLogInput(serializers.Serializer):
    worker = IdField(required=False, help_text="Broker staff: whose pieces. A worker "
                                      "leaves it out (or names herself).")
    bundle = IdField(required=False,
                                      help_text="Broker staff only; a worker sends the ticket's bundle_code.")
    bundle_code = serializers.CharField(max_length=32, required=False, help_text="The code on the bundle's ticket.")
    procedure = IdField()
    quantity = serializers.IntegerField(min_value=1, max_value=limits.MAX_PIECES_PER_LOG,
                                        help_text="A worker's scan: at most WORKER_SCAN_MAX_QUANTITY (50).")
    work_date = serializers.DateField()
    client_id = client_id_input()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="Required for work of a closed payroll month (the broker's owner only): "
                                             "printed on the payslip's adjustment line.")

    def validate(self, attrs):
        if not attrs.get("bundle") and not attrs.get("bundle_code"):
            raise serializers.ValidationError({"bundle": [_("Give the bundle or the ticket's code.")]})
        return attrs


class BulkPieceLogInput(serializers.Serializer):
    """The bulk request as documented; the view reads it with `BulkPieceLogEnvelope`."""

    rows = PieceLogInput(many=True, allow_empty=False, max_length=MAX_BULK_ROWS)


class BulkPieceLogEnvelope(serializers.Serializer):
    """The bulk request's outer shape only: each row is then checked on its own (PieceLogInput),
    so that one answer can name every bad row, badly shaped or breaking a rule."""

    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=MAX_BULK_ROWS)


def unrounded_amount(log) -> Decimal:
    """quantity × rate exactly, in rate precision: a log is never paid on its own (the payslip
    pays its line, the pieces of a procedure and rate summed over the month, rounded once)."""
    return (Decimal(log.quantity) * log.rate).quantize(RATE_QUANTUM)


UNROUNDED_HELP = ("quantity × rate, unrounded (4 places). Not what is paid: pay is per line (procedure and rate "
                  "summed over the month) rounded once to the fen; see GET /api/me/earnings/.")


class PieceLogSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.name", read_only=True)
    bundle_label = serializers.CharField(source="bundle.__str__", read_only=True)
    procedure_name = serializers.CharField(source="procedure.name", read_only=True)
    recorded_by_name = serializers.CharField(source="recorded_by.__str__", read_only=True)
    source_label = serializers.CharField(source="get_source_display", read_only=True)
    amount_unrounded = serializers.SerializerMethodField(help_text=UNROUNDED_HELP)

    class Meta:
        model = PieceLog
        fields = ["id", "worker", "worker_name", "bundle", "bundle_label", "procedure", "procedure_name", "quantity",
                  "work_date", "rate", "amount_unrounded", "source", "source_label", "recorded_by", "recorded_by_name",
                  "recorded_at", "client_id", "reverses", "reason"]

    @extend_schema_field(serializers.DecimalField(max_digits=RATE_DIGITS + 6, decimal_places=RATE_PLACES))
    def get_amount_unrounded(self, log) -> str:
        return str(unrounded_amount(log))


class ReverseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=limits.MAX_PIECES_PER_LOG, required=False)
    client_id = client_id_input(required=False)


class EarningLineSerializer(serializers.Serializer):
    """One line as the payslip will pay it."""

    broker_id = serializers.IntegerField()
    broker_name = serializers.CharField()
    month = MonthField(read_only=True, help_text="The work month (YYYY-MM) whose payslip pays the line.")
    procedure_id = serializers.IntegerField()
    procedure_name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                                      help_text="quantity × rate, rounded half up to the fen once: what is paid.")


class EarningLogSerializer(serializers.ModelSerializer):
    """A log of the month: its own amount unrounded, since only lines are paid."""

    procedure_name = serializers.CharField(source="procedure.name", read_only=True)
    broker_name = serializers.CharField(source="broker.name", read_only=True)
    amount_unrounded = serializers.SerializerMethodField(help_text=UNROUNDED_HELP)
    is_paid_amount = serializers.SerializerMethodField(help_text="Always false: a log's figure is not what is paid.")

    class Meta:
        model = PieceLog
        fields = ["id", "work_date", "broker", "broker_name", "bundle", "procedure", "procedure_name", "quantity",
                  "rate", "amount_unrounded", "is_paid_amount", "reverses"]

    @extend_schema_field(serializers.DecimalField(max_digits=RATE_DIGITS + 6, decimal_places=RATE_PLACES))
    def get_amount_unrounded(self, log) -> str:
        return str(unrounded_amount(log))

    def get_is_paid_amount(self, log) -> bool:
        return False


def _total(help_text: str, *, nullable: bool = False) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, allow_null=nullable,
                                    help_text=help_text)


class EarningsSerializer(serializers.Serializer):
    """Provisional pay for one month. Every total is the sum of the rounded lines beside it."""

    period = MonthField(read_only=True, help_text="The month shown (YYYY-MM).")
    current = serializers.BooleanField(help_text="Whether the month shown is this month.")
    today = _total("The sum of today_lines (null for a past month).", nullable=True)
    week = _total("The sum of week_lines: Monday to today, a line per month (null for a past month).", nullable=True)
    month = _total("The sum of month_lines: the month's piece pay, as its payslips will pay it.")
    today_lines = EarningLineSerializer(many=True)
    week_lines = EarningLineSerializer(many=True)
    month_lines = EarningLineSerializer(many=True)
    logs = EarningLogSerializer(many=True, help_text="The month's logs, each unrounded.")


class DisputeSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.name", read_only=True)
    broker_name = serializers.CharField(source="broker.name", read_only=True)
    log_quantity = serializers.IntegerField(source="log.quantity", read_only=True)
    procedure_name = serializers.CharField(source="log.procedure.name", read_only=True)

    class Meta:
        model = Dispute
        fields = ["id", "log", "log_quantity", "procedure_name", "worker", "worker_name", "broker", "broker_name",
                  "kind", "correct_quantity", "note", "status", "resolution", "resolved_at", "reversal", "created_at"]


class DisputeInput(serializers.Serializer):
    log = IdField()
    kind = serializers.ChoiceField(choices=Dispute.Kind.choices)
    correct_quantity = serializers.IntegerField(min_value=0, max_value=limits.MAX_PIECES_PER_LOG, required=False,
                                                allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ResolveInput(serializers.Serializer):
    accept = serializers.BooleanField()
    resolution = serializers.CharField(max_length=500)


class AttendanceMarkInput(serializers.Serializer):
    worker = IdField()
    mark = serializers.ChoiceField(choices=Attendance.Mark.choices)
    leave_reason = serializers.ChoiceField(choices=Attendance.LeaveReason.choices, required=False, allow_blank=True,
                                           default="")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AttendanceInput(serializers.Serializer):
    date = serializers.DateField()
    marks = AttendanceMarkInput(many=True, allow_empty=False, max_length=5000)


class AttendanceSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.name", read_only=True)

    class Meta:
        model = Attendance
        fields = ["id", "worker", "worker_name", "date", "mark", "leave_reason", "note"]


class AvailabilitySerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.name", read_only=True)

    class Meta:
        model = Availability
        fields = ["id", "worker", "worker_name", "start_date", "end_date", "reason", "note"]
        read_only_fields = ["worker"]
