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
    """A failure is recorded on the evaluation (status failed, the error, a live event) and logged
    by `run_evaluation`; it is not raised again here, so that with tasks run in-process (the
    embedded setup) the staff's request that queued it still gets its 202, and the beat schedule
    asks for a failed period again on its next run."""
    try:
        run_evaluation(evaluation_id)
    except Exception:  # noqa: BLE001 - recorded and logged above
        return


def _schedule(period: str, period_start: date) -> list[Evaluation]:
    """Request the period's evaluation of each policy by the version in force at the period's end
    (or, if the policy ended within the period, the last one in force during it): one version per
    policy, because the claims of a subject are one chain whatever the version. A policy whose
    version already has the period queued, running or done is left alone (a failed one is
    requested again)."""
    end = period_end(period, period_start)
    already = Evaluation.objects.filter(period=period, period_start=period_start, simulation=False,
                                        status__in=[Evaluation.Status.QUEUED, Evaluation.Status.RUNNING,
                                                    Evaluation.Status.DONE]).values("version_id")
    versions = (PolicyVersion.objects.exclude(status=PolicyVersion.Status.DRAFT)
                .filter(effective_from__lte=end)
                .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=period_start))
                .select_related("policy").order_by("policy_id", "-effective_from", "-id"))
    done = set(already.values_list("version_id", flat=True))
    requested, seen = [], set()
    for version in versions:
        if version.policy_id in seen or not in_force_during(version, period_start, end):
            continue
        seen.add(version.policy_id)
        if version.pk in done or not version.rules.filter(enabled=True, kind__in=period_kinds(period)).exists():
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
