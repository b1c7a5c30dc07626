"""Health of the services Lailiao depends on: the database, the channel layer and the task queue.
Each check returns a small dict; none raises."""
from __future__ import annotations

import time
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection


def _timed(check) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check() or {}
        result = {"status": "ok", **detail}
    except Exception as exc:  # a health check reports failures, it does not raise them
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def check_database() -> dict[str, Any]:
    def run():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"vendor": connection.vendor}

    return _timed(run)


def check_channel_layer() -> dict[str, Any]:
    """A real round trip: send to a fresh channel and receive it back."""

    def run():
        layer = get_channel_layer()
        timeout = settings.HEALTHZ_TIMEOUT_SECONDS

        async def roundtrip():
            import asyncio

            channel = await layer.new_channel("healthz.")
            token = uuid.uuid4().hex
            await asyncio.wait_for(layer.send(channel, {"type": "healthz", "token": token}), timeout)
            message = await asyncio.wait_for(layer.receive(channel), timeout)
            if message.get("token") != token:
                raise RuntimeError("channel layer returned a different message")

        async_to_sync(roundtrip)()
        return {"backend": type(layer).__name__}

    return _timed(run)


def check_task_queue() -> dict[str, Any]:
    def run():
        from config.celery_app import app

        if app.conf.task_always_eager:
            return {"mode": "in-process"}
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.HEALTHZ_TIMEOUT_SECONDS)
        return {"mode": "broker"}

    return _timed(run)


def overall() -> dict[str, Any]:
    checks = {
        "database": check_database(),
        "channel_layer": check_channel_layer(),
        "task_queue": check_task_queue(),
    }
    status = "ok" if all(c["status"] == "ok" for c in checks.values()) else "down"
    return {"status": status, "checks": checks}
