"""Monthly payroll through the real services: the payslip lines to the fen (pieces per procedure and
rate, adjustments for late work, carried balances, the attendance bonus, the minimum-wage top-up),
the watermark window that settles every piece log exactly once, the rules on bad input, the
ledger, and the reconciliation of a payslip against the worker's provisional earnings."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone, translation

from accounts.models import MinimumWage
from brokers import services as bs
from brokers.models import Attendance, Membership, PieceLog, WorkMode, Worker
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from payments.errors import BatchAlreadyPaid, EarlierRunOpen, MonthNotOver, PeriodClosed, RunNotPreview
from payments.models import Account, Entry, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine, Transaction
from payments.payouts import batch_mark_paid
from payments.payroll import (
    Window, describe, month_end, payroll_close, payroll_preview, payroll_recompute, reconciliation, settled_logs,
)
from payments.selectors import balance
from payments.services import account_for

from ..brokers.shop import open_shop
from ..brokers.test_piecework_race import finishes_while_locked
from ..factories import MembershipFactory, WorkerFactory
from .payroll_world import World, attend, last_month, log, month_before_last, payroll_world, this_month, ym

pytestmark = pytest.mark.django_db
D = Decimal
K = PayslipLine.Kind
P = Account.Purpose
LONG_AGO = dt.date(2020, 1, 1)
BEADS, KNOTS = 0, 1  # the world's procedures: 0.0125 and 0.3500 a piece


# --- the world ----------------------------------------------------------------------------------

@pytest.fixture
def w(personas) -> World:
    world = payroll_world(personas, quantity=1000, size=250)  # the order builder offers 1000 pieces
    # members since long ago, so any month a test reaches back to was worked
    Membership.objects.filter(broker=personas.broker_org).update(started_on=LONG_AGO)
    return world


def day(month: dt.date, n: int) -> dt.date:
    return month.replace(day=n)


def months_back(n: int) -> dt.date:
    month = this_month()
    for _ in range(n):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def hire(w: World, name: str, *, mode: str = WorkMode.FACTORY, roster: bool = False) -> Worker:
    worker = WorkerFactory(name=name, village=w.p.home["village"], work_mode=mode, full_time_roster=roster,
                           bank_name="遂昌农商银行", bank_account=f"62309100{name.encode().hex()[:8]}")
    MembershipFactory(broker=w.p.broker_org, worker=worker, started_on=LONG_AGO)
    return worker


def preview(w: World, month: dt.date) -> PayrollRun:
    run, _created = payroll_preview(actor=w.p.broker, month=ym(month))
    return run


def close(w: World, month: dt.date) -> PayrollRun:
    return payroll_close(actor=w.p.broker, run_id=preview(w, month).pk)


def slip_of(run: PayrollRun, worker: Worker) -> Payslip:
    return run.payslips.get(worker=worker)


def lines(slip: Payslip) -> list[tuple]:
    """(kind, work month, procedure index, rate, quantity, amount) in payslip order."""
    return [(line.kind, line.work_month, line.procedure.sequence - 1 if line.procedure_id else None, line.rate,
             line.quantity, line.amount) for line in slip.lines.select_related("procedure").order_by("position")]


def kinds(slip: Payslip) -> list[str]:
    return list(slip.lines.order_by("position").values_list("kind", flat=True))


def labels(slip: Payslip, language: str = "en") -> list[str]:
    """Each line's label in `language`; every explanation must render too (its params complete)."""
    with translation.override(language):
        described = [describe(line) for line in slip.lines.select_related("procedure").order_by("position")]
    assert all(label and explanation for label, explanation in described)
    return [label for label, _explanation in described]


def assert_sums(run: PayrollRun) -> None:
    """A payslip's total is the sum of its lines, exactly; the run's total the sum of its payslips."""
    run.refresh_from_db()
    for slip in run.payslips.all():
        assert slip.total == sum((line.amount for line in slip.lines.all()), D("0.00"))
        assert slip.total >= 0  # nobody is paid a negative amount
    assert run.total == sum((slip.total for slip in run.payslips.all()), D("0.00"))


def counts() -> tuple:
    """What payroll has written: runs (with their states), payslips, lines, postings, payouts."""
    return (PayrollRun.objects.count(), list(PayrollRun.objects.order_by("pk").values_list("status", "watermark")),
            Payslip.objects.count(), PayslipLine.objects.count(), Transaction.objects.count(),
            PayoutBatch.objects.count(), PayoutItem.objects.count())


def nothing_written_since(snapshot: tuple) -> bool:
    return snapshot == counts()


