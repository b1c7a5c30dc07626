"""The payroll API end to end: preview last month from the piece logs, close it, export the bank
file and the summary, record the bank's answer once, retry the failed payments in a new batch,
and read the payslips, their PDF and reconciliation and the ledger balances. Bad input is a 400
naming the field and writes nothing; list endpoints answer in a bounded number of queries.

The month (tests/payments/payroll_world.py): bead work at 0.0125 a piece (钉珠) and knotting at
0.35 (打结), logged last month, which has ended, so its run may close."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from brokers.models import Attendance, Membership, WorkMode, Worker
from payments.models import Account, Entry, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine, Transaction
from payments.services import account_for, ledger_post

from ..brokers.api_world import extra_worker
from ..personas import Personas
from .payroll_world import World, attend, last_month, log, month_before_last, payroll_world, this_month, ym

pytestmark = pytest.mark.django_db
D = Decimal
P = Account.Purpose

BANK = "遂昌农商银行"


# --- the month ----------------------------------------------------------------------------------

@dataclass
class Month:
    """Last month at the broker: the worker (factory floor, an attendance bonus) and her colleague
    (home work) both have bank details; `held` (when asked for) has none."""
    w: World
    colleague: Worker
    held: Worker | None

    @property
    def p(self) -> Personas:
        return self.w.p

    @property
    def worker(self) -> Worker:
        return self.w.worker


# the worker's payslip for the month above: (kind, quantity, rate, amount) per line
WORKER_LINES = [("pieces", 434, "0.0125", "5.43"),  # 333 + 101 pieces, rounded once on the line
                ("pieces", 7, "0.3500", "2.45"),
                ("attendance_bonus", None, None, "200.00")]


def shop_world(p: Personas, *, size: int = 500) -> World:
    # the builder's default of 2000 pieces is more than the order builder's bid offers (1000)
    return payroll_world(p, quantity=1000, size=size)


def build_month(p: Personas, *, held: bool = False) -> Month:
    w = shop_world(p)
    w.worker.work_mode = WorkMode.FACTORY
    w.worker.save(update_fields=["work_mode"])
    colleague = extra_worker(p, p.broker, name="陈美华", bank_name=BANK, bank_account="6230910099990001")
    first = last_month() + timedelta(days=2)
    log(w, 333, day=first)
    log(w, 101, day=first + timedelta(days=1), bundle=1)
    log(w, 7, day=first, procedure=1)
    log(w, 80, day=first, worker=colleague, procedure=1)
    attend(w, w.worker, [first, first + timedelta(days=1)])
    attend(w, w.worker, [first + timedelta(days=2)], Attendance.Mark.LATE)  # one late day: the rule allows 2
    held_worker = None
    if held:
        held_worker = extra_worker(p, p.broker, name="周兰芳")  # no bank details on file
        log(w, 100, day=first, worker=held_worker)
    log(w, 10, day=timezone.localdate())  # this month's work: not last month's pay
    return Month(w, colleague, held_worker)


@pytest.fixture
def month(personas) -> Month:
    return build_month(personas)


@pytest.fixture
def month_held(personas) -> Month:
    return build_month(personas, held=True)


# --- calling the API ----------------------------------------------------------------------------

def post(client, url: str, data: dict | None = None):
    return client.post(url, data or {}, format="json")


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json()


def refused(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    if field is not None:
        assert field in body["fields"], body
    return body


def results(response) -> list[dict]:
    return ok(response)["results"]


def today() -> str:
    return timezone.localdate().isoformat()


def preview(client, month: date) -> dict:
    return ok(post(client, "/api/payroll-runs/", {"month": ym(month)}), 201)


def close(client, run_id: int) -> dict:
    return ok(post(client, f"/api/payroll-runs/{run_id}/close/"))


def closed_run(m: Month) -> tuple[Any, dict]:
    """The broker previews and closes last month: (its client, the closed run)."""
    broker = _client(m.p.broker)
    run = preview(broker, last_month())
    return broker, close(broker, run["id"])


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def bank_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    raw = response.content
    assert raw.startswith("\ufeff".encode())  # a BOM, so spreadsheet programs read the Chinese names
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def lines_of(slip: dict) -> list[tuple]:
    return [(line["kind"], line["quantity"], line["rate"], line["amount"]) for line in slip["lines"]]


MODELS = [PayrollRun, Payslip, PayslipLine, PayoutBatch, PayoutItem, Transaction, Entry, Account]


def snapshot() -> dict[str, list[dict]]:
    """Every payroll and ledger row: a refused request leaves this exactly as it was."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


