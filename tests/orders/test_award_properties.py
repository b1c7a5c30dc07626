"""A property of awards: whatever sequence of awards and declines a firm and its brokers try,
the quantity held by awards (active or completed) never exceeds the order's quantity, each
operation succeeds exactly when the rules say it should, and a refused one changes nothing."""
from __future__ import annotations

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import Organisation, Role
from core.errors import DomainError
from orders import services
from orders.models import Award, Order

from ..factories import OrganisationFactory, UserFactory
from .builders import bid, pass_deadline, published
from .snapshots import snapshot

pytestmark = pytest.mark.django_db

BROKERS = 4
HOLDING = (Award.Status.ACTIVE, Award.Status.COMPLETED)


@pytest.fixture
def brokers(personas):
    extra = [UserFactory(role=Role.BROKER_OWNER, organisation=OrganisationFactory(
        kind=Organisation.Kind.BROKER, jurisdiction=personas.home["township"])) for _ in range(BROKERS - 2)]
    return [personas.broker, personas.rival_broker, *extra]


award_op = st.tuples(st.just("award"), st.integers(0, BROKERS - 1), st.integers(1, 120))
decline_op = st.tuples(st.just("decline"), st.integers(0, 20))  # which of the awards made so far (modulo)


def held(order: Order) -> int:
    return Award.objects.filter(order=order, status__in=HOLDING).aggregate(n=Sum("quantity"))["n"] or 0


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order_quantity=st.integers(1, 100),
    offered=st.lists(st.integers(1, 100), min_size=BROKERS, max_size=BROKERS),
    operations=st.lists(st.one_of(award_op, decline_op), min_size=1, max_size=15),
)
def test_awarded_quantity_never_exceeds_the_order_quantity(personas, brokers, order_quantity, offered, operations):
    # given a fresh order (each example its own) with a sealed bid from every broker
    order = published(personas.firm, quantity=order_quantity)
    bids = [bid(user, order, quantity=min(q, order_quantity)) for user, q in zip(brokers, offered)]
    pass_deadline(order)
    awards: list[Award] = []
    awarded_bids: set[int] = set()  # a bid is awarded at most once, even after a decline

    for operation in operations:
        if operation[0] == "award":
            _, index, quantity = operation
            target = bids[index]
            allowed = (target.pk not in awarded_bids and quantity <= target.quantity
                       and quantity <= order_quantity - held(order))

            def call(target=target, quantity=quantity):
                return services.award_create(actor=personas.firm, order_id=order.pk, bid_id=target.pk,
                                             quantity=quantity)
        else:
            if not awards:
                continue
            award = awards[operation[1] % len(awards)]
            award.refresh_from_db()
            allowed = award.status == Award.Status.ACTIVE
            owner = next(user for user in brokers if user.organisation_id == award.broker_id)

            def call(award=award, owner=owner):
                return services.award_decline(actor=owner, award_id=award.pk, reason="忙不过来")

        # when
        before = snapshot(order)
        try:
            result = call()
        except DomainError:
            # then a refused operation was one the rules refuse, and it changed nothing
            assert not allowed, operation
            assert snapshot(order) == before
            event(f"{operation[0]} refused")
        else:
            assert allowed, operation
            event(f"{operation[0]} done")
            if operation[0] == "award":
                awards.append(result)
                awarded_bids.add(result.bid_id)

        # the invariant, after every step
        assert held(order) <= order_quantity
        # the first award closed bidding (no scheduler ran); a decline of the last holder reopens the choice
        order.refresh_from_db()
        assert order.status == (Order.Status.AWARDED if held(order) else
                                Order.Status.BIDDING_CLOSED if awards else Order.Status.PUBLISHED)