# --- payslip lines ------------------------------------------------------------------------------

def test_a_piece_line_per_procedure_and_rate_rounded_once_on_the_line(w):
    month = last_month()
    for n in range(7):  # seven logs of one piece: 0.0125 each would round to 0.01 each (0.07)
        log(w, 1, day=day(month, 1 + n))
    log(w, 3, day=day(month, 2), procedure=KNOTS)
    log(w, 10, day=day(month, 9), procedure=KNOTS, bundle=1)
    run = preview(w, month)
    assert lines(slip_of(run, w.worker)) == [
        (K.PIECES, month, BEADS, D("0.0125"), 7, D("0.09")),  # 0.0875 → 0.09
        (K.PIECES, month, KNOTS, D("0.3500"), 13, D("4.55")),
    ]
    assert slip_of(run, w.worker).total == D("4.64") and run.total == D("4.64")
    assert_sums(run)


@pytest.fixture
def tiny(personas) -> World:
    """Rates of half a fen and less: the county's minimum wage lowered to 1,000 a month so the
    fair-rate floor of 0.01 standard minutes is 0.0010 a piece."""
    MinimumWage.objects.create(county=personas.home["county"], monthly_amount=D("1000.00"), effective_from=LONG_AGO)
    shop = open_shop(personas, quantity=100, size=100, rates=("0.0050", "0.0015"),
                     procedures=[{"name": "穿珠", "standard_minutes": D("0.01")},
                                 {"name": "剪线", "standard_minutes": D("0.01")}])
    Membership.objects.filter(broker=personas.broker_org).update(started_on=LONG_AGO)
    return World(personas, shop, personas.worker_record)


@pytest.mark.parametrize("half_fen, tenth_fen, expected", [
    (1, 3, [D("0.01"), D("0.00")]),  # 0.0050 → 0.01 (half up, not to even); 0.0045 → 0.00 (not 0.005 → 0.01)
    (5, 7, [D("0.03"), D("0.01")]),  # 0.0250 → 0.03 (banker's rounding would give 0.02); 0.0105 → 0.01
    (3, 10, [D("0.02"), D("0.02")]),  # 0.0150 → 0.02; 0.0150 → 0.02
])
def test_half_a_fen_rounds_up_once_per_line(tiny, half_fen, tenth_fen, expected):
    month = last_month()
    log(tiny, half_fen, day=day(month, 3))
    log(tiny, tenth_fen, day=day(month, 4), procedure=1)
    slip = slip_of(preview(tiny, month), tiny.worker)
    assert [(rate, quantity, amount) for _k, _m, _p, rate, quantity, amount in lines(slip)] == [
        (D("0.0050"), half_fen, expected[0]), (D("0.0015"), tenth_fen, expected[1])]
    assert slip.total == sum(expected)


def test_a_rate_changed_mid_month_gives_a_line_per_rate(w):
    month = last_month()
    log(w, 4, day=day(month, 3))
    bs.piece_rate_set(actor=w.p.broker, award_id=w.shop.award.pk, procedure_id=w.shop.procedures[BEADS].pk,
                      rate=D("0.0135"), effective_from=timezone.now())
    log(w, 6, day=day(month, 2))  # logged at the new rate, whatever the work date
    log(w, 1, day=day(month, 20))
    run = preview(w, month)
    assert lines(slip_of(run, w.worker)) == [
        (K.PIECES, month, BEADS, D("0.0125"), 4, D("0.05")),
        (K.PIECES, month, BEADS, D("0.0135"), 7, D("0.09")),  # 0.0945 → 0.09
    ]
    assert run.total == D("0.14")


def set_bonus(w: World, *, enabled: bool = True, amount: str = "200.00", allowed: int = 2) -> None:
    bs.broker_profile_update(actor=w.p.broker, data={"attendance_bonus": D(amount), "attendance_bonus_enabled": enabled,
                                                     "late_days_allowed": allowed})


