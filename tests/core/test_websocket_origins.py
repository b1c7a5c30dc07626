"""Who may open /ws/events/, from where, and the close code a refused client reads.

A token client without `Origin` (a script, a mobile app) connects with its token; a browser page
(it always sends `Origin`) only from an allowed origin or the server's own, scheme, host and port
exact; a session cookie without `Origin` is refused. A refusal completes the handshake and then
closes with 4401 (not authenticated) or 4403 (not allowed from here), because a refused handshake
reaches browser code as 1006 whatever its cause."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from config.asgi import application
from core.realtime import groups
from core.realtime.auth import origin_key

from ..factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CONFIGURED = "http://127.0.0.1:8000"  # in the default WEBSOCKET_ALLOWED_ORIGINS (CSRF_TRUSTED_ORIGINS)


@pytest.fixture
def user_and_credentials():
    from accounts.models import AuthToken

    user = UserFactory()
    client = Client()
    client.force_login(user)
    return user, {"token": AuthToken.objects.create(user=user)[1], "session": client.cookies["sessionid"].value}


async def outcome(credentials: dict, auth: str | None, origin: str | None, host: str | None = None,
                  scheme: str | None = None) -> int | str:
    """The first message's text (the hello), or the close code the client read after the handshake."""
    headers = []
    if auth == "token":
        headers.append((b"authorization", f"Token {credentials['token']}".encode()))
    elif auth == "session":
        headers.append((b"cookie", f"sessionid={credentials['session']}".encode()))
    elif auth == "bad token":
        headers.append((b"authorization", b"Token 0123456789abcdef0123456789abcdef01234567"))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    comm = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    if scheme:
        comm.scope["scheme"] = scheme  # the application task reads its scope on first run
    connected, http_code = await comm.connect()
    assert connected, f"the handshake was refused ({http_code}): a browser would read only 1006"
    message = await comm.receive_output(timeout=2)
    if message["type"] == "websocket.close":
        return message["code"]
    await comm.disconnect()
    return message["text"]


@pytest.mark.parametrize(
    ("auth", "origin", "host", "scheme", "expected"),
    [
        # scripts and apps: no Origin, a token
        ("token", None, None, None, "open"),
        ("bad token", None, None, None, 4401),
        (None, None, None, None, 4401),
        # a session cookie without Origin is what a cross-site trick would look like to us
        ("session", None, None, None, 4403),
        # browsers: the configured origin exactly
        ("session", CONFIGURED, None, None, "open"),
        ("token", CONFIGURED, None, None, "open"),
        (None, CONFIGURED, None, None, 4401),
        ("session", "http://127.0.0.1:8001", None, None, 4403),  # another port
        ("token", "http://127.0.0.1:8001", None, None, 4403),
        ("session", "https://127.0.0.1:8000", None, None, 4403),  # another scheme
        ("session", "http://localhost:5173", None, None, 4403),  # any localhost port used to pass
        ("session", "http://evil.example", None, None, 4403),
        ("session", "null", None, None, 4403),  # a sandboxed frame or a file:// page
        # the server's own origin: `make run PORT=8080`, or the Vite dev proxy (Host kept)
        ("session", "http://127.0.0.1:8080", "127.0.0.1:8080", None, "open"),
        ("session", "http://localhost:5173", "localhost:5173", None, "open"),
        ("session", "https://localhost:8443", "localhost:8443", "wss", "open"),
        ("session", "http://localhost:8443", "localhost:8443", "wss", 4403),
        ("session", "http://localhost:5174", "localhost:5173", None, 4403),
        # a Host outside ALLOWED_HOSTS is no own origin (DNS rebinding)
        ("session", "http://evil.example:8000", "evil.example:8000", None, 4403),
    ],
)
async def test_who_may_connect_from_where(user_and_credentials, auth, origin, host, scheme, expected):
    user, credentials = user_and_credentials
    result = await outcome(credentials, auth, origin, host, scheme)
    if expected == "open":
        assert isinstance(result, str) and f'"groups": ["{groups.user(user.pk)}"]' in result
    else:
        assert result == expected


async def test_configured_origins_are_exact(user_and_credentials):
    _, credentials = user_and_credentials
    with override_settings(WEBSOCKET_ALLOWED_ORIGINS=["https://lailiao.example.cn"]):
        assert '"type": "hello"' in await outcome(credentials, "session", "https://lailiao.example.cn")
        assert '"type": "hello"' in await outcome(credentials, "session", "https://LAILIAO.example.cn:443")
        assert await outcome(credentials, "session", "https://app.lailiao.example.cn") == 4403
        assert await outcome(credentials, "session", "http://lailiao.example.cn") == 4403
        assert await outcome(credentials, "session", CONFIGURED) == 4403  # no longer configured


async def test_an_inactive_users_token_is_not_authenticated(user_and_credentials):
    user, credentials = user_and_credentials
    user.is_active = False
    await database_sync_to_async(user.save)()  # closes its thread's connection, as the consumer does
    assert await outcome(credentials, "token", None) == 4401


def test_origin_key_normalises_only_real_origins():
    assert origin_key("http://LocalHost") == ("http", "localhost", 80)
    assert origin_key("https://lailiao.example.cn:443") == ("https", "lailiao.example.cn", 443)
    assert origin_key("http://[::1]:8000") == ("http", "::1", 8000)
    for junk in ("null", "", "localhost:8000", "ftp://x.example", "http://x.example/path", "http://u@x.example",
                 "http://x.example:99999", "http://x.example:port"):
        assert origin_key(junk) is None, junk
