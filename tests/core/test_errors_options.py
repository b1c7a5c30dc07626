"""OPTIONS on every route of the API, as every persona, with an existing and a missing id: never
a 500, always JSON (DRF's metadata builds each view's serializer, which two views lacked)."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from orders.models import Subcontract

from ..orders.permissions_world import build_world, deliver_and_accept, dispatch_materials

pytestmark = pytest.mark.django_db

GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
MISSING = 987654
DOCUMENTS = {"api/schema/", "api/docs/"}


def api_routes() -> list[str]:
    """Every URL pattern under api/, as a template with {name} for its parameters."""
    routes: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif text.startswith("api/"):
                routes.append(CONVERTER.sub(r"{\1}", GROUP.sub(r"{\1}", text)))

    walk(get_resolver().url_patterns, "")
    return routes


def test_the_route_list_covers_the_api():
    routes = api_routes()
    assert len(routes) > 60
    for route in ["api/dispatches/{pk}/receive/", "api/deliveries/{pk}/inspect/", "api/villages/{pk}/status/",
                  "api/orders/{pk}/attachments/{attachment_id}/file/", "api/auth/token/",
                  "api/broker-profiles/{organisation}/", "api/ledger/accounts/"]:
        assert route in routes


@pytest.fixture
def existing_ids(personas):
    """An id that exists for each route's first segment (1 where nothing in particular is needed)."""
    world = build_world(personas)
    award = world.awards["broker"]
    dispatch = dispatch_materials(personas, award)
    delivery = deliver_and_accept(personas, world.awards["broker"], quantity=10).delivery
    sub = Subcontract.objects.create(award=award, from_broker=personas.broker_org, to_broker=personas.rival_org,
                                     quantity=10, unit_price="1.0000", created_by=personas.broker)
    return world, {
        "orders": world.orders["awarded"].pk, "bids": world.bids["awarded_broker"].pk, "awards": award.pk,
        "dispatches": dispatch.pk, "deliveries": delivery.pk, "subcontracts": sub.pk,
        "workers": personas.worker_record.pk, "villages": personas.home["village"].pk,
        "jurisdictions": personas.home["village"].pk, "organisations": personas.broker_org.pk,
        "broker-profiles": personas.broker_org.pk,
    }


def test_options_on_every_route_never_fails(personas, existing_ids):
    world, ids = existing_ids
    users = personas.users() | {"other_firm": world.other_firm}
    failures = []
    for route in api_routes():
        segment = route.split("/")[1]
        for value in (ids.get(segment, 1), MISSING) if "{" in route else (None,):
            path = "/" + re.sub(r"\{\w+\}", str(value), route)
            for name, user in users.items():
                client = Client(raise_request_exception=False)
                if user is not None:
                    client.force_login(user)
                response = client.options(path, HTTP_ACCEPT_LANGUAGE="en")
                # the schema and its docs page answer in their own formats (YAML, HTML) by design
                json_route = route not in DOCUMENTS
                ok = response.status_code < 500 and (
                    not json_route or response["Content-Type"].startswith("application/json"))
                if ok and response.status_code >= 400:
                    ok = set(response.json()) == {"code", "message", "fields"}
                if not ok:
                    failures.append((path, name, response.status_code, response.content[:120]))
    assert failures == []


@pytest.mark.parametrize("path, who, fields", [
    ("/api/dispatches/{dispatches}/receive/", "broker", {"lines"}),
    ("/api/deliveries/{deliveries}/inspect/", "firm", {"accepted", "rejected"}),
])
def test_options_describes_what_the_action_takes(personas, existing_ids, path, who, fields):
    _, ids = existing_ids
    client = Client()
    client.force_login(getattr(personas, who))
    response = client.options(path.format(**ids))
    assert response.status_code == 200
    assert fields <= set(response.json()["actions"]["POST"])