def test_the_attendance_bonus_follows_the_brokers_rule(w):
    month = last_month()
    set_bonus(w, allowed=2)
    punctual, late_twice, late_thrice = hire(w, "准时"), hire(w, "迟两天", mode=WorkMode.CENTRE), hire(w, "迟三天")
    on_leave, at_home = hire(w, "请假"), w.worker  # w.worker works at home
    attend(w, punctual, [day(month, d) for d in (1, 2, 3)])
    attend(w, late_twice, [day(month, d) for d in (1, 2, 3)])
    attend(w, late_twice, [day(month, d) for d in (4, 5)], Attendance.Mark.LATE)
    attend(w, late_thrice, [day(month, d) for d in (1, 2, 3)], Attendance.Mark.LATE)
    bs.attendance_mark(actor=w.p.broker, day=day(month, 6),
                       marks=[{"worker": on_leave.pk, "mark": Attendance.Mark.LEAVE, "leave_reason": "farm_season"}])
    attend(w, at_home, [day(month, d) for d in (1, 2, 3)])
    log(w, 8, day=day(month, 2), worker=late_thrice, procedure=KNOTS)
    run = preview(w, month)

    assert lines(slip_of(run, punctual)) == [(K.ATTENDANCE_BONUS, month, None, None, None, D("200.00"))]
    assert slip_of(run, punctual).lines.get().params == {"present": 3, "late": 0, "allowed": 2}
    late = slip_of(run, late_twice)
    assert kinds(late) == [K.ATTENDANCE_BONUS] and late.total == D("200.00")
    assert (late.days_present, late.days_late) == (5, 2)
    # late more days than allowed: piece pay only (8 × 0.35)
    assert lines(slip_of(run, late_thrice)) == [(K.PIECES, month, KNOTS, D("0.3500"), 8, D("2.80"))]
    # a leave is not presence, and home workers get no bonus: no payslip at all
    assert not run.payslips.filter(worker__in=[on_leave, at_home]).exists()
    assert run.total == D("402.80")
    assert_sums(run)


@pytest.mark.parametrize("enabled, amount", [(False, "200.00"), (True, "0.00")])
def test_a_bonus_switched_off_or_of_nothing_gives_no_line(w, enabled, amount):
    month = last_month()
    set_bonus(w, enabled=enabled, amount=amount)
    punctual = hire(w, "准时")
    attend(w, punctual, [day(month, d) for d in (1, 2, 3)])
    log(w, 1, day=day(month, 1), worker=punctual, procedure=KNOTS)
    assert kinds(slip_of(preview(w, month), punctual)) == [K.PIECES]


def test_the_minimum_wage_top_up_for_the_full_time_roster(w):
    month = last_month()
    set_bonus(w)
    rostered, not_rostered = hire(w, "在册", roster=True), hire(w, "不在册")
    well_paid, at_home = hire(w, "高产", roster=True), hire(w, "在家", mode=WorkMode.HOME, roster=True)
    ten_days = [day(month, d) for d in range(1, 11)]
    for bundle, worker in enumerate((rostered, not_rostered, at_home)):
        attend(w, worker, ten_days)
        log(w, 100, day=day(month, 5), worker=worker, procedure=KNOTS, bundle=bundle)
    attend(w, well_paid, ten_days[:1])
    log(w, 100, day=day(month, 1), worker=well_paid, procedure=KNOTS, bundle=3)
    run = preview(w, month)

    # 2000 × 10 / 21.75 = 919.5402… → 919.54; pay 35.00 + bonus 200.00; top-up the rest
    topped = slip_of(run, rostered)
    assert lines(topped) == [(K.PIECES, month, KNOTS, D("0.3500"), 100, D("35.00")),
                             (K.ATTENDANCE_BONUS, month, None, None, None, D("200.00")),
                             (K.MINIMUM_WAGE_TOP_UP, month, None, None, None, D("684.54"))]
    assert topped.total == D("919.54")
    assert topped.lines.get(kind=K.MINIMUM_WAGE_TOP_UP).params == {
        "present": 10, "monthly": "2000", "days": "21.75", "minimum": "919.54", "earned": "235.00"}
    assert labels(topped) == ["打结", "Attendance bonus", "Minimum-wage top-up"]
    assert len(labels(topped, "zh-hans")) == 3
    assert kinds(slip_of(run, not_rostered)) == [K.PIECES, K.ATTENDANCE_BONUS]
    # one day: 2000 / 21.75 = 91.95, below her 35.00 + 200.00
    assert kinds(slip_of(run, well_paid)) == [K.PIECES, K.ATTENDANCE_BONUS]
    # on the roster but at home: no bonus, topped up from 35.00
    assert lines(slip_of(run, at_home))[-1] == (K.MINIMUM_WAGE_TOP_UP, month, None, None, None, D("884.54"))
    assert_sums(run)


def test_the_top_up_guarantees_at_most_the_monthly_minimum_however_many_days_she_came(w):
    """Days beyond the month's 21.75 working days (rest days worked) do not lift the minimum."""
    month = last_month()
    set_bonus(w, enabled=False)
    rostered = hire(w, "在册", roster=True)
    attend(w, rostered, [day(month, d) for d in range(1, 27)])  # 26 days present
    slip = slip_of(preview(w, month), rostered)
    assert lines(slip) == [(K.MINIMUM_WAGE_TOP_UP, month, None, None, None, D("2000.00"))]
    assert slip.lines.get().params["present"] == "21.75"
    assert slip.days_present == 26


