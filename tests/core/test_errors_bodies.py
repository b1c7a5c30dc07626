"""Request bodies the API cannot use are 400s (or 413s) in the one error shape, never a 500:
JSON that is not an object, JSON nested too deeply, bodies over the size limits."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from accounts.throttles import login_account_key
from core.parsers import MAX_DEPTH, depth_of

pytestmark = pytest.mark.django_db

NOT_OBJECTS = ["[]", '["broker", "secret"]', '"x"', "1", "-0.5", "true", "null"]


def shape(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    return body


def post_json(client, path: str, text: str, **extra):
    return client.post(path, text, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **extra)


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/auth/login/"])
@pytest.mark.parametrize("text", NOT_OBJECTS)
def test_a_body_that_is_not_an_object_is_a_400_on_the_login_endpoints(path, text):
    # given: anonymous, as a script would be
    client = Client(raise_request_exception=False)
    # when
    response = post_json(client, path, text)
    # then
    assert response.status_code == 400
    assert shape(response) == {"code": "body_not_object", "message": "The request body must be a JSON object.",
                               "fields": {}}


def test_a_body_that_is_not_an_object_is_a_400_for_a_logged_in_write(personas):
    client = Client(raise_request_exception=False)
    client.force_login(personas.firm)
    for text in NOT_OBJECTS:
        response = post_json(client, "/api/orders/", text)
        assert response.status_code == 400, text
        assert shape(response)["code"] == "body_not_object"


def test_the_login_limits_ignore_a_body_that_is_not_a_mapping():
    # axes reads the username from the body when it has no credentials (on a logout, say)
    for data in ([], ["broker"], "broker", 1, None):
        request = APIRequestFactory().post("/api/auth/token/")
        request.data = data  # what a parser other than ours could hand over
        assert login_account_key(request) is None
    request = APIRequestFactory().post("/api/auth/token/")
    request.data = {"username": " 13800000001 "}  # no such account: the input, trimmed
    assert login_account_key(request) == "13800000001"


def nested(depth: int) -> str:
    """`depth` levels: a list of lists ... inside the top-level object."""
    return '{"username": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_json_nested_100000_deep_is_a_400():
    client = Client(raise_request_exception=False)
    response = post_json(client, "/api/auth/token/", "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert shape(response) == {"code": "body_too_deep", "fields": {},
                               "message": f"The request body is nested too deeply (at most {MAX_DEPTH} levels)."}
    response = post_json(client, "/api/auth/login/", nested(100_000))
    assert response.status_code == 400
    assert shape(response)["code"] == "body_too_deep"


def test_the_depth_limit_is_exact():
    client = Client(raise_request_exception=False)
    assert depth_of(json.loads(nested(MAX_DEPTH))) == MAX_DEPTH
    # 64 levels parse (and the serializer then says what is wrong with the username)
    response = post_json(client, "/api/auth/token/", nested(MAX_DEPTH))
    assert response.status_code == 400
    assert set(shape(response)["fields"]) == {"username", "password"}
    # 65 do not
    response = post_json(client, "/api/auth/token/", nested(MAX_DEPTH + 1))
    assert response.status_code == 400
    assert shape(response)["code"] == "body_too_deep"


def test_depth_of_counts_containers_only():
    assert depth_of({}) == 1
    assert depth_of({"a": 1, "b": "x"}) == 1
    assert depth_of({"a": [1, {"b": []}]}) == 4
    assert depth_of(7) == 0


@pytest.mark.parametrize("text", ["{", '{"username": NaN}', '{"a": 1}x', "1" * 5000])
def test_json_that_does_not_parse_is_a_400(text):
    response = post_json(Client(raise_request_exception=False), "/api/auth/token/", text)
    assert response.status_code == 400
    assert shape(response) == {"code": "parse_error", "message": "The request body could not be parsed.",
                               "fields": {}}


def test_a_body_in_a_broken_encoding_is_a_400():
    response = Client(raise_request_exception=False).post(
        "/api/auth/token/", '{"username": "王"}'.encode("gbk"), content_type="application/json; charset=utf-8")
    assert response.status_code == 400
    assert shape(response)["code"] == "parse_error"


def test_a_json_body_over_the_size_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = Client(raise_request_exception=False)
    response = post_json(client, "/api/auth/token/", json.dumps({"username": "x" * 10_001, "password": "p"}))
    assert response.status_code == 413
    assert shape(response) == {"code": "request_too_large", "fields": {},
                               "message": "The request body is larger than the limit of 10000 bytes."}


def test_a_form_over_the_size_limit_is_a_413(personas, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = Client(raise_request_exception=False)
    client.force_login(personas.firm)
    response = client.post("/api/orders/", {"product": "x" * 10_001}, HTTP_ACCEPT_LANGUAGE="en")  # multipart
    assert response.status_code == 413
    assert shape(response)["code"] == "request_too_large"
    response = client.post("/api/orders/", "product=" + "x" * 10_001, content_type="application/x-www-form-urlencoded",
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert shape(response)["code"] == "request_too_large"


def test_a_form_with_too_many_fields_is_a_413(personas, settings):
    client = Client(raise_request_exception=False)
    client.force_login(personas.firm)
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post("/api/orders/", fields, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert shape(response) == {"code": "too_many_fields", "fields": {},
                               "message": f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields."}


def test_the_login_endpoints_still_work(broker_password_user):
    user, password = broker_password_user
    client = Client()
    response = post_json(client, reverse("auth-token"), json.dumps({"username": user.username, "password": password}))
    assert response.status_code == 200
    assert len(response.json()["token"]) == 64  # knox: 32 random bytes in hex


@pytest.fixture
def broker_password_user(personas):
    personas.broker.set_password("a-long-password-2026")
    personas.broker.save()
    return personas.broker, "a-long-password-2026"


def test_a_body_that_is_not_an_object_is_never_a_500_on_any_route(personas):
    """Every route, every writing method, as a firm, a broker, an auditor and a worker: refused
    in the one shape (400 for the body, or 403/404/405 before the body is read)."""
    import re

    from .test_errors_options import DOCUMENTS, api_routes

    failures = []
    for user in (personas.firm, personas.broker, personas.auditor, personas.worker):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for route in api_routes():
            if route in DOCUMENTS or route == "api/auth/logout/":  # logout takes no body (and would log out)
                continue
            path = "/" + re.sub(r"\{\w+\}", "1", route)
            for method in (client.post, client.put, client.patch):
                response = method(path, "[]", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
                if response.status_code not in (400, 403, 404, 405) or set(shape(response)) != {
                        "code", "message", "fields"}:
                    failures.append((method.__name__, path, user.username, response.status_code))
                elif response.status_code == 400 and shape(response)["code"] != "body_not_object":
                    failures.append((method.__name__, path, user.username, shape(response)["code"]))
    assert failures == []
