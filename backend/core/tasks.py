"""Celery tasks of the core: delivering live events from background work."""
from celery import shared_task

from .realtime import send_now


@shared_task(name="core.publish_event", acks_late=True, ignore_result=True)
def publish_event(group: str, event_type: str, payload: dict, event_id: str) -> None:
    """Relay an event to a websocket group. Safe to run twice: the event id is fixed by the
    caller, so a redelivered task sends the same id and clients drop the repeat."""
    send_now(group, event_type, payload, event_id=event_id)