def test_the_top_up_uses_the_countys_minimum_wage_of_the_month(w):
    month = last_month()
    MinimumWage.objects.create(county=w.p.home["county"], monthly_amount=D("1860.00"), days_per_month=D("21.75"),
                               effective_from=month_before_last())
    # a raise from next month on does not count for last month
    MinimumWage.objects.create(county=w.p.home["county"], monthly_amount=D("2490.00"), effective_from=this_month())
    rostered = hire(w, "在册", roster=True)
    attend(w, rostered, [day(month, d) for d in range(1, 8)])
    set_bonus(w, enabled=False)
    slip = slip_of(preview(w, month), rostered)
    # 1860 × 7 / 21.75 = 598.6206… → 598.62; no pieces, no bonus
    assert lines(slip) == [(K.MINIMUM_WAGE_TOP_UP, month, None, None, None, D("598.62"))]


# --- late work ----------------------------------------------------------------------------------

def test_late_logs_and_reversals_become_adjustments_and_a_negative_total_is_carried(w):
    older, month = month_before_last(), last_month()
    knots = log(w, 10, day=day(older, 3), procedure=KNOTS)
    log(w, 7, day=day(older, 4))
    first = close(w, older)
    assert slip_of(first, w.worker).total == D("3.59")  # 3.50 + 0.09

    # after the close: five more pieces of that month, and its knots found not done at all
    log(w, 5, day=day(older, 20), reason="漏记")
    bs.piece_log_reverse(actor=w.p.broker, log_id=knots.pk, reason="返工")
    log(w, 2, day=day(month, 6), procedure=KNOTS)
    second = preview(w, month)
    slip = slip_of(second, w.worker)
    assert lines(slip) == [
        (K.PIECES, month, KNOTS, D("0.3500"), 2, D("0.70")),
        (K.ADJUSTMENT, older, BEADS, D("0.0125"), 5, D("0.06")),  # 0.0625
        (K.ADJUSTMENT, older, KNOTS, D("0.3500"), -10, D("-3.50")),
        (K.CARRIED_FORWARD, month, None, None, None, D("2.74")),
    ]
    assert slip.total == D("0.00")
    assert labels(slip) == ["打结", f"钉珠, work of {ym(older)}", f"打结, work of {ym(older)}",
                            "Carried to next month"]
    assert all(ym(older) in label for label in labels(slip, "zh-hans")[1:3])

    second = payroll_close(actor=w.p.broker, run_id=second.pk)
    assert second.status == PayrollRun.Status.PAID and second.ledger is None  # nothing to pay
    assert not second.batches.exists()

    log(w, 20, day=timezone.localdate(), procedure=KNOTS, bundle=1)
    third = slip_of(preview(w, this_month()), w.worker)
    assert lines(third) == [(K.PIECES, this_month(), KNOTS, D("0.3500"), 20, D("7.00")),
                            (K.CARRIED_IN, month, None, None, None, D("-2.74"))]
    assert third.lines.get(kind=K.CARRIED_IN).params == {"month": ym(month)}
    assert labels(third) == ["打结", "Carried from last month"]
    assert third.total == D("4.26")


def test_a_late_log_and_its_late_reversal_net_to_nothing_each_naming_its_reason(w):
    older = last_month()
    log(w, 3, day=day(older, 2))
    close(w, older)
    late = log(w, 4, day=day(older, 5), reason="漏记")
    bs.piece_log_reverse(actor=w.p.broker, log_id=late.pk, reason="记错人")
    log(w, 1, day=timezone.localdate(), procedure=KNOTS)
    slip = slip_of(preview(w, this_month()), w.worker)
    # two adjustments, each saying who made it and why: they cancel in the total
    assert lines(slip) == [(K.PIECES, this_month(), KNOTS, D("0.3500"), 1, D("0.35")),
                           (K.ADJUSTMENT, older, BEADS, D("0.0125"), 4, D("0.05")),
                           (K.ADJUSTMENT, older, BEADS, D("0.0125"), -4, D("-0.05"))]
    assert [line.params.get("reason") for line in slip.lines.all()] == [None, "漏记", "记错人"]
    assert slip.total == D("0.35")


