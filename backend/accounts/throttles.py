"""Login limits: they count failed logins, not logins (docs/security.md, "Login").

django-axes records each failure as an AccessAttempt row (account, client address, user agent)
in the database, shared by every web replica. Within the cool-off (AXES_COOLOFF_TIME, from
LOGIN_COOLOFF_MINUTES) an attempt is refused before any password is checked when

- the pair (account, address) has LOGIN_FAILURE_LIMIT failures: that client is locked out of that
  account, whoever else may still log in to it;
- the account has LOGIN_ACCOUNT_FAILURE_LIMIT failures from all addresses (each address counting
  at most LOGIN_FAILURE_LIMIT), and the client is not known to be the owner and has itself been
  failing on it (from this address or with this device cookie): a client that has not been
  failing always has its password checked, so a correct one gets in, and under attack a stranger
  gets one guess per address, not five;
- the address has LOGIN_ADDRESS_FAILURE_LIMIT failures over all accounts, and the client is not
  known to be the owner of the account it tries.

A client is known to be the owner of an account when it sends a device cookie naming the account
(signed; set by every session login) and has not failed LOGIN_FAILURE_LIMIT times with it, or
when its address logged in to the account within LOGIN_DEVICE_DAYS. A refused attempt counts as a
failure, so a client that keeps trying keeps its lock; a correct password resets the failures of
that client on that account. The phone number and the username are one account (one key)."""
from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db.models import Max, Sum
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import ngettext
from rest_framework.throttling import SimpleRateThrottle

from core.clients import client_ip_block
from core.errors import error_body

from .backends import account_for

DEVICE_COOKIE = "lailiao_device"
DEVICE_SALT = "accounts.login-device"
DEVICE_MAX_ACCOUNTS = 5  # a shared phone trusts its last five accounts


def _http_request(request):
    """The Django request under a DRF one: what axes marks and its middleware reads."""
    return getattr(request, "_request", request)


