"""The county's subsidy policies as dated data, the claims computed from them, their review and
payment, and the audit trail.

- `Policy` (a county's document) → `PolicyVersion` (dated, draft → active → retired, with a fund
  budget per year in `Fund`) → `Rule` (a kind of `rules.SPECS` with typed parameters, each
  carrying its unit and source sentence).
- `Evaluation`: one run of a version over a period (a year, or a month for loan interest), or a
  simulation of a draft (no claims, its results kept in `results`).
- `Claim`: what a rule gives one beneficiary (a broker, or a village's committee) for a period,
  with every input and the records behind it (`ClaimEvidence`), the arithmetic (`steps`) and one
  sentence in zh-CN and en; `adjusts` names the claim a correction or a replacement corrects.
- `RiskFlag`: something an auditor should look at before approving; it never blocks.
- `PaymentBatch`: approved claims exported for the finance bureau and marked paid together.
- `AuditEvent`: every action, who, when, before and after; append-only in the database.

Four-eyes review and the budget are enforced in `services/review.py` and again by the
constraints below and the triggers of the migrations (docs/subsidies.md, "Guarantees")."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Jurisdiction, Organisation
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES

from . import rules

KIND_CHOICES = [(kind, kind) for kind in rules.RULE_KINDS]


def _amount(verbose_name, **kw):
    return models.DecimalField(verbose_name, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)


class Policy(models.Model):
    """A county's subsidy document, e.g. Suichang's 2009 notice."""

    jurisdiction = models.ForeignKey(Jurisdiction, models.PROTECT, related_name="subsidy_policies",
                                     limit_choices_to={"level": Jurisdiction.Level.COUNTY},
                                     verbose_name=_("county"))
    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    issuing_body = models.CharField(_("issuing body"), max_length=200)
    document_reference = models.CharField(_("document reference"), max_length=200, blank=True)
    # whose fund pays: the county's Women's Federation office (its ledger accounts)
    fund_owner = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("fund owner"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["jurisdiction", "id"]
        verbose_name = _("subsidy policy")
        verbose_name_plural = _("subsidy policies")

    def __str__(self) -> str:
        return self.title


class PolicyVersion(models.Model):
    """One dated version of a policy's rules. Drafts are edited and simulated; activating one
    from a date retires (ends) the version active before it. A version that has produced claims is
    never edited again: its rules are frozen by the database (docs/subsidies.md)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    policy = models.ForeignKey(Policy, models.PROTECT, related_name="versions", verbose_name=_("policy"))
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)  # set when activated
    effective_to = models.DateField(_("effective to"), null=True, blank=True)  # the last day, included
    annual_budget = _amount(_("fund budget per year"))
    # a claim above this amount (and every case claim) needs a second approver
    second_approval_over = _amount(_("second approval above"), default=Decimal("5000"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    copied_from = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="copies")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "number"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="policy_version_number_unique"),
            models.UniqueConstraint(fields=["policy"], condition=Q(status="active"), name="policy_one_active_version"),
            models.CheckConstraint(condition=Q(annual_budget__gte=0), name="policy_version_budget_not_negative"),
            models.CheckConstraint(condition=Q(second_approval_over__gte=0),
                                   name="policy_version_second_approval_not_negative"),
            models.CheckConstraint(condition=Q(status="draft") | Q(effective_from__isnull=False),
                                   name="policy_version_dated_once_active"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_from__isnull=True)
                                   | Q(effective_to__gte=F("effective_from")),
                                   name="policy_version_dates_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} v{self.number}"

    def in_force_on(self, day) -> bool:
        return (self.status != self.Status.DRAFT and self.effective_from is not None and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))


