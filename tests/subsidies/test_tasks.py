"""The beat schedule's evaluations: last month's loan interest and, in January, last year's awards,
for every version in force then; never a second evaluation of a version and period that has one
queued, running or done; and the evaluate task, which runs one evaluation idempotently."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings

from subsidies import rules
from subsidies.models import Claim, Evaluation, PolicyVersion
from subsidies.services import evaluation as service
from subsidies.tasks import evaluate, schedule_monthly, schedule_monthly_task, schedule_yearly, schedule_yearly_task

from .world import CountyWorld, county_world

pytestmark = pytest.mark.django_db
D = Decimal
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def w() -> CountyWorld:
    """A test county with Suichang's policy in force; the policy the data migration ships for the
    real Suichang ended in 2009 here, so the schedules see only the test's versions."""
    PolicyVersion.objects.exclude(status=PolicyVersion.Status.DRAFT).update(
        status=PolicyVersion.Status.RETIRED, effective_to=dt.date(2009, 12, 31))
    return county_world()


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """The evaluations sent to Celery (on commit), instead of running them."""
    ids: list[int] = []
    monkeypatch.setattr(service, "_send", ids.append)
    return ids


def clock(day: dt.date, hour: int = 3):
    return time_machine.travel(dt.datetime.combine(day, dt.time(hour, 0), tzinfo=SHANGHAI), tick=False)


def evaluations() -> list[tuple[int, str, dt.date]]:
    return list(Evaluation.objects.order_by("version_id", "period_start")
                .values_list("version_id", "period", "period_start"))


def test_the_monthly_schedule_requests_last_months_interest_once(w, sent, django_capture_on_commit_callbacks):
    with clock(dt.date(2026, 4, 2)), django_capture_on_commit_callbacks(execute=True):
        made = schedule_monthly()
        assert schedule_monthly() == []  # the beat runs again: the queued one is there
    assert evaluations() == [(w.version.pk, "month", dt.date(2026, 3, 1))]
    assert sent == [made[0].pk] and made[0].requested_by is None
    # done, it is not requested again either; a failed one is
    Evaluation.objects.update(status=Evaluation.Status.DONE)
    with clock(dt.date(2026, 4, 20)):
        assert schedule_monthly() == []
    Evaluation.objects.update(status=Evaluation.Status.FAILED)
    with clock(dt.date(2026, 4, 21)):
        assert len(schedule_monthly()) == 1
    assert Evaluation.objects.count() == 2


def test_the_yearly_schedule_in_january_requests_last_year(w, sent):
    with clock(dt.date(2026, 1, 10)):
        [made] = schedule_yearly()
        assert schedule_yearly() == []
    assert (made.period, made.period_start, made.simulation) == ("year", dt.date(2025, 1, 1), False)
    with clock(dt.date(2026, 1, 11)):
        assert schedule_yearly_task.apply().get() == 0


def test_schedules_take_each_version_in_force_and_leave_drafts_alone(w, sent):
    other = county_world("龙泉市")
    PolicyVersion.objects.create(policy=w.policy, number=2, annual_budget=D("1"))  # a draft
    # the other county's version ended in February: it was in force for part of the year, not in March
    PolicyVersion.objects.filter(pk=other.version.pk).update(status=PolicyVersion.Status.RETIRED,
                                                             effective_to=dt.date(2026, 2, 14))
    with clock(dt.date(2026, 4, 2)):
        schedule_monthly()
    with clock(dt.date(2027, 1, 10)):
        schedule_yearly()
    assert sorted(evaluations()) == sorted([(w.version.pk, "month", dt.date(2026, 3, 1)),
                                            (w.version.pk, "year", dt.date(2026, 1, 1)),
                                            (other.version.pk, "year", dt.date(2026, 1, 1))])


def test_the_first_of_the_month_just_after_midnight_asks_for_the_month_before(w, sent):
    with clock(dt.date(2026, 1, 1), hour=0):  # 31 December 16:00 UTC
        [made] = schedule_monthly()
    assert (made.period, made.period_start) == ("month", dt.date(2025, 12, 1))


def test_the_evaluate_task_runs_the_evaluation_once(w, sent):
    broker = w.broker()
    w.pay(broker, {x: "2500" for x in w.workers(101)}, on=dt.date(2025, 3, 31))
    with clock(dt.date(2026, 1, 10)):
        [made] = schedule_yearly()
        evaluate.apply(args=[made.pk]).get()
        evaluate.apply(args=[made.pk]).get()  # a second delivery (acks_late)
    made.refresh_from_db()
    assert made.status == Evaluation.Status.DONE and made.counts["created"] == 1
    assert list(Claim.objects.values_list("kind", "amount")) == [(rules.BROKER_REWARD_GENERAL, D("2000.00"))]
    assert evaluate.acks_late is True


def test_the_monthly_task_counts_what_it_requested(w, sent):
    with clock(dt.date(2026, 5, 2)):
        assert schedule_monthly_task.apply().get() == 1
        assert schedule_monthly_task.apply().get() == 0


def test_the_beat_runs_both_schedules():
    beat = settings.CELERY_BEAT_SCHEDULE
    monthly, yearly = beat["subsidies-schedule-monthly"], beat["subsidies-schedule-yearly"]
    assert monthly["task"] == "subsidies.schedule_monthly" and yearly["task"] == "subsidies.schedule_yearly"
    assert isinstance(monthly["schedule"], crontab) and isinstance(yearly["schedule"], crontab)
    assert monthly["schedule"].day_of_month == {2}
    assert yearly["schedule"].month_of_year == {1} and yearly["schedule"].day_of_month == {10}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
