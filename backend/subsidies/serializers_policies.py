"""Shapes of the policies, versions, rules, exports and impact API (`api_policies`). Shapes only:
the rules (drafts only, parameter checks, activation dates) are the services'."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import IdField
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES

from . import rules
from .models import Policy, PolicyVersion, Rule

IMPACT_FIRST_YEAR = 2000


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


class CountyBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()


class VersionBriefSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    has_claims = serializers.SerializerMethodField(help_text="A version that has produced claims is never edited.")

    class Meta:
        model = PolicyVersion
        fields = ["id", "number", "status", "status_label", "effective_from", "effective_to", "annual_budget",
                  "second_approval_over", "note", "copied_from", "created_at", "activated_at", "has_claims"]

    def get_has_claims(self, version) -> bool:
        return bool(getattr(version, "has_claims", False))


class PolicySerializer(serializers.ModelSerializer):
    county = CountyBriefSerializer(source="jurisdiction", read_only=True)

    class Meta:
        model = Policy
        fields = ["id", "code", "title", "title_en", "issuing_body", "document_reference", "county", "created_at"]


class PolicyDetailSerializer(PolicySerializer):
    versions = VersionBriefSerializer(many=True, read_only=True)

    class Meta(PolicySerializer.Meta):
        fields = PolicySerializer.Meta.fields + ["versions"]


class ParameterSerializer(serializers.Serializer):
    """One parameter of a rule: its value (text for numbers, so Decimals stay exact; true/false;
    a choice), its unit, the document's sentence it comes from and the reading of an open one."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=rules.TYPES)
    value = serializers.JSONField(help_text="Numbers as text (\"200000\"), booleans as true/false, choices as text.")
    default = serializers.JSONField()
    unit = serializers.CharField()
    source = serializers.CharField()
    reading = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())


def _plain(value: Any) -> Any:
    return value if isinstance(value, (bool, str)) or value is None else str(value)


class RuleSerializer(serializers.ModelSerializer):
    parameters = serializers.SerializerMethodField()

    class Meta:
        model = Rule
        fields = ["id", "kind", "enabled", "parameters"]

    @extend_schema_field(ParameterSerializer(many=True))
    def get_parameters(self, rule) -> list[dict[str, Any]]:
        """In the order of the kind's specification; a stored parameter the specification no
        longer has comes last, as stored."""
        stored = rule.parameters or {}
        out = []
        for spec in rules.SPECS.get(rule.kind, ()):
            entry = stored.get(spec.name) or {}
            out.append({"name": spec.name, "type": spec.type, "value": entry.get("value", _plain(spec.default)),
                        "default": _plain(spec.default), "unit": entry.get("unit", spec.unit),
                        "source": entry.get("source", spec.source), "reading": entry.get("reading", spec.reading),
                        "choices": list(spec.choices)})
        known = {spec.name for spec in rules.SPECS.get(rule.kind, ())}
        for name, entry in stored.items():
            if name not in known:
                out.append({"name": name, "type": "", "value": entry.get("value"), "default": None,
                            "unit": entry.get("unit", ""), "source": entry.get("source", ""),
                            "reading": entry.get("reading", ""), "choices": []})
        return out


class VersionDetailSerializer(VersionBriefSerializer):
    policy = PolicySerializer(read_only=True)
    rules = RuleSerializer(many=True, read_only=True)

    class Meta(VersionBriefSerializer.Meta):
        fields = VersionBriefSerializer.Meta.fields + ["policy", "rules"]


class VersionEditInput(serializers.Serializer):
    annual_budget = _money(min_value=Decimal("0"), required=False)
    second_approval_over = _money(min_value=Decimal("0"), required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RuleEditInput(serializers.Serializer):
    parameters = serializers.DictField(
        required=False, help_text="{name: value}: numbers as text or whole numbers (never floats), booleans, "
                                  "choices; the parameters left out keep their values.")
    enabled = serializers.BooleanField(required=False)


class ActivateInput(serializers.Serializer):
    effective_from = serializers.DateField(help_text="The first day in force; the active version ends the day before.")


# --- impact ------------------------------------------------------------------------------------

class ImpactQuery(serializers.Serializer):
    year = serializers.IntegerField()
    village = IdField(required=False)
    county = IdField(required=False, help_text="Administrators: the county (auditors: their own).")

    def validate_year(self, value):
        last = timezone.localdate().year
        if not IMPACT_FIRST_YEAR <= value <= last:
            raise serializers.ValidationError(_("Give a year from %(first)s to %(last)s.") % {
                "first": IMPACT_FIRST_YEAR, "last": last})
        return value


_TAG_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"},
               "description": "Workers paid in the year carrying each household tag (every tag listed)."}


class ImpactFiguresSerializer(serializers.Serializer):
    processing_fee_income = _money(help_text="Of the brokers registered in the unit, by inspection date.")
    wages_issued = _money(help_text="Paid out by the brokers registered in the unit, by payout date.")
    wages_to_residents = _money(help_text="Paid out to the workers living in the unit, whoever the broker.")
    workers_paid = serializers.IntegerField(help_text="Distinct workers living in the unit paid in the year.")
    workers_by_household_tag = serializers.SerializerMethodField()
    poor_households_with_earner = serializers.IntegerField(
        help_text="Workers tagged as of a registered poor household paid in the year: a worker has no household "
                  "identifier, so earners are counted, not households (see poor_households_counted_as).")
    poor_households_counted_as = serializers.CharField()
    worker_months = serializers.IntegerField(help_text="(worker, month of the payout date) pairs with a payment.")
    average_monthly_earnings = _money(allow_null=True,
                                      help_text="wages_to_residents / worker_months, rounded half up once; null "
                                                "when no one was paid.")

    @extend_schema_field(_TAG_COUNTS)
    def get_workers_by_household_tag(self, row) -> dict[str, int]:
        return dict(row["workers_by_household_tag"])


class VillageBriefSerializer(CountyBriefSerializer):
    pass


class ImpactVillageSerializer(ImpactFiguresSerializer):
    village = VillageBriefSerializer()


class ImpactSerializer(ImpactFiguresSerializer):
    county = CountyBriefSerializer()
    year = serializers.IntegerField()
    villages = ImpactVillageSerializer(many=True)
