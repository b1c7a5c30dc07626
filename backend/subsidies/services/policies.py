"""Drafting and activating policy versions: staff copy a version into a draft, edit its budget,
threshold, note and rule parameters, and activate it from a date, which retires the version in
force before it. Only drafts are edited: a draft has never produced a claim (evaluations run
active and retired versions; a simulation of a draft makes none), so "drafts only" is the
service's half of "a version that has produced claims is never edited again" (the database
triggers are the other half). Every action is an `AuditEvent` written in its transaction."""
from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import county_id_of
from core.bounds import check_date_within, days_from_today
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.money import AMOUNT_PLACES

from .. import rules
from ..models import AuditEvent, Policy, PolicyVersion, Rule
from . import audit

# An activation date: up to twenty years back (a county may record a version it has applied
# since) and a year ahead (one decided now for next year).
ACTIVATE_MAX_DAYS_BACK = 20 * 366
ACTIVATE_MAX_DAYS_AHEAD = 366
DRAFT_FIELDS = ("annual_budget", "second_approval_over", "note")
BUDGET_MAX = Decimal("100000000")  # yuan: a year's fund, as `PUT /api/subsidies/budget/` allows
NOTE_MAX_LENGTH = 500


class VersionNotDraft(Conflict):
    code = "version_not_draft"

    def __init__(self, version: PolicyVersion) -> None:
        super().__init__(_("Version %(number)s is %(status)s: only a draft is edited or activated; draft a new "
                           "version from it instead.") % {"number": version.number,
                                                          "status": version.get_status_display().lower()})


def require_staff(actor, county_id: int) -> None:
    """Policies are the county's: its auditors (and administrators) act on them. Views scope
    first (another county's policy is a 404); this refuses whoever reaches a service anyway."""
    if getattr(actor, "is_admin_role", False):
        return
    if not getattr(actor, "is_auditor", False) or county_id_of(actor) != county_id:
        raise Forbidden(_("Only the staff of the policy's county may change it."))


def _version(version_id: int, *, lock: bool = False) -> PolicyVersion:
    qs = PolicyVersion.objects.select_related("policy")
    if lock:
        qs = qs.select_for_update(of=("self",))
    version = qs.filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    return version


def _require_draft(version: PolicyVersion) -> None:
    if version.status != PolicyVersion.Status.DRAFT:
        raise VersionNotDraft(version)


def _summary(version: PolicyVersion) -> dict[str, Any]:
    return {"number": version.number, "status": version.status, "effective_from": version.effective_from,
            "effective_to": version.effective_to, "annual_budget": audit.money(version.annual_budget),
            "second_approval_over": audit.money(version.second_approval_over), "note": version.note}


@transaction.atomic
def draft_version(*, actor, from_version_id: int) -> PolicyVersion:
    """Copy a version (any status) into a new draft of the same policy, numbered after the
    policy's highest: its budget, second-approval threshold and every rule with its parameters
    (values, units, sources, readings) and enabled flag. The policy's row is locked so two
    drafts made at once get different numbers."""
    source = _version(from_version_id)
    require_staff(actor, source.policy.jurisdiction_id)
    Policy.objects.select_for_update().filter(pk=source.policy_id).first()
    number = (PolicyVersion.objects.filter(policy_id=source.policy_id).aggregate(n=Max("number"))["n"] or 0) + 1
    draft = PolicyVersion.objects.create(
        policy_id=source.policy_id, number=number, status=PolicyVersion.Status.DRAFT,
        annual_budget=source.annual_budget, second_approval_over=source.second_approval_over,
        copied_from=source, created_by=actor if getattr(actor, "pk", None) else None)
    Rule.objects.bulk_create([Rule(version=draft, kind=rule.kind, parameters=copy.deepcopy(rule.parameters),
                                   enabled=rule.enabled) for rule in source.rules.order_by("id")])
    audit.record(actor=actor, action=AuditEvent.Action.DRAFT_VERSION, object_type="policy_version",
                 object_id=draft.pk, county_id=source.policy.jurisdiction_id,
                 before={"copied_from": source.pk, **_summary(source)}, after=_summary(draft))
    return draft


def _check_amount(value: Any, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationFailed(_("Give an amount in yuan, as text."), field=field)
    if value < 0:
        raise ValidationFailed(_("An amount cannot be negative."), field=field)
    if value != value.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)):
        raise ValidationFailed(_("At most %(places)d decimal places.") % {"places": AMOUNT_PLACES}, field=field)
    if value >= rules.MONEY_LIMIT:
        raise ValidationFailed(_("Give an amount less than %(limit)s.") % {"limit": f"{rules.MONEY_LIMIT:,}"},
                               field=field)
    return value


