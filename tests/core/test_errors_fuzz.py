"""A bounded fuzz of the API's writes: random JSON (not objects, deeply nested, huge strings,
odd unicode, nulls, numbers of any size, objects with the API's own field names) posted by a
persona who may use the endpoint. Never a 500; every refusal in the one error shape."""
from __future__ import annotations

import inspect
import json
import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings, strategies as st
from rest_framework import serializers

from orders.models import Subcontract

from ..orders.permissions_world import build_world, deliver_and_accept, dispatch_materials

pytestmark = pytest.mark.django_db

# Per endpoint. Derandomized, CI runs the same examples every time; LAILIAO_FUZZ_EXAMPLES=500
# LAILIAO_FUZZ_RANDOM=1 explores further.
EXAMPLES = int(os.environ.get("LAILIAO_FUZZ_EXAMPLES", "20"))
DERANDOMIZE = os.environ.get("LAILIAO_FUZZ_RANDOM") != "1"


def input_field_names() -> list[str]:
    """Every field name of the apps' serializers: the keys a fuzzed object is made of."""
    import accounts.serializers
    import brokers.serializers
    import orders.serializers
    import payments.serializers

    names = set()
    for module in (accounts.serializers, brokers.serializers, orders.serializers, payments.serializers):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.Serializer) and cls.__module__ == module.__name__:
                try:
                    names |= set(cls().fields)
                except Exception:  # noqa: BLE001 - a serializer that needs context to list its fields
                    continue
    return sorted(names)


FIELDS = input_field_names()
ODD_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=["Cs"]), max_size=40)
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | ODD_TEXT | st.sampled_from(["", "0", "-1", "1e400", "2026-02-30", "9999-12-31", "0001-01-01",
                                         "2026-11-30T00:00:00+20:00", "9999-12-31T23:59:59-12:00", "0000-00",
                                         "1329-12", "\x00", "x" * 100_000, "١٢٣", "Ⅻ", "𝟙𝟚"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(FIELDS) | ODD_TEXT, inner, max_size=4), max_leaves=12)
OBJECTS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8)
BODIES = (OBJECTS.map(json.dumps) | VALUES.map(json.dumps)
          | st.integers(min_value=1, max_value=200).map(lambda n: '{"rows": ' + "[" * n + "]" * n + "}")
          | st.just("[" * 100_000 + "]" * 100_000) | st.just('{"a": ' * 5000 + "1" + "}" * 5000)
          | st.sampled_from(["", "{", "null", "[]", '"x"', "1", '{"a": NaN}', "\ufeff{}",
                           '{"a": 1' + "0" * 5000 + "}"]))

# (method, path template, persona): who may use the endpoint, so the body is what is judged
ENDPOINTS = [
    ("post", "/api/auth/token/", None),
    ("post", "/api/auth/login/", None),
    ("patch", "/api/auth/me/", "broker"),
    ("post", "/api/orders/", "firm"),
    ("patch", "/api/orders/{draft}/", "firm"),
    ("post", "/api/orders/{draft}/cancel/", "firm"),
    ("post", "/api/orders/{open}/bids/", "broker"),
    ("post", "/api/orders/{awarded}/awards/", "firm"),
    ("patch", "/api/bids/{bid}/", "broker"),
    ("post", "/api/awards/{award}/decline/", "broker"),
    ("post", "/api/awards/{award}/dispatches/", "firm"),
    ("post", "/api/awards/{award}/returns/", "broker"),
    ("post", "/api/awards/{award}/deliveries/", "broker"),
    ("post", "/api/awards/{award}/subcontracts/", "broker"),
    ("post", "/api/dispatches/{dispatch}/receive/", "broker"),
    ("post", "/api/deliveries/{delivery}/inspect/", "firm"),
    ("post", "/api/workers/", "broker"),
    ("patch", "/api/workers/{worker}/", "broker"),
    ("post", "/api/workers/enrol/", "broker"),
    ("post", "/api/workers/{worker}/end-membership/", "broker"),
    ("post", "/api/workers/{worker}/login/", "broker"),
    ("patch", "/api/broker-profiles/me/", "broker"),
    ("post", "/api/broker-profiles/me/sites/", "broker"),
    ("post", "/api/broker-profiles/me/training/", "broker"),
    ("post", "/api/broker-profiles/me/relocations/", "broker"),
    ("post", "/api/villages/{village}/status/", "auditor"),
    ("post", "/api/bundles/cut/", "broker"),
    ("post", "/api/piece-rates/", "broker"),
    ("post", "/api/piece-logs/", "broker"),
    ("post", "/api/piece-logs/bulk/", "broker"),
    ("post", "/api/disputes/", "worker"),
    ("post", "/api/attendance/", "broker"),
    ("post", "/api/availability/", "worker"),
    ("post", "/api/payroll-runs/", "broker"),
    ("post", "/api/subcontracts/{subcontract}/accept/", "rival_broker"),
]


@pytest.fixture
def world(personas):
    built = build_world(personas)
    award = built.awards["broker"]
    dispatch = dispatch_materials(personas, award)
    delivery = deliver_and_accept(personas, award, quantity=10).delivery
    sub = Subcontract.objects.create(award=award, from_broker=personas.broker_org, to_broker=personas.rival_org,
                                     quantity=10, unit_price="1.0000", created_by=personas.broker)
    ids = {"draft": built.orders["draft"].pk, "open": built.orders["open"].pk, "awarded": built.orders["awarded"].pk,
           "bid": built.bids["open_broker"].pk, "award": award.pk, "dispatch": dispatch.pk, "delivery": delivery.pk,
           "worker": personas.worker_record.pk, "village": personas.home["village"].pk, "subcontract": sub.pk}
    return personas, ids


def test_the_field_pool_is_the_apis():
    for name in ["username", "quantity", "unit_price", "rows", "evidence", "effective_from", "month", "paid_on"]:
        assert name in FIELDS


def test_random_json_never_makes_a_500(world):
    """Each endpoint gets its own bounded run (the world is built once: the writes that succeed
    change it, as a user's would)."""
    personas, ids = world
    failures = []
    for method, template, who in ENDPOINTS:
        client = Client(raise_request_exception=False)
        if who is not None:
            client.force_login(getattr(personas, who))
        try:
            fuzz(client, method, template.format(**ids))
        except AssertionError as exc:
            failures.append(f"{method.upper()} {template}: {exc}")
    assert failures == []


def fuzz(client: Client, method: str, path: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=BODIES)
    def check(body):
        response = getattr(client, method)(path, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code < 500, (body[:300], response.content[:300])
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/json", body[:300]
            payload = response.json()
            assert set(payload) == {"code", "message", "fields"}, payload
            assert isinstance(payload["code"], str) and isinstance(payload["message"], str)
            assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in payload["fields"].values())

    check()