# --- the journey ---------------------------------------------------------------------------------

def test_preview_close_export_pay_and_read_the_payslip(month, client_for):
    m, p = month, month.p
    broker = client_for(p.broker)

    # given last month previewed from its logs
    run = preview(broker, last_month())
    assert (run["month"], run["status"], run["payslips"], run["total"]) == (ym(last_month()), "preview", 2, "235.88")
    assert run["batches"] == []
    # a log the broker adds before closing is in the recomputed preview (same run, 200)
    log(m.w, 4, day=last_month(), worker=m.colleague, procedure=1)
    again = ok(post(broker, "/api/payroll-runs/", {"month": ym(last_month())}))
    assert again["id"] == run["id"] and again["total"] == "237.28"
    recomputed = ok(post(broker, f"/api/payroll-runs/{run['id']}/recompute/"))
    assert recomputed["total"] == "237.28"
    # a preview is the broker's draft: the worker sees no payslip yet
    assert results(client_for(p.worker).get("/api/payslips/")) == []

    # when it is closed
    closed = close(broker, run["id"])
    assert closed["status"] == "closed" and closed["closed_at"]
    [brief] = closed["batches"]
    assert (brief["number"], brief["status"]) == (1, "open")
    slips = {s["worker"]: s for s in results(broker.get(f"/api/payroll-runs/{run['id']}/payslips/"))}
    assert {w: s["total"] for w, s in slips.items()} == {m.worker.pk: "207.88", m.colleague.pk: "29.40"}
    assert lines_of(slips[m.worker.pk]) == WORKER_LINES

    # then the bank file pays each payslip's total to the fen
    batch = ok(broker.get(f"/api/payout-batches/{brief['id']}/"))
    assert batch["totals"] == {"payments": 2, "amount": "237.28", "paid": "0.00", "failed": "0.00", "held": 0}
    rows = bank_csv(broker.get(f"/api/payout-batches/{brief['id']}/bank-file/"))
    assert rows[0] == ["worker", "bank", "account", "amount", "reference"]
    items = {i["worker"]: i for i in batch["items"]}
    assert rows[1:] == [
        [m.worker.name, BANK, "6230910012345678", slips[m.worker.pk]["total"], items[m.worker.pk]["reference"]],
        ["陈美华", BANK, "6230910099990001", slips[m.colleague.pk]["total"], items[m.colleague.pk]["reference"]],
    ]
    assert len({r[4] for r in rows[1:]}) == 2  # one reference per payment
    summary = broker.get(f"/api/payout-batches/{brief['id']}/summary/")
    assert summary.status_code == 200 and summary["Content-Type"] == "application/pdf"
    assert summary.content.startswith(b"%PDF")

    # when the bank's answer is recorded: all paid
    paid = ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", {"bank_reference": "BOC-20261125-01",
                                                                   "paid_on": today()}), 201)
    assert (paid["id"], paid["status"], paid["bank_reference"], paid["paid_on"]) == (
        brief["id"], "paid", "BOC-20261125-01", today())
    assert {i["status"] for i in paid["items"]} == {"paid"} and {i["paid_on"] for i in paid["items"]} == {today()}
    assert paid["totals"]["paid"] == "237.28"

    # then the run is paid, and the worker reads her payslip, line by line, with its payment
    done = ok(broker.get(f"/api/payroll-runs/{run['id']}/"))
    assert done["status"] == "paid" and done["paid_at"]
    worker = client_for(p.worker)
    [mine] = results(worker.get("/api/payslips/"))
    assert (mine["id"], mine["month"], mine["status"], mine["total"]) == (
        slips[m.worker.pk]["id"], ym(last_month()), "paid", "207.88")
    assert lines_of(mine) == WORKER_LINES
    assert all(line["label"] and line["explanation"] for line in mine["lines"])
    assert sum(D(line["amount"]) for line in mine["lines"]) == D(mine["total"])
    assert [(x["amount"], x["status"], x["paid_on"]) for x in mine["payments"]] == [("207.88", "paid", today())]
    assert ok(worker.get(f"/api/payslips/{mine['id']}/")) == mine
    pdf = worker.get(f"/api/payslips/{mine['id']}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    # and the reconciliation matches what she saw as provisional earnings, line by line
    rec = ok(worker.get(f"/api/payslips/{mine['id']}/reconciliation/"))
    assert [(r["procedure_name"], r["rate"], r["provisional_quantity"], r["provisional_amount"],
             r["payslip_quantity"], r["payslip_amount"], r["after_close_quantity"], r["difference"])
            for r in rec["rows"]] == [("钉珠", "0.0125", 434, "5.43", 434, "5.43", 0, "0.00"),
                                      ("打结", "0.3500", 7, "2.45", 7, "2.45", 0, "0.00")]
    assert (rec["provisional_total"], rec["payslip_piece_total"], rec["other_lines_total"], rec["payslip_total"]) == (
        "7.88", "7.88", "200.00", "207.88")

    # and the books: one payroll posting, one payout posting
    assert sorted(Transaction.objects.values_list("kind", flat=True)) == ["payout", "payroll"]


def test_a_log_arriving_after_the_close_shows_in_the_reconciliation_and_next_month(month, client_for):
    m, p = month, month.p
    broker, run = closed_run(m)
    late = log(m.w, 40, day=last_month() + timedelta(days=3), reason="漏记")  # 40 × 0.0125 = 0.50, after the close
    mine = next(s for s in results(client_for(p.worker).get("/api/payslips/")) if s["worker"] == m.worker.pk)
    rec = ok(client_for(p.worker).get(f"/api/payslips/{mine['id']}/reconciliation/"))
    beads = next(r for r in rec["rows"] if r["procedure_name"] == "钉珠")
    assert (beads["provisional_quantity"], beads["payslip_quantity"], beads["after_close_quantity"],
            beads["difference"]) == (474, 434, 40, "0.50")
    # the closed payslip did not move; this month's preview pays the late pieces as an adjustment
    assert ok(broker.get(f"/api/payslips/{mine['id']}/"))["total"] == "207.88"
    now = preview(broker, this_month())
    [slip] = [s for s in results(broker.get(f"/api/payroll-runs/{now['id']}/payslips/")) if s["worker"] == m.worker.pk]
    adjustment = [line for line in slip["lines"] if line["kind"] == "adjustment"]
    assert [(x["work_month"], x["quantity"], x["amount"]) for x in adjustment] == [(ym(last_month()), 40, "0.50")]
    assert late.pk > run["watermark"]


# --- the bank's answer, once ---------------------------------------------------------------------

def test_mark_paid_retried_with_the_same_body_is_one_posting(month, client_for):
    broker, run = closed_run(month)
    batch_id = run["batches"][0]["id"]
    body = {"bank_reference": "BOC-0001", "paid_on": today()}
    first = ok(post(broker, f"/api/payout-batches/{batch_id}/paid/", body), 201)
    books = snapshot()

    # the same answer again, by batch or by run: the batch as it was recorded, nothing posted again
    again = ok(post(broker, f"/api/payout-batches/{batch_id}/paid/", body))
    by_run = ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", body))
    assert again == first == by_run
    assert snapshot() == books
    assert Transaction.objects.filter(kind="payout").count() == 1
    [posting] = Transaction.objects.filter(kind="payout")
    assert posting.idempotency_key == f"payout:{batch_id}"
    assert sorted(e.amount.amount for e in posting.entries.all()) == [D("-235.88"), D("28.00"), D("207.88")]


@pytest.mark.parametrize("change", [
    {"bank_reference": "BOC-0002"},
    {"paid_on": (timezone.localdate() - timedelta(days=1)).isoformat()},
    {"failures": "colleague"},
], ids=["other_reference", "other_date", "other_failures"])
def test_a_different_answer_for_a_paid_batch_is_refused(month, client_for, change):
    m = month
    broker, run = closed_run(m)
    # the batch was made two days ago, so yesterday is a date it could have been paid on
    PayoutBatch.objects.filter(pk=run["batches"][0]["id"]).update(
        created_at=timezone.now() - timedelta(days=2))
    url = f"/api/payout-batches/{run['batches'][0]['id']}/paid/"
    ok(post(broker, url, {"bank_reference": "BOC-0001", "paid_on": today()}), 201)
    books = snapshot()
    body = {"bank_reference": "BOC-0001", "paid_on": today(), **change}
    if change.get("failures") == "colleague":
        body["failures"] = [{"worker": m.colleague.pk, "reason": "账号已销户"}]
    refused(post(broker, url, body), 409, "batch_already_paid")
    assert snapshot() == books
    assert PayoutBatch.objects.get().bank_reference == "BOC-0001"


def test_a_refusal_is_worded_in_the_reader_s_language(month, client_for):
    broker, run = closed_run(month)
    url = f"/api/payout-batches/{run['batches'][0]['id']}/paid/"
    ok(post(broker, url, {"bank_reference": "BOC-0001", "paid_on": today()}), 201)
    worded = {}
    for language in ("en", "zh-hans"):
        response = broker.post(url, {"bank_reference": "BOC-0002", "paid_on": today()}, format="json",
                               HTTP_ACCEPT_LANGUAGE=language)
        body = refused(response, 409, "batch_already_paid")
        assert "BOC-0001" in body["message"]
        worded[language] = body["message"]
    assert worded["en"] != worded["zh-hans"]


def test_paying_a_preview_is_refused(month, client_for):
    broker = client_for(month.p.broker)
    run = preview(broker, last_month())
    books = snapshot()
    refused(post(broker, f"/api/payroll-runs/{run['id']}/pay/", {"bank_reference": "BOC-0001", "paid_on": today()}),
            409, "run_not_closed")
    assert snapshot() == books


def test_closing_twice_is_refused(month, client_for):
    broker, run = closed_run(month)
    books = snapshot()
    refused(post(broker, f"/api/payroll-runs/{run['id']}/close/"), 409, "run_closed")
    refused(post(broker, f"/api/payroll-runs/{run['id']}/recompute/"), 409, "run_closed")
    refused(post(broker, "/api/payroll-runs/", {"month": ym(last_month())}), 409, "period_closed", "month")
    refused(post(broker, "/api/payroll-runs/", {"month": ym(month_before_last())}), 409, "period_closed", "month")
    assert snapshot() == books


def test_this_month_cannot_close_before_it_is_over(month, client_for):
    broker = client_for(month.p.broker)
    ok(post(broker, f"/api/payroll-runs/{preview(broker, last_month())['id']}/close/"))
    run = preview(broker, this_month())
    books = snapshot()
    refused(post(broker, f"/api/payroll-runs/{run['id']}/close/"), 409, "month_not_over")
    assert snapshot() == books


def test_months_close_in_order(month, client_for):
    broker = client_for(month.p.broker)
    Membership.objects.update(started_on=date(2024, 1, 1))
    earlier = preview(broker, month_before_last())
    run = preview(broker, last_month())
    refused(post(broker, f"/api/payroll-runs/{run['id']}/close/"), 409, "earlier_run_open")
    close(broker, earlier["id"])
    assert close(broker, run["id"])["status"] == "closed"


# --- failures and retries ------------------------------------------------------------------------

def test_failed_payments_are_retried_in_a_batch_of_their_own(month, client_for):
    m = month
    broker, run = closed_run(m)
    first_id = run["batches"][0]["id"]
    answer = {"bank_reference": "BOC-0001", "paid_on": today(),
              "failures": [{"worker": m.colleague.pk, "reason": "账号已销户"}]}
    paid = ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", answer), 201)
    assert ok(post(broker, f"/api/payout-batches/{first_id}/paid/", answer)) == paid  # the same answer again
    items = {i["worker"]: i for i in paid["items"]}
    assert (items[m.worker.pk]["status"], items[m.colleague.pk]["status"]) == ("paid", "failed")
    assert items[m.colleague.pk]["failure_reason"] == "账号已销户"
    assert paid["totals"] == {"payments": 2, "amount": "235.88", "paid": "207.88", "failed": "28.00", "held": 0}
    # only what was paid is posted; the run waits for the failed payment
    [payout] = Transaction.objects.filter(kind="payout")
    assert sorted(e.amount.amount for e in payout.entries.all()) == [D("-207.88"), D("207.88")]
    assert ok(broker.get(f"/api/payroll-runs/{run['id']}/"))["status"] == "closed"

    # when the colleague's new account is on file, the retry batch pays her alone
    Worker.objects.filter(pk=m.colleague.pk).update(bank_account="6230910099990002")
    retry = ok(post(broker, f"/api/payout-batches/{first_id}/retry/"), 201)
    assert (retry["number"], retry["status"]) == (2, "open")
    assert [(i["worker"], i["amount"], i["bank_account"], i["status"]) for i in retry["items"]] == [
        (m.colleague.pk, "28.00", "6230910099990002", "pending")]
    rows = bank_csv(broker.get(f"/api/payout-batches/{retry['id']}/bank-file/"))
    assert rows[1:] == [["陈美华", BANK, "6230910099990002", "28.00", retry["items"][0]["reference"]]]
    # asked again: the same batch, nothing new
    books = snapshot()
    assert ok(post(broker, f"/api/payout-batches/{first_id}/retry/")) == retry
    assert snapshot() == books
    assert PayoutItem.objects.get(batch_id=first_id, worker=m.colleague).retried_in_id == retry["id"]

    # the run's newest batch is the retry: paying it settles the run
    ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", {"bank_reference": "BOC-0002", "paid_on": today()}), 201)
    assert ok(broker.get(f"/api/payroll-runs/{run['id']}/"))["status"] == "paid"
    assert Transaction.objects.filter(kind="payout").count() == 2
    cash = account_for(purpose=P.BROKER_CASH, organisation=m.p.broker_org)
    payable = account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=m.p.broker_org, worker=m.colleague)
    balances = {row["code"]: row["balance"] for row in results(broker.get("/api/ledger/accounts/"))}
    assert (balances[cash.code], balances[payable.code]) == ("-235.88", "0.00")
    # the colleague's payslip shows both attempts
    slip = Payslip.objects.get(worker=m.colleague)
    mine = ok(broker.get(f"/api/payslips/{slip.pk}/"))
    assert [(x["batch_number"], x["status"]) for x in mine["payments"]] == [(1, "failed"), (2, "paid")]


