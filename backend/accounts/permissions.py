"""Who may see and do what: the one place the API asks.

Rules (DESIGN.md): staff see only their county; brokers only their own workforce and bids; firms
only their own orders and the bids on them; workers only their own records. Every view scopes
its queryset through a `visible_*` function here and checks roles with `HasRole`."""
from __future__ import annotations

from django.db.models import Q, QuerySet
from rest_framework.permissions import BasePermission

from core.realtime import groups

from .models import Organisation, Role, User


def county_id_of(user: User) -> int | None:
    """The county an auditor (or a broker) belongs to, from their organisation."""
    if user.organisation_id is None:
        return None
    return user.organisation.jurisdiction.county_id


def visible_organisations(user: User) -> QuerySet[Organisation]:
    qs = Organisation.objects.select_related("jurisdiction")
    if user.is_admin_role:
        return qs
    # Brokers form a public directory (the seed's "processing network"); a firm's or a
    # federation office's record is seen by its own members.
    return qs.filter(Q(kind=Organisation.Kind.BROKER) | Q(pk=user.organisation_id))


def visible_workers(user: User):
    from brokers.models import Worker

    qs = Worker.objects.select_related("village")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        # Current and former workers: a broker keeps seeing whom it paid.
        return qs.filter(memberships__broker_id=user.organisation_id).distinct()
    if user.is_auditor:
        county = county_id_of(user)
        return qs.filter(village__county_id=county) if county else qs.none()
    if user.is_worker:
        return qs.filter(user=user)
    return qs.none()


def event_groups_for(user: User) -> list[str]:
    """The websocket groups this user may listen to."""
    names = [groups.user(user.pk)]
    if user.is_broker_staff and user.organisation_id:
        names += [groups.broker(user.organisation_id), groups.BOARD]
    elif user.is_firm_member and user.organisation_id:
        names.append(groups.firm(user.organisation_id))
    elif user.is_auditor:
        county = county_id_of(user)
        if county:
            names.append(groups.county_auditors(county))
    elif user.is_worker:
        worker_id = getattr(getattr(user, "worker", None), "pk", None)
        if worker_id:
            names.append(groups.worker(worker_id))
    return names


class HasRole(BasePermission):
    """`HasRole.of(Role.BROKER_OWNER, ...)`: only these roles (and admins) may use the view."""

    roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, *roles: str) -> type["HasRole"]:
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": tuple(roles)})

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.is_admin_role or user.role in self.roles


BROKER_STAFF = (Role.BROKER_OWNER, Role.TEAM_HEAD)
