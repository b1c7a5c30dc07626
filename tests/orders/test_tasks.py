"""The scheduled close of bidding: the beat entry, the task closing exactly the due orders,
idempotence (again, and concurrently on PostgreSQL), and the deadline holding at request time
whether or not the task has run."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from celery.schedules import crontab, schedule
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from orders import services
from orders.errors import BiddingClosed
from orders.models import Bid, Order, OrderEvent
from orders.tasks import close_due_bidding

from . import builders

TASK = "orders.close_due_bidding"


def closed_events(order: Order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, action="bidding_closed"))


def test_beat_schedule_runs_the_close_task_often():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == TASK]
    assert len(entries) == 1, settings.CELERY_BEAT_SCHEDULE
    every = entries[0]["schedule"]
    assert not isinstance(every, crontab)
    seconds = every.total_seconds() if isinstance(every, dt.timedelta) else (
        every.run_every.total_seconds() if isinstance(every, schedule) else float(every))
    # a passed deadline is recorded and announced within minutes, not hours
    assert 0 < seconds <= 300
    # the beat process reads the schedule from the Celery app, and the task is registered there
    assert TASK in {e["task"] for e in app.conf.beat_schedule.values()}
    assert TASK in app.tasks
    assert close_due_bidding.name == TASK


@pytest.mark.django_db
def test_the_task_closes_exactly_the_due_published_orders(personas):
    firm = personas.firm
    due_with_bid = builders.published(firm)
    builders.bid(personas.broker, due_with_bid)
    due_empty = builders.published(firm)
    future = builders.published(firm)
    draft_past = builders.draft(firm)
    cancelled_past = builders.published(firm)
    services.order_cancel(actor=firm, order_id=cancelled_past.pk, reason="取消")
    already_closed = builders.published(firm)
    for order in (due_with_bid, due_empty, draft_past, cancelled_past, already_closed):
        builders.pass_deadline(order)
    services.order_close_bidding(order_id=already_closed.pk)

    assert close_due_bidding.apply().get() == 2

    status = dict(Order.objects.values_list("pk", "status"))
    assert status == {
        due_with_bid.pk: Order.Status.BIDDING_CLOSED,
        due_empty.pk: Order.Status.BIDDING_CLOSED,
        future.pk: Order.Status.PUBLISHED,
        draft_past.pk: Order.Status.DRAFT,
        cancelled_past.pk: Order.Status.CANCELLED,
        already_closed.pk: Order.Status.BIDDING_CLOSED,
    }
    # the trail: by nobody (the scheduler), from published, with the number of bids
    [event] = closed_events(due_with_bid)
    assert (event.actor, event.from_status, event.to_status) == (None, "published", "bidding_closed")
    assert event.data == {"bids": 1}
    assert closed_events(due_empty)[0].data == {"bids": 0}
    assert len(closed_events(already_closed)) == 1
    # the bid itself is untouched: the firm awards from it
    assert Bid.objects.get(order=due_with_bid).status == Bid.Status.ACTIVE

    # idempotent: a second run closes nothing and writes nothing
    events_before = OrderEvent.objects.count()
    assert close_due_bidding.apply().get() == 0
    assert OrderEvent.objects.count() == events_before
    assert dict(Order.objects.values_list("pk", "status")) == status


@pytest.mark.django_db
def test_the_task_leaves_an_order_open_until_its_deadline(personas):
    order = builders.published(personas.firm)
    Order.objects.filter(pk=order.pk).update(bid_deadline=timezone.now() + dt.timedelta(seconds=30))
    assert close_due_bidding.apply().get() == 0
    assert Order.objects.get(pk=order.pk).status == Order.Status.PUBLISHED
    builders.pass_deadline(order)
    assert close_due_bidding.apply().get() == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.BIDDING_CLOSED


@pytest.mark.django_db
def test_bids_after_the_deadline_are_refused_though_the_task_never_ran(personas, client_for):
    order = builders.published(personas.firm)
    mine = builders.bid(personas.broker, order)
    builders.pass_deadline(order)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PUBLISHED  # nobody closed it

    promised = timezone.localdate() + dt.timedelta(days=20)
    with pytest.raises(BiddingClosed) as refused:
        services.bid_place(actor=personas.rival_broker, order_id=order.pk, unit_price=Decimal("1.2000"),
                           quantity=100, promised_date=promised)
    assert refused.value.code == "bidding_closed"
    with pytest.raises(BiddingClosed):
        services.bid_revise(actor=personas.broker, bid_id=mine.pk, unit_price=Decimal("1.1000"))
    with pytest.raises(BiddingClosed):
        services.bid_withdraw(actor=personas.broker, bid_id=mine.pk)

    response = client_for(personas.rival_broker).post(
        f"/api/orders/{order.pk}/bids/",
        {"unit_price": "1.2000", "quantity": 100, "promised_date": promised.isoformat()}, format="json",
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "bidding_closed"

    assert list(Bid.objects.filter(order=order).values_list("pk", "status", "unit_price")) == [
        (mine.pk, Bid.Status.ACTIVE, Decimal("1.2000")),
    ]
    # refusing a bid does not close the order either: that is the task's (or an award's) record
    assert Order.objects.get(pk=order.pk).status == Order.Status.PUBLISHED
    assert close_due_bidding.apply().get() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_close_each_order_once(personas):
    orders = [builders.published(personas.firm) for _ in range(6)]
    for order in orders:
        builders.pass_deadline(order)

    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def beat() -> None:
        try:
            start.wait(timeout=10)
            results.append(close_due_bidding.apply().get())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(results) == len(orders)
    for order in orders:
        assert len(closed_events(order)) == 1
        assert Order.objects.get(pk=order.pk).status == Order.Status.BIDDING_CLOSED