def test_an_answer_resent_after_its_retry_batch_was_made_is_still_the_first_batch_s(month, client_for):
    # the run's newest batch is now the retry; the resent answer names batch 1's bank reference
    m = month
    broker, run = closed_run(m)
    answer = {"bank_reference": "BOC-0001", "paid_on": today(),
              "failures": [{"worker": m.colleague.pk, "reason": "账号已销户"}]}
    first = ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", answer), 201)
    retry = ok(post(broker, f"/api/payout-batches/{first['id']}/retry/"), 201)
    books = snapshot()

    again = ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", answer))

    assert (again["id"], again["number"], again["bank_reference"]) == (first["id"], 1, "BOC-0001")
    assert snapshot() == books
    assert ok(broker.get(f"/api/payout-batches/{retry['id']}/"))["status"] == "open"
    # a new answer is for the newest batch: the retry
    paid = ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", {"bank_reference": "BOC-0002",
                                                                   "paid_on": today()}), 201)
    assert paid["id"] == retry["id"]


def test_retry_needs_a_recorded_batch_with_failures(month, client_for):
    broker, run = closed_run(month)
    batch_id = run["batches"][0]["id"]
    refused(post(broker, f"/api/payout-batches/{batch_id}/retry/"), 409, "batch_not_paid")
    ok(post(broker, f"/api/payout-batches/{batch_id}/paid/", {"bank_reference": "BOC-0001", "paid_on": today()}), 201)
    books = snapshot()
    refused(post(broker, f"/api/payout-batches/{batch_id}/retry/"), 409, "nothing_to_retry")
    assert snapshot() == books


