"""Who sees which subsidy records: every subsidies view scopes its queryset through one of these.

DESIGN.md: staff see only their own county. An auditor sees the policies, evaluations, claims,
payment batches and audit events of the county her federation office is in (a record of another
county is then simply not in her queryset: 404, never 403); an administrator sees all. Brokers see
their own claims (the broker is the beneficiary) and the policies of their county, never drafts.
Everyone else sees nothing; the views refuse their roles (403) before asking."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.permissions import county_id_of

from .models import AuditEvent, Claim, Evaluation, PaymentBatch, Policy, PolicyVersion


def _staff_county(user) -> int | None:
    """The auditor's county, or None (no office: nothing, not the records without a county)."""
    return county_id_of(user) if user.is_auditor else None


def visible_policies(user) -> QuerySet[Policy]:
    """Admins all; an auditor her county's; broker staff their county's (the rules they are paid
    under are a public document); anyone else none."""
    qs = Policy.objects.select_related("jurisdiction")
    if user.is_admin_role:
        return qs
    if user.is_auditor or user.is_broker_staff:
        county = county_id_of(user)
        return qs.filter(jurisdiction_id=county) if county else qs.none()
    return qs.none()


def visible_versions(user) -> QuerySet[PolicyVersion]:
    """The versions of the visible policies; brokers only those in force or retired, not drafts."""
    qs = PolicyVersion.objects.select_related("policy").filter(policy__in=visible_policies(user))
    if user.is_broker_staff and not user.is_admin_role:
        qs = qs.exclude(status=PolicyVersion.Status.DRAFT)
    return qs


def visible_claims(user) -> QuerySet[Claim]:
    """Admins all; an auditor her county's; broker staff their own organisation's (as
    beneficiary: a village's claims are the village committee's, not a broker's)."""
    qs = Claim.objects.all()
    if user.is_admin_role:
        return qs
    if user.is_auditor:
        county = _staff_county(user)
        return qs.filter(county_id=county) if county else qs.none()
    if user.is_broker_staff and user.organisation_id:
        return qs.filter(broker_id=user.organisation_id)
    return qs.none()


def visible_evaluations(user) -> QuerySet[Evaluation]:
    """Staff only: admins all, an auditor those of her county's policies."""
    qs = Evaluation.objects.all()
    if user.is_admin_role:
        return qs
    county = _staff_county(user)
    return qs.filter(version__policy__jurisdiction_id=county) if county else qs.none()


def visible_batches(user) -> QuerySet[PaymentBatch]:
    """Staff only: admins all, an auditor her county's (a batch pays many brokers)."""
    qs = PaymentBatch.objects.all()
    if user.is_admin_role:
        return qs
    county = _staff_county(user)
    return qs.filter(county_id=county) if county else qs.none()


def visible_audit_events(user) -> QuerySet[AuditEvent]:
    """Staff only: admins all (also the events of no county), an auditor her county's."""
    qs = AuditEvent.objects.all()
    if user.is_admin_role:
        return qs
    county = _staff_county(user)
    return qs.filter(county_id=county) if county else qs.none()
