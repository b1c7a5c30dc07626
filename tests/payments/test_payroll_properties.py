"""Properties of payroll money, for any piece logs hypothesis can think of:

  (a) a run's total is the sum of its payslips' rounded lines, and equals the sum over (worker,
      procedure, rate) of round-half-up(Σ pieces × rate), computed here without core.money;
  (b) over two months with a close in between, logs and reversals before and after it, every
      piece log is settled by exactly one closed run, the pieces on the payslips are the pieces
      logged, what is paid less what is still carried is what was earned, and retrying the
      bank's answer never pays twice: the ledger balances and every payable ends at zero.

The world is built once per test; each example runs in a savepoint that is rolled back, so every
example starts from the same fresh state (no logs, the first rates in force, no runs)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from brokers import services as bs
from brokers.models import Membership, PieceLog, WorkMode
from payments.errors import BatchAlreadyPaid
from payments.models import Account, Entry, PayoutBatch, PayoutItem, PayrollRun, PayslipLine, Transaction
from payments.payouts import batch_mark_paid
from payments.payroll import Window, month_end, payroll_close, payroll_preview, settled_logs
from payments.selectors import balance
from payments.services import account_for

from ..factories import MembershipFactory, WorkerFactory
from .payroll_world import World, last_month, log, month_before_last, payroll_world, ym

pytestmark = pytest.mark.django_db
D = Decimal
K = PayslipLine.Kind
P = Account.Purpose
# Bead work and knots: half-fen lines are common (7 × 0.0125 = 0.0875, 3 × 0.3550 = 1.065).
RATES = ((D("0.0125"), D("0.0135"), D("0.0175")), (D("0.3500"), D("0.3550"), D("0.4005")))
BUNDLES = 4  # of 250 pieces each


def fen_half_up(value: Decimal) -> Decimal:
    """Independent of core.money: to the fen, half up, away from zero for a negative value."""
    sign = -1 if value < 0 else 1
    return sign * D(int(abs(value) * 100 + D("0.5"))) / 100


def _world(personas) -> World:
    """Built once per test (hypothesis runs every example with the same fixtures): the bead world
    and a second home worker, both members since long ago and with bank details."""
    w = getattr(personas, "payroll_props_world", None)
    if w is None:
        w = payroll_world(personas, quantity=1000, size=250)
        zhao = WorkerFactory(name="赵小红", village=personas.home["village"], work_mode=WorkMode.HOME,
                             bank_name="遂昌农商银行", bank_account="6230910099990000")
        MembershipFactory(broker=personas.broker_org, worker=zhao)
        Membership.objects.filter(broker=personas.broker_org).update(started_on=dt.date(2020, 1, 1))
        w.workers = [w.worker, zhao]
        personas.payroll_props_world = w
    return w


def in_savepoint(check):
    with transaction.atomic():
        check()
        transaction.set_rollback(True)  # the next example starts from the same fresh world


# --- (a) totals are sums of rounded lines --------------------------------------------------------

piece_logs = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 2), st.integers(1, 40),
                                st.integers(1, 28)), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(logs=piece_logs)
def test_a_run_total_is_the_sum_of_its_rounded_lines(personas, logs):
    w = _world(personas)
    in_savepoint(lambda: _totals(w, logs))


def _totals(w: World, logs) -> None:
    month = last_month()
    in_force = [RATES[0][0], RATES[1][0]]
    pieces: dict[tuple[int, int, Decimal], int] = defaultdict(int)
    for index, (worker, procedure, rate_index, quantity, day) in enumerate(logs):
        rate = RATES[procedure][rate_index]
        if in_force[procedure] != rate:  # the broker changes the rate; logs keep the one in force
            bs.piece_rate_set(actor=w.p.broker, award_id=w.shop.award.pk, procedure_id=w.shop.procedures[procedure].pk,
                              rate=rate)
            in_force[procedure] = rate
            event("a rate changes")
        logged = log(w, quantity, day=month.replace(day=day), worker=w.workers[worker], procedure=procedure,
                     bundle=index % BUNDLES)
        assert logged.rate == rate
        pieces[(worker, procedure, rate)] += quantity

    run, _created = payroll_preview(actor=w.p.broker, month=ym(month))
    expected_total = D("0.00")
    for index, worker in enumerate(w.workers):
        expected = {(procedure, rate): (quantity, fen_half_up(quantity * rate))
                    for (x, procedure, rate), quantity in pieces.items() if x == index}
        slip = run.payslips.filter(worker=worker).first()
        if not expected:
            assert slip is None
            continue
        lines = list(slip.lines.select_related("procedure"))
        assert {line.kind for line in lines} == {K.PIECES}
        assert {(line.procedure.sequence - 1, line.rate): (line.quantity, line.amount) for line in lines} == expected
        assert len(lines) == len(expected)  # one line per (procedure, rate)
        assert slip.total == sum((line.amount for line in lines), D("0.00"))
        assert slip.total == sum((amount for _q, amount in expected.values()), D("0.00"))
        expected_total += slip.total
    assert run.total == expected_total
    assert run.total == sum((fen_half_up(q * rate) for (_w, _p, rate), q in pieces.items()), D("0.00"))


# --- (b) settled once, paid once -----------------------------------------------------------------

fresh_log = st.tuples(st.just("log"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 30),
                      st.integers(0, 1), st.integers(1, 28))
reversal = st.tuples(st.just("reverse"), st.integers(0, 1000), st.one_of(st.none(), st.integers(1, 30)))
operations = st.lists(st.one_of(fresh_log, fresh_log, reversal), max_size=10)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(before=operations, after=operations, retries=st.integers(1, 3))
def test_every_log_is_settled_once_and_paid_once_across_a_close(personas, before, after, retries):
    w = _world(personas)
    in_savepoint(lambda: _settle_and_pay(w, before, after, retries))


def _settle_and_pay(w: World, before, after, retries: int) -> None:
    months = (month_before_last(), last_month())
    originals: list[PieceLog] = []  # logs that may still be reversed
    count = 0

    def apply(ops) -> None:
        nonlocal count
        for op in ops:
            if op[0] == "log":
                _, worker, procedure, quantity, month, day = op
                # the broker's owner, with a reason: after the first close, work of its month is an adjustment
                originals.append(log(w, quantity, day=months[month].replace(day=day), worker=w.workers[worker],
                                     procedure=procedure, bundle=count % BUNDLES, reason="补记"))
            elif originals:
                _, which, quantity = op
                target = originals.pop(which % len(originals))
                bs.piece_log_reverse(actor=w.p.broker, log_id=target.pk, reason="点错了",
                                     quantity=None if quantity is None else min(quantity, target.quantity))
            count += 1

    apply(before)
    first = _close(w, months[0])
    apply(after)
    late = PieceLog.objects.filter(pk__gt=first.watermark, work_date__lte=month_end(months[0]))
    event(f"late work for the closed month: {late.exists()}")
    second = _close(w, months[1])
    event(f"a balance carried forward: {PayslipLine.objects.filter(kind=K.CARRIED_FORWARD).exists()}")
    runs = [first, second]

    # every log settled by exactly one run
    settled = [_settled_ids(run) for run in runs]
    assert settled[0].isdisjoint(settled[1])
    assert settled[0] | settled[1] == set(PieceLog.objects.values_list("pk", flat=True))

    # the pieces on the payslips are the pieces logged, per worker, month, procedure and rate
    on_slips: dict[tuple, int] = defaultdict(int)
    for line in PayslipLine.objects.filter(kind__in=[K.PIECES, K.ADJUSTMENT]):
        assert line.amount == fen_half_up(line.quantity * line.rate)
        on_slips[(line.payslip.worker_id, line.work_month, line.procedure_id, line.rate)] += line.quantity
    logged: dict[tuple, int] = defaultdict(int)
    for entry in PieceLog.objects.values("worker_id", "work_date", "procedure_id", "rate", "quantity"):
        logged[(entry["worker_id"], entry["work_date"].replace(day=1), entry["procedure_id"], entry["rate"])] += \
            entry["quantity"]
    assert {k: v for k, v in on_slips.items() if v} == {k: v for k, v in logged.items() if v}

    for run in runs:
        run.refresh_from_db()
        for slip in run.payslips.all():
            assert slip.total == sum((line.amount for line in slip.lines.all()), D("0.00")) and slip.total >= 0
        assert run.total == sum((slip.total for slip in run.payslips.all()), D("0.00"))

    # the bank's answer, sent again and again; a different answer is refused
    today = timezone.localdate()
    for batch in PayoutBatch.objects.filter(run__in=runs):
        reference = f"BK-{uuid.uuid4().hex[:8]}"
        for attempt in range(retries):
            _batch, recorded = batch_mark_paid(actor=w.p.broker, batch_id=batch.pk, bank_reference=reference,
                                               paid_on=today)
            assert recorded == (attempt == 0)
        with pytest.raises(BatchAlreadyPaid):
            batch_mark_paid(actor=w.p.broker, batch_id=batch.pk, bank_reference=reference + "-X", paid_on=today)

    broker = w.p.broker_org
    paid_out = D("0.00")
    for worker in w.workers:
        earned = sum((line.amount for line in PayslipLine.objects.filter(
            payslip__worker=worker, kind__in=[K.PIECES, K.ADJUSTMENT])), D("0.00"))
        still_owed = sum((line.amount for line in PayslipLine.objects.filter(
            payslip__run=second, payslip__worker=worker, kind=K.CARRIED_FORWARD)), D("0.00"))
        paid = sum((item.amount for item in PayoutItem.objects.filter(worker=worker, status=PayoutItem.Status.PAID)),
                   D("0.00"))
        assert PayoutItem.objects.filter(worker=worker).exclude(status=PayoutItem.Status.PAID).count() == 0
        assert paid - still_owed == earned
        assert balance(account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=broker, worker=worker)) == D("0.00")
        paid_out += paid
    assert balance(account_for(purpose=P.BROKER_CASH, organisation=broker)) == -paid_out
    assert balance(account_for(purpose=P.BROKER_WAGES_EXPENSE, organisation=broker)) == first.total + second.total
    assert sum((e.amount.amount for e in Entry.objects.all()), D("0.00")) == D("0.00")
    assert Transaction.objects.filter(kind="payout").count() == PayoutBatch.objects.filter(run__in=runs).count()
    assert all(run.status == PayrollRun.Status.PAID for run in PayrollRun.objects.filter(pk__in=[r.pk for r in runs]))


def _close(w: World, month: dt.date) -> PayrollRun:
    run, _created = payroll_preview(actor=w.p.broker, month=ym(month))
    return payroll_close(actor=w.p.broker, run_id=run.pk)


def _settled_ids(run: PayrollRun) -> set[int]:
    window = Window(run.since_month, run.since_watermark, run.watermark)
    return set(settled_logs(run.broker_id, run.month, window).values_list("pk", flat=True))
