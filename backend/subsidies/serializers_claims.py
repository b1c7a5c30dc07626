"""What the claims, evaluations, review, budget, payment-batch and audit endpoints answer and take.
Read-only views of the models plus the inputs of the review actions; every rule is the services'."""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext, gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import IdField
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES

from .models import AuditEvent, Claim, ClaimEvidence, Evaluation, PaymentBatch, RiskFlag
from .services import flags as flag_service

# Ranges of the inputs taken here (docs/api.md, "Limits").
YEAR_MIN, YEAR_MAX = 2000, 2100  # a fund year, a budget year
REASON_MAX_LENGTH = 500  # Claim.reject_reason, Claim.case_reason
CASE_AMOUNT_MIN = Decimal("0.01")  # yuan: a case amount is more than zero (services.review)
CASE_AMOUNT_MAX = 100_000_000  # yuan: a case amount, a year's budget
IDS_MAX = 500  # claims approved, or put into a payment batch, in one request
BANK_REFERENCE_MAX_LENGTH = 100  # PaymentBatch.bank_reference


def _user(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name or user.username}


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BeneficiarySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["broker", "village"], help_text="A broker, or a village (its committee).")
    id = serializers.IntegerField()
    name = serializers.CharField()


class SentenceSerializer(serializers.Serializer):
    """The arithmetic in one sentence, in both languages whatever the request's."""

    def get_fields(self):
        return {"zh-CN": serializers.CharField(), "en": serializers.CharField()}


def _beneficiary(claim: Claim) -> dict:
    if claim.broker_id:
        return {"type": "broker", "id": claim.broker_id, "name": claim.broker.name}
    return {"type": "village", "id": claim.village_id, "name": claim.village.name}


class ClaimSerializer(serializers.ModelSerializer):
    """A claim in a list: what, for whom, how much, where it stands."""

    kind_label = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    beneficiary = serializers.SerializerMethodField()
    sentence = serializers.SerializerMethodField()
    flag_count = serializers.IntegerField(read_only=True, help_text="Risk flags on the claim (auditors and admins).")

    class Meta:
        model = Claim
        fields = ["id", "key", "kind", "kind_label", "policy", "version", "version_number", "rule", "evaluation",
                  "beneficiary", "broker", "village", "period_start", "period_end", "fund_year", "amount",
                  "computed_amount", "is_case", "is_adjustment", "adjusts", "needs_second_approval", "status",
                  "status_label", "payment_batch", "sentence", "flag_count", "created_at"]
        read_only_fields = fields
        schema_optional = ["flag_count"]  # left out for brokers: flags are the auditors' notes

    def get_kind_label(self, claim) -> str:
        return _kind_label(claim.kind)

    @extend_schema_field(BeneficiarySerializer)
    def get_beneficiary(self, claim):
        return _beneficiary(claim)

    @extend_schema_field(SentenceSerializer)
    def get_sentence(self, claim):
        return {"zh-CN": claim.sentence_zh, "en": claim.sentence_en}


KIND_LABELS = {
    "broker_reward_general": _("Broker reward, general processing"),
    "broker_reward_machinery": _("Broker reward, machinery processing"),
    "loan_interest": _("Loan interest"),
    "freight": _("Freight"),
    "relocation": _("Relocation"),
    "new_professional_village": _("New professional processing village"),
    "top_villages": _("Top villages"),
}


def _kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


class ClaimRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    amount = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, allow_null=True)
    status = serializers.CharField()
    is_adjustment = serializers.BooleanField()


