"""The permission matrix of awards and their fulfilment, against every persona: awarding
(/api/orders/{id}/awards/), /api/awards/ (list, detail, decline, complete, dispatches, returns,
deliveries, subcontracts), /api/dispatches/{id}/receive/ and /api/deliveries/{id}/inspect/.

The firm (or an admin) awards, dispatches materials, inspects and completes; the awarded broker's
owner declines and subcontracts; its owner or team head confirms receipt, delivers and returns
material; auditors read the awards of their county's brokers; nobody else sees an award."""
from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Organisation, Role
from orders import services
from orders.models import Award, Order

from ..factories import OrganisationFactory, UserFactory
from . import builders
from .permissions_world import (
    MARKET, NAMES, VISIBLE_ORDERS, add_broker, assert_refused, build_world, deliver_and_accept, dispatch_materials,
    firm_write_status, refused_and_unchanged,
)

pytestmark = pytest.mark.django_db

AWARD_KEYS = ["broker", "rival"]
VISIBLE_AWARDS = {
    "firm": {"broker", "rival"},
    "other_firm": set(),
    "broker": {"broker"},
    "team_head": {"broker"},
    "rival_broker": {"rival"},
    "auditor": {"broker", "rival"},  # both brokers are in the auditor's county
    "other_auditor": set(),
    "admin": {"broker", "rival"},
}


@pytest.fixture
def world(personas):
    return build_world(personas)


def owner_write_status(name: str, ok: int) -> int:
    """Only the awarded broker's owner: a rival cannot see the award (404); any other role —
    team head, firm, auditors, admin — may never (403)."""
    return {"broker": ok, "rival_broker": 404}.get(name, 403)


def staff_write_status(name: str, ok: int) -> int:
    """The awarded broker's owner or team head."""
    return {"broker": ok, "team_head": ok, "rival_broker": 404}.get(name, 403)


# --- reads ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_awards_of_an_order(world, client_for, name):
    order = world.orders["awarded"]
    response = client_for(world.user(name)).get(f"/api/orders/{order.pk}/awards/")
    if name not in MARKET:
        assert_refused(response, 403)
    elif "awarded" not in VISIBLE_ORDERS[name]:
        assert_refused(response, 404)
    else:
        assert response.status_code == 200
        assert {row["id"] for row in response.json()} == {world.awards[k].pk for k in VISIBLE_AWARDS[name]}


@pytest.mark.parametrize("name", NAMES)
def test_award_list_is_scoped(world, client_for, name):
    response = client_for(world.user(name)).get("/api/awards/")
    if name not in MARKET:
        assert_refused(response, 403)
        return
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {world.awards[k].pk for k in VISIBLE_AWARDS[name]}


@pytest.mark.parametrize("name", sorted(MARKET))
@pytest.mark.parametrize("query", ["broker={broker}", "broker={rival}", "order={order}", "status=active"])
def test_award_filters_never_widen_what_a_persona_sees(world, client_for, name, query):
    query = query.format(broker=world.p.broker_org.pk, rival=world.p.rival_org.pk, order=world.orders["awarded"].pk)
    response = client_for(world.user(name)).get(f"/api/awards/?{query}")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} <= {world.awards[k].pk for k in VISIBLE_AWARDS[name]}


@pytest.mark.parametrize("key", AWARD_KEYS)
@pytest.mark.parametrize("name", NAMES)
def test_award_detail(world, client_for, name, key):
    response = client_for(world.user(name)).get(f"/api/awards/{world.awards[key].pk}/")
    if name not in MARKET:
        assert_refused(response, 403)
    elif key not in VISIBLE_AWARDS[name]:
        assert_refused(response, 404)
    else:
        assert response.status_code == 200
        assert response.json()["quantity"] == world.awards[key].quantity


def test_each_auditor_sees_the_awards_of_its_own_county(world, client_for):
    # given an award to a broker in Longquan, the other auditor's county
    far = add_broker("龙泉加工点", world.p.away["township"])
    order = builders.published(world.p.firm)
    placed = builders.bid(far, order)
    builders.pass_deadline(order)
    far_award = services.award_create(actor=world.p.firm, order_id=order.pk, bid_id=placed.pk, quantity=1000)

    other = client_for(world.p.other_auditor)
    assert {a["id"] for a in other.get("/api/awards/").json()["results"]} == {far_award.pk}
    assert {o["id"] for o in other.get("/api/orders/").json()["results"]} == {order.pk}
    assert other.get(f"/api/awards/{far_award.pk}/").status_code == 200
    assert other.get(f"/api/awards/{world.awards['broker'].pk}/").status_code == 404
    home = client_for(world.p.auditor)
    assert home.get(f"/api/awards/{far_award.pk}/").status_code == 404
    assert home.get(f"/api/orders/{order.pk}/").status_code == 404


