"""Live events. Services and Celery tasks call `publish(...)`; it sends after the surrounding
transaction commits, to a group named by who may see it. The consumer only authenticates,
joins the user's groups and relays."""
from .publish import groups, publish, send_now

__all__ = ["groups", "publish", "send_now"]