def test_a_worker_without_bank_details_is_held_back(month_held, client_for):
    m = month_held
    broker, run = closed_run(m)
    batch_id = run["batches"][0]["id"]
    batch = ok(broker.get(f"/api/payout-batches/{batch_id}/"))
    held = next(i for i in batch["items"] if i["worker"] == m.held.pk)
    assert (held["status"], held["failure_reason"], held["amount"]) == ("failed", "no_bank_account", "1.25")
    assert held["failure_label"] == "未登记银行账户"
    assert ok(broker.get(f"/api/payout-batches/{batch_id}/", HTTP_ACCEPT_LANGUAGE="en"))["items"][
        [i["worker"] for i in batch["items"]].index(m.held.pk)]["failure_label"] == "No bank details on file"
    assert batch["totals"] == {"payments": 2, "amount": "235.88", "paid": "0.00", "failed": "1.25", "held": 1}
    # not in the bank file
    rows = bank_csv(broker.get(f"/api/payout-batches/{batch_id}/bank-file/"))
    assert [r[0] for r in rows[1:]] == [m.worker.name, "陈美华"]
    assert broker.get(f"/api/payout-batches/{batch_id}/summary/").content.startswith(b"%PDF")
    # she is not a pending payment of the batch, so the bank cannot report her as failed
    refused(post(broker, f"/api/payout-batches/{batch_id}/paid/", {
        "bank_reference": "BOC-0001", "paid_on": today(),
        "failures": [{"worker": m.held.pk, "reason": "无账号"}]}), 400, "invalid", "failures")

    # the bank pays the others; her payment waits, so the run is not paid yet
    paid = ok(post(broker, f"/api/payout-batches/{batch_id}/paid/", {"bank_reference": "BOC-0001",
                                                                     "paid_on": today()}), 201)
    assert {i["worker"]: i["status"] for i in paid["items"]} == {m.worker.pk: "paid", m.colleague.pk: "paid",
                                                                 m.held.pk: "failed"}
    assert ok(broker.get(f"/api/payroll-runs/{run['id']}/"))["status"] == "closed"
    # no retry while her details are missing
    refused(post(broker, f"/api/payout-batches/{batch_id}/retry/"), 409, "nothing_to_retry")

    # once they are on file (through the workers API), the retry pays her
    patched = broker.patch(f"/api/workers/{m.held.pk}/", {"bank_name": BANK, "bank_account": "6230 9100 7777"},
                           format="json")
    assert patched.status_code == 200, patched.json()
    retry = ok(post(broker, f"/api/payout-batches/{batch_id}/retry/"), 201)
    assert [(i["worker"], i["amount"], i["status"]) for i in retry["items"]] == [(m.held.pk, "1.25", "pending")]
    assert [r[0] for r in bank_csv(broker.get(f"/api/payout-batches/{retry['id']}/bank-file/"))[1:]] == ["周兰芳"]
    ok(post(broker, f"/api/payout-batches/{retry['id']}/paid/", {"bank_reference": "BOC-0002", "paid_on": today()}),
       201)
    assert ok(broker.get(f"/api/payroll-runs/{run['id']}/"))["status"] == "paid"


