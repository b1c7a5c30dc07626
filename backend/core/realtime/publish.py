"""`publish`: the one way an event leaves the backend for websockets."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


class groups:
    """Group names, each named by who may see it (see accounts.permissions.event_groups_for)."""

    @staticmethod
    def user(user_id: int) -> str:
        return f"user.{user_id}"

    @staticmethod
    def broker(organisation_id: int) -> str:
        return f"broker.{organisation_id}"

    @staticmethod
    def firm(organisation_id: int) -> str:
        return f"firm.{organisation_id}"

    @staticmethod
    def worker(worker_id: int) -> str:
        return f"worker.{worker_id}"

    @staticmethod
    def county_auditors(jurisdiction_id: int) -> str:
        return f"county.{jurisdiction_id}.auditors"

    # Open order board: every broker may see published orders.
    BOARD = "board.brokers"


def _message(event_type: str, payload: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    return {
        "type": "event.relay",  # the consumer's handler name
        "event": {
            "id": event_id or uuid.uuid4().hex,  # clients drop an id they have already seen
            "type": event_type,
            "at": timezone.now().isoformat(),
            "payload": payload,
        },
    }


def send_now(group: str, event_type: str, payload: dict[str, Any], *, event_id: str | None = None) -> None:
    """Send immediately. For Celery tasks, which already run after the commit that queued them."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, _message(event_type, payload, event_id))


def publish(group: str, event_type: str, payload: dict[str, Any], *, event_id: str | None = None) -> None:
    """Send to `group` once the current transaction commits (at once outside a transaction).
    A failure to deliver is logged, never raised into the request that caused the event."""

    def deliver() -> None:
        try:
            send_now(group, event_type, payload, event_id=event_id)
        except Exception:
            logger.exception("could not publish %s to %s", event_type, group)

    transaction.on_commit(deliver)