def test_a_partial_late_reversal_rounds_half_up_away_from_zero(w):
    """6 × 0.0125 = 0.075 → 0.08 paid; 2 reversed: −0.025 → −0.03; 0.05 in all, as 4 × 0.0125."""
    month = last_month()
    six = log(w, 6, day=day(month, 2))
    close(w, month)
    bs.piece_log_reverse(actor=w.p.broker, log_id=six.pk, reason="点错了", quantity=2)
    log(w, 1, day=timezone.localdate(), procedure=KNOTS)
    slip = slip_of(preview(w, this_month()), w.worker)
    assert lines(slip)[1] == (K.ADJUSTMENT, month, BEADS, D("0.0125"), -2, D("-0.03"))
    assert slip.total == D("0.32")


# --- the watermark window -----------------------------------------------------------------------

def settled_ids(run: PayrollRun) -> set[int]:
    window = Window(run.since_month, run.since_watermark, run.watermark)
    return set(settled_logs(run.broker_id, run.month, window).values_list("pk", flat=True))


def test_logs_of_months_without_a_run_are_swept_into_the_next_run(w):
    m3, m2, m1 = months_back(3), months_back(2), months_back(1)
    log(w, 4, day=day(m3, 10))  # before any run
    log(w, 2, day=day(m2, 11), procedure=KNOTS)
    log(w, 8, day=day(m1, 12))
    run = close(w, m1)
    assert lines(slip_of(run, w.worker)) == [
        (K.PIECES, m1, BEADS, D("0.0125"), 8, D("0.10")),
        (K.ADJUSTMENT, m3, BEADS, D("0.0125"), 4, D("0.05")),
        (K.ADJUSTMENT, m2, KNOTS, D("0.3500"), 2, D("0.70")),
    ]
    assert (run.since_month, run.since_watermark) == (None, 0)
    log(w, 1, day=timezone.localdate())
    assert lines(slip_of(preview(w, this_month()), w.worker)) == [
        (K.PIECES, this_month(), BEADS, D("0.0125"), 1, D("0.01"))]


def test_work_of_this_month_logged_before_last_month_closed_belongs_to_this_month(w):
    month = last_month()
    log(w, 3, day=day(month, 28), procedure=KNOTS)
    early = log(w, 5, day=timezone.localdate(), procedure=KNOTS)
    closed = close(w, month)
    assert closed.watermark >= early.pk  # recorded before the close, yet not settled by it
    assert early.pk not in settled_ids(closed)
    assert lines(slip_of(closed, w.worker)) == [(K.PIECES, month, KNOTS, D("0.3500"), 3, D("1.05"))]
    current = preview(w, this_month())
    assert early.pk in settled_ids(current)
    assert lines(slip_of(current, w.worker)) == [(K.PIECES, this_month(), KNOTS, D("0.3500"), 5, D("1.75"))]


def test_every_log_is_settled_by_exactly_one_run_across_the_months(w):
    m3, m2, m1, m0 = months_back(3), months_back(2), months_back(1), this_month()
    other = hire(w, "赵小红", mode=WorkMode.HOME)
    a = log(w, 10, day=day(m3, 3), procedure=KNOTS)
    b = log(w, 4, day=day(m2, 5))
    c0 = log(w, 9, day=day(m3, 6), worker=other)
    first = close(w, m3)
    c = log(w, 3, day=day(m3, 7), procedure=KNOTS, reason="漏记")  # late for m3
    d = log(w, 6, day=day(m1, 2))
    e = log(w, 2, day=timezone.localdate(), procedure=KNOTS)  # this month, before m1 closes
    r0 = bs.piece_log_reverse(actor=w.p.broker, log_id=c0.pk, reason="不是她的", quantity=4)
    # no run for m2: its logs go into the m1 run
    second = close(w, m1)
    f = log(w, 1, day=day(m2, 9), procedure=KNOTS, reason="漏记")  # late for m2, which m1's close covered
    r = bs.piece_log_reverse(actor=w.p.broker, log_id=d.pk, reason="点错了", quantity=2)  # late for m1
    third = preview(w, m0)

    assert settled_ids(first) == {a.pk, c0.pk}  # not b: dated after m3
    assert settled_ids(second) == {b.pk, c.pk, d.pk, r0.pk}  # not e: dated this month
    assert settled_ids(third) == {e.pk, f.pk, r.pk}
    assert set(PieceLog.objects.values_list("pk", flat=True)) == (
        settled_ids(first) | settled_ids(second) | settled_ids(third))

    assert lines(slip_of(second, w.worker)) == [
        (K.PIECES, m1, BEADS, D("0.0125"), 6, D("0.08")),  # 0.075
        (K.ADJUSTMENT, m3, KNOTS, D("0.3500"), 3, D("1.05")),
        (K.ADJUSTMENT, m2, BEADS, D("0.0125"), 4, D("0.05")),
    ]
    assert lines(slip_of(second, other)) == [(K.ADJUSTMENT, m3, BEADS, D("0.0125"), -4, D("-0.05")),
                                             (K.CARRIED_FORWARD, m1, None, None, None, D("0.05"))]
    assert lines(slip_of(third, w.worker)) == [
        (K.PIECES, m0, KNOTS, D("0.3500"), 2, D("0.70")),
        (K.ADJUSTMENT, m2, KNOTS, D("0.3500"), 1, D("0.35")),
        (K.ADJUSTMENT, m1, BEADS, D("0.0125"), -2, D("-0.03")),  # −0.025
    ]
    assert lines(slip_of(third, other)) == [(K.CARRIED_IN, m1, None, None, None, D("-0.05")),
                                            (K.CARRIED_FORWARD, m0, None, None, None, D("0.05"))]
    # the pieces on the closed payslips are exactly the pieces logged in their months
    closed_quantity = PayslipLine.objects.filter(payslip__run__in=[first, second]).aggregate(n=Sum("quantity"))["n"]
    logged = PieceLog.objects.filter(work_date__lte=month_end(m1), pk__lte=second.watermark).aggregate(
        n=Sum("quantity"))["n"]
    assert closed_quantity == logged == 10 + 4 + 9 + 3 + 6 - 4
    for run in (first, second, third):
        assert_sums(run)


