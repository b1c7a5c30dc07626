"""Risk flags (issue 11 § 5): each flag on both sides of its margin, with the records it names
and the sentence it says; set-based (the query count does not grow with the claims); running
twice adds nothing; flags never change a claim. The 2009 tiers are the document's (DESIGN.md);
the flags' margins are flags.py's documented constants (5% over the counting threshold, 10% of
the count, 2% of wages or 5 workers over a tier line, December above twice the monthly average)."""
from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from brokers import services as bs
from brokers.models import Dispute, Loan, Worker
from payments.models import PayoutBatch, PayoutItem, PayrollRun, Payslip
from subsidies import rules, suichang
from subsidies.models import Claim, Evaluation, RiskFlag, Rule
from subsidies.services.flags import flag_claims, message

from ..brokers.shop import open_shop, row
from ..factories import OrganisationFactory
from .factories import active_version, make_claim, policy_for

pytestmark = pytest.mark.django_db
D = Decimal
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 1, 20, 10, 0, tzinfo=LOCAL)  # evaluating 2025 in January, as the beat does
YEAR = 2025
GENERAL = rules.BROKER_REWARD_GENERAL
Code = RiskFlag.Code
_n = itertools.count(1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def version(personas):
    return active_version(policy_for(personas.home["county"], fund_owner=personas.federation_org))


# --- payouts, built straight into the payroll tables as a closed run would leave them ----------

def hire(personas, n: int, *, ids: list[str] | None = None) -> list[Worker]:
    village = personas.home["village"]
    ids = ids or [f"3311231990{next(_n):08d}" for _ in range(n)]
    return Worker.objects.bulk_create([Worker(name=f"工人{i}", village=village, national_id=nid)
                                       for i, nid in enumerate(ids)])


def pay(broker, amounts: dict[Worker, Decimal] | list[tuple[Worker, Decimal]], *, paid_on: dt.date) -> PayoutBatch:
    """One closed payroll run of `broker` (its month: `paid_on`'s, once per broker and month),
    paid in one batch on `paid_on`."""
    pairs = list(amounts.items()) if isinstance(amounts, dict) else list(amounts)
    run = PayrollRun.objects.create(broker=broker, month=paid_on.replace(day=1),
                                    total=sum((a for _w, a in pairs), D(0)))
    slips = Payslip.objects.bulk_create([Payslip(run=run, worker=w, worker_name=w.name, total=a) for w, a in pairs])
    PayrollRun.objects.filter(pk=run.pk).update(status=PayrollRun.Status.CLOSED, closed_at=timezone.now())
    batch = PayoutBatch.objects.create(run=run, number=1, status=PayoutBatch.Status.PAID, paid_on=paid_on,
                                       paid_at=timezone.now(), bank_reference=f"BK-{next(_n)}")
    PayoutItem.objects.bulk_create([
        PayoutItem(batch=batch, payslip=s, worker=s.worker, account_holder=s.worker_name, amount=s.total,
                   reference=f"T-{next(_n)}", status=PayoutItem.Status.PAID, paid_on=paid_on) for s in slips])
    return batch


def set_params(version, kind: str, **values) -> None:
    """Change a rule's parameters before it has claims (validated as staff editing a draft would)."""
    Rule.objects.filter(version=version, kind=kind).update(parameters=suichang.stored_parameters(kind, values))


def add_claim(evaluation: Evaluation, *, broker=None, village=None, kind: str = GENERAL,
              amount: Decimal | None = D("2000.00"), is_case: bool = False, loan=None) -> Claim:
    """A further claim of an evaluation (make_claim makes one evaluation per claim)."""
    version, n = evaluation.version, next(_n)
    key = f"flags-test:{kind}:{n}"
    return Claim.objects.create(
        key=key, subject=key, policy=version.policy, version=version, rule=version.rules.get(kind=kind), kind=kind,
        evaluation=evaluation, county_id=version.policy.jurisdiction_id, period_start=dt.date(YEAR, 1, 1),
        period_end=dt.date(YEAR, 12, 31), fund_year=YEAR, broker=broker, village=village, loan=loan,
        is_case=is_case, amount=amount, computed_amount=amount, needs_second_approval=is_case,
        second_approval_over=version.second_approval_over, inputs={}, steps=[], sentence_zh="测试",
        sentence_en="test", fingerprint=f"t{n}")


def flags_of(claim: Claim) -> dict[str, RiskFlag]:
    return {f.code: f for f in RiskFlag.objects.filter(claim=claim)}


def en(flag: RiskFlag) -> str:
    with translation.override("en"):
        return message(flag)


# --- workers just over the counting threshold (2,000 yuan in the year) ---------------------------

def test_workers_just_over_the_minimum_who_decide_the_tier_are_flagged(personas, version):
    # given 101 workers counted (> 100: tier 1), wages > 200,000; one of them was paid 2,099.99
    broker = personas.broker_org
    workers = hire(personas, 102)
    amounts = {w: D("2500.00") for w in workers[:100]} | {workers[100]: D("2099.99"), workers[101]: D("1999.99")}
    pay(broker, amounts, paid_on=dt.date(YEAR, 6, 10))
    claim = make_claim(version, broker=broker, amount=D("2000.00"), year=YEAR)
    # when
    assert flag_claims(claim.evaluation) >= 1
    # then: 2,099.99 < 2,100.00 is just over; 1,999.99 is not counted at all
    flag = flags_of(claim)[Code.WORKERS_JUST_OVER_MINIMUM]
    assert flag.records == [{"kind": "worker", "id": workers[100].pk}]
    assert flag.params == {
        "year": YEAR, "just_over": 1, "counted": 101, "minimum": "2000.00", "upper": "2100.00",
        "margin_percent": "5", "share_percent": "10", "lowers_reward": True, "amount": "2000.00",
        "amount_without": "0.00"}
    assert en(flag) == ("1 of the 101 workers counted was paid within 5% above the counting threshold of 2,000 yuan "
                        "(less than 2,100 yuan in the year). Without them there would be no reward "
                        "(instead of 2,000 yuan).")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.COMPUTED and claim.amount == D("2000.00")  # informs, never blocks


def test_a_worker_paid_exactly_the_threshold_plus_five_percent_is_not_just_over(personas, version):
    broker = personas.broker_org
    workers = hire(personas, 101)
    pay(broker, {w: D("2500.00") for w in workers[:100]} | {workers[100]: D("2100.00")}, paid_on=dt.date(YEAR, 6, 10))
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    assert Code.WORKERS_JUST_OVER_MINIMUM not in flags_of(claim)


def test_workers_just_over_are_flagged_above_ten_percent_of_the_count_even_when_the_tier_holds(personas, version):
    # 120 counted; 13 just over (> 12 = 10%): without them 107 > 100, the tier holds, still flagged
    many, few = personas.broker_org, personas.rival_org
    workers = hire(personas, 240)
    pay(many, {w: D("2500.00") for w in workers[:107]} | {w: D("2000.00") for w in workers[107:120]},
        paid_on=dt.date(YEAR, 3, 1))
    # 120 counted, 12 just over: exactly 10%, not more, and the tier holds: not flagged
    pay(few, {w: D("2500.00") for w in workers[120:228]} | {w: D("2050.00") for w in workers[228:240]},
        paid_on=dt.date(YEAR, 3, 1))
    evaluation = make_claim(version, broker=many, year=YEAR).evaluation
    other = add_claim(evaluation, broker=few)
    flag_claims(evaluation)
    flag = flags_of(evaluation.claims.get(broker=many))[Code.WORKERS_JUST_OVER_MINIMUM]
    assert (flag.params["just_over"], flag.params["counted"], flag.params["lowers_reward"]) == (13, 120, False)
    assert flag.params["amount_without"] == "2000.00"
    assert [r["id"] for r in flag.records] == sorted(w.pk for w in workers[107:120])
    assert en(flag).endswith("That is more than 10% of the workers counted.")
    assert Code.WORKERS_JUST_OVER_MINIMUM not in flags_of(other)


def test_workers_just_over_that_lower_a_tier_name_both_amounts(personas, version):
    # 301 counted (tier 2: 5,000) of whom 3 just over: without them 298, tier 1 (2,000)
    broker = personas.broker_org
    workers = hire(personas, 301)
    pay(broker, {w: D("2000.00") for w in workers[:3]} | {w: D("2000.00") for w in workers[3:]},
        paid_on=dt.date(YEAR, 5, 5))
    pay(broker, {w: D("1000.00") for w in workers[3:]}, paid_on=dt.date(YEAR, 9, 5))  # 3,000 in the year
    claim = make_claim(version, broker=broker, amount=D("5000.00"), year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.WORKERS_JUST_OVER_MINIMUM]
    assert (flag.params["just_over"], flag.params["counted"]) == (3, 301)
    assert (flag.params["amount"], flag.params["amount_without"]) == ("5000.00", "2000.00")
    assert en(flag).endswith("Without them the reward would be 2,000 yuan instead of 5,000 yuan.")


# --- the same person counted by two brokers ------------------------------------------------------

def test_a_worker_counted_by_two_brokers_in_one_year_flags_both_claims(personas, version):
    broker, rival = personas.broker_org, personas.rival_org
    shared, mine, theirs, low, last_year = hire(personas, 5)
    pay(broker, {shared: D("2000.00"), mine: D("3000.00"), low: D("3000.00"), last_year: D("3000.00")},
        paid_on=dt.date(YEAR, 4, 1))
    pay(rival, {shared: D("2000.00"), theirs: D("3000.00"), low: D("1999.99")}, paid_on=dt.date(YEAR, 4, 1))
    pay(rival, {last_year: D("9000.00")}, paid_on=dt.date(YEAR - 1, 12, 31))  # another year
    evaluation = make_claim(version, broker=broker, year=YEAR).evaluation
    theirs_claim = add_claim(evaluation, broker=rival)
    flag_claims(evaluation)
    ours = flags_of(evaluation.claims.get(broker=broker))[Code.NATIONAL_ID_TWO_BROKERS]
    assert ours.records == [{"kind": "worker", "id": shared.pk}, {"kind": "broker", "id": rival.pk}]
    assert ours.params["brokers_of"] == {str(shared.pk): [rival.pk]}
    assert ours.params["brokers"] == [{"id": rival.pk, "name": "对手加工点"}]
    assert en(ours) == f"1 worker counted here was also counted by another broker in {YEAR}: 对手加工点."
    theirs_flag = flags_of(theirs_claim)[Code.NATIONAL_ID_TWO_BROKERS]
    assert theirs_flag.records == [{"kind": "worker", "id": shared.pk}, {"kind": "broker", "id": broker.pk}]


def test_a_broker_of_another_county_counting_a_worker_of_this_one_is_seen(personas, version):
    broker = personas.broker_org
    elsewhere = OrganisationFactory(name="龙泉加工点", jurisdiction=personas.away["township"])
    (worker,) = hire(personas, 1)  # lives in the home county
    pay(broker, {worker: D("2500.00")}, paid_on=dt.date(YEAR, 2, 1))
    pay(elsewhere, {worker: D("2000.00")}, paid_on=dt.date(YEAR, 8, 1))
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.NATIONAL_ID_TWO_BROKERS]
    assert flag.records == [{"kind": "worker", "id": worker.pk}, {"kind": "broker", "id": elsewhere.pk}]
    assert en(flag) == f"1 worker counted here was also counted by another broker in {YEAR}: 龙泉加工点."