def login_account_key(request, credentials: Mapping | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account's username for a username or phone number of it,
    otherwise the input in lower case. Failures on either name count for the one account; what
    the key is never reaches the client, so it does not tell which names exist."""
    if credentials is not None:
        identifier = credentials.get("username")
    else:
        data = getattr(request, "data", None)
        data = data if isinstance(data, Mapping) else request.POST
        identifier = data.get("username")
    if not isinstance(identifier, str) or not identifier.strip():
        return None
    identifier = identifier.strip()[:150]
    keys = _http_request(request).__dict__.setdefault("login_account_keys", {})
    if identifier not in keys:
        user = account_for(identifier)
        keys[identifier] = user.get_username() if user is not None else identifier.lower()
    return keys[identifier]


# --- Device cookies (OWASP "device cookies") ---------------------------------------------------

@dataclass(frozen=True)
class Device:
    nonce: str
    accounts: tuple[str, ...]


def device_of(request) -> Device | None:
    """The device cookie the client sent, if it is ours and not older than LOGIN_DEVICE_DAYS."""
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        data = signing.loads(value, salt=DEVICE_SALT, max_age=timedelta(days=settings.LOGIN_DEVICE_DAYS))
    except signing.BadSignature:
        return None
    nonce, accounts = (data.get("d"), data.get("a")) if isinstance(data, dict) else (None, None)
    if not isinstance(nonce, str) or not isinstance(accounts, list):
        return None
    return Device(nonce, tuple(a for a in accounts if isinstance(a, str)))


def _device_failures_key(device: Device) -> str:
    return f"login-device-failures:{device.nonce}"


def _device_has_failed(request) -> bool:
    device = device_of(request)
    return device is not None and cache.get(_device_failures_key(device), 0) > 0


def is_owner_client(request, account: str | None) -> bool:
    """Whether this client is known to be the owner of `account`: a device cookie for it that
    has not been failing, or a login to it from this address within LOGIN_DEVICE_DAYS."""
    if account is None:
        return False
    device = device_of(request)
    if (device is not None and account in device.accounts
            and cache.get(_device_failures_key(device), 0) < settings.AXES_FAILURE_LIMIT):
        return True
    if request.axes_ip_address is None:  # no address at all: nothing to know the owner by
        return False
    since = timezone.now() - timedelta(days=settings.LOGIN_DEVICE_DAYS)
    return AccessLog.objects.filter(username=account, ip_address=request.axes_ip_address,
                                    attempt_time__gte=since).exists()


class LoginDeviceMiddleware:
    """Sets the device cookie on the answer to a session login (LoginLimitHandler marks it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        account = getattr(request, "login_device_account", None)
        if account:
            device = device_of(request)
            nonce = device.nonce if device is not None else secrets.token_urlsafe(16)
            kept = [a for a in (device.accounts if device is not None else ()) if a != account]
            accounts = [*kept[-(DEVICE_MAX_ACCOUNTS - 1):], account]
            response.set_cookie(
                DEVICE_COOKIE, signing.dumps({"d": nonce, "a": accounts}, salt=DEVICE_SALT),
                max_age=settings.LOGIN_DEVICE_DAYS * 24 * 60 * 60, secure=settings.SESSION_COOKIE_SECURE,
                httponly=True, samesite="Lax",
            )
        return response


# --- The limits --------------------------------------------------------------------------------

def _unlocks_at(rows: Iterable[tuple[datetime, int]], limit: int, cool_off: timedelta) -> datetime | None:
    """Failures (time of the last one, count) within the cool-off: when so many of them will have
    aged out that fewer than `limit` remain, or None if fewer than `limit` remain now."""
    rows = sorted(rows)
    remaining = sum(count for _, count in rows)
    for time, count in rows:
        if remaining < limit:
            break
        remaining -= count
        if remaining < limit:
            return time + cool_off
    return None


def login_succeeded(*, request, user) -> None:
    """A correct password: forget this client's failures on the account, and remember that the
    account logged in from this address (axes's AccessLog; the owner's address from then on)."""
    account = user.get_username()
    AxesProxyHandler.update_request(request)
    AccessAttempt.objects.filter(username=account, ip_address=request.axes_ip_address).delete()
    AccessLog.objects.create(
        username=account, ip_address=request.axes_ip_address, user_agent=request.axes_user_agent,
        http_accept=request.axes_http_accept, path_info=request.axes_path_info,
    )
    device = device_of(request)
    if device is not None:
        cache.delete(_device_failures_key(device))
    request.login_recorded = True


class LoginLimitHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes's database handler with the three budgets of this module."""

    def unlocks_at(self, request, credentials: Mapping | None = None) -> datetime | None:
        """When this client may try this account again; None: it may now."""
        account = get_client_username(request, credentials)
        address = request.axes_ip_address
        cool_off = get_cool_off(request)
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request)).order_by()
        per_client = settings.AXES_FAILURE_LIMIT
        pair = list(recent.filter(username=account, ip_address=address)
                    .values_list("attempt_time", "failures_since_start"))
        waits = [_unlocks_at(pair, per_client, cool_off)]
        # The account's budget binds only a client that has been failing on it (this address, or
        # this device cookie): a correct password from one that has not gets in, so an attack
        # from elsewhere cannot lock the owner out; a stranger that guesses wrong once is stopped.
        stranger = not is_owner_client(request, account)
        if stranger and (pair or _device_has_failed(request)):
            by_address = (recent.filter(username=account).values("ip_address")
                          .annotate(last=Max("attempt_time"), failures=Sum("failures_since_start")))
            waits.append(_unlocks_at(((row["last"], min(row["failures"], per_client)) for row in by_address),
                                     settings.LOGIN_ACCOUNT_FAILURE_LIMIT, cool_off))
        if stranger:
            waits.append(_unlocks_at(recent.filter(ip_address=address)
                                     .values_list("attempt_time", "failures_since_start"),
                                     settings.LOGIN_ADDRESS_FAILURE_LIMIT, cool_off))
        waits = [wait for wait in waits if wait is not None]
        return max(waits) if waits else None

    def is_locked(self, request, credentials: Mapping | None = None) -> bool:
        return self.unlocks_at(request, credentials) is not None

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        device = device_of(request)
        if device is not None:
            key = _device_failures_key(device)
            cache.add(key, 0, timeout=int(get_cool_off(request).total_seconds()))
            cache.incr(key)
        # axes locks on the pair only; this failure may have used up another budget
        if not request.axes_locked_out and self.is_locked(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials

    def user_logged_in(self, sender, request, user, **kwargs):
        request = _http_request(request)
        if not getattr(request, "login_recorded", False):  # the admin site: not through credentials_check
            login_succeeded(request=request, user=user)
        request.login_device_account = user.get_username()


def login_locked_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 in the one error shape with Retry-After, the same for an
    account that exists and one that does not. (axes's async middleware passes the credentials
    in the second place; they are read from the request instead.)"""
    handler = AxesProxyHandler.get_implementation()
    unlocks = handler.unlocks_at(request, getattr(request, "axes_credentials", None))
    wait = (unlocks - timezone.now()) if unlocks is not None else get_cool_off(request)
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "Too many failed logins. Try again in %(minutes)d minute.",
        "Too many failed logins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    response = JsonResponse(error_body("login_locked", message), status=429,
                            json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = str(seconds)
    return response


class LoginAddressThrottle(SimpleRateThrottle):
    """Flood protection only (LOGIN_RATE_IP, generous): every login and token request per client
    address, successful or not. The limits above are what stop guessing."""

    scope = "login_address"

    def get_ident(self, request):
        return client_ip_block(request)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
