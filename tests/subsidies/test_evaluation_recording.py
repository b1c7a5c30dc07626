"""Recording an evaluation: a re-run never duplicates a claim; changed inputs (a late payslip, a
broker reclassified) replace a claim nobody has approved, or add an adjustment claim that names
the claim it corrects and the difference once money is committed; a rejected claim with the same
inputs stays rejected; the run is idempotent, refuses unfinished periods, fails visibly, tells the
county's auditors, and its query count does not grow with the number of brokers."""
from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import Conflict, ValidationFailed
from subsidies import rules
from subsidies.models import AuditEvent, Claim, ClaimEvidence, Evaluation, PolicyVersion
from subsidies.services import evaluation as service
from subsidies.services.evaluation import request_evaluation, run_evaluation
from subsidies.tasks import evaluate as evaluate_task

from .test_evaluation import JAN_1, Y, claims, evaluate
from .world import CountyWorld, county_world

pytestmark = pytest.mark.django_db
D = Decimal
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def w() -> CountyWorld:
    return county_world()


def tier_1(w: CountyWorld):
    """A general broker at 499,999.00 with 301 workers (counted from 1,000 yuan): tier 1 (2,000),
    1.01 yuan short of tier 2."""
    w.set_params(rules.BROKER_REWARD_GENERAL, worker_minimum_paid="1000")
    broker = w.broker()
    team = w.workers(301)
    w.pay_evenly(broker, team, "499999.00", on=dt.date(Y, 6, 30))
    return broker, team


def approve(claim: Claim, w: CountyWorld) -> None:
    """Set up an approved claim as review would leave it (the constraints allow it: one approver
    suffices at 2,000)."""
    Claim.objects.filter(pk=claim.pk).update(status=Claim.Status.APPROVED, approved_by=w.staff,
                                             approved_at=timezone.now())


# --- re-runs -------------------------------------------------------------------------------------

def test_a_second_evaluation_with_the_same_inputs_creates_nothing(w):
    broker, _team = tier_1(w)
    w.invoice(broker, "500.00", on=dt.date(Y, 4, 1))
    first = evaluate(w)
    before = list(Claim.objects.order_by("id").values_list("id", "key", "fingerprint", "status"))
    evidence = ClaimEvidence.objects.count()
    second = evaluate(w)
    assert second.pk != first.pk
    assert first.counts == {"created": 2, "adjusted": 0, "superseded": 0, "unchanged": 0, "flags": 0}
    assert second.counts == {"created": 0, "adjusted": 0, "superseded": 0, "unchanged": 2, "flags": 0}
    assert list(Claim.objects.order_by("id").values_list("id", "key", "fingerprint", "status")) == before
    assert ClaimEvidence.objects.count() == evidence


def test_a_second_delivery_of_a_done_evaluation_does_nothing(w):
    tier_1(w)
    done = evaluate(w)
    finished = done.finished_at
    again = run_evaluation(done.pk)
    assert again.status == Evaluation.Status.DONE and again.finished_at == finished
    assert Claim.objects.count() == 1


def test_a_late_payslip_replaces_a_computed_claim(w):
    broker, team = tier_1(w)
    evaluate(w)
    [old] = claims(rules.BROKER_REWARD_GENERAL)
    # a December payslip paid in the year lifts the broker into tier 2
    w.pay(broker, {team[0]: "1.01"}, on=dt.date(Y, 12, 31))
    rerun = evaluate(w)
    old.refresh_from_db()
    new = Claim.objects.get(evaluation=rerun)
    assert old.status == Claim.Status.SUPERSEDED and old.superseded_at is not None
    assert (new.key, new.subject, new.adjusts_id, new.is_adjustment) == (f"{old.subject}:2", old.subject, old.pk,
                                                                         False)
    assert (new.amount, new.status, new.inputs["wages_issued"]) == (D("5000.00"), Claim.Status.COMPUTED, "500000.01")
    assert rerun.counts == {"created": 0, "adjusted": 1, "superseded": 1, "unchanged": 0, "flags": 1}
    assert new.evidence.filter(kind=ClaimEvidence.Kind.PAYOUT_BATCH).count() == 2