def test_the_same_national_id_in_another_case_is_the_same_person(personas, version):
    broker, rival = personas.broker_org, personas.rival_org
    lower, upper, stranger = hire(personas, 3, ids=["33112319850101123x", "33112319850101123X", "331123198501011230"])
    pay(broker, {lower: D("2500.00"), stranger: D("2500.00")}, paid_on=dt.date(YEAR, 2, 1))
    pay(rival, {upper: D("2500.00")}, paid_on=dt.date(YEAR, 2, 1))
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.NATIONAL_ID_TWO_BROKERS]
    assert flag.records == [{"kind": "worker", "id": lower.pk}, {"kind": "broker", "id": rival.pk}]
    assert flag.params["workers"] == 1


def test_two_worker_rows_of_one_person_counted_at_one_broker_are_flagged(personas, version):
    broker = personas.broker_org
    lower, upper = hire(personas, 2, ids=["33112319850101456x", "33112319850101456X"])
    pay(broker, {lower: D("2500.00"), upper: D("2500.00")}, paid_on=dt.date(YEAR, 2, 1))
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.NATIONAL_ID_TWO_BROKERS]
    assert (flag.params["workers"], flag.params["duplicates"]) == (0, 2)
    assert flag.records == [{"kind": "worker", "id": lower.pk}, {"kind": "worker", "id": upper.pk}]
    assert en(flag) == "2 workers counted here share a national ID with another worker counted here."


