"""The demo's subsidies: last year's wages meet real tiers, the loans, the villages' status, and
seeding twice changes nothing. Seeded at fixed instants (the demo year is last calendar year)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Min, Sum

from accounts.models import Jurisdiction, Organisation
from brokers.models import BrokerProfile, Loan, Membership, ProfessionalVillageStatus, Relocation, Worker
from payments import figures
from payments.models import Entry, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine, Transaction
from subsidies import rules

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSTANT = dt.datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)  # as tests/core/test_schemathesis.py
TIERS = rules.SUICHANG_2009


def _state() -> list:
    return [
        list(PayrollRun.objects.order_by("pk").values_list("pk", "broker_id", "month", "status", "total", "paid_at")),
        list(Payslip.objects.order_by("pk").values_list("pk", "worker_id", "total")),
        list(PayoutItem.objects.order_by("pk").values_list("pk", "status", "amount", "paid_on")),
        list(Worker.objects.order_by("pk").values_list("pk", "national_id", "bank_account")),
        list(Membership.objects.order_by("pk").values_list("pk", "started_on", "ended_on")),
        list(Loan.objects.order_by("pk").values_list("pk", "principal", "start", "registered_at")),
        list(ProfessionalVillageStatus.objects.order_by("pk").values_list("pk", "village_id", "effective_from")),
        Transaction.objects.count(), Entry.objects.count(),
    ]


def _broker(name: str) -> Organisation:
    return Organisation.objects.get(kind="broker", name=name)


def test_demo_year_meets_real_tiers_with_loans_and_villages_and_seeds_once():
    with time_machine.travel(INSTANT, tick=False):
        call_command("seed_demo", verbosity=0)
        first = _state()
        call_command("seed_demo", verbosity=0)
        assert _state() == first

    year = 2025  # last calendar year at the instant
    county = Jurisdiction.objects.get(code="331123")
    jianming, beijie, shilian = _broker("遂昌建明服装厂"), _broker("北界巧手来料加工中心"), _broker("石练机械来料加工厂")
    wages = figures.wages_issued(year=year, county_id=county.pk)
    counted = figures.paid_workers(year=year, minimum=Decimal(TIERS[rules.BROKER_REWARD_GENERAL]["worker_minimum_paid"]),
                                   county_id=county.pk)
    general, machinery = TIERS[rules.BROKER_REWARD_GENERAL], TIERS[rules.BROKER_REWARD_MACHINERY]
    # 北界: the general first tier, not the second
    assert wages[beijie.pk] > general["tier_1_wages_over"] and counted[beijie.pk] > general["tier_1_workers_over"]
    assert counted[beijie.pk] <= general["tier_2_workers_over"] and wages[beijie.pk] <= general["tier_2_wages_over"]
    # 遂昌建明: the general second tier, not the third
    assert wages[jianming.pk] > general["tier_2_wages_over"] and counted[jianming.pk] > general["tier_2_workers_over"]
    assert wages[jianming.pk] <= general["tier_3_wages_over"]
    # 石练 (machinery): the machinery first tier
    assert BrokerProfile.objects.get(organisation=shilian).category == "machinery"
    assert wages[shilian.pk] > machinery["tier_1_wages_over"] and counted[shilian.pk] > machinery["tier_1_workers_over"]
    assert wages[shilian.pk] <= machinery["tier_2_wages_over"]
    # ghost-proof counting: some were paid under the threshold, two just over it at 遂昌建明
    paid = figures.paid_workers(year=year, county_id=county.pk)
    assert paid[jianming.pk] > counted[jianming.pk] and paid[beijie.pk] > counted[beijie.pk]
    per_worker = (PayoutItem.objects.filter(status="paid", paid_on__year=year, batch__run__broker=jianming)
                  .values("worker_id").annotate(t=Sum("amount")))
    assert sum(1 for row in per_worker if Decimal(2000) <= round(Decimal(row["t"]), 2) < Decimal(2010)) == 2

    # twelve payouts a worker in the year, every run paid, every payslip the sum of its lines, the
    # items its total; wages posted and paid out in balanced ledger transactions
    runs = PayrollRun.objects.filter(broker__in=[jianming, beijie, shilian], month__lt=dt.date(year, 12, 1))
    assert runs.count() == 36 and set(runs.values_list("status", flat=True)) == {"paid"}
    assert set(PayoutBatch.objects.filter(run__in=runs).values_list("paid_on__year", flat=True)) == {year}
    for run in runs:
        assert run.total == sum(run.payslips.values_list("total", flat=True))  # in Python: SQLite sums floats
        assert run.ledger is not None and run.batches.get().ledger is not None
    assert not Payslip.objects.filter(run__in=runs).annotate(n=Count("lines")).exclude(n=1).exists()
    for slip in Payslip.objects.filter(run__in=runs).order_by("?")[:50]:
        line = slip.lines.get()
        assert line.amount == slip.total == (line.quantity * line.rate).quantize(Decimal("0.01"))
        assert slip.payout_items.get().amount == slip.total
    for transaction in Transaction.objects.filter(kind__in=["payroll", "payout"]).prefetch_related("entries"):
        assert sum(entry.amount.amount for entry in transaction.entries.all()) == 0
    # last year's hands left at its end: today's workforce is the demo's 20 a broker
    assert Membership.objects.filter(broker=jianming, ended_on__isnull=True).count() == 20
    assert PayslipLine.objects.filter(payslip__run__in=runs, kind="pieces").count() == Payslip.objects.filter(
        run__in=runs).count()

    # the loans: one above the cap registered before it started, one registered after its start
    big, small = Loan.objects.get(broker=jianming), Loan.objects.get(broker=beijie)
    assert big.principal == Decimal("150000.00") > Decimal(TIERS[rules.LOAN_INTEREST]["principal_max"])
    assert big.registered_at.astimezone(SHANGHAI).date() < big.start
    assert small.principal == Decimal("50000.00") and small.registered_at.astimezone(SHANGHAI).date() > small.start
    assert big.end is None and small.end is None  # outstanding today: monthly interest claims
    assert wages[jianming.pk] > Decimal(TIERS[rules.LOAN_INTEREST]["eligible_wages_over"])
    assert wages[beijie.pk] > Decimal(TIERS[rules.LOAN_INTEREST]["eligible_wages_over"])

    # the relocation, and the villages: one newly professional in the demo year, two for years
    assert Relocation.objects.get(broker=jianming).moved_on.year == year
    firsts = {row["village__name"]: row["first"] for row in ProfessionalVillageStatus.objects.filter(
        is_professional=True).values("village__name").annotate(first=Min("effective_from"))}
    assert firsts["大柘村"].year == year
    assert firsts["苏村"].year < year and firsts["淤溪村"].year < year
    # the top-three index (wages to the village's workers) ranks all three villages
    assert len(figures.wages_issued_by_village(year=year, county_id=county.pk)) == 3


def test_demo_seeded_in_january_leaves_the_live_december_alone():
    """In January last month is December of the demo year: the history stops at November (paid
    on 10 December), so the live payroll demo's December run is the payments demo's own."""
    with time_machine.travel(dt.datetime(2027, 1, 15, 10, 0, tzinfo=SHANGHAI), tick=False):
        call_command("seed_demo", verbosity=0)
        jianming = _broker("遂昌建明服装厂")
        december = PayrollRun.objects.get(broker=jianming, month=dt.date(2026, 12, 1))
        assert december.status == "paid" and december.payslips.count() == 20  # the live demo's run
        wages = figures.wages_issued(year=2026, broker_ids=[jianming.pk])
        assert wages[jianming.pk] > Decimal("500000")
        assert PayrollRun.objects.filter(broker=jianming, month__year=2026).count() == 12