class Rule(models.Model):
    """A rule of a version: a kind from `rules.SPECS` and its parameters, stored as
    `{name: {"value": "200000", "unit": "CNY", "source": "…", "reading": "…"}}` (values as text,
    so Decimals survive JSON exactly). `rules.validate_parameters` checks them on every write."""

    version = models.ForeignKey(PolicyVersion, models.PROTECT, related_name="rules", verbose_name=_("version"))
    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES)
    parameters = models.JSONField(_("parameters"), default=dict)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["version", "id"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        constraints = [models.UniqueConstraint(fields=["version", "kind"], name="rule_kind_once_per_version")]

    def __str__(self) -> str:
        return f"{self.version} {self.kind}"

    def values(self) -> dict:
        """The parameters as `rules.validate_parameters` takes them: {name: value}."""
        return {name: entry["value"] for name, entry in (self.parameters or {}).items()}


class Fund(models.Model):
    """A version's fund for one year: the row approvals lock. `committed` is the sum of the year's
    approved and paid claims, kept by the approving service under this row's lock; the database
    refuses a `committed` above `budget`."""

    version = models.ForeignKey(PolicyVersion, models.PROTECT, related_name="funds")
    year = models.PositiveIntegerField(_("year"))
    budget = _amount(_("budget"))
    committed = _amount(_("committed"), default=Decimal("0"))

    class Meta:
        ordering = ["version", "year"]
        constraints = [
            models.UniqueConstraint(fields=["version", "year"], name="fund_once_per_version_year"),
            models.CheckConstraint(condition=Q(committed__lte=F("budget")), name="fund_never_overspent"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="fund_budget_not_negative"),
        ]


class Evaluation(models.Model):
    """One run of a version over a period: on demand by staff or on the beat schedule; or a
    simulation of a draft (`simulation=True`: no claims, `results` holds the totals and the
    differences against the active version)."""

    class Period(models.TextChoices):
        YEAR = "year", _("Year")
        MONTH = "month", _("Month")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    version = models.ForeignKey(PolicyVersion, models.PROTECT, related_name="evaluations")
    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    period_start = models.DateField(_("period start"))  # 1 January, or the first of the month
    simulation = models.BooleanField(_("simulation"), default=False)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+")  # None: the beat schedule
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"created": n, "adjusted": n, "superseded": n, "unchanged": n, "flags": n}
    counts = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=dict, blank=True)  # a simulation's report
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]