def test_no_flag_when_the_other_broker_paid_below_the_threshold(personas, version):
    broker, rival = personas.broker_org, personas.rival_org
    (worker,) = hire(personas, 1)
    pay(broker, {worker: D("5000.00")}, paid_on=dt.date(YEAR, 2, 1))
    pay(rival, {worker: D("1999.99")}, paid_on=dt.date(YEAR, 2, 1))
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    assert Code.NATIONAL_ID_TWO_BROKERS not in flags_of(claim)


# --- just above a tier boundary ------------------------------------------------------------------

@pytest.fixture
def low_minimum(version):
    """A counting threshold of 100 yuan, so wages just over a line need not come with a worker
    count just over it (the tiers stay the document's)."""
    set_params(version, GENERAL, worker_minimum_paid="100")
    return version


def tier_year(personas, broker, *, workers: int, wages: str) -> None:
    """`workers` workers paid 100.00 each but the first, who gets the rest of `wages`."""
    people = hire(personas, workers)
    rest = D(wages) - D("100.00") * (workers - 1)
    pay(broker, {people[0]: rest} | {w: D("100.00") for w in people[1:]}, paid_on=dt.date(YEAR, 7, 1))


@pytest.mark.parametrize(("wages", "flagged"), [("204000.00", True), ("204000.01", False)])
def test_wages_within_two_percent_above_the_tier_line(personas, low_minimum, wages, flagged):
    broker = personas.broker_org
    tier_year(personas, broker, workers=110, wages=wages)  # 110 workers: 10 over the line, not near
    claim = make_claim(low_minimum, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim).get(Code.JUST_OVER_TIER)
    assert (flag is not None) is flagged
    if flagged:
        assert flag.params == {"tier": 1, "basis": "wages_paid_in_calendar_year", "wages": "204000.00",
                               "wages_line": "200000.00", "wages_margin_percent": "2", "near_wages": True,
                               "workers": 110, "workers_line": 100, "workers_margin": 5, "near_workers": False}
        assert flag.records == [{"kind": "broker", "id": broker.pk}]
        assert en(flag) == "Wages issued of 204,000 yuan are within 2% above tier 1's line of 200,000 yuan."


