"""The money figures the subsidy engine reads (wages issued and workers paid by payout date, fee
income by inspection date, per broker and per village) and the scheduled payroll jobs (the
month-end reminder, sent once, and the auto-close, oldest month first, never twice)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Organisation
from brokers.models import Membership, WorkMode, Worker
from orders import services as orders
from orders.models import Inspection
from payments.figures import (
    paid_workers, processing_fee_income, processing_fee_income_by_village, wages_issued, wages_issued_by_village,
)
from payments.models import PayoutItem, PayrollReminder, PayrollRun
from payments.payouts import batch_mark_paid, batch_retry
from payments.payroll import month_end, payroll_close, payroll_preview
from payments.tasks import payroll_auto_close, payroll_remind

from ..db_attacks import rewriting_history
from ..factories import MembershipFactory, OrganisationFactory, WorkerFactory
from .payroll_world import World, last_month, log, month_before_last, payroll_world, this_month, ym

pytestmark = pytest.mark.django_db
D = Decimal
LONG_AGO = dt.date(2020, 1, 1)
KNOTS = 1  # 0.3500 a piece


@pytest.fixture
def worlds(personas) -> tuple[World, World]:
    """The broker's world and the rival's (its worker lives in the other county)."""
    mine = payroll_world(personas, quantity=1000, size=250)
    rival_view = dataclasses.replace(personas, broker=personas.rival_broker, worker_record=personas.other_worker_record)
    theirs = payroll_world(rival_view, quantity=1000, size=250)
    Membership.objects.update(started_on=LONG_AGO)
    return mine, theirs


def hire(w: World, name: str) -> Worker:
    """A home worker of the world's broker, living in the home village, with bank details."""
    worker = WorkerFactory(name=name, village=w.p.home["village"], work_mode=WorkMode.HOME, bank_name="农商银行",
                           bank_account="6230000011112222")
    MembershipFactory(broker=w.p.broker.organisation, worker=worker, started_on=LONG_AGO)
    return worker


def close_and_pay(w: World, month: dt.date, reference: str) -> PayrollRun:
    run, _created = payroll_preview(actor=w.p.broker, month=ym(month))
    run = payroll_close(actor=w.p.broker, run_id=run.pk)
    batch_mark_paid(actor=w.p.broker, batch_id=run.batches.get().pk, bank_reference=reference,
                    paid_on=timezone.localdate())
    return run


# --- wages and workers paid ---------------------------------------------------------------------

@pytest.fixture
def paid(worlds):
    """Two months paid at the broker (the older payout moved to last year), one at the rival."""
    mine, theirs = worlds
    older, month = month_before_last(), last_month()
    zhao = hire(mine, "赵小红")
    log(mine, 20, day=older.replace(day=3), procedure=KNOTS)  # 7.00
    close_and_pay(mine, older, "BK-OLD")
    log(mine, 20, day=month.replace(day=3), procedure=KNOTS)  # 7.00
    log(mine, 100, day=month.replace(day=4), procedure=KNOTS, worker=zhao, bundle=1)  # 35.00
    log(theirs, 3, day=month.replace(day=5), procedure=KNOTS)  # 1.05
    close_and_pay(mine, month, "BK-NEW")
    close_and_pay(theirs, month, "BK-RIVAL")
    # the older batch was paid on the last day of last year (a payout's date decides its year)
    year = timezone.localdate().year
    with rewriting_history():  # a paid date is set once: move it for the test only
        PayoutItem.objects.filter(batch__bank_reference="BK-OLD").update(paid_on=dt.date(year - 1, 12, 31))
    return mine, theirs, zhao, year


def test_wages_issued_per_broker_by_payout_date(paid):
    mine, theirs, _zhao, year = paid
    broker, rival = mine.p.broker_org.pk, theirs.p.rival_org.pk
    assert wages_issued(year=year) == {broker: D("42.00"), rival: D("1.05")}
    assert wages_issued(year=year - 1) == {broker: D("7.00")}
    assert wages_issued(year=year + 1) == {}
    assert wages_issued(year=year, broker_ids=[rival]) == {rival: D("1.05")}
    assert wages_issued(year=year, county_id=mine.p.home["county"].pk) == {broker: D("42.00"), rival: D("1.05")}
    assert wages_issued(year=year, county_id=mine.p.away["county"].pk) == {}


