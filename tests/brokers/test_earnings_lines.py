"""The worker's arithmetic adds up on her screen (issue 9, item 6). What she is paid is lines (per
broker, work month, procedure and rate), each rounded once; every total she reads is the sum of
the lines shown beside it; a log's own figure is unrounded (rate precision) and marked as not
paid; and her month's lines are the payroll's piece lines, to the fen. The clock is always one
the test sets (time_machine), never the real one."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokers import services as bs
from brokers.models import Membership
from payments import payroll
from payments.models import PayslipLine

from ..payments.payroll_world import log, payroll_world

pytestmark = pytest.mark.django_db

D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")
MID_MONTH = dt.datetime(2027, 3, 10, 15, 0, tzinfo=SHANGHAI)
FIRST_OF_MONTH = dt.datetime(2027, 9, 1, 0, 30, tzinfo=SHANGHAI)  # a Wednesday; 31 August 16:30 in UTC


@pytest.fixture(autouse=True)
def _joined_in_january_2026(request):
    """The personas' workers joined on 1 January 2026, whatever day the suite runs on (the
    factories' default is 1 January of last year, which moves with the clock)."""
    if "personas" in request.fixturenames:
        request.getfixturevalue("personas")
        Membership.objects.update(started_on=dt.date(2026, 1, 1))


def earnings(client_for, user, query: str = ""):
    return client_for(user).get(f"/api/me/earnings/{query}", HTTP_ACCEPT_LANGUAGE="en")  # messages asserted in English


def line_view(body: dict, key: str = "month_lines") -> list[tuple]:
    return [(line["month"], line["rate"], line["quantity"], line["amount"]) for line in body[key]]


def piece_lines_of_preview(w, month: dt.date) -> list[tuple[str, D, int, D]]:
    run, _ = payroll.payroll_preview(actor=w.p.broker, month=month)
    return [(f"{line.work_month:%Y-%m}", line.rate, line.quantity, line.amount) for line in PayslipLine.objects.filter(
        payslip__run=run, payslip__worker=w.worker, kind=PayslipLine.Kind.PIECES).order_by("procedure_id", "rate")]


# --- the two examples ---------------------------------------------------------------

@pytest.mark.parametrize("rate, paid", [("0.0125", "0.05"), ("0.8450", "2.54")])
def test_single_piece_logs_add_up_to_the_line_she_is_paid(personas, client_for, rate, paid):
    with time_machine.travel(MID_MONTH, tick=False):
        # given 1-piece logs at a fraction-of-a-fen rate: four at 0.0125, or three at 0.8450
        w = payroll_world(personas, rates=(rate, "0.3500"))
        count = 4 if rate == "0.0125" else 3
        today = dt.date(2027, 3, 10)
        logs = [log(w, 1, day=today) for _ in range(count)]

        # when she looks at her phone
        response = earnings(client_for, personas.worker)

        # then the line is rounded once (4 × 0.0125 = 0.05, 3 × 0.8450 = 2.535 → 2.54) and every total
        # is that line; each log shows its exact, unrounded amount and says it is not what is paid
        assert response.status_code == 200, response.json()
        body = response.json()
        assert line_view(body) == [("2027-03", rate, count, paid)]
        assert line_view(body, "today_lines") == line_view(body, "week_lines") == line_view(body)
        assert (body["today"], body["week"], body["month"]) == (paid, paid, paid)
        assert [(entry["amount_unrounded"], entry["is_paid_amount"]) for entry in body["logs"]] == [
            (rate, False)] * count
        assert (body["period"], body["current"]) == ("2027-03", True)
        assert body["payroll"] == [{"broker_id": personas.broker.organisation_id,
                                    "broker_name": personas.broker.organisation.name, "status": "open",
                                    "payslip_id": None, "provisional_total": paid, "payslip_piece_total": None,
                                    "payslip_total": None, "difference": None}]

        # the piece-log endpoint shows the same unrounded figure
        shown = client_for(personas.broker).get(f"/api/piece-logs/{logs[0].pk}/").json()
        assert shown["amount_unrounded"] == rate and "amount" not in shown

        # and the payroll preview pays exactly that line
        assert piece_lines_of_preview(w, dt.date(2027, 3, 1)) == [("2027-03", D(rate), count, D(paid))]


# --- past months, today and the week --------------------------------------------------------