@pytest.mark.parametrize(("workers", "flagged"), [(305, True), (306, False)])
def test_workers_within_five_above_the_tier_line(personas, low_minimum, workers, flagged):
    broker = personas.broker_org
    tier_year(personas, broker, workers=workers, wages="600000.00")  # tier 2, 20% over its wage line
    claim = make_claim(low_minimum, broker=broker, amount=D("5000.00"), year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim).get(Code.JUST_OVER_TIER)
    assert (flag is not None) is flagged
    if flagged:
        assert (flag.params["tier"], flag.params["near_workers"], flag.params["near_wages"]) == (2, True, False)
        assert en(flag) == "305 workers counted are within 5 of tier 2's line of 300 workers."


def test_a_case_just_above_its_line_is_flagged(personas, version):
    broker = personas.broker_org
    tier_year(personas, broker, workers=2, wages="2040000.00")  # 2% above 2,000,000; the count does not matter
    claim = make_claim(version, broker=broker, amount=None, is_case=True, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.JUST_OVER_TIER]
    assert (flag.params["tier"], flag.params["near_wages"], flag.params["workers_line"]) == ("case", True, None)
    assert en(flag) == ("Wages issued of 2,040,000 yuan are within 2% above the one-strategy-for-one-event line "
                        "of 2,000,000 yuan.")
    assert Code.WORKERS_JUST_OVER_MINIMUM not in flags_of(claim)


