"""Live events: /ws/events/ refuses anonymous users and relays only the user's own groups.

With the embedded default the channel layer is in memory and Celery runs tasks in-process; the
services run repeats the Celery path with real Redis and a real worker process
(test_realtime_services.py)."""
from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from accounts.permissions import event_groups_for
from config.asgi import application
from core.realtime import groups, publish
from core.tasks import publish_event

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def connect_as(user, origin: tuple[bytes, bytes] = ORIGIN) -> WebsocketCommunicator:
    """Open /ws/events/ with the session cookie of a real login, as a browser would."""
    headers = [origin]
    if user is not None:
        from django.test import Client

        client = Client()
        await sync_to_async(client.force_login)(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/events/", headers=headers)


async def receive_event(comm: WebsocketCommunicator, timeout: float = 2.0) -> dict:
    return await comm.receive_json_from(timeout=timeout)


async def refused_with(comm: WebsocketCommunicator) -> int:
    """A refusal completes the handshake and then closes, so the client reads the code (a refused
    handshake is an HTTP 403, which browser code sees only as 1006)."""
    connected, _ = await comm.connect()
    assert connected
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    return message["code"]


async def test_anonymous_connection_is_refused(personas):
    assert await refused_with(await connect_as(None)) == 4401


async def test_foreign_origin_is_refused(personas):
    comm = await connect_as(personas.firm, origin=(b"origin", b"http://evil.example"))
    assert await refused_with(comm) == 4403


async def test_broker_joins_only_its_own_groups(personas):
    comm = await connect_as(personas.broker)
    connected, _ = await comm.connect()
    assert connected
    hello = await receive_event(comm)
    assert hello["type"] == "hello"
    assert set(hello["payload"]["groups"]) == {
        groups.user(personas.broker.pk), groups.broker(personas.broker_org.pk), groups.BOARD,
    }
    await comm.disconnect()


async def test_celery_task_event_reaches_the_broker_and_not_the_rival(personas):
    mine = await connect_as(personas.broker)
    rival = await connect_as(personas.rival_broker)
    assert (await mine.connect())[0] and (await rival.connect())[0]
    await receive_event(mine), await receive_event(rival)  # hello

    event_id = uuid.uuid4().hex
    # run here, as a worker would (test_realtime_services.py uses a real worker process)
    await sync_to_async(publish_event.apply)(
        args=[groups.broker(personas.broker_org.pk), "order.published", {"order": 7}, event_id]
    )
    await sync_to_async(publish_event.apply)(
        args=[groups.broker(personas.rival_org.pk), "order.published", {"order": 8}, uuid.uuid4().hex]
    )

    event = await receive_event(mine)
    assert event["id"] == event_id
    assert event["type"] == "order.published"
    assert event["payload"] == {"order": 7}
    assert await mine.receive_nothing(timeout=0.3)

    other = await receive_event(rival)
    assert other["payload"] == {"order": 8}
    assert await rival.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await rival.disconnect()


async def test_publish_waits_for_commit_and_drops_on_rollback(personas):
    comm = await connect_as(personas.worker)
    assert (await comm.connect())[0]
    await receive_event(comm)
    group = groups.worker(personas.worker_record.pk)

    def rolled_back():
        try:
            with transaction.atomic():
                publish(group, "piece.logged", {"n": 1})
                raise RuntimeError("the write failed")
        except RuntimeError:
            pass

    def committed():
        with transaction.atomic():
            publish(group, "piece.logged", {"n": 2})

    await sync_to_async(rolled_back)()
    await sync_to_async(committed)()
    event = await receive_event(comm)
    assert event["payload"] == {"n": 2}
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_auditor_hears_only_their_county(personas):
    home = await connect_as(personas.auditor)
    away = await connect_as(personas.other_auditor)
    assert (await home.connect())[0] and (await away.connect())[0]
    await receive_event(home), await receive_event(away)
    await sync_to_async(publish)(groups.county_auditors(personas.home["county"].pk), "claim.created", {"c": 1})
    assert (await receive_event(home))["payload"] == {"c": 1}
    assert await away.receive_nothing(timeout=0.3)
    await home.disconnect()
    await away.disconnect()


async def test_token_header_authenticates_api_clients(personas):
    from accounts.models import AuthToken

    _token, key = await sync_to_async(AuthToken.objects.create)(user=personas.firm)
    comm = WebsocketCommunicator(
        application, "/ws/events/", headers=[ORIGIN, (b"authorization", f"Token {key}".encode())]
    )
    assert (await comm.connect())[0]
    hello = await receive_event(comm)
    assert groups.firm(personas.firm_org.pk) in hello["payload"]["groups"]
    await comm.disconnect()


async def test_ping_pong(personas):
    comm = await connect_as(personas.firm)
    assert (await comm.connect())[0]
    await receive_event(comm)
    await comm.send_json_to({"type": "ping"})
    assert (await receive_event(comm))["type"] == "pong"
    await comm.disconnect()


def test_event_groups_by_persona(personas):
    p = personas
    assert event_groups_for(p.firm) == [groups.user(p.firm.pk), groups.firm(p.firm_org.pk)]
    assert event_groups_for(p.team_head) == [groups.user(p.team_head.pk), groups.broker(p.broker_org.pk), groups.BOARD]
    assert event_groups_for(p.worker) == [groups.user(p.worker.pk), groups.worker(p.worker_record.pk)]
    assert event_groups_for(p.auditor) == [groups.user(p.auditor.pk), groups.county_auditors(p.home["county"].pk)]
    assert event_groups_for(p.other_auditor) == [
        groups.user(p.other_auditor.pk), groups.county_auditors(p.away["county"].pk)
    ]
    assert event_groups_for(p.admin) == [groups.user(p.admin.pk)]

