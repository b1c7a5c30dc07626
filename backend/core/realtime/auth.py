"""Websocket authentication and the origin policy.

Credentials: the browser's session cookie, or `Authorization: Token <key>` for API clients that
can set headers. A refused connection is accepted and then closed with a 44xx code, because a
handshake refusal (HTTP 403) reaches browser code only as close code 1006, whatever its cause:

- 4401: not authenticated (no credentials, a bad, expired or revoked token, an inactive user);
- 4403: not allowed from here: an `Origin` that is neither an allowed origin nor the server's own
  (scheme, host and port must match exactly), or a session cookie without any `Origin`.

Browsers always send `Origin` on a websocket handshake; scripts and mobile apps usually do not.
Such a client may connect with its token, never with a cookie alone: the cookie is what a
cross-site page would ride on, and a page cannot set the `Authorization` header."""
from __future__ import annotations

from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.http.request import split_domain_port, validate_host

NOT_AUTHENTICATED = 4401
NOT_ALLOWED_HERE = 4403

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@database_sync_to_async
def _user_for_token(key: str):
    from core.authentication import user_for_key  # the API's own check: knox, expiry, refresh

    return user_for_key(key)


def _header(scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key == name]


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of `scheme://host[:port]`, the default port filled in; None when it is
    not such an origin (`null`, a path, userinfo, an unknown scheme)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _own_origin(scope) -> tuple[str, str, int] | None:
    """The origin this connection was addressed to: the `Host` header, if it is one of
    ALLOWED_HOSTS (as Django checks it for HTTP), with http for ws and https for wss."""
    hosts = _header(scope, b"host")
    if len(hosts) != 1:
        return None
    domain, _ = split_domain_port(hosts[0])
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return origin_key(f"{scheme}://{hosts[0]}")


def origin_allowed(scope, origin: str) -> bool:
    key = origin_key(origin)
    if key is None:
        return False
    allowed = {origin_key(o) for o in settings.WEBSOCKET_ALLOWED_ORIGINS} - {None}
    return key in allowed or key == _own_origin(scope)


def refusal(scope) -> int | None:
    """The close code this connection is refused with, or None when it may go on."""
    origins = _header(scope, b"origin")
    if len(origins) > 1:
        return NOT_ALLOWED_HERE
    if origins:
        if not origin_allowed(scope, origins[0]):
            return NOT_ALLOWED_HERE
    elif scope.get("auth") != "token":
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            return NOT_ALLOWED_HERE  # a session cookie and no Origin: not a browser page we know
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return NOT_AUTHENTICATED
    return None


async def refuse(receive, send, code: int) -> None:
    """Complete the handshake, then close with `code`: the client sees the code."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from knox.settings import knox_settings

        prefix = f"{knox_settings.AUTH_HEADER_PREFIX} "
        header = next(iter(_header(scope, b"authorization")), "")
        if header.startswith(prefix):
            user = await _user_for_token(header[len(prefix):].strip())
            if user is not None:
                scope = dict(scope, user=user, auth="token")
        return await super().__call__(scope, receive, send)


class ConnectionPolicyMiddleware(BaseMiddleware):
    """Innermost: sees who the connection authenticated as, and how; refuses before routing."""

    async def __call__(self, scope, receive, send):
        code = refusal(scope)
        if code is not None:
            return await refuse(receive, send, code)
        return await super().__call__(scope, receive, send)


def TokenOrSessionAuthMiddlewareStack(inner):
    # Session first; a valid token header then replaces the (anonymous) session user; the policy
    # then refuses what may not connect, with a close code the client can read.
    return AuthMiddlewareStack(TokenAuthMiddleware(ConnectionPolicyMiddleware(inner)))