# --- a year-end spike ----------------------------------------------------------------------------

@pytest.mark.parametrize(("december", "flagged"), [("2000.01", True), ("2000.00", False)])
def test_december_above_twice_the_monthly_average_of_january_to_november(personas, version, december, flagged):
    broker = personas.broker_org
    (worker,) = hire(personas, 1)
    for month in range(1, 12):
        pay(broker, {worker: D("1000.00")}, paid_on=dt.date(YEAR, month, 15))  # average 1,000.00
    batch = pay(broker, {worker: D(december)}, paid_on=dt.date(YEAR, 12, 31))
    pay(broker, {worker: D("99999.00")}, paid_on=dt.date(YEAR + 1, 1, 2))  # next year's, not December's
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim).get(Code.YEAR_END_SPIKE)
    assert (flag is not None) is flagged
    if flagged:
        assert flag.params == {"year": YEAR, "december": "2000.01", "average": "1000.00", "ratio": "2.0",
                               "factor": "2"}
        assert flag.records == [{"kind": "payout_batch", "id": batch.pk}]
        assert en(flag) == ("Wages issued in December 2025, 2,000.01 yuan, were 2.0 times the monthly average of "
                            "January to November (1,000 yuan); flagged above 2 times.")


def test_wages_only_in_december_are_a_spike(personas, version):
    broker = personas.broker_org
    (worker,) = hire(personas, 1)
    pay(broker, {worker: D("800.00")}, paid_on=dt.date(YEAR, 12, 1))
    claim = make_claim(version, broker=broker, year=YEAR)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.YEAR_END_SPIKE]
    assert flag.params["ratio"] is None
    assert en(flag) == "Wages issued in December 2025, 800 yuan, with none from January to November."


# --- open disputes, a loan registered late, village claims ---------------------------------------

def test_open_disputes_at_the_broker_are_flagged_with_the_disputes(personas, version):
    shop = open_shop(personas)
    logs = [r.log for r in bs.piece_logs_record(actor=personas.broker, rows=[
        row(personas.worker_record, shop.bundles[0], shop.procedures[0], 5) for _ in range(3)])]
    first, second, resolved = (bs.dispute_open(actor=personas.worker, log_id=log.pk, kind=Dispute.Kind.NOT_MINE)
                               for log in logs)
    bs.dispute_resolve(actor=personas.broker, dispute_id=resolved.pk, accept=False, resolution="核对无误")
    claim = make_claim(version, broker=personas.broker_org, year=YEAR)
    rival = add_claim(claim.evaluation, broker=personas.rival_org)
    flag_claims(claim.evaluation)
    flag = flags_of(claim)[Code.OPEN_DISPUTES]
    assert flag.records == [{"kind": "dispute", "id": first.pk}, {"kind": "dispute", "id": second.pk}]
    assert en(flag) == "2 worker disputes are open at the broker."
    assert Code.OPEN_DISPUTES not in flags_of(rival)


