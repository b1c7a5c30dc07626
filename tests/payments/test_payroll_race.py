"""Payroll under concurrent requests, on PostgreSQL (row locks are real there): a run closes once,
the bank's answer is recorded once, a retry batch is made once, and a piece log recorded while
the month closes is settled by exactly one run — the closed month's, or as an adjustment line in
the next — never lost and never paid twice.

Each thread has its own database connection and closes it at the end; a barrier releases them
together so the requests really overlap (tests/brokers/test_piecework_race.py)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from brokers.models import PieceLog
from payments.models import PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine, Transaction
from payments.payouts import batch_mark_paid
from payments.payroll import payroll_close, payroll_preview

from ..brokers.test_piecework_race import finishes_while_locked, race
from .payroll_world import last_month, log, this_month, ym
from .test_payroll_api import build_month

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def answers(n: int, request) -> list[tuple[int, str | None, dict]]:
    """Run request(i) (an API call) in n threads released together: (status, error code, body)."""
    outcomes = race(n, request)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    out = []
    for _, response in outcomes:
        body = response.json()
        out.append((response.status_code, body.get("code") if response.status_code >= 400 else None, body))
    return out


def closed_month(personas):
    m = build_month(personas)
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    return m, payroll_close(actor=personas.broker, run_id=run.pk)


# --- closing ------------------------------------------------------------------------------------

def test_two_concurrent_closes_close_once(personas, client_for):
    build_month(personas)
    run, _ = payroll_preview(actor=personas.broker, month=last_month())

    url = f"/api/payroll-runs/{run.pk}/close/"
    got = answers(2, lambda i: client_for(personas.broker).post(url, {}, format="json"))

    assert sorted((status, code) for status, code, _ in got) == [(200, None), (409, "run_closed")]
    [(_, _, won)] = [g for g in got if g[0] == 200]
    assert won["status"] == "closed"
    [posting] = Transaction.objects.filter(kind="payroll")
    assert posting.idempotency_key == f"payroll:{run.pk}"
    assert PayoutBatch.objects.count() == 1 and PayoutItem.objects.count() == 2
    assert sorted(Payslip.objects.values_list("total", flat=True)) == [Decimal("28.00"), Decimal("207.88")]


def test_the_owner_and_the_scheduled_auto_close_close_once(personas):
    build_month(personas)
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    actors = [personas.broker, None]  # None: the beat task's auto-close

    outcomes = race(2, lambda i: payroll_close(actor=actors[i], run_id=run.pk).status)

    assert sorted(outcomes) == [("ok", "closed"), ("refused", "run_closed")]
    assert Transaction.objects.filter(kind="payroll").count() == 1
    assert PayoutBatch.objects.count() == 1


def test_two_concurrent_previews_of_a_month_make_one_run(personas, client_for):
    build_month(personas)

    body = {"month": ym(last_month())}
    got = answers(3, lambda i: client_for(personas.broker).post("/api/payroll-runs/", body, format="json"))

    assert sorted(status for status, _, _ in got) == [200, 200, 201]
    [run] = PayrollRun.objects.all()
    assert {body["id"] for _, _, body in got} == {run.pk}
    assert run.payslips.count() == 2 and {body["total"] for _, _, body in got} == {"235.88"}


# --- the bank's answer --------------------------------------------------------------------------

@pytest.mark.parametrize("routes", [("batch", "batch"), ("run", "batch")])
def test_two_concurrent_identical_answers_record_once(personas, client_for, routes):
    m, run = closed_month(personas)
    batch = run.batches.get()
    urls = {"batch": f"/api/payout-batches/{batch.pk}/paid/", "run": f"/api/payroll-runs/{run.pk}/pay/"}
    body = {"bank_reference": "BOC-0001", "paid_on": timezone.localdate().isoformat()}

    got = answers(2, lambda i: client_for(personas.broker).post(urls[routes[i]], body, format="json"))

    # one recorded it (201), the other got the same batch back (200)
    assert sorted(status for status, _, _ in got) == [200, 201]
    assert got[0][2] == got[1][2]
    assert got[0][2]["id"] == batch.pk and got[0][2]["status"] == "paid"
    [payout] = Transaction.objects.filter(kind="payout")
    assert sum(e.amount.amount for e in payout.entries.filter(amount__gt=0)) == run.total
    assert PayrollRun.objects.get(pk=run.pk).status == "paid"


def test_two_concurrent_different_answers_record_one(personas, client_for):
    m, run = closed_month(personas)
    batch = run.batches.get()
    references = ["BOC-0001", "BOC-0002"]

    got = answers(2, lambda i: client_for(personas.broker).post(
        f"/api/payout-batches/{batch.pk}/paid/",
        {"bank_reference": references[i], "paid_on": timezone.localdate().isoformat()}, format="json"))

    assert sorted((status, code) for status, code, _ in got) == [(201, None), (409, "batch_already_paid")]
    [(_, _, won)] = [g for g in got if g[0] == 201]
    assert PayoutBatch.objects.get(pk=batch.pk).bank_reference == won["bank_reference"]
    assert Transaction.objects.filter(kind="payout").count() == 1
    assert set(PayoutItem.objects.values_list("status", flat=True)) == {"paid"}


def test_two_concurrent_retries_make_one_batch(personas, client_for):
    m, run = closed_month(personas)
    batch = run.batches.get()
    batch_mark_paid(actor=personas.broker, batch_id=batch.pk, bank_reference="BOC-0001",
                    paid_on=timezone.localdate(), failures=[{"worker": m.colleague.pk, "reason": "账号已销户"}])

    url = f"/api/payout-batches/{batch.pk}/retry/"
    got = answers(3, lambda i: client_for(personas.broker).post(url, {}, format="json"))

    assert sorted(status for status, _, _ in got) == [200, 200, 201]
    retry = PayoutBatch.objects.get(number=2)
    assert {body["id"] for _, _, body in got} == {retry.pk}
    assert list(retry.items.values_list("worker_id", flat=True)) == [m.colleague.pk]
    assert PayoutBatch.objects.count() == 2


def test_recording_the_bank_s_answer_does_not_hold_up_piece_logging(personas):
    # The answer locks the batch and its run. Locking the broker's organisation row as well (the
    # default ordering joins it) would make every piece log of the broker wait at its commit, when
    # its foreign key to the broker is checked, until the bank's answer is recorded.
    m, run = closed_month(personas)
    batch = run.batches.get()

    assert finishes_while_locked(
        lambda: batch_mark_paid(actor=personas.broker, batch_id=batch.pk, bank_reference="BOC-0001",
                                paid_on=timezone.localdate()),
        lambda: log(m.w, 5, day=timezone.localdate()),
    ), "the piece log waited for the payout's lock"
    assert PayoutBatch.objects.get(pk=batch.pk).status == "paid"


# --- a piece log while the month closes ---------------------------------------------------------

def settled(worker, procedure, run: PayrollRun, month) -> tuple[int, int]:
    """(pieces the closed run paid for `month`, pieces `month`'s adjustment lines of later runs pay)."""
    lines = PayslipLine.objects.filter(payslip__worker=worker, procedure=procedure, work_month=month)
    paid = lines.filter(payslip__run=run, kind="pieces").aggregate(n=Sum("quantity"))["n"] or 0
    later = lines.filter(payslip__run__month__gt=month, kind="adjustment").aggregate(n=Sum("quantity"))["n"] or 0
    return paid, later


def logged(worker, procedure, month) -> int:
    return PieceLog.objects.filter(worker=worker, procedure=procedure, work_date__gte=month,
                                   work_date__lt=this_month()).aggregate(n=Sum("quantity"))["n"] or 0


def test_a_log_committing_while_the_close_starts_is_in_the_closed_month(personas):
    m = build_month(personas)
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    beads = m.w.shop.procedures[0]
    late: list[PieceLog] = []

    # the log's transaction is open (it holds the broker's payroll share): the close waits for it
    assert not finishes_while_locked(
        lambda: late.append(log(m.w, 16, day=last_month() + timedelta(days=9))),
        lambda: payroll_close(actor=personas.broker, run_id=run.pk),
    ), "the close did not wait for the piece log in flight"

    run.refresh_from_db()
    assert run.status == "closed" and late[0].pk <= run.watermark
    assert settled(m.worker, beads, run, last_month()) == (434 + 16, 0)
    payroll_preview(actor=personas.broker, month=this_month())
    assert settled(m.worker, beads, run, last_month()) == (434 + 16, 0)  # no adjustment next month either


def test_a_log_arriving_while_the_close_is_in_flight_is_an_adjustment_next_month(personas):
    m = build_month(personas)
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    beads = m.w.shop.procedures[0]
    late: list[PieceLog] = []

    # the close's transaction is open: the log waits, then gets an id above the watermark
    assert not finishes_while_locked(
        lambda: payroll_close(actor=personas.broker, run_id=run.pk),
        lambda: late.append(log(m.w, 16, day=last_month() + timedelta(days=9), reason="补记")),
    ), "the piece log did not wait for the close in flight"

    run.refresh_from_db()
    assert run.status == "closed" and late[0].pk > run.watermark
    assert settled(m.worker, beads, run, last_month()) == (434, 0)
    payroll_preview(actor=personas.broker, month=this_month())
    assert settled(m.worker, beads, run, last_month()) == (434, 16)


def test_logs_racing_a_close_are_each_settled_exactly_once(personas):
    m = build_month(personas)
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    beads = m.w.shop.procedures[0]
    day = last_month() + timedelta(days=9)
    quantities = [1, 2, 4, 8, 16, 32, 64]  # which of them were settled where shows in the sums

    def work(i: int):
        if i == len(quantities):
            return payroll_close(actor=personas.broker, run_id=run.pk).watermark
        # the owner, with a reason: a log that finds the month closed is still taken, as an adjustment
        return log(m.w, quantities[i], day=day, bundle=i % 2, reason="补记").pk

    outcomes = race(len(quantities) + 1, work)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    watermark = outcomes[-1][1]
    ids = [pk for _, pk in outcomes[:-1]]
    before = sum(q for q, pk in zip(quantities, ids) if pk <= watermark)
    after = sum(q for q, pk in zip(quantities, ids) if pk > watermark)
    assert before + after == sum(quantities)
    run.refresh_from_db()
    assert run.watermark == watermark
    payroll_preview(actor=personas.broker, month=this_month())
    # every piece once: the closed month's line or next month's adjustment, never both, never neither
    assert settled(m.worker, beads, run, last_month()) == (434 + before, after)
    assert sum(settled(m.worker, beads, run, last_month())) == logged(m.worker, beads, last_month())
    adjustments = PayslipLine.objects.filter(kind="adjustment")
    expected = [(this_month(), after)] if after else []
    assert list(adjustments.values_list("payslip__run__month", "quantity")) == expected