def test_an_auditor_whose_office_lies_in_no_county_sees_no_award(world, client_for):
    # given a city-level federation office (no county) and a broker registered at city level
    p = world.p
    city = p.home["city"]
    office = OrganisationFactory(kind=Organisation.Kind.FEDERATION, name="丽水市妇联", jurisdiction=city)
    city_auditor = UserFactory(role=Role.AUDITOR, organisation=office)
    city_broker = add_broker("市区加工点", city)
    order = builders.published(p.firm)
    placed = builders.bid(city_broker, order)
    builders.pass_deadline(order)
    services.award_create(actor=p.firm, order_id=order.pk, bid_id=placed.pk, quantity=1000)
    # then "in my county" is not "in no county": the auditor sees nothing
    client = client_for(city_auditor)
    assert client.get("/api/awards/").json()["results"] == []
    assert client.get("/api/orders/").json()["results"] == []


# --- writes -----------------------------------------------------------------------------------

@pytest.fixture
def closed_order(world):
    """The firm's order with a bid from each broker, past its deadline; no scheduler closed it."""
    p = world.p
    order = builders.published(p.firm, product="待授标订单")
    bids = {"broker": builders.bid(p.broker, order), "rival": builders.bid(p.rival_broker, order)}
    builders.pass_deadline(order)
    return order, bids


@pytest.mark.parametrize("name", NAMES)
def test_award_create(world, closed_order, client_for, name, django_capture_on_commit_callbacks):
    order, bids = closed_order
    client = client_for(world.user(name))
    award = lambda: client.post(f"/api/orders/{order.pk}/awards/",  # noqa: E731
                                {"bid": bids["broker"].pk, "quantity": 500}, format="json")
    status = firm_write_status(name, 201)
    if status != 201:
        # refused before anything moves: not even the bidding is closed on the way
        refused_and_unchanged(award, status, django_capture_on_commit_callbacks)
        assert Order.objects.get(pk=order.pk).status == Order.Status.PUBLISHED
        return
    response = award()
    assert response.status_code == 201, response.json()
    assert response.json()["broker"] == world.p.broker_org.pk


@pytest.mark.parametrize("name", NAMES)
def test_award_decline(world, client_for, name, django_capture_on_commit_callbacks):
    award = world.awards["broker"]
    client = client_for(world.user(name))
    decline = lambda: client.post(f"/api/awards/{award.pk}/decline/", {"reason": "忙不过来"}, format="json")  # noqa: E731
    status = owner_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(decline, status, django_capture_on_commit_callbacks)
        return
    response = decline()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "declined"


@pytest.mark.parametrize("name", NAMES)
def test_award_complete(world, client_for, name, django_capture_on_commit_callbacks):
    award = world.awards["broker"]
    deliver_and_accept(world.p, award)
    client = client_for(world.user(name))
    complete = lambda: client.post(f"/api/awards/{award.pk}/complete/")  # noqa: E731
    status = firm_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(complete, status, django_capture_on_commit_callbacks)
        return
    response = complete()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "completed"


@pytest.mark.parametrize("name", NAMES)
def test_material_dispatch(world, client_for, name, django_capture_on_commit_callbacks):
    award = world.awards["broker"]
    beads = award.order.materials.first()
    client = client_for(world.user(name))
    send = lambda: client.post(f"/api/awards/{award.pk}/dispatches/",  # noqa: E731
                               {"lines": [{"material": beads.pk, "quantity": "12000"}]}, format="json")
    status = firm_write_status(name, 201)
    if status != 201:
        refused_and_unchanged(send, status, django_capture_on_commit_callbacks)
        return
    response = send()
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "sent"


@pytest.mark.parametrize("name", NAMES)
def test_material_receipt(world, client_for, name, django_capture_on_commit_callbacks):
    dispatch = dispatch_materials(world.p, world.awards["broker"])
    client = client_for(world.user(name))
    receive = lambda: client.post(f"/api/dispatches/{dispatch.pk}/receive/", {}, format="json")  # noqa: E731
    status = staff_write_status(name, 200)
    if status != 200:
        refused_and_unchanged(receive, status, django_capture_on_commit_callbacks)
        return
    response = receive()
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "received"