def test_a_failed_payment_is_not_a_wage_issued_until_its_retry_is_paid(worlds):
    mine, _theirs = worlds
    zhao = hire(mine, "赵小红")
    log(mine, 10, day=last_month().replace(day=2), procedure=KNOTS)
    log(mine, 20, day=last_month().replace(day=2), procedure=KNOTS, worker=zhao, bundle=1)
    run, _created = payroll_preview(actor=mine.p.broker, month=ym(last_month()))
    run = payroll_close(actor=mine.p.broker, run_id=run.pk)
    batch_mark_paid(actor=mine.p.broker, batch_id=run.batches.get().pk, bank_reference="BK-1",
                    paid_on=timezone.localdate(), failures=[{"worker": zhao.pk, "reason": "账号已销户"}])
    year = timezone.localdate().year
    assert wages_issued(year=year) == {mine.p.broker_org.pk: D("3.50")}
    assert paid_workers(year=year) == {mine.p.broker_org.pk: 1}
    # paid by the retry batch: counted once, with the retry
    retry, _created = batch_retry(actor=mine.p.broker, batch_id=run.batches.get(number=1).pk)
    batch_mark_paid(actor=mine.p.broker, batch_id=retry.pk, bank_reference="BK-2", paid_on=timezone.localdate())
    assert wages_issued(year=year) == {mine.p.broker_org.pk: D("10.50")}
    assert paid_workers(year=year) == {mine.p.broker_org.pk: 2}
    assert paid_workers(year=year, minimum=D("7.00")) == {mine.p.broker_org.pk: 1}


def test_paid_workers_counts_distinct_workers_paid_at_least_the_threshold_in_the_year(paid):
    mine, theirs, _zhao, year = paid
    broker, rival = mine.p.broker_org.pk, theirs.p.rival_org.pk
    assert paid_workers(year=year) == {broker: 2, rival: 1}
    # 王秀英 7.00 this year, 赵小红 35.00: a threshold of 10 leaves one at the broker, none at the rival
    assert paid_workers(year=year, minimum=D("10.00")) == {broker: 1}
    assert paid_workers(year=year, minimum=D("35.00")) == {broker: 1}
    assert paid_workers(year=year, minimum=D("35.01")) == {}
    assert paid_workers(year=year - 1) == {broker: 1}
    assert paid_workers(year=year, broker_ids=[rival]) == {rival: 1}


def test_paid_workers_sums_a_workers_payouts_over_the_year(worlds):
    mine, _theirs = worlds
    older, month = month_before_last(), last_month()
    log(mine, 20, day=older.replace(day=3), procedure=KNOTS)  # 7.00
    close_and_pay(mine, older, "BK-1")
    log(mine, 20, day=month.replace(day=3), procedure=KNOTS)  # 7.00
    close_and_pay(mine, month, "BK-2")
    year = timezone.localdate().year
    assert paid_workers(year=year, minimum=D("14.00")) == {mine.p.broker_org.pk: 1}
    assert paid_workers(year=year, minimum=D("14.01")) == {}


def test_wages_issued_by_the_village_the_workers_live_in(paid):
    mine, theirs, _zhao, year = paid
    home, away = mine.p.home, mine.p.away
    assert wages_issued_by_village(year=year) == {home["village"].pk: D("42.00"), away["village"].pk: D("1.05")}
    assert wages_issued_by_village(year=year, county_id=home["county"].pk) == {home["village"].pk: D("42.00")}
    assert wages_issued_by_village(year=year, county_id=away["county"].pk) == {away["village"].pk: D("1.05")}


# --- processing-fee income ----------------------------------------------------------------------

def inspect(w: World, quantity: int, accepted: int) -> Inspection:
    delivery = orders.delivery_record(actor=w.p.broker, award_id=w.shop.award.pk, quantity=quantity)
    return orders.inspection_record(actor=w.p.firm, delivery_id=delivery.pk, accepted=accepted,
                                    rejected=quantity - accepted, reason="线头" if accepted < quantity else "")


def test_processing_fee_income_by_inspection_date_per_broker_and_village(worlds):
    mine, theirs = worlds
    year = timezone.localdate().year
    inspect(mine, 50, 45)  # 45 × 1.20 = 54.00
    inspect(mine, 10, 10)  # 12.00
    inspect(mine, 5, 0)  # nothing accepted: no fee
    last_year = inspect(mine, 20, 20)  # 24.00, inspected on New Year's Eve
    inspect(theirs, 10, 8)  # 9.60
    new_years_eve = timezone.make_aware(dt.datetime(year - 1, 12, 31, 23, 59, 30))
    Inspection.objects.filter(pk=last_year.pk).update(inspected_at=new_years_eve)
    broker, rival = mine.p.broker_org.pk, theirs.p.rival_org.pk
    assert processing_fee_income(year=year) == {broker: D("66.00"), rival: D("9.60")}
    assert processing_fee_income(year=year - 1) == {broker: D("24.00")}
    assert processing_fee_income(year=year, broker_ids=[broker]) == {broker: D("66.00")}
    assert processing_fee_income(year=year, county_id=mine.p.away["county"].pk) == {}
    # both brokers are registered at the township: no village has fee income yet
    assert processing_fee_income_by_village(year=year) == {}
    Organisation.objects.filter(pk=broker).update(jurisdiction=mine.p.home["village"])
    assert processing_fee_income_by_village(year=year) == {mine.p.home["village"].pk: D("66.00")}
    assert processing_fee_income_by_village(year=year, county_id=mine.p.away["county"].pk) == {}


