"""List endpoints of the marketplace answer in a fixed number of queries, whoever asks and however
many rows there are: the same bound holds for 3 rows and for 12, so an N+1 cannot creep in.

Each request is made with a freshly loaded user, so it pays for its own lookups (organisation,
county) instead of riding on what an earlier request cached."""
from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.models import OrderEvent

from ..factories import MembershipFactory, WorkerFactory
from . import builders
from .permissions_world import add_broker, deliver_and_accept, fresh

pytestmark = pytest.mark.django_db

SIZES = [3, 12]


def get_list(client_for, user, url, django_assert_max_num_queries, bound: int, rows: int) -> list[dict]:
    client = client_for(fresh(user))
    with django_assert_max_num_queries(bound):
        response = client.get(url)
    assert response.status_code == 200, response.json()
    body = response.json()
    results = body["results"] if isinstance(body, dict) else body
    assert len(results) == rows  # the bound was met with every row on the page
    return results


def brokers(personas, n: int) -> list:
    """n broker owners in the home county, each with a worker (so track records have data)."""
    users = []
    for i in range(n):
        user = add_broker(f"加工点{i}", personas.home["township"])
        MembershipFactory(broker=user.organisation, worker=WorkerFactory(village=personas.home["village"]))
        users.append(user)
    return users


def awarded_orders(personas, n: int, *, deliver: bool = True) -> list:
    """n of the firm's orders, each bid on by the broker and the rival, awarded to the broker,
    with a delivery inspected (so progress figures have data)."""
    awards = []
    for _ in range(n):
        order = builders.published(personas.firm)
        mine = builders.bid(personas.broker, order)
        builders.bid(personas.rival_broker, order, unit_price="1.1000")
        builders.pass_deadline(order)
        award = services.award_create(actor=personas.firm, order_id=order.pk, bid_id=mine.pk, quantity=1000)
        if deliver:
            deliver_and_accept(personas, award, quantity=10)
        awards.append(award)
    return awards


# Bounds measured with 3 rows; the test proves they do not grow with 12.
ORDER_LIST = {"firm": 1, "broker": 1, "team_head": 1, "auditor": 3, "admin": 1}


@pytest.mark.parametrize("name", sorted(ORDER_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_order_list(personas, client_for, django_assert_max_num_queries, name, n):
    awarded_orders(personas, n, deliver=False)
    get_list(client_for, personas.users()[name], "/api/orders/?page_size=100", django_assert_max_num_queries,
             ORDER_LIST[name], n)


@pytest.mark.parametrize("n", SIZES)
def test_order_board_with_filters(personas, client_for, django_assert_max_num_queries, n):
    for _ in range(n):
        builders.published(personas.firm)
    get_list(client_for, personas.broker, "/api/orders/?open=true&category=bead_work&mode=home&page_size=100",
             django_assert_max_num_queries, 1, n)


BID_LIST = {"firm": 5, "broker": 5, "team_head": 5, "admin": 5}


@pytest.mark.parametrize("name", sorted(BID_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_bid_list(personas, client_for, django_assert_max_num_queries, name, n):
    awarded_orders(personas, n, deliver=False)
    rows = {"firm": 2 * n, "admin": 2 * n}.get(name, n)
    get_list(client_for, personas.users()[name], "/api/bids/?page_size=100", django_assert_max_num_queries,
             BID_LIST[name], rows)


@pytest.mark.parametrize("n", SIZES)
def test_bids_of_an_order_with_a_bid_from_each_of_many_brokers(personas, client_for, django_assert_max_num_queries,
                                                                n):
    # given n brokers with track records (one completed award each) bidding on one order
    bidders = brokers(personas, n)
    for bidder in bidders:
        past = builders.published(personas.firm)
        placed = builders.bid(bidder, past, quantity=10)
        builders.pass_deadline(past)
        award = services.award_create(actor=personas.firm, order_id=past.pk, bid_id=placed.pk, quantity=10)
        delivery = services.delivery_record(actor=bidder, award_id=award.pk, quantity=10)
        services.inspection_record(actor=personas.firm, delivery_id=delivery.pk, accepted=10, rejected=0)
        services.award_complete(actor=personas.firm, award_id=award.pk)
    order = builders.published(personas.firm)
    for bidder in bidders:
        builders.bid(bidder, order)
    builders.pass_deadline(order)
    rows = get_list(client_for, personas.firm, f"/api/orders/{order.pk}/bids/", django_assert_max_num_queries, 6, n)
    assert {row["track_record"]["orders_completed"] for row in rows} == {1}
    assert {row["track_record"]["worker_count"] for row in rows} == {1}


AWARD_LIST = {"firm": 4, "broker": 4, "team_head": 4, "auditor": 6, "admin": 4}


@pytest.mark.parametrize("name", sorted(AWARD_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_award_list(personas, client_for, django_assert_max_num_queries, name, n):
    awarded_orders(personas, n)
    rows = get_list(client_for, personas.users()[name], "/api/awards/?page_size=100", django_assert_max_num_queries,
                    AWARD_LIST[name], n)
    assert {row["progress"]["accepted"] for row in rows} == {10}


@pytest.mark.parametrize("n", SIZES)
def test_awards_and_events_of_an_order(personas, client_for, django_assert_max_num_queries, n):
    # given one order split over n brokers, each delivering
    bidders = brokers(personas, n)
    order = builders.published(personas.firm, quantity=10 * n)
    placed = [builders.bid(bidder, order, quantity=10) for bidder in bidders]
    builders.pass_deadline(order)
    awards = [services.award_create(actor=personas.firm, order_id=order.pk, bid_id=bid.pk, quantity=10)
              for bid in placed]
    for bidder, award in zip(bidders, awards):
        services.delivery_record(actor=bidder, award_id=award.pk, quantity=5)
    get_list(client_for, personas.firm, f"/api/orders/{order.pk}/awards/", django_assert_max_num_queries, 5, n)
    get_list(client_for, personas.firm, f"/api/orders/{order.pk}/events/", django_assert_max_num_queries, 2,
             OrderEvent.objects.filter(order=order).count())
    # a bidder reads the state changes only, with the actors it may know: still no query per row
    get_list(client_for, bidders[0], f"/api/orders/{order.pk}/events/", django_assert_max_num_queries, 2,
             OrderEvent.objects.filter(order=order).exclude(to_status="").count())


SUBCONTRACT_LIST = {"firm": 1, "broker": 1, "rival_broker": 1, "admin": 1}


@pytest.mark.parametrize("name", sorted(SUBCONTRACT_LIST))
@pytest.mark.parametrize("n", SIZES)
def test_subcontract_list(personas, client_for, django_assert_max_num_queries, name, n):
    # given awards to the broker, each passing 10 pieces to the rival and 10 to another broker
    others = brokers(personas, n)
    for award, other in zip(awarded_orders(personas, n, deliver=False), others):
        for to in (personas.rival_org, other.organisation):
            services.subcontract_propose(actor=personas.broker, award_id=award.pk, to_broker_id=to.pk, quantity=10,
                                         unit_price=Decimal("1.0000"))
    rows = {"rival_broker": n}.get(name, 2 * n)
    get_list(client_for, personas.users()[name], "/api/subcontracts/?page_size=100", django_assert_max_num_queries,
             SUBCONTRACT_LIST[name], rows)