def test_on_the_first_she_still_sees_last_month_and_then_its_payslip(personas, client_for):
    with time_machine.travel(FIRST_OF_MONTH, tick=False):
        # given pieces on Monday 30 and Tuesday 31 August and today, Wednesday 1 September
        w = payroll_world(personas)
        for day, pieces in ((dt.date(2027, 8, 2), 7), (dt.date(2027, 8, 30), 1), (dt.date(2027, 8, 31), 1)):
            log(w, pieces, day=day)
        log(w, 3, day=dt.date(2027, 9, 1))
        log(w, 2, day=dt.date(2027, 8, 31), procedure=1)

        # this month: today only; the week runs from Monday and has a line per month
        now = earnings(client_for, personas.worker).json()
        assert (now["period"], now["current"]) == ("2027-09", True)
        assert line_view(now) == line_view(now, "today_lines") == [("2027-09", "0.0125", 3, "0.04")]
        assert line_view(now, "week_lines") == [("2027-08", "0.0125", 2, "0.03"), ("2027-08", "0.3500", 2, "0.70"),
                                                ("2027-09", "0.0125", 3, "0.04")]
        assert (now["today"], now["week"], now["month"]) == ("0.04", "0.77", "0.04")

        # last month, while its payroll is open: 9 × 0.0125 = 0.1125 → 0.11, 2 × 0.35 = 0.70
        august = earnings(client_for, personas.worker, "?month=2027-08").json()
        assert (august["period"], august["current"], august["today"], august["week"]) == ("2027-08", False, None, None)
        assert (august["today_lines"], august["week_lines"]) == ([], [])
        assert line_view(august) == [("2027-08", "0.0125", 9, "0.11"), ("2027-08", "0.3500", 2, "0.70")]
        assert august["month"] == "0.81"
        assert [entry["amount_unrounded"] for entry in august["logs"]] == ["0.0875", "0.0125", "0.0125", "0.7000"]
        assert [(row["status"], row["provisional_total"]) for row in august["payroll"]] == [("open", "0.81")]
        assert piece_lines_of_preview(w, dt.date(2027, 8, 1)) == [
            ("2027-08", D("0.0125"), 9, D("0.11")), ("2027-08", D("0.3500"), 2, D("0.70"))]

        # when August's payroll is closed, its payslip stands beside the lines
        run = payroll.payroll_close(actor=personas.broker, run_id=payroll.payroll_preview(
            actor=personas.broker, month=dt.date(2027, 8, 1))[0].pk)
        slip = run.payslips.get(worker=w.worker)
        closed = earnings(client_for, personas.worker, "?month=2027-08").json()
        assert closed["month"] == "0.81"
        assert closed["payroll"] == [{"broker_id": personas.broker.organisation_id,
                                      "broker_name": personas.broker.organisation.name, "status": run.status,
                                      "payslip_id": slip.pk, "provisional_total": "0.81",
                                      "payslip_piece_total": "0.81", "payslip_total": "0.81", "difference": "0.00"}]
        assert run.status in ("closed", "paid")

        # a piece of August logged after the close: her lines show it, and the difference says so
        log(w, 1, day=dt.date(2027, 8, 31), reason="补记：31日漏记一件")
        late = earnings(client_for, personas.worker, "?month=2027-08").json()
        assert line_view(late) == [("2027-08", "0.0125", 10, "0.13"), ("2027-08", "0.3500", 2, "0.70")]
        assert [(row["provisional_total"], row["payslip_total"], row["difference"]) for row in late["payroll"]] == [
            ("0.83", "0.81", "0.02")]


@pytest.mark.parametrize("month", ["2027-9", "27-09", "2027-13", "2027-00", "2027-09-01", "abcd", "", "２０２７-０８",
                                   "2027-10", "2028-01", "2025-12", "0780-04"])