# --- the reminder -------------------------------------------------------------------------------

@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, dict]]:
    events: list[tuple[str, str, dict]] = []
    monkeypatch.setattr("payments.tasks.publish", lambda group, kind, payload: events.append((group, kind, payload)))
    return events


def test_the_month_end_reminder_goes_once_to_each_broker_with_workers(worlds, sent, settings):
    mine, theirs = worlds
    settings.PAYROLL_AUTO_CLOSE_DAY = 5
    OrganisationFactory(kind=Organisation.Kind.BROKER, name="没有工人的经纪人")
    left = OrganisationFactory(kind=Organisation.Kind.BROKER, name="工人已离开的经纪人")
    MembershipFactory(broker=left, worker=WorkerFactory(village=mine.p.home["village"]), started_on=LONG_AGO,
                      ended_on=month_before_last())
    month = last_month()
    assert payroll_remind(today=month_end(month)) == 2
    assert sorted(sent) == sorted([
        (f"broker.{mine.p.broker_org.pk}", "payroll.reminder", {"month": ym(month), "auto_close_day": 5}),
        (f"broker.{theirs.p.rival_org.pk}", "payroll.reminder", {"month": ym(month), "auto_close_day": 5})])
    # the beat runs again that day, and on the next days until the auto-close day: nobody twice
    assert payroll_remind(today=month_end(month)) == 0
    assert payroll_remind(today=this_month().replace(day=4)) == 0
    assert PayrollReminder.objects.count() == 2 and len(sent) == 2


def test_a_missed_reminder_goes_out_until_the_auto_close_day_but_not_to_a_closed_month(worlds, sent, settings):
    mine, theirs = worlds
    settings.PAYROLL_AUTO_CLOSE_DAY = 3
    run, _created = payroll_preview(actor=mine.p.broker, month=ym(last_month()))
    payroll_close(actor=mine.p.broker, run_id=run.pk)
    assert payroll_remind(today=this_month().replace(day=3)) == 0  # the auto-close day: too late
    assert payroll_remind(today=this_month().replace(day=15)) == 0
    assert not sent
    assert payroll_remind(today=this_month().replace(day=2)) == 1
    assert sent == [(f"broker.{theirs.p.rival_org.pk}", "payroll.reminder",
                     {"month": ym(last_month()), "auto_close_day": 3})]
    assert list(PayrollReminder.objects.values_list("broker_id", "month")) == [(theirs.p.rival_org.pk, last_month())]


# --- the auto-close -----------------------------------------------------------------------------

def test_auto_close_closes_past_previews_from_the_configured_day_oldest_first_never_twice(worlds, settings):
    mine, theirs = worlds
    settings.PAYROLL_AUTO_CLOSE_DAY = 3
    older, month = month_before_last(), last_month()
    log(mine, 2, day=older.replace(day=1), procedure=KNOTS)
    log(mine, 3, day=month.replace(day=1), procedure=KNOTS)
    log(theirs, 4, day=month.replace(day=1), procedure=KNOTS)
    # previewed newest first: the task must still close the older month first
    newer_run, _ = payroll_preview(actor=mine.p.broker, month=ym(month))
    older_run, _ = payroll_preview(actor=mine.p.broker, month=ym(older))
    rival_run, _ = payroll_preview(actor=theirs.p.broker, month=ym(month))
    current_run, _ = payroll_preview(actor=mine.p.broker, month=ym(this_month()))

    assert payroll_auto_close(today=this_month().replace(day=2)) == 0
    assert set(PayrollRun.objects.values_list("status", flat=True)) == {PayrollRun.Status.PREVIEW}

    assert payroll_auto_close(today=this_month().replace(day=3)) == 3
    statuses = dict(PayrollRun.objects.values_list("pk", "status"))
    assert {statuses[r.pk] for r in (newer_run, older_run, rival_run)} == {PayrollRun.Status.CLOSED}
    assert statuses[current_run.pk] == PayrollRun.Status.PREVIEW  # this month is not over
    older_run.refresh_from_db()
    assert older_run.closed_by is None and older_run.total == D("0.70")
    assert PayrollRun.objects.get(pk=newer_run.pk).total == D("1.05")

    assert payroll_auto_close(today=this_month().replace(day=4)) == 0
    assert PayrollRun.objects.filter(status=PayrollRun.Status.CLOSED).count() == 3