def test_a_month_with_nothing_to_pay_is_paid_when_closed(personas, client_for):
    shop_world(personas)
    broker = client_for(personas.broker)
    run = close(broker, preview(broker, last_month())["id"])
    assert (run["status"], run["payslips"], run["total"], run["batches"]) == ("paid", 0, "0.00", [])
    refused(post(broker, f"/api/payroll-runs/{run['id']}/pay/", {"bank_reference": "X-1", "paid_on": today()}),
            409, "nothing_to_pay")


# --- bad input -----------------------------------------------------------------------------------

def _next_month() -> str:
    return ym((this_month() + timedelta(days=32)).replace(day=1))


@pytest.mark.parametrize("body, field", [
    ({}, "month"),
    ({"month": "2026-13"}, "month"),
    ({"month": "2026/10"}, "month"),
    ({"month": "October"}, "month"),
    ({"month": "next"}, "month"),  # replaced by next month's YYYY-MM below
])
def test_a_bad_month_is_a_400_and_writes_nothing(month, client_for, body, field):
    if body.get("month") == "next":
        body = {"month": _next_month()}
    books = snapshot()
    refused(post(client_for(month.p.broker), "/api/payroll-runs/", body), 400, "invalid", field)
    assert snapshot() == books


def test_the_month_filter_must_be_a_month(month, client_for):
    broker = client_for(month.p.broker)
    run = preview(broker, last_month())
    assert [r["id"] for r in results(broker.get(f"/api/payroll-runs/?month={ym(last_month())}"))] == [run["id"]]
    assert results(broker.get(f"/api/payroll-runs/?month={ym(this_month())}")) == []
    assert [r["id"] for r in results(broker.get("/api/payroll-runs/?status=preview"))] == [run["id"]]
    assert results(broker.get("/api/payroll-runs/?status=closed")) == []
    refused(broker.get("/api/payroll-runs/?month=2026-13"), 400, "invalid", "month")
    refused(broker.get("/api/payroll-runs/?month=soon"), 400, "invalid", "month")


