"""The impact report: what processing brought a county, and each of its villages, in a year —
the figures seed 002 reports for Lishui in 2010 — from the payments figures, grouped queries only.

For a county, and for each of its villages (the unit):

- `processing_fee_income`: accepted pieces × unit price of the brokers registered in the unit,
  by inspection date (`payments.figures.processing_fee_income[_by_village]`; a broker registered
  at a township belongs to the county but to no village);
- `wages_issued`: wages paid out, by payout date, by the brokers registered in the unit
  (`figures.wages_issued`);
- `wages_to_residents`: wages paid out in the year to the workers living in the unit, whoever
  paid them (`figures.wages_issued_by_village`);
- `workers_paid`: distinct workers living in the unit paid anything in the year (a worker paid by
  two brokers counts once), and `workers_by_household_tag`: how many of them carry each
  `brokers.HouseholdTag` (a worker with two tags counts under both; every tag is listed, 0 too);
- `poor_households_with_earner`: registered poor households with at least one member paid in the
  year. A `Worker` has no household identifier, so this counts the workers tagged
  `poor_household` who were paid (two earners of one household count twice);
  `poor_households_counted_as` says so in the output ("workers");
- `worker_months`: the (worker, calendar month of the payout date) pairs with a payment, and
  `average_monthly_earnings` = `wages_to_residents` ÷ `worker_months`, rounded once half up to the
  fen: what a worker earned in a month in which she earned (None when no one was paid). A worker
  paid 1,000 in January and February and one paid 500 in January: 2,500 ÷ 3 = 833.33.

Wages and workers are by payout date (the money reached the worker that year), like the subsidy
tiers' "wages issued"."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from accounts.models import Jurisdiction, Organisation
from brokers.models import HouseholdTag, Worker
from core.errors import NotFound
from core.money import round_amount
from payments import figures

ZERO = Decimal("0.00")
POOR = HouseholdTag.POOR_HOUSEHOLD.value
TAGS = [tag.value for tag in HouseholdTag]
POOR_HOUSEHOLDS_COUNTED_AS = "workers"  # no household identifier on Worker (see the module)


class _Unit:
    """The running figures of a county or a village."""

    def __init__(self) -> None:
        self.fee = ZERO
        self.wages_issued = ZERO
        self.to_residents = ZERO
        self.workers = 0
        self.tags = dict.fromkeys(TAGS, 0)
        self.poor = 0
        self.worker_months = 0

    def add_worker(self, total: Decimal, months: int, tags: list) -> None:
        self.to_residents += total
        self.workers += 1
        self.worker_months += months
        known = {tag for tag in (tags or []) if tag in self.tags}
        for tag in known:
            self.tags[tag] += 1
        if POOR in known:
            self.poor += 1

    def figures(self) -> dict[str, Any]:
        average = round_amount(self.to_residents / self.worker_months) if self.worker_months else None
        return {"processing_fee_income": self.fee, "wages_issued": self.wages_issued,
                "wages_to_residents": self.to_residents, "workers_paid": self.workers,
                "workers_by_household_tag": dict(self.tags), "poor_households_with_earner": self.poor,
                "poor_households_counted_as": POOR_HOUSEHOLDS_COUNTED_AS, "worker_months": self.worker_months,
                "average_monthly_earnings": average}


def _residents_paid(year: int, county_id: int) -> list[tuple[int, int, Decimal, int, list]]:
    """(worker, village, total paid, months with a payment, household tags) of every worker
    living in the county paid in the year: one grouped query and one for the tags."""
    items = figures.paid_in(year).filter(worker__village__county_id=county_id)
    rows = (items.values("worker_id", "worker__village_id")
            .annotate(total=Sum("amount"), months=Count(TruncMonth("paid_on"), distinct=True))
            .values_list("worker_id", "worker__village_id", "total", "months"))
    rows = list(rows)
    tags = dict(Worker.objects.filter(pk__in=items.values("worker_id")).values_list("id", "household_tags"))
    return [(worker, village, figures.fen(total), months, tags.get(worker) or []) for worker, village, total, months in rows]


def report(county_id: int, year: int, village_id: int | None = None) -> dict[str, Any]:
    """The county's figures for the year and each village's (only `village_id`'s when given:
    404 unless it is a village of the county). Villages with no figure at all are left out of the
    list; a village asked for by id is shown with zeros."""
    county = Jurisdiction.objects.filter(pk=county_id, level=Jurisdiction.Level.COUNTY).first()
    if county is None:
        raise NotFound()
    if village_id is not None and not Jurisdiction.objects.filter(
            pk=village_id, level=Jurisdiction.Level.VILLAGE, county_id=county_id).exists():
        raise NotFound()

    total = _Unit()
    villages: dict[int, _Unit] = defaultdict(_Unit)
    fee_by_broker = figures.processing_fee_income(year=year, county_id=county_id)
    wages_by_broker = figures.wages_issued(year=year, county_id=county_id)
    total.fee = sum(fee_by_broker.values(), ZERO)
    total.wages_issued = sum(wages_by_broker.values(), ZERO)
    for village, fee in figures.processing_fee_income_by_village(year=year, county_id=county_id).items():
        villages[village].fee = fee
    # wages issued by the brokers registered at a village
    broker_village = dict(Organisation.objects.filter(pk__in=list(wages_by_broker),
                                                      jurisdiction__level=Jurisdiction.Level.VILLAGE)
                          .values_list("pk", "jurisdiction_id"))
    for broker, village in broker_village.items():
        villages[village].wages_issued += wages_by_broker[broker]
    for _worker, village, paid, months, tags in _residents_paid(year, county_id):
        total.add_worker(paid, months, tags)
        villages[village].add_worker(paid, months, tags)

    if village_id is not None:
        villages = {village_id: villages.get(village_id) or _Unit()}
    names = {row["id"]: row for row in Jurisdiction.objects.filter(pk__in=list(villages))
             .values("id", "code", "name", "name_en")}
    return {
        "county": {"id": county.pk, "code": county.code, "name": county.name, "name_en": county.name_en},
        "year": year,
        **total.figures(),
        "villages": [{"village": names[village], **villages[village].figures()}
                     for village in sorted(villages, key=lambda v: (names[v]["code"], v)) if village in names],
    }
