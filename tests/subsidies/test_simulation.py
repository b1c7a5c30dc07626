"""Simulation (issue 11 § 6): a draft version against a past year, compared with the version in
force that year, without creating claims. `compute` (the evaluation engine's, which writes
nothing) is replaced here by hand-made proposals, so every figure of the report is known exactly:
totals per rule, the brokers and villages that differ (largest difference first), case
proposals counted apart from the money, and the budget impact."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import zoneinfo
from decimal import Decimal

import pytest
import time_machine

from brokers.models import Loan
from subsidies import rules
from subsidies.models import Claim, Evaluation, Fund, PolicyVersion, Rule
from subsidies.services import evaluation as engine
from subsidies.services.evaluation import Proposal
from subsidies.services.simulation import simulate

from ..factories import JurisdictionFactory, OrganisationFactory
from .factories import active_version, make_claim, policy_for

pytestmark = pytest.mark.django_db
D = Decimal
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 1, 20, 10, 0, tzinfo=LOCAL)
YEAR = 2025
GENERAL, LOAN, FREIGHT, TOP = rules.BROKER_REWARD_GENERAL, rules.LOAN_INTEREST, rules.FREIGHT, rules.TOP_VILLAGES
_n = itertools.count(1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def active(personas):
    return active_version(policy_for(personas.home["county"], fund_owner=personas.federation_org))


def draft_of(version: PolicyVersion, *, number: int = 2, budget: str = "20000.00") -> PolicyVersion:
    draft = PolicyVersion.objects.create(policy=version.policy, number=number, status=PolicyVersion.Status.DRAFT,
                                         annual_budget=D(budget), copied_from=version)
    Rule.objects.bulk_create([Rule(version=draft, kind=r.kind, parameters=r.parameters, enabled=r.enabled)
                              for r in version.rules.all()])
    return draft


def proposal(kind: str, amount: str | None, *, broker=None, village=None, loan=None, eligible: bool = True) -> Proposal:
    outcome = rules.Outcome(kind, eligible, None if amount is None else D(amount), (), {"zh-CN": "", "en": ""},
                            case=amount is None)
    return Proposal(kind, f"test:{next(_n)}", outcome, {}, broker_id=getattr(broker, "pk", broker),
                    village_id=getattr(village, "pk", village), loan_id=getattr(loan, "pk", loan))


class FakeCompute:
    """compute() by version and period: {version id: {(period, period_start): [proposals]}}; it
    records its calls."""

    def __init__(self, made: dict):
        self.made, self.calls = made, []

    def __call__(self, version, *, period, period_start, **_):
        self.calls.append((version.pk, period, period_start))
        return list(self.made.get(version.pk, {}).get((period, period_start), []))


def simulation_of(version, *, year: int = YEAR, period: str = "year", month: int = 1) -> Evaluation:
    return Evaluation.objects.create(version=version, period=period, period_start=dt.date(year, month, 1),
                                     simulation=True)


@pytest.fixture
def county(personas, active):
    """Three brokers and two villages of the county, a loan of the first broker."""
    a, b, c = (OrganisationFactory(name=name, jurisdiction=personas.home["township"])
               for name in ("甲加工点", "乙加工点", "丙加工点"))
    x = personas.home["village"]
    y = JurisdictionFactory(level="village", name="乙村", parent=personas.home["township"])
    loan = Loan.objects.create(broker=a, lender="遂昌农商银行", principal=D("50000.00"), start=dt.date(YEAR, 3, 1),
                               registered_by=personas.broker)
    return a, b, c, x, y, loan


def test_a_draft_against_the_version_in_force_that_year(personas, active, county, monkeypatch):
    a, b, c, x, y, loan = county
    draft = draft_of(active)
    year, march, april = ("year", dt.date(YEAR, 1, 1)), ("month", dt.date(YEAR, 3, 1)), ("month", dt.date(YEAR, 4, 1))
    fake = FakeCompute({
        draft.pk: {
            year: [proposal(GENERAL, "5000.00", broker=a), proposal(GENERAL, "2000.00", broker=b),
                   proposal(GENERAL, None, broker=c),  # a case: no amount
                   proposal(GENERAL, "0.00", broker=personas.rival_org, eligible=False),  # not a claim
                   proposal(FREIGHT, "123.45", broker=b), proposal(TOP, "10000.00", village=x)],
            march: [proposal(LOAN, "250.00", broker=a, loan=loan)],
            april: [proposal(LOAN, "250.00", loan=loan)],  # the broker found through the loan
        },
        active.pk: {
            year: [proposal(GENERAL, "2000.00", broker=a), proposal(GENERAL, "2000.00", broker=b),
                   proposal(GENERAL, "10000.00", broker=c), proposal(TOP, "10000.00", village=x),
                   proposal(TOP, "5000.00", village=y)],
            march: [proposal(LOAN, "250.00", broker=a, loan=loan)],
        },
    })
    monkeypatch.setattr(engine, "compute", fake)
    make_claim(active, broker=a, year=YEAR)
    claims = Claim.objects.count()
    # when
    report = simulate(simulation_of(draft))
    # then
    assert Claim.objects.count() == claims == 1  # writes no claim
    assert json.loads(json.dumps(report)) == report  # JSON-safe as it is stored
    assert (report["year"], report["version_id"], report["compared_with_version_id"]) == (YEAR, draft.pk, active.pk)
    zero = {"draft": "0.00", "active": "0.00", "difference": "0.00", "claims": 0, "active_claims": 0, "cases": 0,
            "active_cases": 0}
    assert report["totals"] == {
        GENERAL: {"draft": "7000.00", "active": "14000.00", "difference": "-7000.00", "claims": 2,
                  "active_claims": 3, "cases": 1, "active_cases": 0},
        rules.BROKER_REWARD_MACHINERY: zero,
        LOAN: {"draft": "500.00", "active": "250.00", "difference": "250.00", "claims": 2, "active_claims": 1,
               "cases": 0, "active_cases": 0},
        FREIGHT: {"draft": "123.45", "active": "0.00", "difference": "123.45", "claims": 1, "active_claims": 0,
                  "cases": 0, "active_cases": 0},
        rules.RELOCATION: zero,
        rules.NEW_PROFESSIONAL_VILLAGE: zero,
        TOP: {"draft": "10000.00", "active": "15000.00", "difference": "-5000.00", "claims": 1, "active_claims": 2,
              "cases": 0, "active_cases": 0},
    }
    assert list(report["totals"]) == list(rules.RULE_KINDS)
    assert report["total"] == {"draft": "17623.45", "active": "29250.00", "difference": "-11626.55", "claims": 6,
                               "active_claims": 6, "cases": 1, "active_cases": 0}
    assert report["brokers"] == [
        {"broker_id": c.pk, "name": "丙加工点", "draft": "0.00", "active": "10000.00", "difference": "-10000.00",
         "draft_cases": 1, "active_cases": 0},
        {"broker_id": a.pk, "name": "甲加工点", "draft": "5500.00", "active": "2250.00", "difference": "3250.00",
         "draft_cases": 0, "active_cases": 0},
        {"broker_id": b.pk, "name": "乙加工点", "draft": "2123.45", "active": "2000.00", "difference": "123.45",
         "draft_cases": 0, "active_cases": 0},
    ]
    assert report["villages"] == [{"village_id": y.pk, "name": "乙村", "draft": "0.00", "active": "5000.00",
                                   "difference": "-5000.00", "draft_cases": 0, "active_cases": 0}]
    assert report["budget"] == {"annual_budget": "20000.00", "draft_total": "17623.45", "active_total": "29250.00",
                                "remaining_after_draft": "2376.55", "over_budget": False,
                                "active_annual_budget": "2000000.00"}
    assert (report["cases"], report["active_cases"]) == (1, 0)
    # the year and each of its twelve months (loan interest is monthly), for both versions
    months = [("month", dt.date(YEAR, m, 1)) for m in range(1, 13)]
    assert fake.calls == [(draft.pk, *year)] + [(draft.pk, *m) for m in months] + [(active.pk, *year)] + [
        (active.pk, *m) for m in months]


def test_the_budget_is_the_drafts_fund_for_the_year_when_it_has_one(active, county, monkeypatch):
    a, *_ = county
    draft = draft_of(active, budget="20000.00")
    Fund.objects.create(version=draft, year=YEAR, budget=D("4999.99"))
    Fund.objects.create(version=draft, year=YEAR + 1, budget=D("1.00"))
    monkeypatch.setattr(engine, "compute", FakeCompute({draft.pk: {("year", dt.date(YEAR, 1, 1)): [
        proposal(GENERAL, "5000.00", broker=a)]}}))
    budget = simulate(simulation_of(draft))["budget"]
    assert budget == {"annual_budget": "4999.99", "draft_total": "5000.00", "active_total": "0.00",
                      "remaining_after_draft": "-0.01", "over_budget": True, "active_annual_budget": "2000000.00"}


def test_the_version_compared_with_is_the_one_in_force_that_year(active, county, monkeypatch):
    a, *_ = county
    # v1 ran until mid-2025, v3 from then on; v4 was activated from 2027 (not in force in 2025)
    PolicyVersion.objects.filter(pk=active.pk).update(status=PolicyVersion.Status.RETIRED,
                                                      effective_to=dt.date(YEAR, 6, 30))
    v3 = draft_of(active, number=3)
    PolicyVersion.objects.filter(pk=v3.pk).update(status=PolicyVersion.Status.RETIRED,  # one active per policy
                                                  effective_from=dt.date(YEAR, 7, 1), effective_to=dt.date(2026, 12, 31))
    v4 = draft_of(active, number=4)
    PolicyVersion.objects.filter(pk=v4.pk).update(status=PolicyVersion.Status.ACTIVE, effective_from=dt.date(2027, 1, 1))
    other_draft = draft_of(active, number=5)  # drafts are never compared with
    draft = draft_of(active, number=6)
    monkeypatch.setattr(engine, "compute", FakeCompute({}))
    assert simulate(simulation_of(draft))["compared_with_version_id"] == v3.pk
    assert simulate(simulation_of(draft, year=2024))["compared_with_version_id"] == active.pk
    assert simulate(simulation_of(draft, year=2027))["compared_with_version_id"] == v4.pk
    assert simulate(simulation_of(v3, year=2026))["compared_with_version_id"] is None  # not itself
    assert other_draft.status == PolicyVersion.Status.DRAFT


def test_no_version_in_force_that_year_compares_with_nothing(active, county, monkeypatch):
    a, *_ = county
    draft = draft_of(active)
    fake = FakeCompute({draft.pk: {("year", dt.date(2008, 1, 1)): [proposal(GENERAL, "2000.00", broker=a)]}})
    monkeypatch.setattr(engine, "compute", fake)
    report = simulate(simulation_of(draft, year=2008))  # Suichang's policy is in force from 2009
    assert report["compared_with_version_id"] is None
    assert report["total"]["active"] == "0.00" and report["total"]["difference"] == "2000.00"
    assert report["brokers"] == [{"broker_id": a.pk, "name": "甲加工点", "draft": "2000.00", "active": "0.00",
                                  "difference": "2000.00", "draft_cases": 0, "active_cases": 0}]
    assert {version for version, _period, _start in fake.calls} == {draft.pk}


def test_a_month_simulates_that_months_loan_interest_only(active, county, monkeypatch):
    a, *_, loan = county
    draft = draft_of(active)
    fake = FakeCompute({draft.pk: {("month", dt.date(YEAR, 5, 1)): [proposal(LOAN, "241.94", broker=a, loan=loan)]}})
    monkeypatch.setattr(engine, "compute", fake)
    report = simulate(simulation_of(draft, period="month", month=5))
    assert list(report["totals"]) == [LOAN]
    assert report["totals"][LOAN]["draft"] == "241.94" and report["period_start"] == "2025-05-01"
    assert fake.calls == [(draft.pk, "month", dt.date(YEAR, 5, 1)), (active.pk, "month", dt.date(YEAR, 5, 1))]


def test_the_current_year_counts_the_loan_months_begun_so_far(active, county, monkeypatch):
    draft = draft_of(active)
    Rule.objects.filter(version=active, kind=LOAN).update(enabled=False)  # only the draft pays interest
    fake = FakeCompute({})
    monkeypatch.setattr(engine, "compute", fake)
    simulate(simulation_of(draft, year=2026))  # today is 2026-01-20
    assert fake.calls == [(draft.pk, "year", dt.date(2026, 1, 1)), (draft.pk, "month", dt.date(2026, 1, 1)),
                          (active.pk, "year", dt.date(2026, 1, 1))]


def test_equal_amounts_and_cases_list_no_beneficiary(active, county, monkeypatch):
    a, b, c, x, *_ = county
    draft = draft_of(active)
    same = [proposal(GENERAL, "2000.00", broker=a), proposal(GENERAL, None, broker=c), proposal(TOP, "3000.00", village=x)]
    monkeypatch.setattr(engine, "compute", FakeCompute({v.pk: {("year", dt.date(YEAR, 1, 1)): same}
                                                        for v in (draft, active)}))
    report = simulate(simulation_of(draft))
    assert report["brokers"] == [] and report["villages"] == []
    assert report["total"]["difference"] == "0.00" and (report["cases"], report["active_cases"]) == (1, 1)


def test_with_the_real_compute_a_draft_with_lower_lines_rewards_a_small_broker(personas, active):
    """The real compute, no fake: 5,000.00 paid to three workers in 2025 gets nothing from the 2009
    tiers; a draft with tier 1 at wages > 1,000 and workers > 1 gives 2,000. No claim is written."""
    from .test_flags import hire, pay, set_params

    broker = personas.broker_org
    w1, w2, w3 = hire(personas, 3)
    pay(broker, {w1: D("2000.00"), w2: D("2000.00"), w3: D("1000.00")}, paid_on=dt.date(YEAR, 6, 30))
    draft = draft_of(active)
    set_params(draft, GENERAL, tier_1_wages_over="1000", tier_1_workers_over=1)
    claims = Claim.objects.count()
    report = simulate(simulation_of(draft))
    assert Claim.objects.count() == claims
    assert report["compared_with_version_id"] == active.pk
    assert report["totals"][GENERAL] == {"draft": "2000.00", "active": "0.00", "difference": "2000.00",
                                         "claims": 1, "active_claims": 0, "cases": 0, "active_cases": 0}
    assert report["total"]["difference"] == "2000.00"
    assert report["brokers"] == [{"broker_id": broker.pk, "name": "建明服装厂", "draft": "2000.00", "active": "0.00",
                                  "difference": "2000.00", "draft_cases": 0, "active_cases": 0}]
    assert report["villages"] == []
    assert report["budget"]["remaining_after_draft"] == "18000.00"