def _yesterday() -> str:
    return (timezone.localdate() - timedelta(days=1)).isoformat()


def _tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


BAD_PAYMENTS = [
    ({"paid_on": "today"}, "bank_reference"),
    ({"bank_reference": "", "paid_on": "today"}, "bank_reference"),
    ({"bank_reference": "   ", "paid_on": "today"}, "bank_reference"),
    ({"bank_reference": "BOC-1"}, "paid_on"),
    ({"bank_reference": "BOC-1", "paid_on": "2026-02-30"}, "paid_on"),
    ({"bank_reference": "BOC-1", "paid_on": "tomorrow"}, "paid_on"),
    ({"bank_reference": "BOC-1", "paid_on": "yesterday"}, "paid_on"),  # before the batch existed
    ({"bank_reference": "BOC-1", "paid_on": "today", "failures": [{"worker": "stranger", "reason": "x"}]},
     "failures"),
    ({"bank_reference": "BOC-1", "paid_on": "today", "failures": [{"worker": "colleague"}]}, "failures.0.reason"),
    ({"bank_reference": "BOC-1", "paid_on": "today", "failures": [{"worker": "colleague", "reason": "  "}]},
     "failures.0.reason"),
    ({"bank_reference": "BOC-1", "paid_on": "today", "failures": {"worker": 1}}, "failures.non_field_errors"),
]