def test_a_late_payslip_after_approval_adds_an_adjustment_for_the_difference(w):
    broker, team = tier_1(w)
    evaluate(w)
    [approved] = claims(rules.BROKER_REWARD_GENERAL)
    approve(approved, w)
    w.pay(broker, {team[0]: "1.01"}, on=dt.date(Y, 12, 31))
    rerun = evaluate(w)
    approved.refresh_from_db()
    adjustment = Claim.objects.get(evaluation=rerun)
    assert approved.status == Claim.Status.APPROVED  # committed money is never silently changed
    assert adjustment.is_adjustment and adjustment.adjusts_id == approved.pk
    assert adjustment.key == f"{approved.subject}:2" and adjustment.amount == D("3000.00")  # 5,000 − 2,000
    assert adjustment.needs_second_approval is False
    assert adjustment.inputs["adjusts"] == approved.key and adjustment.inputs["committed"] == "2000.00"
    assert f"更正 {approved.key}，差额 +3,000.00 元" in adjustment.sentence_zh
    assert f"corrects {approved.key}, difference +3,000.00 yuan" in adjustment.sentence_en
    assert rerun.counts["adjusted"] == 1 and rerun.counts["created"] == 0
    # and again: the adjustment stands for the new figures, nothing more
    assert evaluate(w).counts == {"created": 0, "adjusted": 0, "superseded": 0, "unchanged": 1, "flags": 0}


def test_a_changed_adjustment_is_superseded_by_a_new_one_for_the_whole_difference(w):
    broker, team = tier_1(w)
    evaluate(w)
    [approved] = claims(rules.BROKER_REWARD_GENERAL)
    approve(approved, w)
    w.pay(broker, {team[0]: "1.01"}, on=dt.date(Y, 12, 31))
    evaluate(w)
    first_fix = Claim.objects.get(is_adjustment=True)
    w.pay(broker, {x: "2500" for x in w.workers(200)} | {team[1]: "500000"}, on=dt.date(Y, 12, 30))  # tier 3
    evaluate(w)
    first_fix.refresh_from_db()
    second_fix = Claim.objects.get(is_adjustment=True, status=Claim.Status.COMPUTED)
    assert first_fix.status == Claim.Status.SUPERSEDED
    assert (second_fix.amount, second_fix.adjusts_id, second_fix.key) == (D("8000.00"), approved.pk,
                                                                         f"{approved.subject}:3")
    assert second_fix.needs_second_approval  # 8,000 > 5,000


def test_a_claim_no_longer_due_is_superseded_or_taken_back(w):
    computed_broker, _ = tier_1(w)
    approved_broker, _ = tier_1(w)
    evaluate(w)
    approve(Claim.objects.get(broker=approved_broker), w)
    # both brokers turn out to be machinery processing: the general reward is not theirs
    for broker in (computed_broker, approved_broker):
        broker.broker_profile.category = "machinery"
        broker.broker_profile.save()
    rerun = evaluate(w)
    assert Claim.objects.get(broker=computed_broker, kind=rules.BROKER_REWARD_GENERAL).status == \
        Claim.Status.SUPERSEDED
    taken_back = Claim.objects.get(evaluation=rerun, kind=rules.BROKER_REWARD_GENERAL)
    original = Claim.objects.get(broker=approved_broker, is_adjustment=False, kind=rules.BROKER_REWARD_GENERAL)
    assert (taken_back.broker_id, taken_back.amount, taken_back.adjusts_id) == (approved_broker.pk, D("-2000.00"),
                                                                                 original.pk)
    assert taken_back.is_adjustment and "-2,000.00" in taken_back.sentence_en
    assert rerun.counts["superseded"] == 1 and rerun.counts["adjusted"] == 1
    # machinery tier 1 needs 500,000 > 499,999: no machinery claims either; a re-run changes nothing
    assert not Claim.objects.filter(kind=rules.BROKER_REWARD_MACHINERY).exists()
    assert evaluate(w).counts["adjusted"] == 0


