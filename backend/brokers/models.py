"""Workers and the brokers they work for."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Jurisdiction, Organisation


class WorkMode(models.TextChoices):
    FACTORY = "factory", _("Factory")
    CENTRE = "centre", _("Processing centre")
    HOME = "home", _("Home work")


class HouseholdTag(models.TextChoices):
    POOR_HOUSEHOLD = "poor_household", _("Registered poor household")
    RESERVOIR_MIGRANT = "reservoir_migrant", _("Reservoir migrant")
    RELOCATED = "relocated", _("Relocated from the mountains")
    DISABLED = "disabled", _("Disabled")
    ELDERLY = "elderly", _("Elderly")
    LEFT_BEHIND_WOMAN = "left_behind_woman", _("Left-behind woman")


class Worker(models.Model):
    """A person who does piecework. May have a login (phone number + password) or not."""

    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    national_id = models.CharField(_("national ID"), max_length=18, null=True, blank=True, unique=True)
    village = models.ForeignKey(
        Jurisdiction,
        models.PROTECT,
        related_name="workers",
        limit_choices_to={"level": Jurisdiction.Level.VILLAGE},
        verbose_name=_("village"),
    )
    work_mode = models.CharField(_("work mode"), max_length=16, choices=WorkMode.choices, default=WorkMode.HOME)
    household_tags = models.JSONField(_("household tags"), default=list, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="worker"
    )
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    # On a full-time factory roster: the payroll tops her up to the minimum wage.
    full_time_roster = models.BooleanField(_("on the full-time roster"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        indexes = [models.Index(fields=["village"])]

    def __str__(self) -> str:
        return self.name

    @property
    def national_id_masked(self) -> str:
        value = self.national_id or ""
        return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "*" * len(value)


class Membership(models.Model):
    """A worker works for a broker from `started_on` until `ended_on` (open while empty)."""

    broker = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="memberships",
        limit_choices_to={"kind": Organisation.Kind.BROKER},
        verbose_name=_("broker"),
    )
    worker = models.ForeignKey(Worker, models.CASCADE, related_name="memberships", verbose_name=_("worker"))
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["broker", "worker"], condition=Q(ended_on__isnull=True), name="membership_one_open"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="membership_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["broker", "worker"])]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.broker}"


class BrokerCategory(models.TextChoices):
    GENERAL = "general", _("General processing")
    MACHINERY = "machinery", _("Machinery processing")


class BrokerProfile(models.Model):
    """What the county and the payroll need to know about a broker. The subsidy tiers differ by
    category; the minute rate suggests piece rates; the attendance rule feeds the payroll bonus."""

    organisation = models.OneToOneField(
        Organisation, models.CASCADE, related_name="broker_profile",
        limit_choices_to={"kind": Organisation.Kind.BROKER},
    )
    category = models.CharField(_("category"), max_length=16, choices=BrokerCategory.choices,
                                default=BrokerCategory.GENERAL)
    minute_rate = models.DecimalField(_("minute rate (yuan per standard minute)"), max_digits=12, decimal_places=4,
                                      default=Decimal("0.2500"))
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=100, blank=True)
    # The seed's factory pays 200 yuan a month to workers who keep to time.
    attendance_bonus = models.DecimalField(_("attendance bonus"), max_digits=10, decimal_places=2,
                                           default=Decimal("200.00"))
    attendance_bonus_enabled = models.BooleanField(_("attendance bonus on"), default=True)
    late_days_allowed = models.PositiveSmallIntegerField(_("late days allowed a month"), default=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("broker profile")
        verbose_name_plural = _("broker profiles")
        constraints = [
            models.CheckConstraint(condition=Q(minute_rate__gt=0), name="broker_minute_rate_positive"),
            models.CheckConstraint(condition=Q(attendance_bonus__gte=0), name="broker_bonus_not_negative"),
        ]

    def __str__(self) -> str:
        return str(self.organisation)


class SiteKind(models.TextChoices):
    FACTORY = "factory", _("Own factory")
    CENTRE = "centre", _("Processing centre")
    HOME_NETWORK = "home_network", _("Network of home workers")


class ProcessingSite(models.Model):
    broker = models.ForeignKey(Organisation, models.CASCADE, related_name="sites")
    kind = models.CharField(_("kind"), max_length=16, choices=SiteKind.choices)
    name = models.CharField(_("name"), max_length=100)
    location = models.ForeignKey(Jurisdiction, models.PROTECT, related_name="+", verbose_name=_("location"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]


class TrainingRecord(models.Model):
    """The county's broker course (seed 002: a five-day training), and others."""

    broker = models.ForeignKey(Organisation, models.CASCADE, related_name="training_records")
    course = models.CharField(_("course"), max_length=200)
    completed_on = models.DateField(_("completed on"))
    days = models.DecimalField(_("days"), max_digits=5, decimal_places=1)
    certificate_no = models.CharField(_("certificate number"), max_length=60, blank=True)

    class Meta:
        ordering = ["-completed_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(days__gt=0), name="training_days_positive")]


class ZoneKind(models.TextChoices):
    COUNTY_PARK = "county_park", _("County industrial park")
    TOWNSHIP_ZONE = "township_zone", _("Township industrial zone")


class Relocation(models.Model):
    """A broker's move into an industrial park or zone (the one-time relocation subsidy)."""

    broker = models.ForeignKey(Organisation, models.CASCADE, related_name="relocations")
    zone_kind = models.CharField(_("zone kind"), max_length=16, choices=ZoneKind.choices)
    zone_name = models.CharField(_("zone"), max_length=200)
    moved_on = models.DateField(_("moved on"))
    evidence = models.TextField(_("evidence"))

    class Meta:
        ordering = ["-moved_on", "id"]


class Loan(models.Model):
    """A loan a broker registers for the interest subsidy: lender, principal, outstanding from
    `start` (included) until `end`, the repayment day (not included; None while not repaid), and
    the contract as evidence (a checked upload, `core.uploads`). `registered_at` is when it was
    entered: a loan registered after its start is flagged for the auditor."""

    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="loans")
    lender = models.CharField(_("lender"), max_length=200)
    principal = models.DecimalField(_("principal"), max_digits=14, decimal_places=2)
    start = models.DateField(_("start"))
    end = models.DateField(_("repaid on"), null=True, blank=True)
    contract_number = models.CharField(_("contract number"), max_length=100, blank=True)
    contract = models.FileField(_("contract"), upload_to="loans/%Y/%m/", blank=True)
    contract_name = models.CharField(max_length=200, blank=True)
    contract_type = models.CharField(max_length=100, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=models.Q(end__isnull=True) | models.Q(end__gt=models.F("start")),
                                   name="loan_repaid_after_start"),
        ]


