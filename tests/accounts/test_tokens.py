"""API tokens (django-rest-knox): stored hashed, one per device, expiring unless used, listed and
revoked by their owner, all revoked when her password changes; websockets check them the same way."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from accounts.models import AuthToken, User

from ..factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(timezone.datetime(2026, 11, 2, 9, 0))
TTL = timedelta(hours=30 * 24)  # the default of API_TOKEN_TTL_HOURS
NEW_PASSWORD = "a fresh long passphrase 2026"


def issue(user: User, device: str | None = None, **extra) -> dict:
    body = {"username": user.username, "password": TEST_PASSWORD}
    if device is not None:
        body["device"] = device
    response = APIClient().post("/api/auth/token/", body, format="json", **extra)
    assert response.status_code == 200, response.json()
    return response.json()


def as_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def is_refused(key: str) -> bool:
    response = as_token(key).get("/api/auth/me/")
    if response.status_code == 200:
        return False
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    return True


# --- stored hashed, shown once -------------------------------------------------------------------

def test_the_key_is_stored_only_as_its_digest(personas):
    key = issue(personas.worker, "小米 13")["token"]

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_authtoken")
        columns = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    assert len(rows) == 1
    row = dict(zip(columns, rows[0]))
    assert "key" not in columns
    assert key not in [str(value) for value in row.values()]
    assert row["digest"] == hash_token(key)
    assert row["token_key"] == key[:15]  # knox's lookup prefix, not enough to authenticate
    assert not any(field.name == "key" for field in AuthToken._meta.get_fields())


def test_issue_answers_the_key_once_with_id_device_and_expiry(personas):
    with time_machine.travel(T0, tick=False):
        body = issue(personas.worker, "  小米 13 ")
    assert set(body) == {"token", "id", "device", "expiry"}
    assert body["device"] == "小米 13"
    token = AuthToken.objects.get(pk=body["id"])
    assert token.user == personas.worker and token.expiry == T0 + TTL
    # in local time, as the list of devices shows it
    assert body["expiry"] == timezone.localtime(T0 + TTL).isoformat()
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):  # whatever the session's clock
        assert not is_refused(body["token"])
        # the list never shows the key again
        listed = as_token(body["token"]).get("/api/auth/tokens/").json()
    assert body["token"] not in str(listed) and token.digest not in str(listed)


def test_the_device_defaults_to_the_user_agent(personas):
    body = issue(personas.worker, HTTP_USER_AGENT="  Lailiao/2.1 (Android 13; " + "x" * 200)
    assert body["device"] == ("Lailiao/2.1 (Android 13; " + "x" * 200)[:100].strip()
    assert len(body["device"]) <= 100
    assert issue(personas.worker)["device"] == ""  # no User-Agent at all


def test_a_device_name_over_100_characters_is_a_400(personas):
    response = APIClient().post(
        "/api/auth/token/", {"username": "worker", "password": TEST_PASSWORD, "device": "x" * 101},
        format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "device" in response.json()["fields"]
    assert not AuthToken.objects.exists()


# --- expiry, refreshed by use --------------------------------------------------------------------

def test_an_unused_token_expires_after_its_lifetime_and_is_deleted(personas):
    with time_machine.travel(T0, tick=False):
        key = issue(personas.worker)["token"]
    with time_machine.travel(T0 + TTL - timedelta(seconds=1), tick=False):
        assert not is_refused(key)
    with time_machine.travel(T0 + TTL - timedelta(seconds=1) + TTL + timedelta(seconds=1), tick=False):
        assert is_refused(key)
    assert not AuthToken.objects.exists()  # cleaned up when presented


def test_use_pushes_the_expiry_on(personas):
    with time_machine.travel(T0, tick=False):
        key = issue(personas.worker)["token"]
    for day in (20, 40, 60):  # every 20 days: long past the first expiry
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            assert not is_refused(key)
    token = AuthToken.objects.get()
    assert token.expiry == T0 + timedelta(days=60) + TTL
    assert token.last_used == T0 + timedelta(days=60)


def test_use_writes_at_most_once_per_refresh_interval(personas):
    interval = timedelta(seconds=settings.REST_KNOX["MIN_REFRESH_INTERVAL"])
    with time_machine.travel(T0, tick=False):
        key = issue(personas.worker)["token"]
    assert AuthToken.objects.get().last_used is None
    first = T0 + timedelta(minutes=1)
    with time_machine.travel(first, tick=False):
        assert not is_refused(key)
    token = AuthToken.objects.get()
    assert (token.last_used, token.expiry) == (first, T0 + TTL)  # the expiry moved a minute only: not written

    second = first + interval - timedelta(seconds=1)
    with time_machine.travel(second, tick=False):
        assert not is_refused(key)
    token = AuthToken.objects.get()
    assert (token.last_used, token.expiry) == (first, second + TTL)  # used within the interval: not written

    third = second + timedelta(seconds=2)
    with time_machine.travel(third, tick=False):
        assert not is_refused(key)
    token = AuthToken.objects.get()
    assert (token.last_used, token.expiry) == (third, second + TTL)


def test_use_cannot_push_past_the_absolute_maximum(personas, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "AUTO_REFRESH_MAX_TTL": timedelta(days=45)}
    with time_machine.travel(T0, tick=False):
        key = issue(personas.worker)["token"]
    with time_machine.travel(T0 + timedelta(days=25), tick=False):
        assert not is_refused(key)
    assert AuthToken.objects.get().expiry == T0 + timedelta(days=45)
    with time_machine.travel(T0 + timedelta(days=45, seconds=1), tick=False):
        assert is_refused(key)


def test_an_inactive_users_token_is_refused(personas):
    key = issue(personas.worker)["token"]
    User.objects.filter(pk=personas.worker.pk).update(is_active=False)
    assert is_refused(key)


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token " + "a" * 500, "Token \xff\xfe"])
def test_malformed_token_headers_are_a_401_never_a_500(personas, header):
    client = APIClient()
    response = client.get("/api/auth/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_no_credentials_stay_a_403(personas):
    response = APIClient().get("/api/auth/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_the_language_middleware_and_the_view_look_the_token_up_once(personas, monkeypatch):
    from core.authentication import TokenAuthentication

    key = issue(personas.worker)["token"]
    calls = []
    original = TokenAuthentication.authenticate_credentials

    def counted(self, token):
        calls.append(token)
        return original(self, token)

    monkeypatch.setattr(TokenAuthentication, "authenticate_credentials", counted)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")  # no Accept-Language: the middleware asks
    assert client.get("/api/auth/me/").status_code == 200
    assert len(calls) == 1


# --- my devices ---------------------------------------------------------------------------------

def test_the_list_shows_only_my_tokens_and_marks_the_current_one(personas, django_assert_max_num_queries):
    phone = issue(personas.worker, "phone")
    tablet = issue(personas.worker, "tablet")
    issue(personas.broker, "broker's laptop")

    with django_assert_max_num_queries(8):
        response = as_token(tablet["token"]).get("/api/auth/tokens/")
    assert response.status_code == 200
    rows = response.json()
    assert [(row["id"], row["device"], row["current"]) for row in rows] == [
        (tablet["id"], "tablet", True), (phone["id"], "phone", False)]
    assert set(rows[0]) == {"id", "device", "created", "last_used", "expiry", "current"}


def test_a_session_user_lists_and_revokes_her_tokens(personas):
    phone = issue(personas.worker, "phone")
    web = Client(enforce_csrf_checks=True)
    web.force_login(personas.worker)

    rows = web.get("/api/auth/tokens/").json()
    assert [(row["id"], row["current"]) for row in rows] == [(phone["id"], False)]

    assert web.delete(f"/api/auth/tokens/{phone['id']}/").status_code == 403  # a session write needs CSRF
    csrf = web.get("/api/auth/csrf/").json()["csrfToken"]
    assert web.delete(f"/api/auth/tokens/{phone['id']}/", HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert is_refused(phone["token"])


def test_revoking_one_of_my_tokens_leaves_the_others(personas):
    phone, tablet = issue(personas.worker, "phone"), issue(personas.worker, "tablet")
    assert as_token(tablet["token"]).delete(f"/api/auth/tokens/{phone['id']}/").status_code == 204
    assert is_refused(phone["token"])
    assert not is_refused(tablet["token"])


def test_someone_elses_token_id_is_a_404(personas):
    mine, hers = issue(personas.worker), issue(personas.other_worker)
    response = as_token(mine["token"]).delete(f"/api/auth/tokens/{hers['id']}/")
    assert response.status_code == 404
    assert response.json()["code"] == "token_not_found"
    assert not is_refused(hers["token"])
    assert as_token(mine["token"]).delete("/api/auth/tokens/999999/").status_code == 404


def test_delete_token_revokes_only_the_one_sent(personas):
    phone, tablet = issue(personas.worker, "phone"), issue(personas.worker, "tablet")
    assert as_token(phone["token"]).delete("/api/auth/token/").status_code == 204
    assert is_refused(phone["token"])
    assert not is_refused(tablet["token"])


def test_delete_token_from_a_session_has_no_current_token(personas, client_for):
    phone = issue(personas.worker, "phone")
    response = client_for(personas.worker).delete("/api/auth/token/")
    assert response.status_code == 404
    assert not is_refused(phone["token"])


def test_revoke_all_ends_every_token_of_mine_only(personas):
    phone, tablet = issue(personas.worker, "phone"), issue(personas.worker, "tablet")
    hers = issue(personas.other_worker)
    response = as_token(phone["token"]).delete("/api/auth/tokens/")
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert is_refused(phone["token"]) and is_refused(tablet["token"])
    assert not is_refused(hers["token"])


def test_live_tokens_per_user_are_capped_the_oldest_revoked_first(personas, settings):
    settings.API_TOKENS_PER_USER = 3
    keys = []
    for minute in range(4):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            keys.append(issue(personas.worker, f"phone {minute}")["token"])
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert is_refused(keys[0])
        assert not any(is_refused(key) for key in keys[1:])
    assert AuthToken.objects.filter(user=personas.worker).count() == 3


def test_the_cap_is_twenty_by_default(personas):
    from accounts.services import token_create

    assert settings.API_TOKENS_PER_USER == 20
    first, _key = token_create(user=personas.worker, device="first")
    for _ in range(20):
        token_create(user=personas.worker)
    assert AuthToken.objects.filter(user=personas.worker).count() == 20
    assert not AuthToken.objects.filter(pk=first.pk).exists()


# --- password change revokes every token --------------------------------------------------------

def change_password(client, old: str = TEST_PASSWORD, new: str = NEW_PASSWORD, **extra):
    return client.post("/api/auth/password/", {"old_password": old, "new_password": new},
                       format="json", HTTP_ACCEPT_LANGUAGE="en", **extra)


def test_changing_my_password_revokes_all_my_tokens(personas):
    phone, tablet = issue(personas.worker, "phone"), issue(personas.worker, "tablet")
    hers = issue(personas.other_worker)

    response = change_password(as_token(phone["token"]))

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert is_refused(phone["token"]) and is_refused(tablet["token"])
    assert not is_refused(hers["token"])
    personas.worker.refresh_from_db()
    assert personas.worker.check_password(NEW_PASSWORD)


def test_a_session_changing_the_password_stays_logged_in_and_other_sessions_end(personas):
    phone = issue(personas.worker, "phone")
    here, elsewhere = APIClient(), APIClient()
    for client in (here, elsewhere):
        csrf = client.get("/api/auth/csrf/").json()["csrfToken"]
        response = client.post("/api/auth/login/", {"username": "worker", "password": TEST_PASSWORD},
                               format="json", HTTP_X_CSRFTOKEN=csrf)
        assert response.status_code == 200
    csrf = here.get("/api/auth/csrf/").json()["csrfToken"]

    response = change_password(here, HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 200
    assert response.json() == {"revoked": 1}
    assert here.get("/api/auth/me/").status_code == 200
    assert elsewhere.get("/api/auth/me/").status_code == 403
    assert is_refused(phone["token"])


def test_a_wrong_current_password_is_a_400_on_the_field(personas):
    phone = issue(personas.worker)
    response = change_password(as_token(phone["token"]), old="not my password")
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password"
    assert response.json()["fields"] == {"old_password": ["The current password is not correct."]}
    assert not is_refused(phone["token"])


@pytest.mark.parametrize("new", ["123", "password", "worker1"])
def test_a_weak_new_password_is_a_400_naming_why(personas, new):
    phone = issue(personas.worker)
    response = change_password(as_token(phone["token"]), new=new)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_password"
    assert list(body["fields"]) == ["new_password"] and body["fields"]["new_password"]
    assert not is_refused(phone["token"])
    personas.worker.refresh_from_db()
    assert personas.worker.check_password(TEST_PASSWORD)


def test_a_missing_field_is_a_400(personas, client_for):
    response = client_for(personas.worker).post("/api/auth/password/", {"old_password": TEST_PASSWORD},
                                                format="json")
    assert response.status_code == 400
    assert "new_password" in response.json()["fields"]


def test_an_admin_setting_the_password_revokes_the_tokens(personas):
    phone = issue(personas.worker)
    admin = Client()
    admin.force_login(personas.admin)
    response = admin.post(f"/admin/accounts/user/{personas.worker.pk}/password/",
                          {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert is_refused(phone["token"])


def test_set_password_and_save_by_any_path_revokes_the_tokens(personas):
    # as `manage.py changepassword` and scripts do
    phone = issue(personas.worker)
    user = User.objects.get(pk=personas.worker.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert is_refused(phone["token"])


def test_manage_py_changepassword_revokes_the_tokens(personas, monkeypatch):
    from io import StringIO

    from django.contrib.auth.management.commands.changepassword import Command
    from django.core.management import call_command

    phone = issue(personas.worker)
    monkeypatch.setattr(Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", "worker", stdout=StringIO())
    assert is_refused(phone["token"])


def test_a_disabled_password_revokes_the_tokens(personas):
    phone = issue(personas.worker)
    user = User.objects.get(pk=personas.worker.pk)
    user.set_unusable_password()
    user.save()
    assert is_refused(phone["token"])


def test_other_saves_and_a_hash_upgrade_at_login_keep_the_tokens(personas, settings):
    phone = issue(personas.worker)
    user = User.objects.get(pk=personas.worker.pk)
    user.display_name = "王秀英"
    user.save()
    # a login that upgrades the stored hash to the preferred hasher is not a password change
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    assert user.password.startswith("md5$")
    assert user.check_password(TEST_PASSWORD)
    assert User.objects.get(pk=user.pk).password.startswith("pbkdf2_sha256$")
    assert not is_refused(phone["token"])


def test_changing_the_password_needs_a_login(personas):
    assert change_password(APIClient()).status_code == 403


# --- websockets ---------------------------------------------------------------------------------

async def socket_outcome(key: str) -> int | str:
    from config.asgi import application

    comm = WebsocketCommunicator(application, "/ws/events/", headers=[(b"authorization", f"Token {key}".encode())])
    connected, _ = await comm.connect()
    assert connected
    message = await comm.receive_output(timeout=2)
    if message["type"] == "websocket.close":
        return message["code"]
    await comm.disconnect()
    return "open"


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_with_an_expired_or_revoked_token_is_refused(personas):
    _token, key = await sync_to_async(AuthToken.objects.create)(user=personas.worker)
    _other, revoked = await sync_to_async(AuthToken.objects.create)(user=personas.worker)
    await sync_to_async(AuthToken.objects.filter(pk=_other.pk).delete)()

    assert await socket_outcome(key) == "open"
    assert await socket_outcome(revoked) == 4401
    with time_machine.travel(timezone.now() + TTL + timedelta(minutes=1), tick=False):
        assert await socket_outcome(key) == 4401
    assert not await sync_to_async(AuthToken.objects.filter(user=personas.worker).exists)()


def test_guessing_the_old_password_is_throttled_per_user(personas):
    client = as_token(issue(personas.worker)["token"])
    for _ in range(5):
        assert change_password(client, old="guess").status_code == 400
    response = change_password(client)  # even the right one, until the minute is over
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert change_password(as_token(issue(personas.other_worker)["token"]), old="guess").status_code == 400