@pytest.mark.parametrize("body, field", BAD_PAYMENTS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_PAYMENTS)])
@pytest.mark.parametrize("route", ["batch", "run"])
def test_a_bad_bank_answer_is_a_400_and_writes_nothing(month, client_for, body, field, route):
    m = month
    broker, run = closed_run(m)
    dates = {"today": today(), "tomorrow": _tomorrow(), "yesterday": _yesterday()}
    body = dict(body)
    if body.get("paid_on") in dates:
        body["paid_on"] = dates[body["paid_on"]]
    stranger = m.p.other_worker_record  # the rival's worker: not in this batch
    if isinstance(body.get("failures"), list):
        body["failures"] = [{**f, "worker": {"stranger": stranger.pk, "colleague": m.colleague.pk}[f["worker"]]}
                            for f in body["failures"]]
    url = (f"/api/payout-batches/{run['batches'][0]['id']}/paid/" if route == "batch"
           else f"/api/payroll-runs/{run['id']}/pay/")
    books = snapshot()
    refused(post(broker, url, body), 400, "invalid", field)
    assert snapshot() == books


# --- the ledger ---------------------------------------------------------------------------------

def test_ledger_accounts_show_exact_balances_now_and_as_of(month, client_for):
    m, p = month, month.p
    broker, run = closed_run(m)
    between = timezone.now()
    ok(post(broker, f"/api/payroll-runs/{run['id']}/pay/", {
        "bank_reference": "BOC-0001", "paid_on": today(),
        "failures": [{"worker": m.colleague.pk, "reason": "账号已销户"}]}), 201)
    expense = account_for(purpose=P.BROKER_WAGES_EXPENSE, organisation=p.broker_org)
    cash = account_for(purpose=P.BROKER_CASH, organisation=p.broker_org)
    hers = account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=p.broker_org, worker=m.worker)
    theirs = account_for(purpose=P.WORKER_WAGES_PAYABLE, organisation=p.broker_org, worker=m.colleague)

    def balances(**params) -> dict[str, str]:
        rows = results(broker.get("/api/ledger/accounts/", params))
        return {row["code"]: row["balance"] for row in rows}

    assert balances() == {expense.code: "235.88", cash.code: "-207.88", hers.code: "0.00", theirs.code: "-28.00"}
    assert balances(as_of=between.isoformat()) == {expense.code: "235.88", cash.code: "0.00",
                                                   hers.code: "-207.88", theirs.code: "-28.00"}
    assert balances(as_of=today()) == balances()  # a date: the end of that day
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert set(balances(as_of=yesterday).values()) == {"0.00"}
    # a moment with its offset: the close was posted before the payment, in any time zone's words
    utc = timezone.localtime(between, timezone=timezone.get_fixed_timezone(0)).isoformat()
    assert balances(as_of=utc) == balances(as_of=between.isoformat())
    assert balances(purpose=P.WORKER_WAGES_PAYABLE) == {hers.code: "0.00", theirs.code: "-28.00"}
    # the books balance: every posting sums to zero
    assert sum(D(v) for v in balances().values()) == 0

    # the worker sees her own account only
    [own] = results(client_for(p.worker).get("/api/ledger/accounts/"))
    assert (own["code"], own["worker"], own["balance"]) == (hers.code, m.worker.pk, "0.00")


@pytest.mark.parametrize("value", ["tomorrow-ish", "2026-02-30", "2026-13-01T00:00:00", "2026-10-10T25:00:00"])
def test_a_bad_as_of_is_a_400(month, client_for, value):
    response = client_for(month.p.broker).get("/api/ledger/accounts/", {"as_of": value})
    refused(response, 400, "invalid", "as_of")


