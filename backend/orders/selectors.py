"""Reads of the marketplace: who may see which orders, bids and awards, and brokers' track
records. Aggregates are one query per figure for any number of brokers, never a loop."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from accounts.permissions import county_id_of
from brokers.models import Membership

from .models import Award, Bid, Inspection, Order, OrderEvent, Subcontract


def visible_orders(user: User) -> QuerySet[Order]:
    qs = Order.objects.select_related("firm")
    if user.is_admin_role:
        return qs
    if user.is_firm_member:
        return qs.filter(firm_id=user.organisation_id)
    if user.is_broker_staff:
        broker = user.organisation_id
        involved = (
            Q(bids__broker_id=broker) | Q(awards__broker_id=broker) | Q(awards__subcontracts__to_broker_id=broker)
        )
        board = Q(status=Order.Status.PUBLISHED)
        return qs.filter(board | involved).exclude(status=Order.Status.DRAFT).distinct()
    if user.is_auditor:
        county = county_id_of(user)
        if county is None:
            return qs.none()  # an office in no county audits no one (not every broker in no county)
        in_county = Award.objects.filter(order=OuterRef("pk"), broker__jurisdiction__county_id=county)
        return qs.filter(Exists(in_county)).exclude(status=Order.Status.DRAFT)
    return qs.none()


def board_orders(now=None) -> QuerySet[Order]:
    """The live order board: published and still open for bids."""
    return Order.objects.filter(status=Order.Status.PUBLISHED, bid_deadline__gt=now or timezone.now())


def visible_bids(user: User) -> QuerySet[Bid]:
    """Sealed: a broker sees its own bids; a firm sees the bids on its orders once the deadline
    has passed, except those their brokers withdrew (an offer taken back stays sealed); nobody
    else sees any."""
    qs = Bid.objects.select_related("order", "broker")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        return qs.filter(broker_id=user.organisation_id)
    if user.is_firm_member:
        return qs.filter(order__firm_id=user.organisation_id, order__bid_deadline__lte=timezone.now()).exclude(
            status=Bid.Status.WITHDRAWN)
    return qs.none()


def visible_events(user: User, order: Order) -> QuerySet[OrderEvent]:
    """The trail of an order the user can see: the firm (and an admin) read all of it; anyone
    else only the order's state changes, never its bid traffic nor other brokers' fulfilment."""
    events = order.events.select_related("actor")
    if user.is_admin_role or user.is_firm_member:
        return events
    return events.exclude(to_status="")


def live_bid_count(order: Order) -> int:
    return Bid.objects.filter(order=order).exclude(status=Bid.Status.WITHDRAWN).count()


def visible_awards(user: User) -> QuerySet[Award]:
    qs = Award.objects.select_related("order", "broker")
    if user.is_admin_role:
        return qs
    if user.is_firm_member:
        return qs.filter(order__firm_id=user.organisation_id)
    if user.is_broker_staff:
        return qs.filter(broker_id=user.organisation_id)
    if user.is_auditor:
        county = county_id_of(user)
        return qs.filter(broker__jurisdiction__county_id=county) if county else qs.none()
    return qs.none()


def visible_subcontracts(user: User) -> QuerySet[Subcontract]:
    qs = Subcontract.objects.select_related("award__order", "from_broker", "to_broker")
    if user.is_admin_role:
        return qs
    if user.is_broker_staff:
        broker = user.organisation_id
        return qs.filter(Q(from_broker_id=broker) | Q(to_broker_id=broker))
    if user.is_firm_member:
        return qs.filter(award__order__firm_id=user.organisation_id)
    return qs.none()


@dataclass(frozen=True)
class TrackRecord:
    orders_completed: int
    on_time_rate: Decimal | None  # share of completed awards finished by the promised date
    acceptance_rate: Decimal | None  # accepted pieces / inspected pieces
    worker_count: int  # workers with an open membership


def _rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def track_records(broker_ids: list[int]) -> dict[int, TrackRecord]:
    """Computed from data, three aggregate queries for any number of brokers."""
    ids = list(set(broker_ids))
    completed = {
        row["broker_id"]: row
        for row in Award.objects.filter(broker_id__in=ids, status=Award.Status.COMPLETED)
        .values("broker_id")
        .annotate(n=Count("id"), on_time=Count("id", filter=Q(completed_at__date__lte=F("promised_date"))))
    }
    inspected = {
        row["award__broker_id"]: row
        for row in Inspection.objects.filter(award__broker_id__in=ids)
        .values("award__broker_id")
        .annotate(accepted=Sum("accepted"), rejected=Sum("rejected"))
    }
    workers = dict(
        Membership.objects.filter(broker_id__in=ids, ended_on__isnull=True)
        .values("broker_id")
        .annotate(n=Count("worker_id", distinct=True))
        .values_list("broker_id", "n")
    )
    records = {}
    for broker_id in ids:
        done = completed.get(broker_id, {"n": 0, "on_time": 0})
        seen = inspected.get(broker_id, {"accepted": 0, "rejected": 0})
        records[broker_id] = TrackRecord(
            orders_completed=done["n"],
            on_time_rate=_rate(done["on_time"], done["n"]),
            acceptance_rate=_rate(seen["accepted"], seen["accepted"] + seen["rejected"]),
            worker_count=workers.get(broker_id, 0),
        )
    return records


@dataclass(frozen=True)
class AwardProgress:
    delivered: int
    accepted: int
    rejected: int
    pending: int


def award_progress(award_ids: list[int]) -> dict[int, AwardProgress]:
    from .models import Delivery

    delivered = dict(
        Delivery.objects.filter(award_id__in=award_ids).values("award_id").annotate(n=Sum("quantity"))
        .values_list("award_id", "n")
    )
    pending = dict(
        Delivery.objects.filter(award_id__in=award_ids, status=Delivery.Status.PENDING).values("award_id")
        .annotate(n=Sum("quantity")).values_list("award_id", "n")
    )
    inspected = {
        row["award_id"]: row
        for row in Inspection.objects.filter(award_id__in=award_ids).values("award_id")
        .annotate(accepted=Sum("accepted"), rejected=Sum("rejected"))
    }
    return {
        award_id: AwardProgress(
            delivered=delivered.get(award_id, 0) or 0,
            accepted=(inspected.get(award_id) or {}).get("accepted", 0) or 0,
            rejected=(inspected.get(award_id) or {}).get("rejected", 0) or 0,
            pending=pending.get(award_id, 0) or 0,
        )
        for award_id in award_ids
    }
