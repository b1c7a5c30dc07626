"""Build orders in any state through the real services, for tests.

`pass_deadline` moves an order's deadline into the past with a plain UPDATE: time moving on is
the one thing no service does."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orders import services
from orders.models import Award, Bid, Order


def order_data(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    data: dict[str, Any] = {
        "product": "串珠手链 beaded bracelet",
        "category": "bead_work",
        "description": "Glass beads on elastic thread.",
        "quantity": 1000,
        "unit": "件",
        "modes": ["home", "centre"],
        "ceiling_unit_price": Decimal("2.5000"),
        "bid_deadline": now + dt.timedelta(days=3),
        "due_date": (now + dt.timedelta(days=30)).date(),
        "delivery_place": "义乌国际商贸城",
        "procedures": [
            {"name": "穿珠", "standard_minutes": Decimal("4.00")},
            {"name": "打结", "standard_minutes": Decimal("1.00")},
        ],
        "materials": [
            {"name": "玻璃珠", "unit": "颗", "quantity_per_piece": Decimal("20"), "loss_allowance_pct": Decimal("2"),
             "unit_value": Decimal("0.0100")},
            {"name": "弹力线", "unit": "米", "quantity_per_piece": Decimal("0.25"), "loss_allowance_pct": Decimal("5"),
             "unit_value": Decimal("0.2000")},
        ],
    }
    data.update(overrides)
    return data


def api_order_data(**overrides: Any) -> dict[str, Any]:
    """The same as JSON a client would send."""
    data = order_data(**overrides)
    data["bid_deadline"] = data["bid_deadline"].isoformat()
    data["due_date"] = data["due_date"].isoformat()
    data["ceiling_unit_price"] = str(data["ceiling_unit_price"])
    data["procedures"] = [{**p, "standard_minutes": str(p["standard_minutes"])} for p in data["procedures"]]
    data["materials"] = [{k: str(v) if isinstance(v, Decimal) else v for k, v in m.items()}
                         for m in data["materials"]]
    return data


def draft(firm_user, **overrides) -> Order:
    return services.order_create(actor=firm_user, data=order_data(**overrides))


def published(firm_user, **overrides) -> Order:
    order = draft(firm_user, **overrides)
    return services.order_publish(actor=firm_user, order_id=order.pk)


def pass_deadline(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(bid_deadline=timezone.now() - dt.timedelta(seconds=1))
    order.refresh_from_db()
    return order


def bid(broker_user, order: Order, *, unit_price: str = "1.2000", quantity: int | None = None,
        days: int = 20) -> Bid:
    return services.bid_place(actor=broker_user, order_id=order.pk, unit_price=Decimal(unit_price),
                              quantity=quantity or order.quantity,
                              promised_date=timezone.localdate() + dt.timedelta(days=days))


def awarded(firm_user, broker_user, *, quantity: int = 1000, **overrides) -> Award:
    order = published(firm_user, **overrides)
    placed = bid(broker_user, order)
    pass_deadline(order)
    return services.award_create(actor=firm_user, order_id=order.pk, bid_id=placed.pk, quantity=quantity)