def test_a_rejected_claim_with_the_same_inputs_stays_rejected(w):
    broker, team = tier_1(w)
    evaluate(w)
    [claim] = claims(rules.BROKER_REWARD_GENERAL)
    Claim.objects.filter(pk=claim.pk).update(status=Claim.Status.REJECTED, rejected_by=w.staff,
                                             rejected_at=timezone.now(), reject_reason="工人名单不实")
    assert evaluate(w).counts["unchanged"] == 1
    assert Claim.objects.count() == 1
    # changed inputs are a new claim, naming the rejected one
    w.pay(broker, {team[0]: "1.01"}, on=dt.date(Y, 12, 31))
    evaluate(w)
    new = Claim.objects.exclude(pk=claim.pk).get()
    assert (new.amount, new.adjusts_id, new.status) == (D("5000.00"), claim.pk, Claim.Status.COMPUTED)


def test_the_ranking_frozen_into_village_claims_ignores_changes_below_the_runner_up(w):
    w.enable_only(rules.TOP_VILLAGES)
    villages = [*w.villages, w.village(), w.village()]
    for village in villages:
        w.village_status(village, on=dt.date(Y - 1, 1, 1))
    broker = w.broker()
    paid = {}
    for n, village in enumerate(villages):
        paid.update({x: str(1000 - 100 * n) for x in w.workers(1, village=village)})
    w.pay(broker, paid, on=dt.date(Y, 5, 31))
    evaluate(w)
    w.pay(broker, {x: "1.00" for x in w.workers(1, village=villages[4])}, on=dt.date(Y, 6, 30))  # fifth place
    assert evaluate(w).counts["unchanged"] == 3


# --- requests ------------------------------------------------------------------------------------

def at(day: dt.date, hour: int = 0, minute: int = 30):
    return time_machine.travel(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI), tick=False)


def test_a_period_that_has_not_ended_is_refused(w):
    with at(dt.date(Y, 12, 31), 23, 59):
        with pytest.raises(Conflict) as refused:
            request_evaluation(actor=w.staff, version=w.version, period="year", period_start=JAN_1)
        assert refused.value.code == "period_not_ended"
        with pytest.raises(Conflict) as refused:
            request_evaluation(actor=w.staff, version=w.version, period="month", period_start=dt.date(Y, 12, 1))
        assert refused.value.code == "period_not_ended"
    with at(dt.date(Y + 1, 1, 1)):  # 00:30 in Suichang, still 31 December in UTC
        evaluation = request_evaluation(actor=w.staff, version=w.version, period="year", period_start=JAN_1)
    assert evaluation.status == Evaluation.Status.QUEUED


@pytest.mark.parametrize("period, start", [("year", dt.date(Y, 2, 1)), ("month", dt.date(Y, 3, 2)),
                                           ("week", dt.date(Y, 3, 1))])
def test_a_period_starts_on_its_first_day(w, period, start):
    with at(dt.date(Y + 2, 1, 1)), pytest.raises(ValidationFailed) as refused:
        request_evaluation(actor=w.staff, version=w.version, period=period, period_start=start)
    assert set(refused.value.fields) <= {"period", "period_start"} and refused.value.fields


def test_only_a_version_in_force_is_evaluated_and_a_draft_is_simulated(w):
    draft = PolicyVersion.objects.create(policy=w.policy, number=2, annual_budget=D("1000.00"))
    # one active version per policy: the year's version ended with the year, the next one starts after it
    PolicyVersion.objects.filter(pk=w.version.pk).update(status=PolicyVersion.Status.RETIRED,
                                                         effective_to=dt.date(Y, 12, 31))
    early = PolicyVersion.objects.create(policy=w.policy, number=3, status=PolicyVersion.Status.ACTIVE,
                                         effective_from=dt.date(Y + 1, 1, 1), annual_budget=D("1000.00"))
    with at(dt.date(Y + 1, 2, 1)):
        for version in (draft, early):
            with pytest.raises(Conflict) as refused:
                request_evaluation(actor=w.staff, version=version, period="year", period_start=JAN_1)
            assert refused.value.code == "version_not_in_force"
        simulated = request_evaluation(actor=w.staff, version=draft, period="year", period_start=JAN_1,
                                       simulation=True)
    assert simulated.simulation and simulated.status == Evaluation.Status.QUEUED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIMULATE, object_id=simulated.pk).exists()


