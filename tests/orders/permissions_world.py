"""A small marketplace for the permission matrix of the orders endpoints: the personas of
tests/personas.py plus a second firm, with orders, bids and awards in the states each endpoint
acts on, all built through the real services (tests/orders/builders.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts.models import Organisation, Role, User
from orders import services
from orders.models import (
    Attachment, Award, Bid, Delivery, Dispatch, DispatchLine, Inspection, Material, MaterialReturn, Order, OrderEvent,
    Procedure, ReconciliationLine, Subcontract,
)

from ..factories import OrganisationFactory, UserFactory
from ..personas import Personas
from . import builders

# Every persona of tests/personas.py, plus a member of a second firm (another firm's order is 404).
NAMES = ["firm", "other_firm", "broker", "team_head", "rival_broker", "worker", "other_worker", "auditor",
         "other_auditor", "admin", "anonymous"]
# Who may use the marketplace at all; the rest (workers, anonymous) get 403 everywhere.
MARKET = {"firm", "other_firm", "broker", "team_head", "rival_broker", "auditor", "other_auditor", "admin"}


def add_other_firm(p: Personas) -> User:
    org = OrganisationFactory(kind=Organisation.Kind.FIRM, name="温州另一家饰品公司", jurisdiction=p.firm_org.jurisdiction)
    return UserFactory(username="other_firm", role=Role.FIRM_MEMBER, organisation=org)


def add_broker(name: str, jurisdiction) -> User:
    """Another broker owner (for a broker nobody involved, or many bidders)."""
    org = OrganisationFactory(kind=Organisation.Kind.BROKER, name=name, jurisdiction=jurisdiction)
    return UserFactory(role=Role.BROKER_OWNER, organisation=org)


def fresh(user: User | None) -> User | None:
    """The same user without cached relations, so a request pays for its own lookups."""
    return None if user is None else User.objects.get(pk=user.pk)


@dataclass
class World:
    p: Personas
    other_firm: User
    orders: dict[str, Order] = field(default_factory=dict)
    bids: dict[str, Bid] = field(default_factory=dict)
    awards: dict[str, Award] = field(default_factory=dict)

    def user(self, name: str) -> User | None:
        return self.other_firm if name == "other_firm" else self.p.users()[name]


def build_world(p: Personas) -> World:
    """
    orders   draft        the firm's draft
             open         the firm's, published, bids from the broker and the rival (deadline ahead)
             awarded      the firm's, deadline passed, split: 600 to the broker, 400 to the rival
             other_open   the other firm's, published, no bids
             other_draft  the other firm's draft
    """
    world = World(p=p, other_firm=add_other_firm(p))
    world.orders["draft"] = builders.draft(p.firm, product="草稿订单")
    world.orders["open"] = builders.published(p.firm, product="开放订单")
    world.bids["open_broker"] = builders.bid(p.broker, world.orders["open"], unit_price="1.2000")
    world.bids["open_rival"] = builders.bid(p.rival_broker, world.orders["open"], unit_price="1.1000")

    awarded = builders.published(p.firm, product="已授标订单")
    world.bids["awarded_broker"] = builders.bid(p.broker, awarded, unit_price="1.3000")
    world.bids["awarded_rival"] = builders.bid(p.rival_broker, awarded, unit_price="1.2500")
    builders.pass_deadline(awarded)
    world.awards["broker"] = services.award_create(actor=p.firm, order_id=awarded.pk,
                                                   bid_id=world.bids["awarded_broker"].pk, quantity=600)
    world.awards["rival"] = services.award_create(actor=p.firm, order_id=awarded.pk,
                                                  bid_id=world.bids["awarded_rival"].pk, quantity=400)
    world.orders["awarded"] = awarded

    world.orders["other_open"] = builders.published(world.other_firm, product="别家开放订单")
    world.orders["other_draft"] = builders.draft(world.other_firm, product="别家草稿")
    for order in world.orders.values():
        order.refresh_from_db()
    return world


# What each persona sees of the world's orders (list and detail alike).
VISIBLE_ORDERS = {
    "firm": {"draft", "open", "awarded"},
    "other_firm": {"other_open", "other_draft"},
    # the board (published) plus the orders they bid on; never a draft
    "broker": {"open", "awarded", "other_open"},
    "team_head": {"open", "awarded", "other_open"},
    "rival_broker": {"open", "awarded", "other_open"},
    # orders awarded to brokers of their county (both brokers are in Suichang)
    "auditor": {"awarded"},
    "other_auditor": set(),
    "admin": {"draft", "open", "awarded", "other_open", "other_draft"},
}


def deliver_and_accept(p: Personas, award: Award, *, quantity: int | None = None) -> Inspection:
    """The broker delivers the award's pieces (all, by default); the firm accepts them all."""
    delivery = services.delivery_record(actor=p.broker, award_id=award.pk, quantity=quantity or award.quantity)
    return services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=delivery.quantity, rejected=0)


def dispatch_materials(p: Personas, award: Award, *, receive: bool = False) -> Dispatch:
    lines = [{"material": m.pk, "quantity": Decimal(award.quantity) * m.quantity_per_piece}
             for m in award.order.materials.all()]
    dispatch = services.dispatch_send(actor=p.firm, award_id=award.pk, lines=lines)
    if receive:
        services.dispatch_receive(actor=p.broker, dispatch_id=dispatch.pk)
    return dispatch


MODELS = [Order, Procedure, Material, Attachment, OrderEvent, Bid, Award, Dispatch, DispatchLine, MaterialReturn,
          Delivery, Inspection, ReconciliationLine, Subcontract]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the marketplace: a refused request must leave this exactly as it was."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


def firm_write_status(name: str, ok: int) -> int:
    """A firm's write on its own order: the firm (and an admin) may; another firm cannot see the
    order (404); every other role may never do it (403)."""
    return {"firm": ok, "admin": ok, "other_firm": 404}.get(name, 403)


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if status == 404:
        assert body["code"] == "not_found"
    else:
        assert body["code"] in {"not_authenticated", "permission_denied", "not_yours"}


def refused_and_unchanged(client_call, status: int, django_capture_on_commit_callbacks) -> None:
    """Run a write that must be refused: the answer is `status`, no row of the marketplace
    changed and no live event was queued."""
    before = snapshot()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_call()
    assert_refused(response, status)
    assert snapshot() == before
    assert callbacks == []