class ApprovalSerializer(serializers.Serializer):
    """Who decided what, when: null where that step has not happened."""

    case_entered_by = UserRefSerializer(allow_null=True)
    case_entered_at = serializers.DateTimeField(allow_null=True)
    first_approved_by = UserRefSerializer(allow_null=True)
    first_approved_at = serializers.DateTimeField(allow_null=True)
    approved_by = UserRefSerializer(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    rejected_by = UserRefSerializer(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)


class ReasonsSerializer(serializers.Serializer):
    case = serializers.CharField(help_text="Why staff entered the case amount; empty if none.")
    rejection = serializers.CharField(help_text="Why the claim was rejected; empty if it was not.")


class FlagSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    message = serializers.CharField(help_text="Why, in the request's language, with the figures.")
    params = serializers.DictField()
    records = serializers.ListField(child=serializers.DictField(), help_text='[{"kind", "id"}]: what it is about.')


class ClaimParameterSerializer(serializers.Serializer):
    value = serializers.JSONField()
    unit = serializers.CharField()
    source = serializers.CharField(help_text="The sentence of the policy document it comes from.")
    reading = serializers.CharField(allow_blank=True, help_text="How an open sentence is read, if it is open.")


class PolicyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    title_en = serializers.CharField()


class ClaimDetailSerializer(ClaimSerializer):
    """Everything an auditor needs to check the claim by hand."""

    policy_ref = serializers.SerializerMethodField()
    adjusts_ref = serializers.SerializerMethodField()
    corrections = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()
    parameters = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField()
    evidence_counts = serializers.SerializerMethodField()

    class Meta(ClaimSerializer.Meta):
        fields = ClaimSerializer.Meta.fields + [
            "policy_ref", "adjusts_ref", "corrections", "loan", "relocation", "rank", "second_approval_over",
            "approvals", "reasons", "inputs", "steps", "parameters", "flags", "evidence_counts"]
        read_only_fields = fields
        schema_optional = ["flags", "flag_count"]  # left out for brokers, as above

    def to_representation(self, claim):
        body = super().to_representation(claim)
        if not self.context.get("show_flags", True):
            body.pop("flags", None)
        return body

    @extend_schema_field(PolicyRefSerializer)
    def get_policy_ref(self, claim):
        policy = claim.policy
        return {"id": policy.pk, "code": policy.code, "title": policy.title, "title_en": policy.title_en}

    @extend_schema_field(ClaimRefSerializer(allow_null=True))
    def get_adjusts_ref(self, claim):
        return _claim_ref(claim.adjusts) if claim.adjusts_id else None

    @extend_schema_field(ClaimRefSerializer(many=True))
    def get_corrections(self, claim):
        return [_claim_ref(c) for c in claim.corrections.all()]

    @extend_schema_field(ApprovalSerializer)
    def get_approvals(self, claim):
        return {"case_entered_by": _user(claim.case_entered_by), "case_entered_at": _iso(claim.case_entered_at),
                "first_approved_by": _user(claim.first_approved_by), "first_approved_at": _iso(claim.first_approved_at),
                "approved_by": _user(claim.approved_by), "approved_at": _iso(claim.approved_at),
                "rejected_by": _user(claim.rejected_by), "rejected_at": _iso(claim.rejected_at),
                "superseded_at": _iso(claim.superseded_at), "paid_at": _iso(claim.paid_at)}

    @extend_schema_field(ReasonsSerializer)
    def get_reasons(self, claim):
        return {"case": claim.case_reason, "rejection": claim.reject_reason}

    @extend_schema_field(serializers.DictField(child=ClaimParameterSerializer()))
    def get_parameters(self, claim):
        """The rule's parameters as the claim used them, each with its unit and source sentence."""
        return claim.rule.parameters

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, claim):
        return [flag_body(flag) for flag in claim.flags.all()]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_evidence_counts(self, claim):
        return self.context.get("evidence_counts", {})


def _iso(moment):
    return serializers.DateTimeField().to_representation(moment) if moment else None


def _claim_ref(claim: Claim) -> dict:
    return {"id": claim.pk, "key": claim.key, "amount": None if claim.amount is None else str(claim.amount),
            "status": claim.status, "is_adjustment": claim.is_adjustment}


def flag_body(flag: RiskFlag) -> dict:
    """A flag with its message in the request's language: services.flags' `message(flag)` when it
    has one, else the code's label."""
    label = flag.get_code_display()
    message = getattr(flag_service, "message", None)
    return {"code": flag.code, "label": str(label), "message": str(message(flag)) if message else str(label),
            "params": flag.params, "records": flag.records}


# --- evidence ------------------------------------------------------------------------------------

class EvidenceSerializer(serializers.Serializer):
    """One record behind a claim, resolved: what it is, its figure, and where the API shows it."""

    kind = serializers.ChoiceField(choices=ClaimEvidence.Kind.choices)
    object_id = serializers.IntegerField(help_text="The record's id (a payslip's, for kind=payslip).")
    amount = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, allow_null=True,
                                      help_text="What it contributed to the claim (yuan), if a figure.")
    note = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True, help_text="Who or what it is, in a few words.")
    path = serializers.CharField(allow_null=True, help_text="The API path of the record, where it has one.")
    details = serializers.DictField(help_text="The record's own figures (dates, amounts, names).")


class EvidenceQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[k for k in ClaimEvidence.Kind.values])


# --- review inputs ---------------------------------------------------------------------------------

class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, trim_whitespace=True)


class CaseAmountInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                                      min_value=CASE_AMOUNT_MIN, max_value=CASE_AMOUNT_MAX)
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class ClaimIdsInput(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), min_length=1, max_length=IDS_MAX,
                                help_text="The claims to approve, all or none.")

    def validate_ids(self, ids):
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError(gettext("Name each claim once."))
        return ids


# --- evaluations ------------------------------------------------------------------------------------

class EvaluationSerializer(serializers.ModelSerializer):
    policy = serializers.IntegerField(source="version.policy_id", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    period_label = serializers.CharField(source="get_period_display", read_only=True)
    requested_by = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = ["id", "policy", "version", "version_number", "period", "period_label", "period_start", "simulation",
                  "status", "status_label", "requested_by", "requested_at", "started_at", "finished_at",
                  "duration_seconds", "counts", "error"]
        read_only_fields = fields

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_requested_by(self, evaluation):
        return _user(evaluation.requested_by)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, evaluation) -> float | None:
        """How long the run took (a timing, not money: a float is fine)."""
        if evaluation.started_at and evaluation.finished_at:
            return round((evaluation.finished_at - evaluation.started_at).total_seconds(), 3)
        return None


class EvaluationDetailSerializer(EvaluationSerializer):
    class Meta(EvaluationSerializer.Meta):
        fields = EvaluationSerializer.Meta.fields + ["results"]
        read_only_fields = fields


class EvaluationInput(serializers.Serializer):
    version = IdField()
    period = serializers.ChoiceField(choices=Evaluation.Period.choices)
    period_start = serializers.DateField(help_text="1 January of the year, or the first of the month.")
    simulation = serializers.BooleanField(default=False, help_text="A draft against a past year: no claims.")


# --- budget ------------------------------------------------------------------------------------------

class BudgetQuery(serializers.Serializer):
    version = IdField()
    year = serializers.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX)


class BudgetInput(BudgetQuery):
    amount = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, min_value=0,
                                      max_value=CASE_AMOUNT_MAX)


class BudgetSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    year = serializers.IntegerField()
    budget = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    committed = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                                         help_text="Approved and paid claims of the year.")
    remaining = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    pending = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                                       help_text="Computed and first-approved claims not yet committed.")


# --- payment batches -------------------------------------------------------------------------------------

class PaymentBatchSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.SerializerMethodField()
    paid_by = serializers.SerializerMethodField()
    claim_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = PaymentBatch
        fields = ["id", "policy", "county", "status", "status_label", "total", "claim_count", "bank_reference",
                  "paid_on", "created_by", "created_at", "paid_by", "paid_at"]
        read_only_fields = fields

    @extend_schema_field(UserRefSerializer)
    def get_created_by(self, batch):
        return _user(batch.created_by)

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_paid_by(self, batch):
        return _user(batch.paid_by)


class PaymentBatchDetailSerializer(PaymentBatchSerializer):
    claims = ClaimSerializer(many=True, read_only=True)

    class Meta(PaymentBatchSerializer.Meta):
        fields = PaymentBatchSerializer.Meta.fields + ["claims"]
        read_only_fields = fields


class PaymentBatchInput(serializers.Serializer):
    claims = serializers.ListField(child=IdField(), min_length=1, max_length=IDS_MAX,
                                   help_text="Approved claims of one policy, to pay together.")

    def validate_claims(self, ids):
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError(gettext("Name each claim once."))
        return ids


class BatchPaidInput(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=BANK_REFERENCE_MAX_LENGTH)
    paid_on = serializers.DateField()


# --- audit ---------------------------------------------------------------------------------------------------

class AuditEventSerializer(serializers.ModelSerializer):
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "county", "actor", "action", "action_label", "object_type", "object_id", "before", "after",
                  "at"]
        read_only_fields = fields

    @extend_schema_field(UserRefSerializer(allow_null=True, help_text="null: the beat schedule."))
    def get_actor(self, event):
        return _user(event.actor)