class Claim(models.Model):
    """What one rule gives one beneficiary for one period.

    `subject` identifies what the claim is for across re-runs and versions (`claim_subject`: the
    policy, kind, period and beneficiary; for the one-time kinds the enterprise or village alone,
    so no version pays it twice). `key` is unique: the subject for the first claim, the subject
    and a sequence number (`:2`, `:3`) for a later adjustment or replacement, which names the
    claim it corrects in `adjusts`. At most one live (not rejected or superseded) non-adjustment
    claim exists per subject, by a unique index.
    `amount` is what is claimed (for an adjustment, the difference; None for a case until staff
    enter it); `inputs` every figure used, `steps` the arithmetic, `fingerprint` a digest of the
    inputs that tells a re-run whether anything changed."""

    class Status(models.TextChoices):
        COMPUTED = "computed", _("Computed")
        FIRST_APPROVED = "first_approved", _("First approval")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded")

    key = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=200, db_index=True)  # see `claim_subject`
    policy = models.ForeignKey(Policy, models.PROTECT, related_name="claims")
    version = models.ForeignKey(PolicyVersion, models.PROTECT, related_name="claims")
    rule = models.ForeignKey(Rule, models.PROTECT, related_name="claims")
    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES, db_index=True)
    evaluation = models.ForeignKey(Evaluation, models.PROTECT, related_name="claims")
    county = models.ForeignKey(Jurisdiction, models.PROTECT, related_name="+")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))  # the last day, included
    fund_year = models.PositiveIntegerField(_("fund year"))
    # the beneficiary: a broker, or a village (paid to its committee)
    broker = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="subsidy_claims")
    village = models.ForeignKey(Jurisdiction, models.PROTECT, null=True, blank=True, related_name="subsidy_claims")
    loan = models.ForeignKey("brokers.Loan", models.PROTECT, null=True, blank=True, related_name="claims")
    relocation = models.ForeignKey("brokers.Relocation", models.PROTECT, null=True, blank=True, related_name="claims")

    is_case = models.BooleanField(_("case decision"), default=False)
    amount = _amount(_("amount"), null=True, blank=True)
    computed_amount = _amount(_("computed amount"), null=True, blank=True)  # before any case entry
    adjusts = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="corrections")
    is_adjustment = models.BooleanField(default=False)  # True: amount is a difference to `adjusts`
    needs_second_approval = models.BooleanField(default=False)
    second_approval_over = _amount(_("second approval above"))  # the version's, when computed

    inputs = models.JSONField(default=dict)
    steps = models.JSONField(default=list)
    sentence_zh = models.CharField(max_length=500)
    sentence_en = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    rank = models.PositiveSmallIntegerField(null=True, blank=True)  # top villages: the rank, frozen

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.COMPUTED,
                              db_index=True)
    case_entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                        related_name="+")
    case_entered_at = models.DateTimeField(null=True, blank=True)
    case_reason = models.CharField(_("case reason"), max_length=500, blank=True)
    first_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                          related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                    related_name="+")
    rejected_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(_("reason"), max_length=500, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    payment_batch = models.ForeignKey("PaymentBatch", models.PROTECT, null=True, blank=True, related_name="claims")
    paid_at = models.DateTimeField(null=True, blank=True)
    approval_ledger = models.OneToOneField("payments.Transaction", models.PROTECT, null=True, blank=True,
                                           related_name="+")
    payment_ledger = models.ForeignKey("payments.Transaction", models.PROTECT, null=True, blank=True,
                                       related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["county", "status"]), models.Index(fields=["policy", "kind", "period_start"]),
                   models.Index(fields=["version", "fund_year", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(broker__isnull=False) | Q(village__isnull=False),
                                   name="claim_has_beneficiary"),
            # four eyes: two different people approve, neither of them the one who set a case amount
            models.CheckConstraint(condition=Q(first_approved_by__isnull=True) | Q(approved_by__isnull=True)
                                   | ~Q(first_approved_by=F("approved_by")), name="claim_two_different_approvers"),
            models.CheckConstraint(condition=Q(case_entered_by__isnull=True)
                                   | ((Q(first_approved_by__isnull=True) | ~Q(first_approved_by=F("case_entered_by")))
                                      & (Q(approved_by__isnull=True) | ~Q(approved_by=F("case_entered_by")))),
                                   name="claim_case_author_approves_neither"),
            models.CheckConstraint(condition=~Q(is_case=True) | Q(needs_second_approval=True),
                                   name="claim_case_needs_second"),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(needs_second_approval=True)
                                   | Q(amount__lte=F("second_approval_over")) & Q(amount__gte=-F("second_approval_over")),
                                   name="claim_large_needs_second"),
            models.CheckConstraint(condition=~Q(status__in=["approved", "paid"]) | Q(approved_by__isnull=False)
                                   & Q(amount__isnull=False), name="claim_committed_has_approver"),
            models.CheckConstraint(condition=~Q(status__in=["approved", "paid"]) | Q(needs_second_approval=False)
                                   | Q(first_approved_by__isnull=False), name="claim_committed_second_approval"),
            models.CheckConstraint(condition=~Q(status="first_approved") | Q(first_approved_by__isnull=False),
                                   name="claim_first_approval_named"),
            models.CheckConstraint(condition=~Q(status="rejected") | ~Q(reject_reason=""),
                                   name="claim_rejection_has_reason"),
            models.CheckConstraint(condition=~Q(is_case=True) | Q(case_entered_by__isnull=True) | ~Q(case_reason=""),
                                   name="claim_case_amount_has_reason"),
            models.CheckConstraint(condition=Q(is_adjustment=False) | Q(adjusts__isnull=False),
                                   name="claim_adjustment_names_claim"),
            models.UniqueConstraint(fields=["subject"], condition=Q(is_adjustment=False)
                                    & ~Q(status__in=["rejected", "superseded"]), name="claim_one_live_per_subject"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def beneficiary_name(self) -> str:
        if self.broker_id:
            return self.broker.name
        return self.village.name if self.village_id else ""


def claim_subject(*, policy_id: int, kind: str, period_start=None, broker_id: int | None = None,
                  village_id: int | None = None, loan_id: int | None = None) -> str:
    """What a claim is for, the same on every run: e.g. `3:broker_reward_general:2026:broker:12`,
    `3:loan_interest:2026-03:loan:5`; the one-time kinds leave the period out
    (`3:relocation:broker:12`, `3:new_professional_village:village:33`)."""
    if kind in (rules.RELOCATION, rules.NEW_PROFESSIONAL_VILLAGE):
        period = None
    elif kind == rules.LOAN_INTEREST:
        period = f"{period_start:%Y-%m}"
    else:
        period = f"{period_start:%Y}"
    if loan_id is not None:
        who = f"loan:{loan_id}"
    elif village_id is not None:
        who = f"village:{village_id}"
    else:
        who = f"broker:{broker_id}"
    return ":".join(str(part) for part in (policy_id, kind, period, who) if part is not None)


class ClaimEvidence(models.Model):
    """One record behind a claim: a payout batch, payslip, invoice, loan, relocation, village
    status record or a worker counted, with the figure it contributed (yuan or pieces)."""

    class Kind(models.TextChoices):
        PAYOUT_BATCH = "payout_batch", _("Payout batch")
        PAYSLIP = "payslip", _("Payslip")
        INVOICE = "invoice", _("Invoice")
        LOAN = "loan", _("Loan")
        RELOCATION = "relocation", _("Relocation")
        VILLAGE_STATUS = "village_status", _("Village status record")
        WORKER = "worker", _("Worker counted")
        BROKER = "broker", _("Broker")

    claim = models.ForeignKey(Claim, models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    amount = _amount("amount", null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)  # e.g. "2025" for last year's invoices

    class Meta:
        ordering = ["claim", "kind", "object_id"]
        indexes = [models.Index(fields=["claim", "kind"]), models.Index(fields=["kind", "object_id"])]


class RiskFlag(models.Model):
    """Something to look at before approving; informs, never blocks. `params` fills the
    translated message of `code`; `records` lists the records it is about ([{"kind", "id"}])."""

    class Code(models.TextChoices):
        WORKERS_JUST_OVER_MINIMUM = "workers_just_over_minimum", _("Workers paid just over the counting threshold")
        NATIONAL_ID_TWO_BROKERS = "national_id_two_brokers", _("The same national ID counted by two brokers")
        JUST_OVER_TIER = "just_over_tier", _("Just above a tier boundary")
        YEAR_END_SPIKE = "year_end_spike", _("Year-end spike in wages issued")
        OPEN_DISPUTES = "open_disputes", _("Open worker disputes")
        LOAN_REGISTERED_LATE = "loan_registered_late", _("Loan registered after its start")

    claim = models.ForeignKey(Claim, models.CASCADE, related_name="flags")
    code = models.CharField(max_length=32, choices=Code.choices)
    params = models.JSONField(default=dict)
    records = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["claim", "code", "id"]
        constraints = [models.UniqueConstraint(fields=["claim", "code"], name="risk_flag_once_per_claim")]


class PaymentBatch(models.Model):
    """Approved claims paid together: exported (bank file) for the finance bureau, then marked
    paid, which settles each claim's payable in the ledger."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")

    policy = models.ForeignKey(Policy, models.PROTECT, related_name="payment_batches")
    county = models.ForeignKey(Jurisdiction, models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    total = _amount(_("total"), default=Decimal("0"))
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class AuditEvent(models.Model):
    """Who did what to which record, when, with the state before and after. Append-only: the
    database refuses UPDATE and DELETE (migration 0003_guards)."""

    class Action(models.TextChoices):
        EVALUATE = "evaluate", _("Evaluate")
        SIMULATE = "simulate", _("Simulate")
        FIRST_APPROVE = "first_approve", _("First approval")
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")
        ENTER_CASE_AMOUNT = "enter_case_amount", _("Enter a case amount")
        PAY = "pay", _("Pay")
        DESIGNATE_VILLAGE = "designate_village", _("Designate a village")
        DRAFT_VERSION = "draft_version", _("Draft a version")
        EDIT_DRAFT = "edit_draft", _("Edit a draft")
        ACTIVATE_VERSION = "activate_version", _("Activate a version")
        SET_BUDGET = "set_budget", _("Set a budget")
        EXPORT = "export", _("Export")

    county = models.ForeignKey(Jurisdiction, models.PROTECT, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=24, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=40)  # "claim", "policy_version", "rule", "village", ...
    object_id = models.BigIntegerField()
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
