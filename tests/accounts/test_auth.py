"""Logging in and out: sessions with CSRF for the web app, tokens for API clients."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role

from ..factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_user():
    from ..factories import OrganisationFactory

    return UserFactory(username="zhou", phone="13905781001", role=Role.BROKER_OWNER,
                       organisation=OrganisationFactory(name="建明服装厂"))


def csrf_client() -> tuple[APIClient, str]:
    client = APIClient(enforce_csrf_checks=True)
    token = client.get("/api/auth/csrf/").json()["csrfToken"]
    return client, token


def test_session_login_with_username_then_me_then_logout(broker_user):
    client, token = csrf_client()
    response = client.post("/api/auth/login/", {"username": "zhou", "password": TEST_PASSWORD},
                           format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "zhou"
    assert me["role"] == "broker_owner"
    assert me["organisation"]["name"] == "建明服装厂"
    assert me["organisation"]["kind"] == "broker"

    assert client.get("/api/auth/me/").json()["id"] == broker_user.pk
    # logging in rotated the CSRF token; unsafe requests need the new one
    new_token = client.cookies["csrftoken"].value
    assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=new_token).status_code == 204
    assert client.get("/api/auth/me/").status_code == 403


def test_login_with_phone_number(broker_user):
    client, token = csrf_client()
    response = client.post("/api/auth/login/", {"username": "13905781001", "password": TEST_PASSWORD},
                           format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["username"] == "zhou"


def test_login_without_csrf_token_is_refused(broker_user):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/auth/login/", {"username": "zhou", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert client.get("/api/auth/me/").status_code == 403


def test_wrong_password_is_one_clear_error(broker_user):
    client, token = csrf_client()
    response = client.post("/api/auth/login/", {"username": "zhou", "password": "nope"},
                           format="json", HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "The username/phone or password is not correct.",
        "fields": {},
    }


def test_missing_fields_are_named(broker_user):
    client, token = csrf_client()
    response = client.post("/api/auth/login/", {"username": "zhou"}, format="json",
                           HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["password"]


def test_inactive_user_cannot_log_in(broker_user):
    broker_user.is_active = False
    broker_user.save()
    client, token = csrf_client()
    response = client.post("/api/auth/login/", {"username": "zhou", "password": TEST_PASSWORD},
                           format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400


def test_five_wrong_passwords_lock_that_client_out_of_the_account(broker_user):
    client, token = csrf_client()
    for _ in range(4):
        r = client.post("/api/auth/login/", {"username": "zhou", "password": "guess"}, format="json",
                        HTTP_X_CSRFTOKEN=token)
        assert r.status_code == 400
    # the fifth failure locks this client out for the cool-off, before any password is checked
    # (tests/accounts/test_login_spraying.py: the owner elsewhere still gets in)
    r = client.post("/api/auth/login/", {"username": "zhou", "password": "guess"}, format="json",
                    HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 429
    r = client.post("/api/auth/login/", {"username": "zhou", "password": TEST_PASSWORD}, format="json",
                    HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 429
    assert r.json()["code"] == "login_locked"
    assert r.json()["message"] == "Too many failed logins. Try again in 15 minutes."
    assert r["Retry-After"] == "900"
    assert client.get("/api/auth/me/").status_code == 403


def test_a_lockout_on_one_username_does_not_lock_out_another(broker_user):
    UserFactory(username="other")
    client, token = csrf_client()
    for _ in range(6):
        client.post("/api/auth/login/", {"username": "zhou", "password": "guess"}, format="json",
                    HTTP_X_CSRFTOKEN=token)
    r = client.post("/api/auth/login/", {"username": "other", "password": TEST_PASSWORD}, format="json",
                    HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200


def test_token_issue_use_and_revoke(broker_user):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "zhou", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/auth/me/").json()["username"] == "zhou"
    assert api.delete("/api/auth/token/").status_code == 204
    assert api.get("/api/auth/me/").json()["code"] == "authentication_failed"


def test_token_with_bad_credentials(broker_user):
    response = APIClient().post("/api/auth/token/", {"username": "zhou", "password": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_bad_token_is_refused(broker_user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get("/api/auth/me/")
    # 401 with the challenge: a token was presented and refused (no credentials at all stay 403)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "authentication_failed"


def test_me_for_a_worker_names_her_village(personas, client_for):
    body = client_for(personas.worker).get("/api/auth/me/").json()
    assert body["worker_id"] == personas.worker_record.pk
    assert body["jurisdiction"]["level"] == "village"
    assert body["organisation"] is None


def test_me_rejects_unknown_language(personas, client_for):
    response = client_for(personas.broker).patch("/api/auth/me/", {"language": "fr"}, format="json")
    assert response.status_code == 400
    assert "language" in response.json()["fields"]