def test_a_preview_is_recomputed_on_demand(w):
    month = last_month()
    log(w, 2, day=day(month, 1), procedure=KNOTS)
    run, created = payroll_preview(actor=w.p.broker, month=ym(month))
    assert created and run.total == D("0.70")
    log(w, 1, day=day(month, 2), procedure=KNOTS)
    again, created = payroll_preview(actor=w.p.broker, month=month)
    assert (again.pk, created, again.total) == (run.pk, False, D("1.05"))
    log(w, 1, day=day(month, 3), procedure=KNOTS)
    assert payroll_recompute(actor=w.p.broker, run_id=run.pk).total == D("1.40")
    assert Payslip.objects.filter(run=run).count() == 1 and PayslipLine.objects.count() == 1


# --- rules on bad input -------------------------------------------------------------------------

def test_closing_twice_is_refused_and_changes_nothing(w):
    log(w, 2, day=day(last_month(), 1), procedure=KNOTS)
    run = close(w, last_month())
    log(w, 2, day=day(last_month(), 2), procedure=KNOTS, reason="漏记")  # late: must not slip into the closed run
    before = counts()
    with pytest.raises(RunNotPreview) as caught:
        payroll_close(actor=w.p.broker, run_id=run.pk)
    assert caught.value.code == "run_closed" and caught.value.status_code == 409
    with pytest.raises(RunNotPreview):
        payroll_recompute(actor=w.p.broker, run_id=run.pk)
    assert nothing_written_since(before)
    assert slip_of(run, w.worker).total == D("0.70")


@pytest.mark.parametrize("back", [1, 2])
def test_previewing_a_closed_month_or_an_earlier_one_is_refused(w, back):
    close(w, last_month())
    before = counts()
    with pytest.raises(PeriodClosed) as caught:
        payroll_preview(actor=w.p.broker, month=ym(months_back(back)))
    assert caught.value.code == "period_closed" and caught.value.status_code == 409
    assert caught.value.fields.keys() == {"month"}
    assert nothing_written_since(before)


def test_a_month_that_is_not_over_does_not_close(w):
    log(w, 1, day=timezone.localdate())
    run = preview(w, this_month())
    before = counts()
    with pytest.raises(MonthNotOver) as caught:
        payroll_close(actor=w.p.broker, run_id=run.pk)
    assert caught.value.code == "month_not_over"
    assert nothing_written_since(before)


def test_months_close_in_order(w):
    log(w, 1, day=day(month_before_last(), 1))
    older, newer = preview(w, month_before_last()), preview(w, last_month())
    before = counts()
    with pytest.raises(EarlierRunOpen) as caught:
        payroll_close(actor=w.p.broker, run_id=newer.pk)
    assert caught.value.code == "earlier_run_open" and ym(month_before_last()) in caught.value.message
    assert nothing_written_since(before)
    payroll_close(actor=w.p.broker, run_id=older.pk)
    assert payroll_close(actor=w.p.broker, run_id=newer.pk).status == PayrollRun.Status.PAID  # nothing to pay


