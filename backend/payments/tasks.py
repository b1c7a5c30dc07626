"""Scheduled payroll work. Both tasks are idempotent, so they run with acks_late: a duplicate
delivery or a retry after a crash reminds nobody twice and closes nothing twice."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation
from brokers.models import Membership
from core.errors import DomainError
from core.realtime import groups, publish

from .models import PayrollReminder, PayrollRun
from .payroll import month_end, payroll_close, setting_auto_close_day

logger = logging.getLogger(__name__)


def _month_to_remind(today: date) -> date | None:
    """The month ending today, or, until the auto-close day, the month that just ended (so a
    reminder missed on the last day still goes out)."""
    if today == month_end(today):
        return today.replace(day=1)
    if today.day < setting_auto_close_day():
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return None


def payroll_remind(*, today: date | None = None) -> int:
    """Remind every broker with workers whose payroll for the month is not closed. Once per broker
    and month: the reminder row is the guard."""
    today = today or timezone.localdate()
    month = _month_to_remind(today)
    if month is None:
        return 0
    closed = PayrollRun.objects.filter(month=month).exclude(status=PayrollRun.Status.PREVIEW).values("broker_id")
    working = Membership.objects.filter(started_on__lte=month_end(month)).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=month)).values("broker_id")
    brokers = (Organisation.objects.filter(kind=Organisation.Kind.BROKER, pk__in=working)
               .exclude(pk__in=closed).order_by("pk").values_list("pk", flat=True))
    sent = 0
    for broker_id in brokers:
        try:
            with transaction.atomic():
                _reminder, created = PayrollReminder.objects.get_or_create(broker_id=broker_id, month=month)
                if created:
                    publish(groups.broker(broker_id), "payroll.reminder",
                            {"month": f"{month:%Y-%m}", "auto_close_day": setting_auto_close_day()})
                    sent += 1
        except IntegrityError:
            continue  # a concurrent delivery of this task sent it
    return sent


def payroll_auto_close(*, today: date | None = None) -> int:
    """From the configured day of the month on, close the runs of earlier months still in
    preview, oldest first. A run closed meanwhile (by its broker or by a duplicate of this task)
    is skipped: the close re-checks the status under the run's lock."""
    today = today or timezone.localdate()
    if today.day < setting_auto_close_day():
        return 0
    closed = 0
    for run_id in (PayrollRun.objects.filter(status=PayrollRun.Status.PREVIEW, month__lt=today.replace(day=1))
                   .order_by("broker_id", "month").values_list("pk", flat=True)):
        try:
            payroll_close(actor=None, run_id=run_id)
            closed += 1
        except DomainError as error:
            logger.info("payroll run %s not auto-closed: %s", run_id, error.code)
    return closed


@shared_task(name="payments.payroll_remind", acks_late=True, ignore_result=True)
def payroll_remind_task() -> int:
    return payroll_remind()


@shared_task(name="payments.payroll_auto_close", acks_late=True, ignore_result=True)
def payroll_auto_close_task() -> int:
    return payroll_auto_close()