@transaction.atomic
def edit_draft(*, actor, version_id: int, data: dict[str, Any]) -> PolicyVersion:
    """Set a draft's `annual_budget`, `second_approval_over` and `note` (any of them); 409
    `version_not_draft` for any other version. The version's row is locked, so an activation
    running at the same time either comes first (and this is refused) or waits."""
    version = _version(version_id, lock=True)
    require_staff(actor, version.policy.jurisdiction_id)
    _require_draft(version)
    changes: dict[str, Any] = {}
    for field in DRAFT_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field == "note":
            value = str(value or "")
            if len(value) > NOTE_MAX_LENGTH:
                raise ValidationFailed(_("At most %(n)d characters.") % {"n": NOTE_MAX_LENGTH}, field=field)
        else:
            value = _check_amount(value, field)
            if field == "annual_budget" and value > BUDGET_MAX:  # what a year's budget may be (docs/api.md)
                raise ValidationFailed(_("Give a budget of at most %(max)s yuan.") % {"max": f"{BUDGET_MAX:,}"},
                                       field=field)
        if getattr(version, field) != value:
            changes[field] = value
    if not changes:
        return version
    before = {field: getattr(version, field) for field in changes}
    for field, value in changes.items():
        setattr(version, field, value)
    version.save(update_fields=list(changes))
    audit.record(actor=actor, action=AuditEvent.Action.EDIT_DRAFT, object_type="policy_version",
                 object_id=version.pk, county_id=version.policy.jurisdiction_id, before=before, after=changes)
    return version


# --- rule parameters -----------------------------------------------------------------------------

def _lower_tier(name: str) -> str:
    """The parameter a `tiers_must_rise` field must exceed: tier n's over tier n−1's, the case
    line over tier 3's wages line."""
    if name == "case_wages_over":
        return "tier_3_wages_over"
    tier, rest = name.removeprefix("tier_").split("_", 1)
    return f"tier_{int(tier) - 1}_{rest}"


def parameter_message(kind: str, name: str, code: str) -> str:
    """The translated message of one `rules.ParameterError` code for parameter `name`."""
    spec = next((s for s in rules.SPECS.get(kind, ()) if s.name == name), None)
    if code == "unknown_kind":
        return _("Unknown rule kind.")
    if code == "unknown_parameter":
        return _("This rule has no parameter of this name.")
    if code == "float":
        return _("Write the number as text (for example \"2.5\") or as a whole number, never as a float.")
    if code == "not_a_number":
        return _("Give a number.")
    if code == "too_large":
        return _("Give a number less than %(limit)s.") % {"limit": f"{rules.MONEY_LIMIT:,}"}
    if code == "too_precise":
        places = rules.RATIO_PLACES if spec is not None and spec.type == rules.RATIO else AMOUNT_PLACES
        return _("At most %(places)d decimal places.") % {"places": places}
    if code == "negative":
        return _("Must not be negative.")
    if code == "not_whole":
        return _("Give a whole number.")
    if code == "unknown_choice":
        return _("Choose one of: %(choices)s.") % {"choices": ", ".join(spec.choices if spec else ())}
    if code == "not_boolean":
        return _("Give true or false.")
    if code == "below_minimum":
        return _("Must be at least %(minimum)s.") % {"minimum": spec.minimum if spec else ""}
    if code == "above_maximum":
        return _("Must be at most %(maximum)s.") % {"maximum": spec.maximum if spec else ""}
    if code == "tiers_must_rise":
        return _("Must be more than %(other)s: tiers rise.") % {"other": _lower_tier(name)}
    if code == "range_reversed":
        return _("Must not be less than %(other)s.") % {"other": "principal_min"}
    return _("This value is not valid.")


def _stored(value: Any) -> Any:
    """How `Rule.parameters` keeps a value: numbers as text (a Decimal survives JSON exactly),
    choices as text and booleans as booleans (as `suichang.stored_parameters`)."""
    return value if isinstance(value, (bool, str)) else str(value)