def test_a_bad_month_is_a_400_naming_month(personas, client_for, month):
    # the broker's worker joined on 1 January 2026; today is 1 September 2027
    with time_machine.travel(FIRST_OF_MONTH, tick=False):
        response = earnings(client_for, personas.worker, f"?month={month}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], list(body["fields"])) == ("invalid", ["month"])


def test_the_month_of_joining_and_this_month_are_allowed(personas, client_for):
    with time_machine.travel(FIRST_OF_MONTH, tick=False):
        for month, current in (("2026-01", False), ("2027-09", True)):
            response = earnings(client_for, personas.worker, f"?month={month}")
            assert response.status_code == 200, response.json()
            assert (response.json()["period"], response.json()["current"], response.json()["month"]) == (
                month, current, "0.00")
        refused = earnings(client_for, personas.worker, "?month=2027-10").json()
        assert refused["fields"]["month"] == ["2027-10 has not begun: earnings are for this month or an earlier one."]
        early = earnings(client_for, personas.worker, "?month=2025-12").json()
        assert early["fields"]["month"] == ["No earnings before 2026-01, the month you first joined a broker."]


# --- who sees what ----------------------------------------------------------------------------

def test_a_worker_sees_only_her_own_earnings(personas, client_for):
    with time_machine.travel(MID_MONTH, tick=False):
        w = payroll_world(personas)
        log(w, 4, day=dt.date(2027, 3, 9))
        mine = earnings(client_for, personas.worker, "?month=2027-03").json()
        assert mine["month"] == "0.05" and len(mine["logs"]) == 1
        # the other broker's worker: none of these pieces, whatever she asks
        theirs = earnings(client_for, personas.other_worker, "?month=2027-03").json()
        assert (theirs["month"], theirs["month_lines"], theirs["logs"], theirs["payroll"]) == ("0.00", [], [], [])
        for name in ("broker", "team_head", "rival_broker", "firm", "auditor", "other_auditor"):
            user = getattr(personas, name, None)
            if user is not None:
                assert earnings(client_for, user, "?month=2027-03").status_code == 403, name
        assert earnings(client_for, None, "?month=2027-03").status_code in (401, 403)


# --- the property -------------------------------------------------------------------------------

RATES = {0: ("0.0125", "0.0135", "0.8450", "0.0175"), 1: ("0.3500", "0.8450", "0.2225")}
piece_logs = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(1, 9), st.integers(1, 10)),
                      min_size=1, max_size=14)


@pytest.fixture
def bead_shop(personas):
    with time_machine.travel(MID_MONTH, tick=False):
        return payroll_world(personas)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=piece_logs)
def test_month_total_is_the_sum_of_rounded_lines_and_the_payroll_preview(bead_shop, client_for, entries):
    w = bead_shop
    with time_machine.travel(MID_MONTH, tick=False) as clock, transaction.atomic():
        # given logs of two procedures at rates that change between them, over days of the month
        for procedure, rate_index, pieces, day in entries:
            clock.shift(dt.timedelta(seconds=1))  # each rate from its own moment
            rate = D(RATES[procedure][rate_index % len(RATES[procedure])])
            bs.piece_rate_set(actor=w.p.broker, award_id=w.shop.award.pk,
                              procedure_id=w.shop.procedures[procedure].pk, rate=rate)
            log(w, pieces, day=dt.date(2027, 3, day), procedure=procedure)

        body = earnings(client_for, w.p.worker, "?month=2027-03").json()

        # then each line is its pieces × rate rounded once, the total is their sum, the logs add up
        # unrounded to the lines' exact amounts, and the payroll preview pays the same lines
        expected: dict[tuple[str, str], int] = {}
        for entry in body["logs"]:
            key = (str(entry["procedure"]), entry["rate"])
            expected[key] = expected.get(key, 0) + entry["quantity"]
        lines = {(str(line["procedure_id"]), line["rate"]): line for line in body["month_lines"]}
        assert {key: line["quantity"] for key, line in lines.items()} == expected
        for (_, rate), line in lines.items():
            exact = line["quantity"] * D(rate)
            assert D(line["amount"]) == (exact * 100 + D("0.5")).to_integral_value(rounding="ROUND_FLOOR") / 100
            assert sum(D(e["amount_unrounded"]) for e in body["logs"]
                       if (str(e["procedure"]), e["rate"]) == (_, rate)) == exact
        assert D(body["month"]) == sum((D(line["amount"]) for line in body["month_lines"]), D("0.00"))
        assert D(body["month"]) == D(body["payroll"][0]["provisional_total"])
        assert piece_lines_of_preview(w, dt.date(2027, 3, 1)) == [
            (line["month"], D(line["rate"]), line["quantity"], D(line["amount"])) for line in body["month_lines"]]
        transaction.set_rollback(True)  # each example from the same empty month
