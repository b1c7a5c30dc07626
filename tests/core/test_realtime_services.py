"""The services run: an event published by a Celery task on a real worker process travels
through real Redis to the right broker's websocket, and not to another broker's."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from asgiref.sync import sync_to_async

from core.realtime import groups
from core.tasks import publish_event

from ..helpers import BACKEND
from .test_realtime import connect_as, receive_event

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_process():
    """A real `celery worker` on its own queue, so no other worker can take our tasks."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test", CELERY_TASK_DEFAULT_QUEUE=queue)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-Q", queue, "--pool", "solo",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h", "-l", "warning"],
        cwd=BACKEND, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        yield queue, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_worker_process_publishes_through_redis_to_the_right_broker(personas, celery_worker_process):
    from django.conf import settings

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    queue, proc = celery_worker_process

    mine = await connect_as(personas.broker)
    rival = await connect_as(personas.rival_broker)
    assert (await mine.connect())[0] and (await rival.connect())[0]
    await receive_event(mine), await receive_event(rival)  # hello

    event_id = uuid.uuid4().hex
    result = await sync_to_async(publish_event.apply_async)(
        args=[groups.broker(personas.broker_org.pk), "order.awarded", {"order": 42}, event_id], queue=queue
    )
    assert result.id

    # the worker process needs a few seconds to start before it takes the task from Redis
    try:
        event = await receive_event(mine, timeout=60)
    except TimeoutError:
        proc.terminate()
        pytest.fail("no event from the worker process; its output:\n" + proc.communicate(timeout=20)[0])
    assert event == {**event, "id": event_id, "type": "order.awarded", "payload": {"order": 42}}
    assert await rival.receive_nothing(timeout=1)
    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
    await mine.disconnect()
    await rival.disconnect()