def test_the_firm_reads_its_own_ledger_accounts(personas, client_for):
    p = personas
    receivable = account_for(purpose=P.FIRM_RECEIVABLE, organisation=p.firm_org)
    income = account_for(purpose=P.BROKER_INCOME, organisation=p.broker_org)
    ledger_post(key="inv-test-1", kind="invoice", memo="验收 10 件",
                lines=[(receivable, D("12.34")), (income, D("-12.34"))])
    rows = results(client_for(p.firm).get("/api/ledger/accounts/"))
    assert [(r["code"], r["purpose"], r["balance"]) for r in rows] == [(receivable.code, "firm_receivable", "12.34")]


# --- query counts -------------------------------------------------------------------------------

def months_back(n: int) -> list[date]:
    """The n months up to last month, oldest first."""
    months, month = [], last_month()
    for _ in range(n):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def grow(p: Personas, n: int) -> World:
    """n closed runs (one a month), each paying the worker and a worker of its own: n runs, n
    batches, 2n payslips, n + 1 wage accounts."""
    w = shop_world(p, size=1000)
    Membership.objects.update(started_on=date(2020, 1, 1))
    for month_start in months_back(n):
        colleague = extra_worker(p, p.broker, started_on=date(2020, 1, 1), bank_name=BANK,
                                 bank_account=f"62309100{month_start:%Y%m}")
        log(w, 3, day=month_start + timedelta(days=4))
        log(w, 5, day=month_start + timedelta(days=5), worker=colleague, procedure=1)
        run = preview(_client(p.broker), month_start)
        close(_client(p.broker), run["id"])
    return w


def fresh(user):
    return None if user is None else User.objects.get(pk=user.pk)


# endpoint: {persona: (bound, rows for n)}. Measured with 3 rows; the test proves they hold for 15:
# the page, then one query per prefetched relation (a run's batches; a batch's items and their
# batch; a payslip's lines, their procedures, its payments and their batches; the accounts'
# balances in one grouped query). An auditor pays two lookups for the county (organisation,
# jurisdiction).
LISTS = {
    "/api/payroll-runs/": {"broker": (2, lambda n: n), "team_head": (2, lambda n: n), "auditor": (4, lambda n: n),
                           "admin": (2, lambda n: n)},
    "/api/payout-batches/": {"broker": (2, lambda n: n), "team_head": (2, lambda n: n),
                             "auditor": (4, lambda n: n), "admin": (2, lambda n: n)},
    "/api/payslips/": {"broker": (5, lambda n: 2 * n), "team_head": (5, lambda n: 2 * n),
                       "auditor": (7, lambda n: 2 * n), "worker": (5, lambda n: n), "admin": (5, lambda n: 2 * n)},
    # the wages expense and a wages-payable account per worker (nothing paid yet: no cash account)
    "/api/ledger/accounts/": {"broker": (2, lambda n: n + 2), "team_head": (2, lambda n: n + 2),
                              "auditor": (4, lambda n: n + 2), "worker": (2, lambda n: 1),
                              "admin": (2, lambda n: n + 2)},
}
CASES = [(url, name) for url, table in LISTS.items() for name in sorted(table)]


@pytest.mark.parametrize("url, name", CASES, ids=[f"{u.strip('/').replace('/', '.')}-{n}" for u, n in CASES])
@pytest.mark.parametrize("n", [3, 15])
def test_list_queries_do_not_grow_with_rows(personas, client_for, django_assert_max_num_queries, url, name, n):
    grow(personas, n)
    bound, rows = LISTS[url][name]
    client = client_for(fresh(personas.users()[name]))
    with django_assert_max_num_queries(bound):
        response = client.get(f"{url}?page_size=100")
    assert len(results(response)) == rows(n)


@pytest.mark.parametrize("n", [3, 15])
def test_a_run_s_payslips_do_not_grow_with_rows(personas, client_for, django_assert_max_num_queries, n):
    w = shop_world(personas)
    for i in range(n):
        colleague = extra_worker(personas, personas.broker, bank_name=BANK, bank_account=f"6230910000{i:04d}")
        log(w, 2, day=last_month(), worker=colleague)
        log(w, 1, day=last_month(), worker=colleague, procedure=1)
    broker = client_for(personas.broker)
    run = close(broker, preview(broker, last_month())["id"])
    client = client_for(fresh(personas.broker))
    # the run and its batches, then the page: payslips, their lines and procedures, their payments
    # and those payments' batches
    with django_assert_max_num_queries(7):
        response = client.get(f"/api/payroll-runs/{run['id']}/payslips/?page_size=100")
    assert len(results(response)) == n
