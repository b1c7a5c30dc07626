"""Scheduled work of the marketplace."""
from celery import shared_task

from .services import orders_close_due


@shared_task(name="orders.close_due_bidding", acks_late=True, ignore_result=True)
def close_due_bidding() -> int:
    """Close bidding on orders past their deadline and notify. Idempotent: each order is locked
    and re-checked, so a duplicate or concurrent run closes nothing twice."""
    return orders_close_due()