def test_only_the_brokers_owner_previews_and_closes(w):
    log(w, 1, day=day(last_month(), 1), procedure=KNOTS)
    run = preview(w, last_month())
    before = counts()
    with pytest.raises(Forbidden):
        payroll_close(actor=w.p.team_head, run_id=run.pk)
    with pytest.raises(Forbidden):
        payroll_preview(actor=w.p.team_head, month=ym(last_month()))
    with pytest.raises(NotFound):
        payroll_close(actor=w.p.rival_broker, run_id=run.pk)
    with pytest.raises(NotFound):
        payroll_recompute(actor=w.p.rival_broker, run_id=run.pk)
    for user in (w.p.worker, w.p.firm, w.p.auditor):
        with pytest.raises(Forbidden):
            payroll_close(actor=user, run_id=run.pk)
    assert nothing_written_since(before)
    # the rival's own month is its own run, with none of this broker's work
    rival_run, created = payroll_preview(actor=w.p.rival_broker, month=ym(last_month()))
    assert created and rival_run.broker_id == w.p.rival_org.pk and not rival_run.payslips.exists()
    # an administrator previews a broker's payroll by naming the broker, and must name one
    with pytest.raises(ValidationFailed) as raised:
        payroll_preview(actor=w.p.admin, month=last_month())
    assert list(raised.value.fields) == ["broker"]
    assert payroll_preview(actor=w.p.admin, month=last_month(), broker_id=w.p.broker_org.pk)[0].pk == run.pk
    # an administrator closes any broker's run
    assert payroll_close(actor=w.p.admin, run_id=run.pk).status == PayrollRun.Status.CLOSED


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "abc", "", "2026", "June", None, "-1-05", "0-01"])
def test_a_bad_month_is_refused(w, month):
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        payroll_preview(actor=w.p.broker, month=month)
    assert caught.value.fields.keys() == {"month"} and caught.value.status_code == 400
    assert nothing_written_since(before)


def test_a_month_not_yet_begun_is_refused(w):
    next_month = month_end(this_month()) + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        payroll_preview(actor=w.p.broker, month=ym(next_month))
    assert caught.value.fields.keys() == {"month"}
    assert not PayrollRun.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_preview_racing_a_later_months_close_cannot_reopen_the_month_it_settles(w):
    """Else the older month's preview, made while the newer one closed, would pay its logs again."""
    older = month_before_last()
    log(w, 5, day=day(older, 3), procedure=KNOTS)  # settled by last month's run, as an adjustment
    newer = preview(w, last_month())
    outcome: list[str] = []

    def preview_older() -> None:
        try:
            payroll_preview(actor=w.p.broker, month=ym(older))
            outcome.append("previewed")
        except DomainError as error:
            outcome.append(error.code)

    # the close's transaction is open: the preview waits for it, then sees the month closed
    assert not finishes_while_locked(lambda: payroll_close(actor=w.p.broker, run_id=newer.pk), preview_older)
    assert outcome == ["period_closed"]
    assert list(PayrollRun.objects.values_list("month", "status")) == [(last_month(), PayrollRun.Status.CLOSED)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_close_in_flight_does_not_hold_up_other_writes_naming_the_broker(w):
    """The close locks its run and the broker's payroll lock, never the broker's row itself (a
    write referencing the broker would wait for the close, and a piece log would deadlock it)."""
    log(w, 5, day=day(last_month(), 3), procedure=KNOTS)
    run = preview(w, last_month())
    assert finishes_while_locked(lambda: payroll_close(actor=w.p.broker, run_id=run.pk),
                                 lambda: attend(w, w.worker, [timezone.localdate()]))
    assert PayrollRun.objects.get(pk=run.pk).status == PayrollRun.Status.CLOSED
    assert Attendance.objects.filter(worker=w.worker, date=timezone.localdate()).exists()


def test_an_error_speaks_the_language_of_the_request_not_of_the_import():
    with translation.override("en"):
        english = RunNotPreview().message
    with translation.override("zh-hans"):
        chinese = RunNotPreview().message
    assert english == "This payroll run is closed; its payslips cannot change."
    assert chinese != english
    with translation.override("en"):
        assert "2026-09" in EarlierRunOpen(params={"month": "2026-09"}).message
        assert PeriodClosed(params={"month": "2026-09"}).message.startswith("Payroll for 2026-09")
        assert MonthNotOver().message.startswith("The month is not over")


# --- the ledger ---------------------------------------------------------------------------------

def entries_sum() -> Decimal:
    return sum((e.amount.amount for e in Entry.objects.all()), D("0.00"))


def test_closing_posts_the_wages_and_paying_settles_each_workers_payable(w):
    month = last_month()
    other = hire(w, "赵小红", mode=WorkMode.HOME)
    log(w, 7, day=day(month, 1))
    log(w, 13, day=day(month, 2), procedure=KNOTS)
    log(w, 100, day=day(month, 3), worker=other, procedure=KNOTS, bundle=1)
    run = close(w, month)
    broker = w.p.broker_org
    expense = account_for(purpose=P.BROKER_WAGES_EXPENSE, organisation=broker)
    payable = {x: account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=broker, worker=x) for x in (w.worker, other)}
    cash = account_for(purpose=P.BROKER_CASH, organisation=broker)
    assert run.status == PayrollRun.Status.CLOSED and run.total == D("39.64")
    assert balance(expense) == D("39.64")
    assert (balance(payable[w.worker]), balance(payable[other])) == (D("-4.64"), D("-35.00"))
    assert run.ledger.idempotency_key == f"payroll:{run.pk}" and entries_sum() == 0

    batch = run.batches.get()
    assert sorted(batch.items.values_list("worker_id", "amount", "status")) == sorted([
        (w.worker.pk, D("4.64"), PayoutItem.Status.PENDING), (other.pk, D("35.00"), PayoutItem.Status.PENDING)])
    today = timezone.localdate()
    batch, recorded = batch_mark_paid(actor=w.p.broker, batch_id=batch.pk, bank_reference="BK-1", paid_on=today)
    assert recorded
    assert (balance(payable[w.worker]), balance(payable[other])) == (D("0.00"), D("0.00"))
    assert balance(cash) == D("-39.64") and balance(expense) == D("39.64") and entries_sum() == 0
    run.refresh_from_db()
    assert run.status == PayrollRun.Status.PAID

    # the bank's answer sent again: the same batch, nothing paid twice
    again, recorded = batch_mark_paid(actor=w.p.broker, batch_id=batch.pk, bank_reference="BK-1", paid_on=today)
    assert (again.pk, recorded) == (batch.pk, False)
    with pytest.raises(BatchAlreadyPaid):
        batch_mark_paid(actor=w.p.broker, batch_id=batch.pk, bank_reference="BK-2", paid_on=today)
    assert Transaction.objects.filter(kind="payout").count() == 1 and balance(cash) == D("-39.64")