def loan(personas, *, start: dt.date, registered_at: dt.datetime) -> Loan:
    return Loan.objects.create(broker=personas.broker_org, lender="遂昌农商银行", principal=D("50000.00"), start=start,
                               registered_by=personas.broker, registered_at=registered_at)


def test_a_loan_registered_after_its_start_local_date_is_flagged(personas, version):
    start = dt.date(YEAR, 3, 1)
    same_day = loan(personas, start=start, registered_at=dt.datetime(YEAR, 3, 1, 23, 30, tzinfo=LOCAL))
    next_day = loan(personas, start=start, registered_at=dt.datetime(YEAR, 3, 2, 0, 30, tzinfo=LOCAL))
    assert next_day.registered_at.astimezone(dt.timezone.utc).date() == start  # in UTC still the start day
    evaluation = make_claim(version, broker=personas.broker_org, kind=rules.LOAN_INTEREST, amount=D("250.00"),
                            year=YEAR, loan=same_day).evaluation
    late = add_claim(evaluation, broker=personas.broker_org, kind=rules.LOAN_INTEREST, amount=D("250.00"),
                     loan=next_day)
    flag_claims(evaluation)
    assert flags_of(evaluation.claims.get(loan=same_day)) == {}
    flag = flags_of(late)[Code.LOAN_REGISTERED_LATE]
    assert flag.params == {"registered_on": "2025-03-02", "start": "2025-03-01", "days_late": 1}
    assert flag.records == [{"kind": "loan", "id": next_day.pk}]
    assert en(flag) == "The loan was registered on 2025-03-02, 1 day after its start on 2025-03-01."


def test_village_claims_get_no_broker_flags(personas, version):
    claim = make_claim(version, village=personas.home["village"], kind=rules.TOP_VILLAGES, amount=D("10000.00"),
                       year=YEAR)
    assert flag_claims(claim.evaluation) == 0
    assert flag_claims(Evaluation.objects.create(version=version, period="year", period_start=dt.date(YEAR, 1, 1))) == 0


# --- set-based and idempotent --------------------------------------------------------------------

def county_of_brokers(personas, version, n: int) -> Evaluation:
    """`n` brokers of the county with a claim each, every flag but the loan's raised somewhere."""
    evaluation = Evaluation.objects.create(version=version, period="year", period_start=dt.date(YEAR, 1, 1))
    shared = hire(personas, 1)[0]
    for _ in range(n):
        broker = OrganisationFactory(name=f"经纪人{next(_n)}", jurisdiction=personas.home["township"])
        people = hire(personas, 3)
        pay(broker, {shared: D("2050.00"), people[0]: D("210000.00"), people[1]: D("2000.00")},
            paid_on=dt.date(YEAR, 12, 20))
        add_claim(evaluation, broker=broker)
    return evaluation


def test_the_queries_do_not_grow_with_the_claims_and_a_second_run_adds_nothing(personas, version):
    small, large = county_of_brokers(personas, version, 2), county_of_brokers(personas, version, 8)
    with CaptureQueriesContext(connection) as few:
        made_small = flag_claims(small)
    with CaptureQueriesContext(connection) as many:
        made_large = flag_claims(large)
    assert len(many.captured_queries) == len(few.captured_queries) <= 12
    # each claim: two shared workers just over (2 of 3 counted), a shared worker, the spike
    codes = {Code.WORKERS_JUST_OVER_MINIMUM, Code.NATIONAL_ID_TWO_BROKERS, Code.YEAR_END_SPIKE}
    assert set(RiskFlag.objects.filter(claim__evaluation=large).values_list("code", flat=True)) == codes
    assert (made_small, made_large) == (2 * 3, 8 * 3)
    assert flag_claims(large) == 0
    assert RiskFlag.objects.filter(claim__evaluation=large).count() == 8 * 3
