"""Races on PostgreSQL: concurrent requests, each in its own thread with its own database
connection, released together by a barrier. The row locks must let exactly the allowed ones
through: awards never exceed the order, deliveries never exceed the award, a delivery is
inspected once."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from django.db import connection
from django.db.models import Sum

from accounts.models import Organisation, Role
from core.errors import DomainError
from orders import services
from orders.models import Award, Delivery, Inspection, Order, OrderEvent

from ..factories import OrganisationFactory, UserFactory
from .builders import bid, pass_deadline, published

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def race(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run the calls at the same moment, one thread and one connection each; ("ok", result) or
    ("refused", code) per call, in the order given."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, Any]] = [("not run", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except DomainError as error:
            outcomes[index] = ("refused", error.code)
        except BaseException as error:  # noqa: BLE001 - reported to the test, never swallowed
            outcomes[index] = ("crashed", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung (deadlock?)"
    return outcomes


@pytest.fixture
def brokers(personas):
    extra = [UserFactory(role=Role.BROKER_OWNER, organisation=OrganisationFactory(
        kind=Organisation.Kind.BROKER, jurisdiction=personas.home["township"])) for _ in range(2)]
    return [personas.broker, personas.rival_broker, *extra]


def held(order: Order) -> int:
    return Award.objects.filter(order=order, status__in=[Award.Status.ACTIVE, Award.Status.COMPLETED]).aggregate(
        n=Sum("quantity"))["n"] or 0


@pytest.mark.parametrize(("each", "allowed"), [(40, 2), (60, 1), (100, 1)])
def test_concurrent_awards_never_exceed_the_order_quantity(personas, brokers, each, allowed):
    for round_ in range(ROUNDS):
        # given 100 pieces and four bids for all of them; half the rounds race right after the
        # deadline (the first award closes bidding), half after the beat job closed it
        order = published(personas.firm, quantity=100)
        bids = [bid(user, order, quantity=100) for user in brokers]
        pass_deadline(order)
        if round_ % 2:
            services.order_close_bidding(order_id=order.pk)

        # when four awards of `each` pieces race
        outcomes = race([
            lambda b=b: services.award_create(actor=personas.firm, order_id=order.pk, bid_id=b.pk, quantity=each)
            for b in bids
        ])

        # then exactly the ones that fit went through
        assert sorted(kind for kind, _ in outcomes) == ["ok"] * allowed + ["refused"] * (len(bids) - allowed), outcomes
        assert {code for kind, code in outcomes if kind == "refused"} == {"award_quantity_exceeded"}
        assert held(order) == each * allowed <= order.quantity
        assert OrderEvent.objects.filter(order=order, action="awarded").count() == allowed
        assert OrderEvent.objects.filter(order=order, action="bidding_closed").count() == 1
        assert Order.objects.get(pk=order.pk).status == Order.Status.AWARDED


def test_concurrent_deliveries_never_exceed_the_award(personas):
    for _ in range(ROUNDS):
        order = published(personas.firm, quantity=100)
        placed = bid(personas.broker, order, quantity=100)
        pass_deadline(order)
        award = services.award_create(actor=personas.firm, order_id=order.pk, bid_id=placed.pk, quantity=100)

        # the owner and the team head each record 40 pieces, twice over: only 100 are open
        outcomes = race([
            lambda user=user: services.delivery_record(actor=user, award_id=award.pk, quantity=40)
            for user in (personas.broker, personas.team_head, personas.broker)
        ])

        assert sorted(kind for kind, _ in outcomes) == ["ok", "ok", "refused"], outcomes
        assert [code for kind, code in outcomes if kind == "refused"] == ["quantity_exceeded"]
        delivered = Delivery.objects.filter(award=award).aggregate(n=Sum("quantity"))["n"]
        assert delivered == 80 <= award.quantity
        assert OrderEvent.objects.filter(order=order, action="delivered", to_status="").count() == 2


def test_a_delivery_is_inspected_once_however_many_inspect_it(personas):
    for _ in range(ROUNDS):
        order = published(personas.firm, quantity=100)
        placed = bid(personas.broker, order, quantity=100)
        pass_deadline(order)
        award = services.award_create(actor=personas.firm, order_id=order.pk, bid_id=placed.pk, quantity=100)
        delivery = services.delivery_record(actor=personas.broker, award_id=award.pk, quantity=50)

        outcomes = race([
            lambda accepted=accepted: services.inspection_record(
                actor=personas.firm, delivery_id=delivery.pk, accepted=accepted, rejected=50 - accepted,
                reason="" if accepted == 50 else "返工")
            for accepted in (50, 45, 40)
        ])

        assert sorted(kind for kind, _ in outcomes) == ["ok", "refused", "refused"], outcomes
        assert {code for kind, code in outcomes if kind == "refused"} == {"delivery_inspected"}
        winner = next(result for kind, result in outcomes if kind == "ok")
        assert list(Inspection.objects.filter(delivery=delivery).values_list("pk", "accepted")) == [
            (winner.pk, winner.accepted)]
        assert OrderEvent.objects.filter(order=order, action="inspected").count() == 1
