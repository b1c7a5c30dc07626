"""The production layout: a real daphne on the Redis channel layer keeps an idle websocket open
and then delivers the next event. redis-py 8 reads with a 5 s socket timeout by default, the
same as channels_redis' blocking receive, and daphne closed idle sockets with 1011 every ~5 s."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async

from core.realtime import groups, send_now

from ..helpers import BACKEND, clean_env, free_port, manage

IDLE_SECONDS = 30  # six of channels_redis' 5 s blocking receives, longer than daphne's 20 s ping

LAYER_PROBE = (
    "import json; from django.conf import settings as s; from channels_redis.core import RedisChannelLayer as L;"
    "from channels_redis.utils import create_pool; c = s.CHANNEL_LAYERS['default']['CONFIG'];"
    "conn = create_pool(c['hosts'][0]).make_connection(); print(json.dumps({'brpop': L.brpop_timeout,"
    "'address': c['hosts'][0]['address'], 'prefix': c['prefix'], 'capacity': c['capacity'],"
    "'read': conn.socket_timeout, 'health': conn.health_check_interval, 'keepalive': conn.socket_keepalive}))"
)


def test_redis_layer_reads_longer_than_its_blocking_receive(tmp_path):
    env = clean_env(
        tmp_path, DJANGO_SETTINGS_MODULE="config.settings.test", REDIS_URL="redis://cache.internal:6379/2",
        CHANNEL_LAYER_PREFIX="lailiao-x", PYTEST_XDIST_WORKER="gw7",
    )
    result = manage("shell", "-c", LAYER_PROBE, env=env)
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout.strip().splitlines()[-1])
    assert layer["brpop"] == 5
    assert layer["read"] == 15 and layer["read"] > layer["brpop"]
    assert layer["health"] == 30 and layer["keepalive"] is True
    assert layer["address"] == "redis://cache.internal:6379/2"
    # test.py still gives each pytest worker its own prefix; capacity is unchanged
    assert layer["prefix"] == "lailiao-x-gw7"
    assert layer["capacity"] == 1500


@pytest.fixture
def daphne_server(tmp_path):
    """daphne on a free loopback port, on this test's PostgreSQL database and Redis."""
    from django.db import connection

    database_url = urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"])
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=database_url.geturl(),
               LAILIAO_VAR_DIR=str(tmp_path / "var"))
    port = free_port()
    log_path = tmp_path / "daphne.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                 "config.asgi:application"], cwd=BACKEND, env=env, stdout=log, stderr=log)
    read_log = log_path.read_text
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "daphne exited:\n" + read_log()
            assert time.monotonic() < deadline, "daphne did not listen:\n" + read_log()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, read_log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class TokenSocket:
    """A websocket client as a script would be: a token header and no Origin. Just enough RFC 6455:
    autobahn's asyncio client cannot load here, daphne (an installed app) chose twisted for txaio."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.writer = writer
        self.messages: asyncio.Queue[dict] = asyncio.Queue()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pump = asyncio.ensure_future(self._read_frames(reader))

    @classmethod
    async def open(cls, port: int, token: str) -> TokenSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /ws/events/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Token {token}\r\n\r\n".encode()
        )
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=15)
        assert response.startswith(b"HTTP/1.1 101"), response
        return cls(reader, writer)

    def send(self, opcode: int, payload: bytes = b"") -> None:
        mask = os.urandom(4)  # a client masks every frame; payloads here are short (< 126 bytes)
        self.writer.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
                          + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    async def _read_frames(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                first, second = await reader.readexactly(2)
                size = second & 0x7F
                if size >= 126:
                    size = int.from_bytes(await reader.readexactly(2 if size == 126 else 8), "big")
                payload = await reader.readexactly(size)
                opcode = first & 0x0F
                if opcode == 0x1:
                    self.messages.put_nowait(json.loads(payload))
                elif opcode == 0x9:  # daphne's ping
                    self.send(0xA, payload)
                elif opcode == 0x8:
                    self.closed.set_result(int.from_bytes(payload[:2], "big") if payload else 1005)
                    return
        except asyncio.IncompleteReadError:
            self.closed.set_result(1006)  # the connection dropped without a close frame

    async def close(self) -> int:
        self.send(0x8, (1000).to_bytes(2, "big"))
        code = await asyncio.wait_for(self.closed, timeout=10)
        self.writer.close()
        return code


@pytest.fixture
def worker_token(personas) -> str:
    # made here, on the test's own connection: one opened by sync_to_async's thread would stay
    # open and keep the test database from being dropped at the end
    from accounts.models import AuthToken

    return AuthToken.objects.create(user=personas.worker)[1]


@pytest.mark.redis
@pytest.mark.postgres  # daphne, another process, reads the test's database: PostgreSQL's is shared
@pytest.mark.django_db(transaction=True)
async def test_idle_websocket_on_redis_stays_open_and_hears_the_next_event(personas, worker_token, daphne_server):
    from django.conf import settings

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    port, server_log = daphne_server
    client = await TokenSocket.open(port, worker_token)
    hello = await asyncio.wait_for(client.messages.get(), timeout=15)
    assert hello["type"] == "hello" and groups.user(personas.worker.pk) in hello["payload"]["groups"]

    # idle: neither side sends anything (daphne's pings are answered by the client library)
    done, _ = await asyncio.wait({client.closed}, timeout=IDLE_SECONDS)
    assert not done, f"the idle socket was closed with {client.closed.result()}; server log:\n{server_log()}"

    event_id = uuid.uuid4().hex
    await sync_to_async(send_now)(groups.user(personas.worker.pk), "piece.logged", {"n": 1}, event_id=event_id)
    event = await asyncio.wait_for(client.messages.get(), timeout=10)
    assert (event["id"], event["type"], event["payload"]) == (event_id, "piece.logged", {"n": 1})
    assert not client.closed.done()
    assert await client.close() == 1000
    # a refusal, as a real server sends it: the handshake completes, then the close code
    refused = await TokenSocket.open(port, "not-a-token")
    assert await asyncio.wait_for(refused.closed, timeout=10) == 4401

    log = server_log()
    assert "WSCONNECT /ws/events/" in log  # the log is the server's access log and errors
    # daphne closes with 1011 after logging the application's exception; none was logged
    for sign in ("Exception inside application", "Traceback", "TimeoutError"):
        assert sign not in log, log
