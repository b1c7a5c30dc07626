"""The impact report, per county and village for a year: processing-fee income, wages issued by
the unit's brokers and to its residents, workers paid by household tag, poor households with an
earner (counted as workers: a worker has no household id), average monthly earnings per
worker-month rounded once half up; payouts counted by their payout date, only when paid."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Jurisdiction, Organisation
from brokers.models import HouseholdTag
from core.errors import NotFound
from orders import services as orders
from payments.models import PayoutBatch, PayoutItem, PayrollRun, Payslip
from subsidies import impact

from ..factories import JurisdictionFactory, OrganisationFactory, WorkerFactory
from ..orders.builders import awarded

pytestmark = pytest.mark.django_db
D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = 2025
_runs = itertools.count()
_refs = itertools.count()


def pay(broker: Organisation, worker, amount: str, paid_on: dt.date, *, status: str = PayoutItem.Status.PAID) -> None:
    """One payout item of `amount` to `worker` by `broker`, paid on `paid_on` (or pending or
    failed): a closed run of its own with one payslip and one batch."""
    n = next(_runs)
    run = PayrollRun.objects.create(broker=broker, month=dt.date(2000 + n // 12, n % 12 + 1, 1))
    payslip = Payslip.objects.create(run=run, worker=worker, worker_name=worker.name, total=D(amount))
    PayrollRun.objects.filter(pk=run.pk).update(status=PayrollRun.Status.CLOSED)
    batch = PayoutBatch.objects.create(run=run, number=1)
    PayoutItem.objects.create(batch=batch, payslip=payslip, worker=worker, account_holder=worker.name, amount=D(amount),
                              reference=f"IMPACT-{next(_refs)}", status=status,
                              paid_on=paid_on if status == PayoutItem.Status.PAID else None)


@pytest.fixture
def world(personas):
    """The home county with two villages (V1 the personas' home village, V2 a second one) and
    an empty third; payouts of 2024-2026; fee income of the broker, registered at V1."""
    home = personas.home
    v1 = home["village"]
    v2 = JurisdictionFactory(level=Jurisdiction.Level.VILLAGE, name="二村", parent=home["township"])
    v3 = JurisdictionFactory(level=Jurisdiction.Level.VILLAGE, name="三村", parent=home["township"])
    broker, rival = personas.broker_org, personas.rival_org
    v2_broker = OrganisationFactory(kind=Organisation.Kind.BROKER, name="二村加工点", jurisdiction=v2)
    poor, elderly, disabled = HouseholdTag.POOR_HOUSEHOLD, HouseholdTag.ELDERLY, HouseholdTag.DISABLED
    w1 = WorkerFactory(name="一号", village=v1, household_tags=[poor, elderly])
    w2 = WorkerFactory(name="二号", village=v1, household_tags=[poor, "no_such_tag"])
    w3 = WorkerFactory(name="三号", village=v2, household_tags=[disabled])
    w4 = WorkerFactory(name="四号", village=v2, household_tags=[poor])
    away = WorkerFactory(name="外县", village=personas.away["village"], household_tags=[poor])

    pay(broker, w1, "1000.00", dt.date(YEAR, 1, 10))
    pay(broker, w1, "1000.00", dt.date(YEAR, 2, 10))
    pay(rival, w1, "500.00", dt.date(YEAR, 2, 20))  # a second broker, the same month
    pay(broker, w2, "333.30", dt.date(YEAR, 3, 5))
    pay(v2_broker, w3, "100.00", dt.date(YEAR, 12, 31))
    pay(v2_broker, w3, "70.00", dt.date(YEAR - 1, 12, 31))  # last year
    pay(v2_broker, w3, "50.00", dt.date(YEAR + 1, 1, 1))  # next year
    pay(v2_broker, w4, "999.00", dt.date(YEAR, 6, 1), status=PayoutItem.Status.PENDING)  # not paid
    pay(v2_broker, w4, "888.00", dt.date(YEAR, 6, 1), status=PayoutItem.Status.FAILED)
    pay(broker, away, "200.00", dt.date(YEAR, 5, 1))  # the home broker pays a worker of the other county

    with time_machine.travel(dt.datetime(YEAR, 11, 20, 10, 0, tzinfo=SHANGHAI), tick=True):
        award = awarded(personas.firm, personas.broker, quantity=100)
        for quantity, accepted in ((50, 45), (10, 10)):  # 45 × 1.20 + 10 × 1.20 = 66.00
            delivery = orders.delivery_record(actor=personas.broker, award_id=award.pk, quantity=quantity)
            orders.inspection_record(actor=personas.firm, delivery_id=delivery.pk, accepted=accepted,
                                     rejected=quantity - accepted, reason="线头" if accepted < quantity else "")
    Organisation.objects.filter(pk=broker.pk).update(jurisdiction=v1)
    return {"county": home["county"], "v1": v1, "v2": v2, "v3": v3, "away": personas.away}


def tags(**counts) -> dict[str, int]:
    return {tag.value: counts.get(tag.value, 0) for tag in HouseholdTag}


def test_the_countys_figures(world):
    report = impact.report(world["county"].pk, YEAR)

    assert report["county"]["id"] == world["county"].pk and report["year"] == YEAR
    assert report["processing_fee_income"] == D("66.00")
    # by the county's brokers: 1000 + 1000 + 333.30 + 200 (broker), 500 (rival), 100 (V2's broker)
    assert report["wages_issued"] == D("3133.30")
    # to the county's residents: 2500.00 (w1) + 333.30 (w2) + 100.00 (w3)
    assert report["wages_to_residents"] == D("2933.30")
    assert report["workers_paid"] == 3
    assert report["workers_by_household_tag"] == tags(poor_household=2, elderly=1, disabled=1)
    assert (report["poor_households_with_earner"], report["poor_households_counted_as"]) == (2, "workers")
    # w1 was paid in January and February (twice in February), w2 in March, w3 in December
    assert report["worker_months"] == 4
    assert report["average_monthly_earnings"] == D("733.33")  # 2933.30 / 4 = 733.325, half up once


def test_each_villages_figures(world):
    report = impact.report(world["county"].pk, YEAR)

    rows = {row["village"]["id"]: row for row in report["villages"]}
    assert list(rows) == sorted(rows, key=lambda v: Jurisdiction.objects.get(pk=v).code)
    assert set(rows) == {world["v1"].pk, world["v2"].pk}  # the empty third village is left out
    v1, v2 = rows[world["v1"].pk], rows[world["v2"].pk]
    assert v1["village"]["name"] == world["v1"].name
    assert (v1["processing_fee_income"], v1["wages_issued"], v1["wages_to_residents"]) == (
        D("66.00"), D("2533.30"), D("2833.30"))
    assert (v1["workers_paid"], v1["workers_by_household_tag"], v1["poor_households_with_earner"]) == (
        2, tags(poor_household=2, elderly=1), 2)
    assert (v1["worker_months"], v1["average_monthly_earnings"]) == (3, D("944.43"))  # 2833.30 / 3 = 944.4333
    assert (v2["processing_fee_income"], v2["wages_issued"], v2["wages_to_residents"]) == (
        D("0.00"), D("100.00"), D("100.00"))
    # w4 (poor) was never paid: her pending and failed payouts do not make her an earner
    assert (v2["workers_paid"], v2["workers_by_household_tag"], v2["poor_households_with_earner"]) == (
        1, tags(disabled=1), 0)
    assert (v2["worker_months"], v2["average_monthly_earnings"]) == (1, D("100.00"))


def test_a_payout_counts_in_the_year_of_its_payout_date(world):
    last, following = impact.report(world["county"].pk, YEAR - 1), impact.report(world["county"].pk, YEAR + 1)
    assert (last["wages_to_residents"], last["workers_paid"], last["average_monthly_earnings"]) == (
        D("70.00"), 1, D("70.00"))
    assert (following["wages_to_residents"], following["workers_paid"]) == (D("50.00"), 1)
    assert last["processing_fee_income"] == D("0.00") and following["processing_fee_income"] == D("0.00")


def test_one_village_only(world):
    report = impact.report(world["county"].pk, YEAR, village_id=world["v2"].pk)
    assert [row["village"]["id"] for row in report["villages"]] == [world["v2"].pk]
    assert report["wages_to_residents"] == D("2933.30")  # the county's totals stay


def test_a_village_with_nothing_shows_zeros(world):
    [row] = impact.report(world["county"].pk, YEAR, village_id=world["v3"].pk)["villages"]
    assert (row["processing_fee_income"], row["wages_issued"], row["wages_to_residents"], row["workers_paid"]) == (
        D("0.00"), D("0.00"), D("0.00"), 0)
    assert (row["worker_months"], row["average_monthly_earnings"], row["workers_by_household_tag"]) == (0, None, tags())


def test_another_countys_village_or_a_non_county_is_not_found(world):
    with pytest.raises(NotFound):
        impact.report(world["county"].pk, YEAR, village_id=world["away"]["village"].pk)
    with pytest.raises(NotFound):
        impact.report(world["v1"].pk, YEAR)


def test_the_other_county_has_its_resident_paid_by_a_broker_from_elsewhere(world):
    report = impact.report(world["away"]["county"].pk, YEAR)
    assert (report["wages_issued"], report["wages_to_residents"], report["workers_paid"]) == (
        D("0.00"), D("200.00"), 1)
    assert report["poor_households_with_earner"] == 1


def test_the_report_is_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        impact.report(world["county"].pk, YEAR)
    for n in range(20):  # more workers and villages: the same queries
        village = JurisdictionFactory(level=Jurisdiction.Level.VILLAGE, parent=world["v1"].parent)
        pay(Organisation.objects.get(name="二村加工点"), WorkerFactory(village=village), "10.00", dt.date(YEAR, 4, 1))
    with django_assert_max_num_queries(10):
        report = impact.report(world["county"].pk, YEAR)
    assert report["workers_paid"] == 23 and len(report["villages"]) == 22