@pytest.mark.parametrize("name", NAMES)
def test_material_return(world, client_for, name, django_capture_on_commit_callbacks):
    award = world.awards["broker"]
    dispatch_materials(world.p, award, receive=True)
    beads = award.order.materials.first()
    client = client_for(world.user(name))
    give_back = lambda: client.post(f"/api/awards/{award.pk}/returns/",  # noqa: E731
                                    {"material": beads.pk, "quantity": "20"}, format="json")
    status = staff_write_status(name, 201)
    if status != 201:
        refused_and_unchanged(give_back, status, django_capture_on_commit_callbacks)
        return
    response = give_back()
    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["quantity"]) == 20


@pytest.mark.parametrize("name", NAMES)
def test_delivery(world, client_for, name, django_capture_on_commit_callbacks):
    award = world.awards["broker"]
    client = client_for(world.user(name))
    deliver = lambda: client.post(f"/api/awards/{award.pk}/deliveries/", {"quantity": 100}, format="json")  # noqa: E731
    status = staff_write_status(name, 201)
    if status != 201:
        refused_and_unchanged(deliver, status, django_capture_on_commit_callbacks)
        return
    response = deliver()
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize("name", NAMES)
def test_inspection(world, client_for, name, django_capture_on_commit_callbacks):
    delivery = services.delivery_record(actor=world.p.broker, award_id=world.awards["broker"].pk, quantity=100)
    client = client_for(world.user(name))
    inspect = lambda: client.post(f"/api/deliveries/{delivery.pk}/inspect/",  # noqa: E731
                                  {"accepted": 95, "rejected": 5, "reason": "结松了"}, format="json")
    status = firm_write_status(name, 201)
    if status != 201:
        refused_and_unchanged(inspect, status, django_capture_on_commit_callbacks)
        return
    response = inspect()
    assert response.status_code == 201, response.json()
    assert response.json()["fee_due"] == "123.50"  # 95 × 1.30


@pytest.mark.parametrize("name", NAMES)
def test_subcontract_propose(world, client_for, name, django_capture_on_commit_callbacks):
    award = world.awards["broker"]
    client = client_for(world.user(name))
    propose = lambda: client.post(f"/api/awards/{award.pk}/subcontracts/",  # noqa: E731
                                  {"to_broker": world.p.rival_org.pk, "quantity": 100, "unit_price": "1.0000"},
                                  format="json")
    status = owner_write_status(name, 201)
    if status != 201:
        refused_and_unchanged(propose, status, django_capture_on_commit_callbacks)
        return
    response = propose()
    assert response.status_code == 201, response.json()
    assert response.json()["to_broker"] == world.p.rival_org.pk


@pytest.mark.parametrize("url", ["/api/dispatches/abc/receive/", "/api/dispatches/999999/receive/"])
def test_receiving_a_dispatch_that_does_not_exist(world, client_for, url):
    assert_refused(client_for(world.p.broker).post(url, {}, format="json"), 404)


@pytest.mark.parametrize("url", ["/api/deliveries/abc/inspect/", "/api/deliveries/999999/inspect/"])
def test_inspecting_a_delivery_that_does_not_exist(world, client_for, url):
    body = {"accepted": 1, "rejected": 0}
    assert_refused(client_for(world.p.firm).post(url, body, format="json"), 404)


def test_the_firm_sees_that_work_was_subcontracted_but_not_the_price(world, client_for):
    award = world.awards["broker"]
    services.subcontract_propose(actor=world.p.broker, award_id=award.pk, to_broker_id=world.p.rival_org.pk,
                                 quantity=100, unit_price=Decimal("1.0000"), note="旺季帮忙")
    subs = client_for(world.p.firm).get(f"/api/awards/{award.pk}/").json()["subcontracts"]
    assert len(subs) == 1
    assert subs[0]["to_broker"] == world.p.rival_org.pk and subs[0]["quantity"] == 100
    assert "unit_price" not in subs[0] and "note" not in subs[0]
    # the broker that passed the work on sees its terms
    mine = client_for(world.p.broker).get(f"/api/awards/{award.pk}/").json()["subcontracts"]
    assert mine[0]["unit_price"] == "1.0000"


def test_a_declined_award_stays_visible_to_its_broker_and_the_auditor(world, client_for):
    award = world.awards["broker"]
    services.award_decline(actor=world.p.broker, award_id=award.pk, reason="忙不过来")
    for name in ["broker", "team_head", "firm", "auditor", "admin"]:
        response = client_for(world.user(name)).get(f"/api/awards/{award.pk}/")
        assert response.status_code == 200
        assert response.json()["status"] == Award.Status.DECLINED