class ProfessionalVillageStatus(models.Model):
    """History of a village's professional-processing-village status: one row per change."""

    class Basis(models.TextChoices):
        CRITERIA = "criteria", _("Meets the criteria")
        DESIGNATION = "designation", _("Designated by staff")
        REVOKED = "revoked", _("Revoked")

    village = models.ForeignKey(Jurisdiction, models.PROTECT, related_name="professional_status",
                                limit_choices_to={"level": Jurisdiction.Level.VILLAGE})
    is_professional = models.BooleanField(_("professional processing village"))
    effective_from = models.DateField(_("effective from"))
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices)
    evidence = models.TextField(_("evidence"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["village", "effective_from", "id"]


# --- piecework ---------------------------------------------------------------------------------

class Bundle(models.Model):
    """N pieces of an award that travel together, with a ticket whose QR code names the bundle."""

    award = models.ForeignKey("orders.Award", models.PROTECT, related_name="bundles")
    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="bundles")
    number = models.PositiveIntegerField(_("number"))
    size = models.PositiveIntegerField(_("pieces"))
    # What the QR code carries: unguessable, so a ticket cannot be forged from a bundle number.
    code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["award", "number"]
        constraints = [
            models.UniqueConstraint(fields=["award", "number"], name="bundle_number_unique"),
            models.CheckConstraint(condition=Q(size__gt=0), name="bundle_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.award_id}-{self.number}"


class PieceRate(models.Model):
    """What a broker pays a worker per piece of one procedure of an award, from a moment on.
    Rows are never edited: a change is a new row with a later `effective_from`."""

    award = models.ForeignKey("orders.Award", models.PROTECT, related_name="piece_rates")
    procedure = models.ForeignKey("orders.Procedure", models.PROTECT, related_name="piece_rates")
    rate = models.DecimalField(_("rate per piece"), max_digits=12, decimal_places=4)
    effective_from = models.DateTimeField(_("effective from"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["award", "procedure", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["award", "procedure", "effective_from"], name="piece_rate_once"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="piece_rate_positive"),
        ]


class PieceLog(models.Model):
    """Who did how many pieces of which procedure of which bundle on which day.

    Never edited: a correction is a reversing log (negative quantity) naming the log it reverses.
    `rate` is the piece rate in force when the log was recorded, so payroll is one aggregate
    over this table. `client_id` makes a resend from a phone on a bad network count once."""

    class Source(models.TextChoices):
        BROKER = "broker", _("Broker")
        TEAM_HEAD = "team_head", _("Team head")
        SCAN = "scan", _("Worker scan")

    # No single-column indexes on the big table where a composite index below starts with the
    # same column: they would only slow every insert (see docs/piecework.md, Scale).
    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="piece_logs", db_index=False)
    worker = models.ForeignKey(Worker, models.PROTECT, related_name="piece_logs", db_index=False)
    bundle = models.ForeignKey(Bundle, models.PROTECT, related_name="piece_logs", db_index=False)
    procedure = models.ForeignKey("orders.Procedure", models.PROTECT, related_name="piece_logs")
    quantity = models.IntegerField(_("pieces"))
    work_date = models.DateField(_("work date"))
    rate = models.DecimalField(_("rate per piece"), max_digits=12, decimal_places=4)
    source = models.CharField(max_length=16, choices=Source.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", db_index=False)
    recorded_at = models.DateTimeField(default=timezone.now)
    client_id = models.CharField(max_length=64, unique=True)
    reverses = models.OneToOneField("self", models.PROTECT, null=True, blank=True, related_name="reversed_by")
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(reverses__isnull=True) & Q(quantity__gt=0))
                | (Q(reverses__isnull=False) & Q(quantity__lt=0)),
                name="piece_log_sign",
            ),
        ]
        indexes = [
            # the worker's view and payroll: one worker or one broker over a month
            models.Index(fields=["worker", "work_date"], name="piecelog_worker_date"),
            models.Index(fields=["broker", "work_date"], name="piecelog_broker_date"),
            # payroll: a broker's logs that arrived since the last close (late logs of closed months)
            models.Index(fields=["broker", "id"], name="piecelog_broker_id"),
            # the bundle-size cap and bundle progress
            models.Index(fields=["bundle", "procedure"], name="piecelog_bundle_proc"),
            # the scan guard: the same worker scanning the same ticket again
            models.Index(fields=["worker", "bundle", "recorded_at"], name="piecelog_scan_guard"),
        ]


class Dispute(models.Model):
    class Kind(models.TextChoices):
        WRONG_COUNT = "wrong_count", _("Wrong count")
        NOT_MINE = "not_mine", _("Not my work")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    log = models.ForeignKey(PieceLog, models.PROTECT, related_name="disputes")
    worker = models.ForeignKey(Worker, models.PROTECT, related_name="disputes")
    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="disputes")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    correct_quantity = models.PositiveIntegerField(_("correct count"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    resolution = models.CharField(_("resolution"), max_length=500, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    reversal = models.OneToOneField(PieceLog, models.PROTECT, null=True, blank=True, related_name="dispute_fix")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["log"], condition=Q(status="open"), name="dispute_one_open_per_log"),
        ]


class Attendance(models.Model):
    class Mark(models.TextChoices):
        ON_TIME = "on_time", _("Present, on time")
        LATE = "late", _("Present, late")
        LEAVE = "leave", _("On leave")

    class LeaveReason(models.TextChoices):
        FARM_SEASON = "farm_season", _("Farm season")
        CHILD_CARE = "child_care", _("Child care")
        SICK = "sick", _("Sick")
        OTHER = "other", _("Other")

    broker = models.ForeignKey(Organisation, models.PROTECT, related_name="attendance")
    worker = models.ForeignKey(Worker, models.PROTECT, related_name="attendance")
    date = models.DateField(_("date"))
    mark = models.CharField(_("mark"), max_length=16, choices=Mark.choices)
    leave_reason = models.CharField(_("leave reason"), max_length=16, choices=LeaveReason.choices, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "worker"]
        constraints = [
            models.UniqueConstraint(fields=["broker", "worker", "date"], name="attendance_once_a_day"),
            models.CheckConstraint(condition=Q(mark="leave") | Q(leave_reason=""), name="attendance_reason_only_leave"),
        ]
        indexes = [models.Index(fields=["broker", "date"])]


class Availability(models.Model):
    """A worker says when she can't work (tea picking, farm season), so the broker plans capacity."""

    worker = models.ForeignKey(Worker, models.CASCADE, related_name="availability")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=16, choices=Attendance.LeaveReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="availability_dates"),
        ]
