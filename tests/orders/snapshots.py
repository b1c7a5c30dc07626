"""What a refused transition must leave alone: a snapshot of every row under one order."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from core.errors import DomainError
from orders.models import (
    Award, Bid, Delivery, Dispatch, DispatchLine, Inspection, MaterialReturn, Order, OrderEvent, ReconciliationLine,
    Subcontract,
)


def snapshot(order: Order) -> dict[str, Any]:
    """Everything a transition could touch under one order, as plain values."""
    return {
        "order": Order.objects.filter(pk=order.pk).values().get(),
        "events": OrderEvent.objects.filter(order=order).count(),
        "procedures": list(order.procedures.values_list("id", "name", "standard_minutes")),
        "materials": list(order.materials.values_list("id", "quantity_per_piece", "unit_value")),
        "bids": list(Bid.objects.filter(order=order).values_list(
            "id", "status", "terms_version", "revision", "unit_price", "quantity", "promised_date")),
        "awards": list(Award.objects.filter(order=order).values_list("id", "status", "quantity", "completed_at")),
        "dispatches": list(Dispatch.objects.filter(award__order=order).values_list("id", "status")),
        "dispatch_lines": list(DispatchLine.objects.filter(dispatch__award__order=order).values_list(
            "id", "quantity", "received_quantity")),
        "returns": list(MaterialReturn.objects.filter(award__order=order).values_list("id", "quantity")),
        "deliveries": list(Delivery.objects.filter(award__order=order).values_list("id", "status", "quantity")),
        "inspections": list(Inspection.objects.filter(award__order=order).values_list("id", "accepted")),
        "reconciliation": ReconciliationLine.objects.filter(award__order=order).count(),
        "subcontracts": list(Subcontract.objects.filter(award__order=order).values_list("id", "status", "quantity")),
    }


def refused(order: Order, call: Callable[[], Any], error: type[DomainError], code: str) -> DomainError:
    """`call` raises `error` with `code` and leaves every row under `order` as it was."""
    before = snapshot(order)
    with pytest.raises(error) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert snapshot(order) == before
    return caught.value