def test_a_queued_request_is_not_duplicated_and_is_audited_and_sent_on_commit(w, monkeypatch,
                                                                              django_capture_on_commit_callbacks):
    sent: list[int] = []
    monkeypatch.setattr(service, "_send", sent.append)
    with at(dt.date(Y + 1, 1, 5)), django_capture_on_commit_callbacks(execute=True):
        first = request_evaluation(actor=w.staff, version=w.version, period="year", period_start=JAN_1)
        again = request_evaluation(actor=None, version=w.version, period="year", period_start=JAN_1)
    assert again.pk == first.pk and sent == [first.pk]
    event = AuditEvent.objects.get(action=AuditEvent.Action.EVALUATE)
    assert (event.actor, event.object_type, event.object_id, event.county_id) == (w.staff, "evaluation", first.pk,
                                                                                  w.county.pk)
    assert event.after == {"version": w.version.pk, "period": "year", "period_start": f"{Y}-01-01",
                           "simulation": False}


def test_a_failing_run_is_marked_failed_with_its_error(w, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("figures unavailable")

    monkeypatch.setattr(service, "compute", broken)
    with at(dt.date(Y + 1, 1, 5)):
        evaluation = request_evaluation(actor=w.staff, version=w.version, period="year", period_start=JAN_1)
        with pytest.raises(RuntimeError):
            run_evaluation(evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.FAILED and evaluation.error == "RuntimeError: figures unavailable"
    assert not Claim.objects.exists()


def test_a_failing_run_queued_in_process_does_not_fail_the_request_that_queued_it(
        w, monkeypatch, django_capture_on_commit_callbacks):
    """With tasks run in-process (the embedded setup, and the tests), the task runs in the
    request's on-commit hook: its failure is recorded on the evaluation, not raised into the
    request (which would answer 500 after its work was committed)."""
    def broken(*args, **kwargs):
        raise RuntimeError("figures unavailable")

    monkeypatch.setattr(service, "compute", broken)
    # in-process as the embedded setup runs it, whatever broker this test run has (eager errors propagate)
    monkeypatch.setattr(service, "_send", lambda evaluation_id: evaluate_task.apply(args=[evaluation_id]))
    with at(dt.date(Y + 1, 1, 5)), django_capture_on_commit_callbacks(execute=True):
        evaluation = request_evaluation(actor=w.staff, version=w.version, period="year", period_start=JAN_1)
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.FAILED and evaluation.error == "RuntimeError: figures unavailable"


def test_progress_and_completion_reach_the_countys_auditors(w, monkeypatch, django_capture_on_commit_callbacks):
    events: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(service, "send_now", lambda group, kind, payload: events.append((group, kind, payload)))
    monkeypatch.setattr(sys.modules["core.realtime.publish"], "send_now",
                        lambda group, kind, payload, event_id=None: events.append((group, kind, payload)))
    monkeypatch.setattr(service, "_send", lambda evaluation_id: None)  # the test runs it itself
    tier_1(w)
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = evaluate(w)
    group = f"county.{w.county.pk}.auditors"
    assert {g for g, _k, _p in events} == {group} and {k for _g, k, _p in events} == {"subsidy.evaluation"}
    progress = [p["kind"] for _g, _k, p in events if p["status"] == "running"]
    assert progress == [k for k in rules.RULE_KINDS if k != rules.LOAN_INTEREST]
    done = events[-1][2]
    assert done["status"] == "done" and done["evaluation"] == evaluation.pk and done["counts"]["created"] == 1


# --- scale ---------------------------------------------------------------------------------------

def county_of(w: CountyWorld, n: int) -> None:
    """`n` brokers, each with 101 workers paid in the year, a loan, and fee income both years."""
    for i in range(n):
        broker = w.broker(category="machinery" if i % 3 == 0 else "general")
        team = w.workers(101, village=w.villages[i % len(w.villages)])
        w.pay(broker, {x: "2500" for x in team}, on=dt.date(Y, 3, 31))
        w.pay(broker, {x: "100" for x in team[:10]}, on=dt.date(Y, 9, 30))
        w.invoice(broker, "1000.00", on=dt.date(Y - 1, 3, 1))
        w.invoice(broker, str(2000 + i), on=dt.date(Y, 3, 1))
        w.relocation(broker, on=dt.date(Y, 5, 1))
    for village in w.villages:
        w.village_status(village, on=dt.date(Y, 2, 1))


def queries_of_a_run(w: CountyWorld) -> list[str]:
    """The statements of a run other than its bulk INSERTs (SQLite splits a bulk insert into
    statements of at most 999 parameters, so their number follows the rows, not the brokers)."""
    with at(dt.date(Y + 1, 1, 5)):
        evaluation = request_evaluation(actor=w.staff, version=w.version, period="year", period_start=JAN_1)
        with CaptureQueriesContext(connection) as run:
            run_evaluation(evaluation.pk)
    return [q["sql"] for q in run.captured_queries if not q["sql"].lstrip().upper().startswith("INSERT")]


def test_the_query_count_does_not_grow_with_the_number_of_brokers(django_assert_max_num_queries):
    small, large = county_world("小县"), county_world("大县")
    county_of(small, 2)
    county_of(large, 7)
    few, many = queries_of_a_run(small), queries_of_a_run(large)
    assert len(few) == len(many), (len(few), len(many))
    # 4 general rewards (the 3 machinery brokers are below machinery's 500,000), 7 freight, 7 relocations,
    # 3 new professional villages and the top 3
    assert Claim.objects.filter(county=large.county).count() == 4 + 7 + 7 + 3 + 3
    with at(dt.date(Y + 1, 1, 6)):
        evaluation = request_evaluation(actor=large.staff, version=large.version, period="year", period_start=JAN_1)
        with django_assert_max_num_queries(40):
            run_evaluation(evaluation.pk)


def test_a_rejected_adjustment_is_not_proposed_again_for_the_same_inputs(w):
    broker, team = tier_1(w)
    evaluate(w)
    approve(Claim.objects.get(), w)
    w.pay(broker, {team[0]: "1.01"}, on=dt.date(Y, 12, 31))
    evaluate(w)
    adjustment = Claim.objects.get(is_adjustment=True)
    Claim.objects.filter(pk=adjustment.pk).update(status=Claim.Status.REJECTED, rejected_by=w.staff,
                                                  rejected_at=timezone.now(), reject_reason="补发工资存疑")
    assert evaluate(w).counts == {"created": 0, "adjusted": 0, "superseded": 0, "unchanged": 1, "flags": 0}
    assert Claim.objects.count() == 2


def test_a_run_reads_the_county_years_payouts_once_for_compute_and_flags(w, monkeypatch):
    """The big read (every paid payout item of the county's year) is shared: compute's figures and
    the risk flags take it from one `CountyYearPayouts`, loaded once per run."""
    from payments import figures

    loads: list[tuple[int, int]] = []
    original = figures.CountyYearPayouts._load

    def counted(self):
        if not self._read:
            loads.append((self.year, self.county_id))
        return original(self)

    monkeypatch.setattr(figures.CountyYearPayouts, "_load", counted)
    tier_1(w)
    evaluation = evaluate(w)
    assert evaluation.counts["created"] == 1  # a broker reward claim: the flags read the year's pay for it too
    assert loads == [(Y, w.county.pk)]
