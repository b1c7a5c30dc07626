"""The audit trail: one `AuditEvent` per action, written in the action's transaction, so an
action that rolls back leaves no event and an event never describes what did not happen."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from ..models import AuditEvent


def _plain(value: dict[str, Any] | None) -> dict[str, Any]:
    """JSON-safe: Decimals as text (exact), dates and datetimes ISO, model instances by pk."""
    if not value:
        return {}
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=lambda v: getattr(v, "pk", str(v))))


def record(*, actor, action: str, object_type: str, object_id: int, county_id: int | None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEvent:
    return AuditEvent.objects.create(actor=actor if getattr(actor, "pk", None) else None, action=action,
                                     object_type=object_type, object_id=object_id, county_id=county_id,
                                     before=_plain(before), after=_plain(after))


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
