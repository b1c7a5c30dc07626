"""An adjustment on a payslip names who made it and why (issue 10, item 4): work or a correction
of a closed month, logged after its close (only the broker's owner may), is an adjustment line of
the next payroll per (month, procedure, rate, who, reason), carrying the adjuster's display name
and the reason into the payslip's lines (API, for the broker and the worker), its explanation in
either language, and the printed payslip."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation
from reportlab.pdfgen.canvas import Canvas

from brokers import services as bs
from brokers.models import Membership
from payments.documents import payslip_pdf
from payments.models import PayslipLine
from payments.payroll import describe, payroll_close, payroll_preview

from .payroll_world import log, payroll_world

pytestmark = pytest.mark.django_db
D = Decimal
K = PayslipLine.Kind
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SECOND_OF_SEPTEMBER = dt.datetime(2027, 9, 2, 10, 0, tzinfo=SHANGHAI)
SECOND_OF_OCTOBER = dt.datetime(2027, 10, 2, 10, 0, tzinfo=SHANGHAI)
AUGUST, SEPTEMBER = dt.date(2027, 8, 1), dt.date(2027, 9, 1)
BEADS, KNOTS = 0, 1  # 0.0125 and 0.3500 a piece


def close(p, month: str):
    run, _created = payroll_preview(actor=p.broker, month=month)
    return payroll_close(actor=p.broker, run_id=run.pk)


def adjustments(slip) -> list[tuple]:
    return [(line.work_month, line.procedure_id, line.quantity, line.amount, line.params.get("adjusted_by"),
             line.params.get("adjusted_by_name"), line.params.get("reason"))
            for line in slip.lines.filter(kind=K.ADJUSTMENT)]


@pytest.fixture
def august_closed(personas):
    """2 September 2027: August's payroll closed with 8 knots (2.80), the worker a member long since."""
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        w = payroll_world(personas)
        Membership.objects.filter(broker=personas.broker_org).update(started_on=dt.date(2020, 1, 1))
        log(w, 8, day=dt.date(2027, 8, 3), procedure=KNOTS)
        august = close(personas, "2027-08")
        assert august.payslips.get(worker=w.worker).total == D("2.80")
        yield w


def test_late_logs_are_one_adjustment_line_per_reason_each_naming_the_owner(august_closed):
    w = august_closed
    p = w.p
    knots, beads = w.shop.procedures[KNOTS].pk, w.shop.procedures[BEADS].pk
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        log(w, 3, day=dt.date(2027, 8, 10), procedure=KNOTS, reason="漏记")
        log(w, 2, day=dt.date(2027, 8, 11), procedure=KNOTS, reason="漏记")  # same hand, same reason: one line
        log(w, 1, day=dt.date(2027, 8, 12), procedure=KNOTS, reason="返工补记")
        log(w, 9, day=dt.date(2027, 8, 13), procedure=BEADS, reason="漏记")  # 9 × 0.0125 = 0.1125 → 0.11
        log(w, 4, day=dt.date(2027, 9, 1))  # this month: a piece line, nobody named
        run, _created = payroll_preview(actor=p.broker, month="2027-09")
    slip = run.payslips.get(worker=w.worker)
    name = str(p.broker)
    assert adjustments(slip) == [
        (AUGUST, beads, 9, D("0.11"), p.broker.pk, name, "漏记"),
        (AUGUST, knots, 5, D("1.75"), p.broker.pk, name, "漏记"),
        (AUGUST, knots, 1, D("0.35"), p.broker.pk, name, "返工补记"),
    ]
    pieces = slip.lines.get(kind=K.PIECES)
    assert (pieces.work_month, pieces.quantity, pieces.amount, pieces.params) == (
        SEPTEMBER, 4, D("0.05"), {"procedure": "钉珠"})
    assert slip.total == D("2.26")  # 0.05 + 0.11 + 1.75 + 0.35


