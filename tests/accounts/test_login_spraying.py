"""Login resists guessing and spraying without locking out the owner (issue 10, item 2;
docs/security.md "Login"): failures are limited per client, per account and per address, the
client's address is the connection's unless proxies are trusted, and the answers tell nothing
about which accounts exist."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Role
from core.clients import client_ip, client_ip_block

from ..factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/auth/login/", "/api/auth/token/"]
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def fresh_address() -> str:
    return next(_addresses)


@pytest.fixture
def zhou():
    return UserFactory(username="zhou", phone="13905781001", role=Role.BROKER_OWNER)


def attempt(username: str, password: str, *, address: str, path: str = "/api/auth/login/",
            client: APIClient | None = None, **headers):
    client = client or APIClient()
    return client.post(path, {"username": username, "password": password}, format="json",
                       REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en", **headers)


def fail(times: int, username: str = "zhou", **kwargs) -> list[int]:
    return [attempt(username, "wrong guess", **kwargs).status_code for _ in range(times)]


def assert_locked(response) -> None:
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "login_locked"
    assert body["fields"] == {}
    assert body["message"].startswith("Too many failed logins. Try again in ")
    assert int(response["Retry-After"]) > 0


# --- the client's address ----------------------------------------------------------------------

def request_from(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return APIRequestFactory().post("/api/auth/login/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_the_address_is_the_connections(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("192.0.2.10", "203.0.113.1")) == "192.0.2.10"


@pytest.mark.parametrize(("count", "forwarded", "expected"), [
    (1, "203.0.113.1", "203.0.113.1"),
    (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # what the client wrote itself is ignored
    (2, "6.6.6.6, 203.0.113.1, 10.0.0.3", "203.0.113.1"),
    (2, "203.0.113.1", "192.0.2.10"),  # shorter than the proxies: the connection's
    (1, "not-an-address", "192.0.2.10"),
    (1, "::ffff:203.0.113.1", "203.0.113.1"),
])
def test_with_trusted_proxies_the_nth_hop_from_the_right(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_from("192.0.2.10", forwarded)) == expected


def test_an_ipv6_client_is_limited_as_its_64_network():
    assert client_ip_block(request_from("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::"
    assert client_ip_block(request_from("192.0.2.10")) == "192.0.2.10"


@pytest.mark.parametrize("count", [0, 1])
def test_drf_throttles_read_the_same_address(settings, count):
    settings.TRUSTED_PROXY_COUNT = count
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}
    request = request_from("192.0.2.10", "6.6.6.6, 203.0.113.1")
    assert SimpleRateThrottle.get_ident(None, request) == client_ip(request)


def test_rotating_forwarded_for_gets_no_extra_attempts(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    address = fresh_address()
    # given: one machine sprays 30 accounts, claiming a new address each time
    statuses = [attempt(f"1390000{n:04d}", "123456", address=address, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
                for n in range(30)]
    assert statuses == [400] * 29 + [429]
    # then: the next account from it is refused too, whatever it claims
    assert_locked(attempt("13900009999", "123456", address=address, HTTP_X_FORWARDED_FOR="203.0.113.200"))


def test_behind_one_trusted_proxy_the_client_is_the_hop_the_proxy_wrote(zhou, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    assert fail(5, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7") == [400] * 4 + [429]
    # the same client, prefixing a made-up address, is still the same client
    assert_locked(attempt("zhou", TEST_PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"))
    # another client behind the same proxy gets in
    assert attempt("zhou", TEST_PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


# --- failures, not logins ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ENDPOINTS)
def test_five_failures_lock_that_client_out_but_not_the_owner_elsewhere(zhou, path):
    a, b = fresh_address(), fresh_address()
    assert fail(5, address=a, path=path) == [400, 400, 400, 400, 429]
    assert_locked(attempt("zhou", TEST_PASSWORD, address=a, path=path))
    assert attempt("zhou", TEST_PASSWORD, address=b, path=path).status_code == 200


def test_a_correct_login_resets_that_clients_failures(zhou):
    a = fresh_address()
    assert fail(4, address=a) == [400] * 4
    assert attempt("zhou", TEST_PASSWORD, address=a).status_code == 200
    assert fail(4, address=a) == [400] * 4
    assert attempt("zhou", TEST_PASSWORD, address=a, path="/api/auth/token/").status_code == 200


def test_the_phone_number_and_the_username_share_one_budget(zhou):
    a = fresh_address()
    assert fail(3, "13905781001", address=a) + fail(2, "zhou", address=a) == [400, 400, 400, 400, 429]
    assert_locked(attempt("zhou", TEST_PASSWORD, address=a))
    assert_locked(attempt("13905781001", TEST_PASSWORD, address=a))


def test_names_without_an_account_are_counted_in_lower_case(zhou):
    a = fresh_address()
    assert fail(2, "Nobody", address=a) + fail(3, "NOBODY ", address=a) == [400, 400, 400, 400, 429]
    assert_locked(attempt("nobody", "x", address=a))


def test_the_cool_off_expires_and_trying_while_locked_extends_it(zhou):
    a = fresh_address()
    with time_machine.travel(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc), tick=False) as traveller:
        fail(5, address=a)
        traveller.shift(dt.timedelta(minutes=14, seconds=50))
        refused = attempt("zhou", TEST_PASSWORD, address=a)
        assert_locked(refused)  # and it counts: the lock now runs 15 minutes from here
        assert int(refused["Retry-After"]) == 15 * 60
        traveller.shift(dt.timedelta(minutes=14))
        assert_locked(attempt("zhou", TEST_PASSWORD, address=a, path="/api/auth/token/"))
        traveller.shift(dt.timedelta(minutes=15, seconds=1))
        assert attempt("zhou", TEST_PASSWORD, address=a).status_code == 200


def test_the_lockout_answer_is_json_with_the_wait(zhou):
    a = fresh_address()
    with time_machine.travel(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc), tick=False):
        fail(4, address=a)
        response = attempt("zhou", "wrong guess", address=a)
        zh = APIClient().post("/api/auth/login/", {"username": "zhou", "password": "x"}, format="json",
                              REMOTE_ADDR=a, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert_locked(response)
    assert response["Retry-After"] == "900"
    assert response.json()["message"] == "Too many failed logins. Try again in 15 minutes."
    assert zh.status_code == 429
    assert "15" in zh.json()["message"] and "Try again" not in zh.json()["message"]


def test_the_admin_login_is_limited_too(zhou):
    zhou.is_staff = True
    zhou.save()
    a = fresh_address()
    client = APIClient()
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "zhou", "password": "wrong"}, REMOTE_ADDR=a,
                               HTTP_ACCEPT_LANGUAGE="en")
    assert_locked(response)
    assert_locked(client.post("/admin/login/", {"username": "zhou", "password": TEST_PASSWORD}, REMOTE_ADDR=a,
                              HTTP_ACCEPT_LANGUAGE="en"))
    assert client.post("/admin/login/", {"username": "zhou", "password": TEST_PASSWORD},
                       REMOTE_ADDR=fresh_address()).status_code == 302


# --- many addresses on one account, one address on many accounts -----------------------------

def attack_from_four_addresses(username: str = "zhou") -> None:
    for _ in range(4):
        fail(5, username, address=fresh_address())


def test_failures_from_many_addresses_close_the_account_to_strangers_not_to_the_owner(zhou):
    # given: the owner logged in on her phone (device cookie) and, with a token, from her office
    phone, office = APIClient(), fresh_address()
    assert attempt("zhou", TEST_PASSWORD, address=fresh_address(), client=phone).status_code == 200
    del phone.cookies["sessionid"]  # logged out, the device cookie kept
    assert attempt("zhou", TEST_PASSWORD, address=office, path="/api/auth/token/").status_code == 200
    # when: 20 wrong passwords from four addresses
    attack_from_four_addresses()
    # then: a stranger's one wrong guess locks it out (that answer is the 429 already), even
    # for the right password
    for path in ENDPOINTS:
        stranger = fresh_address()
        assert_locked(attempt("zhou", "guess", address=stranger, path=path))
        assert_locked(attempt("zhou", TEST_PASSWORD, address=stranger, path=path))
    # but a client that has not been failing has its password checked: the owner on a new
    # address (a worker's phone on mobile data, a token client without cookies) gets in
    for path in ENDPOINTS:
        assert attempt("zhou", TEST_PASSWORD, address=fresh_address(), path=path).status_code == 200
    # but the owner's phone, from wherever, and her office address get in
    assert attempt("zhou", TEST_PASSWORD, address=fresh_address(), client=phone).status_code == 200
    assert attempt("zhou", TEST_PASSWORD, address=office, path="/api/auth/token/").status_code == 200
    # and other accounts are not concerned
    UserFactory(username="li")
    assert attempt("li", TEST_PASSWORD, address=fresh_address()).status_code == 200


def test_one_address_counts_at_most_five_towards_the_account(zhou):
    a = fresh_address()
    assert fail(25, address=a) == [400] * 4 + [429] * 21
    assert attempt("zhou", TEST_PASSWORD, address=fresh_address()).status_code == 200


def test_a_device_cookie_that_keeps_failing_is_trusted_no_more(zhou):
    phone = APIClient()
    assert attempt("zhou", TEST_PASSWORD, address=fresh_address(), client=phone).status_code == 200
    del phone.cookies["sessionid"]  # logged out, the device cookie kept
    attack_from_four_addresses()
    # a stolen phone guessing from new addresses: five tries, then it is a stranger
    assert [attempt("zhou", "guess", address=fresh_address(), client=phone).status_code
            for _ in range(5)] == [400] * 4 + [429]
    assert_locked(attempt("zhou", TEST_PASSWORD, address=fresh_address(), client=phone))


def test_a_device_cookie_for_another_account_or_forged_is_no_pass(zhou):
    UserFactory(username="li")
    phone = APIClient()
    assert attempt("li", TEST_PASSWORD, address=fresh_address(), client=phone).status_code == 200
    del phone.cookies["sessionid"]  # logged out, the device cookie kept
    attack_from_four_addresses()
    # li's cookie or a forged one makes no owner of zhou's: one wrong guess and it is a stranger
    forged = APIClient()
    forged.cookies["lailiao_device"] = "eyJkIjoieCIsImEiOlsiemhvdSJdfQ:forged:signature"
    for client in (phone, forged):
        address = fresh_address()
        assert_locked(attempt("zhou", "guess", address=address, client=client))
        assert_locked(attempt("zhou", TEST_PASSWORD, address=address, client=client))


def test_the_session_login_sets_a_signed_http_only_device_cookie(zhou):
    client = APIClient()
    assert attempt("zhou", TEST_PASSWORD, address=fresh_address(), client=client).status_code == 200
    cookie = client.cookies["lailiao_device"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == 90 * 24 * 60 * 60
    assert "zhou" not in cookie.value  # signed and encoded, not a readable list
    token = attempt("zhou", TEST_PASSWORD, address=fresh_address(), path="/api/auth/token/")
    assert "lailiao_device" not in token.cookies


def test_one_address_spraying_many_accounts_is_stopped(zhou):
    a, b = fresh_address(), fresh_address()
    statuses = [attempt(f"user{n}", "123456", address=a).status_code for n in range(30)]
    assert statuses == [400] * 29 + [429]
    assert_locked(attempt("zhou", TEST_PASSWORD, address=a))
    assert attempt("zhou", TEST_PASSWORD, address=b).status_code == 200


def test_a_spraying_address_can_still_log_in_to_the_accounts_it_is_known_for(zhou):
    office = fresh_address()
    assert attempt("zhou", TEST_PASSWORD, address=office, path="/api/auth/token/").status_code == 200
    [attempt(f"user{n}", "123456", address=office) for n in range(30)]  # a colleague on the same network
    assert_locked(attempt("someone", TEST_PASSWORD, address=office))
    assert attempt("zhou", TEST_PASSWORD, address=office, path="/api/auth/token/").status_code == 200


# --- nothing about a worker is revealed --------------------------------------------------------

@pytest.mark.parametrize("path", ENDPOINTS)
def test_unknown_user_wrong_password_and_inactive_user_get_the_same_answer(zhou, path):
    UserFactory(username="gone", phone="13905781002", is_active=False)
    answers = {
        (r.status_code, r.content)
        for r in (
            attempt("13905789999", "guess", address=fresh_address(), path=path),  # no such phone
            attempt("nobody", "guess", address=fresh_address(), path=path),
            attempt("13905781001", "guess", address=fresh_address(), path=path),  # zhou, wrong password
            attempt("13905781002", TEST_PASSWORD, address=fresh_address(), path=path),  # inactive, right password
        )
    }
    assert answers == {(400, b'{"code":"invalid_credentials","message":"The username/phone or password is not '
                             b'correct.","fields":{}}')}


def test_a_lockout_is_the_same_for_an_account_that_exists_and_one_that_does_not(zhou):
    with time_machine.travel(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc), tick=False):
        answers = []
        for username in ("13905781001", "13905789999"):
            a = fresh_address()
            fail(5, username, address=a)
            response = attempt(username, TEST_PASSWORD, address=a)
            answers.append((response.status_code, response["Retry-After"], response.content))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


@pytest.fixture
def hashes(monkeypatch):
    """How many times a password is hashed (MD5PasswordHasher is the test settings' hasher)."""
    calls = []
    encode = MD5PasswordHasher.encode

    def counting(self, password, salt):
        calls.append(salt)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    return calls


@pytest.mark.parametrize(("username", "password"), [
    ("nobody", "guess"),
    ("13905789999", "guess"),
    ("zhou", "guess"),
    ("13905781001", TEST_PASSWORD),
    ("gone", TEST_PASSWORD),
])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_login_hashes_the_password_exactly_once(zhou, hashes, username, password, path):
    UserFactory(username="gone", is_active=False)
    hashes.clear()
    attempt(username, password, address=fresh_address(), path=path)
    assert len(hashes) == 1


@pytest.mark.parametrize("username", ["zhou", "nobody"])
def test_a_locked_out_client_gets_no_password_check(zhou, hashes, username):
    a = fresh_address()
    fail(5, username, address=a)
    hashes.clear()
    assert_locked(attempt(username, TEST_PASSWORD, address=a))
    assert hashes == []


def test_under_asgi_the_lockout_is_the_same_json_429(zhou):
    """daphne serves the app through ASGI, where axes's middleware runs its async branch."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()

    def post(password):
        return async_to_sync(client.post)("/api/auth/token/", {"username": "zhou", "password": password},
                                          content_type="application/json", headers={"Accept-Language": "en"})

    assert [post("guess").status_code for _ in range(5)] == [400] * 4 + [429]
    assert_locked(post(TEST_PASSWORD))
    assert post(TEST_PASSWORD).json()["message"] == "Too many failed logins. Try again in 15 minutes."
