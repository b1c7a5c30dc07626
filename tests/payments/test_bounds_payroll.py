"""A payroll month is one the broker can have had work in: from the month its first member joined
(or it was created, if earlier) to this month in Asia/Shanghai. Every path checks it — the API,
the services, the scheduled auto-close — so a month like 0780-04 can neither be closed nor hold
up the real one (issue 9 § 5: fuzzing closed 0780-04 and 0944-01 and left 1329-12 open, which
then blocked the real month with `409 Close the payroll of 1329-12 first`)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone, translation

from brokers.models import Membership
from core.errors import ValidationFailed
from payments import payouts, payroll
from payments.models import PayoutBatch, PayrollRun
from payments.tasks import payroll_auto_close

from ..api_checks import english_client as client
from ..personas import build_personas
from .payroll_world import log, payroll_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)  # a Monday; the personas' members joined 2026-01-01


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller, translation.override("en"):
        yield traveller


def personas_joined_in_january_2026():
    """The personas, their members joined on 1 January 2026 (the factories' default moves with
    the clock: 1 January of last year)."""
    p = build_personas()
    Membership.objects.update(started_on=date(2026, 1, 1))
    return p


@pytest.fixture
def p(clock, db):
    return personas_joined_in_january_2026()


def preview(user, month: str):
    return client(user).post("/api/payroll-runs/", {"month": month}, format="json")


def refused_month(response, earliest: str, latest: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"month": [f"Choose a month from {earliest} to {latest}."]}
    assert body["message"] == f"Choose a month from {earliest} to {latest}."


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["0780-04", "0944-01", "1329-12", "2025-12", "2026-12", "9999-12"])
def test_a_payroll_month_outside_the_brokers_time_is_a_400_naming_the_range(p, month):
    refused_month(preview(p.broker, month), "2026-01", "2026-11")
    assert not PayrollRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["2026-01", "2026-10", "2026-11"])
def test_the_months_from_the_first_member_to_this_one_are_accepted(p, month):
    response = preview(p.broker, month)
    assert response.status_code == 201, response.content[:300]
    assert response.json()["month"] == month


@pytest.mark.django_db
def test_the_first_month_is_the_earliest_membership_or_the_brokers_creation(p):
    assert payroll.payroll_months(p.broker_org.pk) == (date(2026, 1, 1), date(2026, 11, 1))
    # a member who joined earlier (history brought in) opens her month
    Membership.objects.filter(broker=p.broker_org).update(started_on=date(2025, 3, 31))
    assert payroll.payroll_months(p.broker_org.pk) == (date(2025, 3, 1), date(2026, 11, 1))
    # no member at all: from the broker's creation (today, in the test's clock)
    Membership.objects.filter(broker=p.broker_org).delete()
    assert payroll.payroll_months(p.broker_org.pk) == (date(2026, 11, 1), date(2026, 11, 1))


@pytest.mark.django_db
def test_this_month_is_read_in_shanghai_on_the_first_at_half_past_midnight(db):
    # 2026-12-01 00:30 in Shanghai is still 30 November in UTC: December has begun
    with time_machine.travel(datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI), tick=True):
        p = personas_joined_in_january_2026()
        assert preview(p.broker, "2026-12").status_code == 201
        refused_month(preview(p.broker, "2027-01"), "2026-01", "2026-12")


@pytest.mark.django_db
def test_a_run_of_a_month_out_of_range_cannot_be_closed_by_the_service(p):
    run = PayrollRun.objects.create(broker=p.broker_org, month=date(944, 1, 1))  # left by the fuzzing
    with pytest.raises(ValidationFailed) as caught:
        payroll.payroll_close(actor=p.broker, run_id=run.pk)
    assert caught.value.fields == {"month": ["Choose a month from 2026-01 to 2026-11."]}
    with pytest.raises(ValidationFailed):
        payroll.payroll_recompute(actor=p.broker, run_id=run.pk)
    run.refresh_from_db()
    assert run.status == PayrollRun.Status.PREVIEW


@pytest.mark.django_db
def test_an_old_out_of_range_preview_does_not_block_the_real_month(p):
    w = payroll_world(p)
    log(w, 40, day=date(2026, 10, 20))
    PayrollRun.objects.create(broker=p.broker_org, month=date(1329, 12, 1))  # left by the fuzzing
    run, _created = payroll.payroll_preview(actor=p.broker, month="2026-10")
    closed = payroll.payroll_close(actor=p.broker, run_id=run.pk)
    assert (closed.status, closed.total) == (PayrollRun.Status.CLOSED, Decimal("0.50"))  # 40 × 0.0125


@pytest.mark.django_db
def test_the_auto_close_task_skips_a_month_out_of_range_and_closes_the_real_one(p):
    w = payroll_world(p)
    log(w, 40, day=date(2026, 10, 20))
    junk = PayrollRun.objects.create(broker=p.broker_org, month=date(780, 4, 1))
    real, _created = payroll.payroll_preview(actor=p.broker, month="2026-10")
    assert timezone.localdate().day >= payroll.setting_auto_close_day()
    assert payroll_auto_close() == 1
    junk.refresh_from_db()
    real.refresh_from_db()
    assert junk.status == PayrollRun.Status.PREVIEW
    assert real.status == PayrollRun.Status.CLOSED


@pytest.mark.django_db
@pytest.mark.parametrize("paid_on", [date(1, 1, 1), date(2026, 11, 15), date(2026, 11, 17), date(9999, 12, 31)])
def test_a_batch_is_paid_between_the_day_it_was_made_and_today(p, paid_on):
    w = payroll_world(p)
    log(w, 40, day=date(2026, 10, 20))
    run, _created = payroll.payroll_preview(actor=p.broker, month="2026-10")
    batch = payroll.payroll_close(actor=p.broker, run_id=run.pk).batches.get()
    with pytest.raises(ValidationFailed) as caught:
        payouts.batch_mark_paid(actor=p.broker, batch_id=batch.pk, bank_reference="BOC-1", paid_on=paid_on)
    assert caught.value.fields == {"paid_on": ["Choose a date from 2026-11-16 to 2026-11-16."]}
    batch.refresh_from_db()
    assert (batch.status, batch.paid_on) == (PayoutBatch.Status.OPEN, None)
