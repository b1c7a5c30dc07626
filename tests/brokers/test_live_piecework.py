"""Live piecework: the worker's earnings view hears about her new pieces, the broker's bundle
progress about its bundles' logs; nobody else hears either."""
from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from brokers import services

from ..core.test_realtime import connect_as, receive_event
from .shop import open_shop

pytestmark = pytest.mark.django_db(transaction=True)


async def events_of(comm, quiet: float = 0.5) -> list[dict]:
    seen = []
    while not await comm.receive_nothing(timeout=quiet):
        seen.append(await receive_event(comm))
    return seen


async def test_a_log_reaches_her_phone_and_the_brokers_progress_only(personas):
    shop = await sync_to_async(open_shop)(personas)
    sockets = {name: await connect_as(getattr(personas, name))
               for name in ["worker", "other_worker", "broker", "rival_broker", "auditor"]}
    for comm in sockets.values():
        assert (await comm.connect())[0]
        await receive_event(comm)  # hello

    row = {"worker": personas.worker_record.pk, "bundle": shop.bundles[0].pk, "procedure": shop.procedures[0].pk,
           "quantity": 4, "work_date": timezone.localdate(), "client_id": uuid.uuid4().hex}
    [result] = await sync_to_async(services.piece_logs_record)(actor=personas.broker, rows=[row])
    heard = {name: await events_of(comm) for name, comm in sockets.items()}

    assert [(e["type"], e["payload"]) for e in heard["worker"]] == [("piece.logged", {"logs": [result.log.pk]})]
    assert [(e["type"], e["payload"]) for e in heard["broker"]] == [
        ("bundle.progress", {"bundles": [shop.bundles[0].pk], "pieces": 4})]
    assert heard["other_worker"] == heard["rival_broker"] == heard["auditor"] == []

    # a resend is not news
    await sync_to_async(services.piece_logs_record)(actor=personas.broker, rows=[row])
    assert await events_of(sockets["worker"]) == []
    for comm in sockets.values():
        await comm.disconnect()
