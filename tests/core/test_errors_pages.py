"""Every response under /api/ is JSON in the one error shape, also when no DRF view answers: an
unknown path, a crash (logged with its traceback, nothing of it told), a failed CSRF check.
Outside /api/ Django's HTML pages stay."""
from __future__ import annotations

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

SERVER_ERROR = {"code": "server_error", "fields": {},
                "message": "Something went wrong on our side; it has been logged. Please try again later."}


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.DEBUG = False  # Django's handlers answer only when DEBUG is off, as in production


def shape(response) -> dict:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    return body


@pytest.mark.parametrize("path", ["/api/nope/", "/api/orders/1/nope/", "/api/workers/1/2/3/", "/api/"])
def test_an_unknown_api_path_is_a_json_404(path):
    response = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert shape(response) == {"code": "not_found", "message": "Not found.", "fields": {}}


@pytest.mark.parametrize("path,status", [("/api/orders/", 401), ("/api/orders/999999/", 401), ("/api/auth/me/", 401)])
def test_a_browser_asking_for_html_still_gets_json(path, status):
    # DRF's browsable API would render an HTML page for `Accept: text/html`
    response = Client().get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (status, 403)
    assert shape(response)["code"] in ("not_authenticated", "permission_denied")


def test_a_browsers_html_accept_gets_json_data_when_logged_in(personas):
    client = Client()
    client.force_login(personas.firm)
    response = client.get("/api/auth/me/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["username"] == personas.firm.username


def test_an_unknown_api_path_is_a_json_404_for_any_method():
    client = Client()
    for method in (client.post, client.put, client.patch, client.delete, client.options):
        response = method("/api/nope/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert shape(response)["code"] == "not_found"


def test_the_404_is_translated():
    assert Client().get("/api/nope/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["message"] == "未找到。"


def test_outside_the_api_a_404_stays_html():
    response = Client().get("/media/nope.png")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.core.errors_urls")
@pytest.mark.parametrize("path", ["/api/test-crash/", "/api/test-plain-crash/"])
def test_a_crash_under_the_api_is_a_json_500_logged_with_its_traceback(path, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    assert shape(response) == SERVER_ERROR
    assert b"hunter2" not in response.content and b"RuntimeError" not in response.content
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "hunter2" in str(record.exc_info[1])


def test_a_crash_in_a_real_endpoint_is_a_json_500(personas, monkeypatch):
    import accounts.views

    def broken(user):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(accounts.views, "me_payload", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas.broker)
    response = client.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    assert shape(response) == SERVER_ERROR


@pytest.mark.urls("tests.core.errors_urls")
def test_outside_the_api_a_crash_stays_html():
    response = Client(raise_request_exception=False).get("/test-crash/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.core.errors_urls")
def test_a_failed_csrf_check_under_the_api_is_json():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/test-csrf/", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert shape(response) == {"code": "csrf_failed", "message": "The CSRF token is missing or wrong; reload the page.",
                               "fields": {}}
    outside = client.post("/test-csrf/", {})
    assert outside.status_code == 403
    assert outside["Content-Type"].startswith("text/html")


def test_login_without_its_csrf_token_is_json():
    from rest_framework.test import APIClient

    response = APIClient(enforce_csrf_checks=True).post("/api/auth/login/", {"username": "x", "password": "y"},
                                                        format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert shape(response)["code"] == "csrf_failed"


def test_a_bad_host_under_the_api_is_a_json_400():
    response = Client().get("/api/auth/me/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert shape(response) == {"code": "bad_request", "message": "The request is not valid.", "fields": {}}


def test_method_not_allowed_is_json(personas):
    client = Client()
    client.force_login(personas.broker)
    response = client.put("/api/auth/me/", "{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 405
    assert shape(response) == {"code": "method_not_allowed", "message": "This method is not allowed here.",
                               "fields": {}}