def test_a_carried_balance_never_reaches_the_ledger_as_a_negative_payable(w):
    older, month = month_before_last(), last_month()
    knots = log(w, 10, day=day(older, 3), procedure=KNOTS)
    close(w, older)
    bs.piece_log_reverse(actor=w.p.broker, log_id=knots.pk, reason="返工")
    log(w, 4, day=day(month, 3), procedure=KNOTS)
    run = close(w, month)
    payable = account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=w.p.broker_org, worker=w.worker)
    # 3.50 owed from the first month (not yet paid); 1.40 − 3.50 carried forward: nothing more posted
    assert run.ledger is None and balance(payable) == D("-3.50")
    assert slip_of(run, w.worker).lines.get(kind=K.CARRIED_FORWARD).amount == D("2.10")


# --- reconciliation -----------------------------------------------------------------------------

def test_reconciliation_matches_the_provisional_lines_and_shows_late_work(w):
    month = last_month()
    log(w, 7, day=day(month, 1))
    log(w, 3, day=day(month, 2), procedure=KNOTS)
    run = close(w, month)
    slip = slip_of(run, w.worker)
    beads, knots = (p.pk for p in w.shop.procedures)
    before = reconciliation(slip)
    assert [(r["procedure"], r["rate"], r["provisional_quantity"], r["provisional_amount"], r["payslip_quantity"],
             r["payslip_amount"], r["after_close_quantity"], r["difference"]) for r in before["rows"]] == [
        (beads, D("0.0125"), 7, D("0.09"), 7, D("0.09"), 0, D("0.00")),
        (knots, D("0.3500"), 3, D("1.05"), 3, D("1.05"), 0, D("0.00"))]
    assert before["provisional_total"] == before["payslip_piece_total"] == before["payslip_total"] == D("1.14")

    log(w, 2, day=day(month, 25), procedure=KNOTS, reason="漏记")  # after the close
    after = reconciliation(slip)
    knots_row = after["rows"][1]
    assert (knots_row["provisional_quantity"], knots_row["payslip_quantity"], knots_row["after_close_quantity"],
            knots_row["difference"]) == (5, 3, 2, D("0.70"))
    assert after["provisional_total"] - after["payslip_piece_total"] == D("0.70")
    assert after["payslip_total"] == D("1.14")
