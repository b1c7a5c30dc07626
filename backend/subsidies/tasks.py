"""Scheduled and on-demand subsidy evaluations. Every task is idempotent (an evaluation done is not
redone; a schedule finds the evaluation it would request already there), so they run with
acks_late: a duplicate delivery or a retry after a crash creates no second claim."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from .models import Evaluation, PolicyVersion
from .services.evaluation import in_force_during, period_end, period_kinds, request_evaluation, run_evaluation

logger = logging.getLogger(__name__)


@shared_task(name="subsidies.evaluate", acks_late=True, ignore_result=True)
def evaluate(evaluation_id: int) -> None:
    run_evaluation(evaluation_id)


def _schedule(period: str, period_start: date) -> list[Evaluation]:
    """Request the period's evaluation of every version in force during it that has none queued,
    running or done (a failed one is requested again)."""
    end = period_end(period, period_start)
    already = Evaluation.objects.filter(period=period, period_start=period_start, simulation=False,
                                        status__in=[Evaluation.Status.QUEUED, Evaluation.Status.RUNNING,
                                                    Evaluation.Status.DONE]).values("version_id")
    versions = (PolicyVersion.objects.exclude(status=PolicyVersion.Status.DRAFT).exclude(pk__in=already)
                .filter(effective_from__lte=end)
                .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=period_start))
                .select_related("policy").order_by("id"))
    requested = []
    for version in versions:
        if not in_force_during(version, period_start, end) or \
                not version.rules.filter(enabled=True, kind__in=period_kinds(period)).exists():
            continue
        requested.append(request_evaluation(actor=None, version=version, period=period, period_start=period_start))
    return requested


def schedule_monthly(*, today: date | None = None) -> list[Evaluation]:
    """Last month's loan interest, for every version in force during it."""
    today = today or timezone.localdate()
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return _schedule(Evaluation.Period.MONTH, month)


def schedule_yearly(*, today: date | None = None) -> list[Evaluation]:
    """Last year's rewards, freight, relocations and village awards (the beat runs it in January)."""
    today = today or timezone.localdate()
    return _schedule(Evaluation.Period.YEAR, date(today.year - 1, 1, 1))


@shared_task(name="subsidies.schedule_monthly", acks_late=True, ignore_result=True)
def schedule_monthly_task() -> int:
    return len(schedule_monthly())


@shared_task(name="subsidies.schedule_yearly", acks_late=True, ignore_result=True)
def schedule_yearly_task() -> int:
    return len(schedule_yearly())