@transaction.atomic
def edit_rule(*, actor, rule_id: int, parameters: dict | None = None, enabled: bool | None = None) -> Rule:
    """Set parameter values of a draft's rule ({name: value}; the others keep theirs) and/or
    whether it is enabled. The merged values are checked by `rules.validate_parameters`: a 400
    naming every bad one as `parameters.<name>`. A value is stored as text in
    `parameters[name]["value"]`; its unit, source sentence and reading stay. Drafts only (409)."""
    rule = Rule.objects.select_related("version__policy").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    version = _version(rule.version_id, lock=True)
    require_staff(actor, version.policy.jurisdiction_id)
    _require_draft(version)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if parameters is not None and not isinstance(parameters, dict):
        raise ValidationFailed(_("Give the parameters as an object of names and values."), field="parameters")
    parameters = dict(parameters or {})
    merged = {**rule.values(), **parameters}
    try:
        typed = rules.validate_parameters(rule.kind, merged)
    except rules.ParameterError as exc:
        fields = {f"parameters.{name}": [parameter_message(rule.kind, name, exc.codes.get(name, ""))]
                  for name in exc.fields}
        raise ValidationFailed(_("Some parameters are not valid."), code="invalid_parameters", fields=fields) from None
    stored = copy.deepcopy(rule.parameters or {})
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in parameters:
        value = _stored(typed[name])
        entry = stored.get(name)
        if entry is None:
            spec = rules.spec_of(rule.kind, name)
            entry = {"value": None, "unit": spec.unit, "source": spec.source, "reading": spec.reading}
        if entry.get("value") != value:
            before[name], after[name] = entry.get("value"), value
            stored[name] = {**entry, "value": value}
    update = []
    if after:
        rule.parameters = stored
        update.append("parameters")
    if enabled is not None and enabled != rule.enabled:
        before["enabled"], after["enabled"] = rule.enabled, enabled
        rule.enabled = enabled
        update.append("enabled")
    if not update:
        return rule
    rule.save(update_fields=update)
    audit.record(actor=actor, action=AuditEvent.Action.EDIT_DRAFT, object_type="rule", object_id=rule.pk,
                 county_id=version.policy.jurisdiction_id, before={"version": version.pk, "kind": rule.kind, **before},
                 after={"version": version.pk, "kind": rule.kind, **after})
    return rule


# --- activation ----------------------------------------------------------------------------------

@transaction.atomic
def activate(*, actor, version_id: int, effective_from: date) -> PolicyVersion:
    """Draft → active from `effective_from`. The version active until now ends the day before
    (its `effective_to`) and is retired; `effective_from` must be after that version's own start
    (400 naming `effective_from` otherwise), so their days never overlap and none is left out.
    One transaction under the policy's row lock: two activations at once cannot both retire the
    same version, nor leave two active."""
    found = _version(version_id)
    require_staff(actor, found.policy.jurisdiction_id)
    check_date_within(effective_from, field="effective_from", earliest=days_from_today(-ACTIVATE_MAX_DAYS_BACK),
                      latest=days_from_today(ACTIVATE_MAX_DAYS_AHEAD))
    policy = Policy.objects.select_for_update().get(pk=found.policy_id)
    version = _version(version_id, lock=True)
    _require_draft(version)
    current = (PolicyVersion.objects.select_for_update().filter(policy=policy, status=PolicyVersion.Status.ACTIVE)
               .exclude(pk=version.pk).order_by("-effective_from", "-id").first())
    before: dict[str, Any] = {"status": version.status, "effective_from": None}
    after: dict[str, Any] = {"status": PolicyVersion.Status.ACTIVE, "effective_from": effective_from}
    if current is not None:
        if effective_from <= current.effective_from:
            raise ValidationFailed(
                _("Version %(number)s is in force from %(start)s: the new version must start after that day.") % {
                    "number": current.number, "start": current.effective_from.isoformat()}, field="effective_from")
        before["retires"] = {"id": current.pk, "number": current.number, "status": current.status,
                             "effective_to": current.effective_to}
        current.effective_to = effective_from - timedelta(days=1)
        current.status = PolicyVersion.Status.RETIRED
        current.save(update_fields=["effective_to", "status"])
        after["retires"] = {"id": current.pk, "number": current.number, "status": current.status,
                            "effective_to": current.effective_to}
    version.status = PolicyVersion.Status.ACTIVE
    version.effective_from = effective_from
    version.effective_to = None
    version.activated_by = actor if getattr(actor, "pk", None) else None
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "effective_from", "effective_to", "activated_by", "activated_at"])
    audit.record(actor=actor, action=AuditEvent.Action.ACTIVATE_VERSION, object_type="policy_version",
                 object_id=version.pk, county_id=policy.jurisdiction_id, before=before, after=after)
    return version