def test_a_late_reversal_names_who_reversed_and_why(august_closed):
    w = august_closed
    first = w.p.broker
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        eight = w.worker.piece_logs.get()
        bs.piece_log_reverse(actor=first, log_id=eight.pk, reason="质检退回两件", quantity=2)
        run, _created = payroll_preview(actor=first, month="2027-09")
    slip = run.payslips.get(worker=w.worker)
    assert adjustments(slip) == [(AUGUST, w.shop.procedures[KNOTS].pk, -2, D("-0.70"), first.pk, str(first),
                                  "质检退回两件")]


def test_the_explanation_names_the_adjuster_in_either_language(august_closed):
    w = august_closed
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        log(w, 3, day=dt.date(2027, 8, 10), procedure=KNOTS, reason="漏记")
        run, _created = payroll_preview(actor=w.p.broker, month="2027-09")
    line = run.payslips.get(worker=w.worker).lines.get(kind=K.ADJUSTMENT)
    with translation.override("en"):
        label, explanation = describe(line)
        assert label == "打结, work of 2027-08"
        assert explanation.startswith("Logged or corrected after 2027-08 was closed: 3 pieces × 0.3500 yuan")
        assert explanation.endswith(f"By {w.p.broker}: 漏记")
        assert describe(line, with_note=False)[1].endswith("rounded to the fen")
    with translation.override("zh-hans"):
        assert str(w.p.broker) in describe(line)[1] and "漏记" in describe(line)[1]
    # other lines name nobody
    assert all(line.params.get("adjusted_by") is None for line in PayslipLine.objects.filter(kind=K.PIECES))


def test_the_payslip_api_and_the_printed_payslip_carry_the_name_and_reason(august_closed, client_for, monkeypatch):
    w = august_closed
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        log(w, 3, day=dt.date(2027, 8, 10), procedure=KNOTS, reason="8月10日漏记三件，组长核对过")
    with time_machine.travel(SECOND_OF_OCTOBER, tick=False):
        september = close(w.p, "2027-09")
    slip = september.payslips.get(worker=w.worker)
    assert slip.total == D("1.05")  # 3 × 0.35

    # the worker reads her closed payslip: the adjustment says who and why
    for user in (w.p.worker, w.p.broker):
        body = client_for(user).get(f"/api/payslips/{slip.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
        [line] = body["lines"]
        assert (line["kind"], line["work_month"], line["quantity"], line["amount"], line["adjusted_by"],
                line["adjusted_by_name"], line["reason"]) == (
            "adjustment", "2027-08", 3, "1.05", w.p.broker.pk, str(w.p.broker), "8月10日漏记三件，组长核对过")

    # the printed payslip has it on a row of its own, in full
    drawn: list[str] = []
    original = Canvas.drawString

    def spy(self, x, y, text, *args, **kwargs):
        drawn.append(text)
        return original(self, x, y, text, *args, **kwargs)

    monkeypatch.setattr(Canvas, "drawString", spy)
    with translation.override("en"):
        pdf = payslip_pdf(slip)
    assert pdf.startswith(b"%PDF")
    assert f"By {w.p.broker}: 8月10日漏记三件，组长核对过" in drawn


def test_a_pieces_line_and_logs_of_months_without_a_run_name_nobody(personas):
    """Only late work of a closed month is an adjustment that names its maker: the first run of a
    broker (no closed month before it) groups as ever."""
    with time_machine.travel(SECOND_OF_SEPTEMBER, tick=False):
        w = payroll_world(personas)
        Membership.objects.filter(broker=personas.broker_org).update(started_on=dt.date(2020, 1, 1))
        log(w, 2, day=dt.date(2027, 7, 3), procedure=KNOTS)  # July never had a run: settled with August
        log(w, 1, day=dt.date(2027, 8, 3), procedure=KNOTS)
        august = close(personas, "2027-08")
    slip = august.payslips.get(worker=w.worker)
    assert [(line.kind, line.work_month, line.quantity, line.amount, line.params) for line in slip.lines.all()] == [
        (K.PIECES, AUGUST, 1, D("0.35"), {"procedure": "打结"}),
        (K.ADJUSTMENT, dt.date(2027, 7, 1), 2, D("0.70"), {"procedure": "打结"}),
    ]
