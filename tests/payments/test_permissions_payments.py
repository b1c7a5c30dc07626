"""Every payroll, payout, payslip and ledger-account endpoint against every persona: exactly what
each may see or do. A refused write answers in the error shape and leaves every payroll and
ledger row as it was.

The rules: the broker's owner acts on its own runs; its team head reads them but may not
preview, recompute, close, pay, retry or export the bank file (403); the rival broker gets 404 on
the broker's runs, batches and payslips; Suichang's auditor (both brokers are in Suichang) reads
closed runs, their batches and payslips (a preview is the broker's draft: 404), and is refused
every write (403); Longquan's auditor sees none of it (404); a worker reads her own payslips of
closed runs only and is refused runs and batches (403); the firm is refused payroll (403) and
reads its own ledger accounts; anonymous is refused (403, not_authenticated); admin does
everything.

The world: the broker's September (two months ago) is closed — the worker's and her colleague's
payslips, batch 1 waiting for the bank — and its October (last month) is a preview with the
worker's payslip; the rival's September is closed with the other worker's payslip and a batch;
the firm owes the broker one invoice line."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokers import services as bs
from accounts.models import Organisation, Role
from payments.models import Account, PayoutBatch, PayrollRun, Payslip, Transaction
from payments.payouts import batch_mark_paid
from payments.payroll import payroll_close, payroll_preview
from payments.services import account_for, ledger_post

from ..brokers.api_world import NAMES, extra_worker
from ..factories import OrganisationFactory, UserFactory
from ..brokers.shop import row
from ..orders.builders import awarded
from ..personas import Personas
from .payroll_world import BEAD_PROCEDURES, last_month, log, month_before_last, ym
from .test_payroll_api import BANK, shop_world, snapshot

pytestmark = pytest.mark.django_db

FORBIDDEN = 403
P = Account.Purpose


@dataclass
class Books:
    p: Personas
    closed: PayrollRun  # the broker's September, closed
    draft: PayrollRun  # the broker's October, a preview
    rival: PayrollRun  # the rival's September, closed
    batch: PayoutBatch  # the broker's batch 1 of September
    rival_batch: PayoutBatch
    slip: Payslip  # the worker's September payslip
    colleague_slip: Payslip
    draft_slip: Payslip  # the worker's October payslip (preview)
    rival_slip: Payslip  # the other worker's September payslip
    accounts: dict[str, set[str]]  # account codes by owner: broker, rival, firm, worker, other_worker

    def user(self, name: str):
        return self.p.users()[name]


def build_books(p: Personas) -> Books:
    w = shop_world(p)
    colleague = extra_worker(p, p.broker, name="陈美华", bank_name=BANK, bank_account="6230910099990001")
    september, october = month_before_last(), last_month()
    log(w, 200, day=september + timedelta(days=3))
    log(w, 30, day=september + timedelta(days=3), worker=colleague, procedure=1)
    log(w, 120, day=october + timedelta(days=3))
    closed, _ = payroll_preview(actor=p.broker, month=september)
    closed = payroll_close(actor=p.broker, run_id=closed.pk)
    draft, _ = payroll_preview(actor=p.broker, month=october)

    # the rival's bead work: the other worker, with bank details, in September
    award = awarded(p.firm, p.rival_broker, quantity=100, procedures=BEAD_PROCEDURES, product="对手串珠")
    [bundle] = bs.bundles_cut(actor=p.rival_broker, award_id=award.pk, size=100)
    beads = award.order.procedures.order_by("sequence").first()
    bs.piece_rate_set(actor=p.rival_broker, award_id=award.pk, procedure_id=beads.pk, rate=Decimal("0.0125"))
    other = p.other_worker_record
    other.bank_name, other.bank_account = "龙泉农商银行", "6230910055554444"
    other.save(update_fields=["bank_name", "bank_account"])
    bs.piece_logs_record(actor=p.rival_broker, rows=[row(other, bundle, beads, 80,
                                                         work_date=september + timedelta(days=5))])
    rival, _ = payroll_preview(actor=p.rival_broker, month=september)
    rival = payroll_close(actor=p.rival_broker, run_id=rival.pk)

    # what the firm owes the broker
    receivable = account_for(purpose=P.FIRM_RECEIVABLE, organisation=p.firm_org)
    income = account_for(purpose=P.BROKER_INCOME, organisation=p.broker_org)
    ledger_post(key="inv-perm-1", kind="invoice", memo="验收 10 件",
                lines=[(receivable, Decimal("12.00")), (income, Decimal("-12.00"))])

    def codes(**filters) -> set[str]:
        return set(Account.objects.filter(**filters).values_list("code", flat=True))

    accounts = {"broker": codes(organisation=p.broker_org), "rival": codes(organisation=p.rival_org),
                "firm": codes(organisation=p.firm_org), "worker": codes(worker=p.worker_record),
                "other_worker": codes(worker=other)}
    assert len(accounts["broker"]) == 4 and len(accounts["rival"]) == 2  # expense, payables (, income)
    assert accounts["worker"] and accounts["other_worker"] and accounts["firm"]
    return Books(p=p, closed=closed, draft=draft, rival=rival, batch=closed.batches.get(),
                 rival_batch=rival.batches.get(), slip=closed.payslips.get(worker=p.worker_record),
                 colleague_slip=closed.payslips.get(worker=colleague),
                 draft_slip=draft.payslips.get(worker=p.worker_record), rival_slip=rival.payslips.get(),
                 accounts=accounts)


@pytest.fixture
def books(personas) -> Books:
    return build_books(personas)


# --- calling ------------------------------------------------------------------------------------

def call(client_for, books: Books, name: str, method: str, url: str, data=None):
    client = client_for(books.user(name))
    if method == "get":
        return client.get(url)
    return client.post(url, data if data is not None else {}, format="json")


def expect(table: dict[str, int], name: str) -> int:
    """`table` names who may see or do it (and with what status); everyone else gets 403."""
    return table.get(name, FORBIDDEN)


def assert_refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if code is not None:
        assert body["code"] == code, body
    elif status == 404:
        assert body["code"] == "not_found", body
    else:
        assert body["code"] == ("not_authenticated" if response.wsgi_request.user.is_anonymous
                                else "permission_denied"), body


def refused_and_unchanged(call_it, status: int, code: str | None = None):
    before = snapshot()
    response = call_it()
    assert_refused(response, status, code)
    assert snapshot() == before
    return response


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content[:300]
    return {row["id"] for row in response.json()["results"]}


def today() -> str:
    return timezone.localdate().isoformat()


# who reads what: the broker's closed run and everything of it
READS_CLOSED = {"broker": 200, "team_head": 200, "auditor": 200, "admin": 200, "rival_broker": 404,
                "other_auditor": 404}
# the broker's preview: its staff and admins only
READS_DRAFT = {"broker": 200, "team_head": 200, "admin": 200, "rival_broker": 404, "auditor": 404,
               "other_auditor": 404}
# a write on a closed run or its batch: the owner (and admins); the auditor sees it and is refused
WRITES_CLOSED = {"rival_broker": 404, "other_auditor": 404}
# a write on a preview: the auditor does not see it
WRITES_DRAFT = {"rival_broker": 404, "auditor": 404, "other_auditor": 404}


# --- payroll runs -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_run_list(books, client_for, name):
    b = books
    visible = {"broker": {b.closed, b.draft}, "team_head": {b.closed, b.draft}, "rival_broker": {b.rival},
               "auditor": {b.closed, b.rival}, "other_auditor": set(), "admin": {b.closed, b.draft, b.rival}}
    response = call(client_for, b, name, "get", "/api/payroll-runs/")
    if name not in visible:
        assert_refused(response, FORBIDDEN)
        return
    assert ids(response) == {run.pk for run in visible[name]}


@pytest.mark.parametrize("which, table", [("closed", READS_CLOSED), ("draft", READS_DRAFT)])
@pytest.mark.parametrize("name", NAMES)
def test_run_detail(books, client_for, name, which, table):
    run = getattr(books, which)
    response = call(client_for, books, name, "get", f"/api/payroll-runs/{run.pk}/")
    if expect(table, name) != 200:
        assert_refused(response, expect(table, name))
        return
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (run.pk, run.status)


@pytest.mark.parametrize("which, table", [("closed", READS_CLOSED), ("draft", READS_DRAFT)])
@pytest.mark.parametrize("name", NAMES)
def test_run_payslips(books, client_for, name, which, table):
    run = getattr(books, which)
    response = call(client_for, books, name, "get", f"/api/payroll-runs/{run.pk}/payslips/")
    if expect(table, name) != 200:
        assert_refused(response, expect(table, name))
        return
    assert ids(response) == set(run.payslips.values_list("pk", flat=True))


@pytest.mark.parametrize("name", NAMES)
def test_run_preview(books, client_for, name):
    b = books
    # an administrator names the broker; a broker naming another broker still previews its own
    data = {"month": ym(last_month()), "broker": b.p.broker_org.pk}
    table = {"broker": 200, "admin": 200, "rival_broker": 201}
    if name not in table:
        refused_and_unchanged(lambda: call(client_for, b, name, "post", "/api/payroll-runs/", data), FORBIDDEN)
        return
    response = call(client_for, b, name, "post", "/api/payroll-runs/", data)
    assert response.status_code == table[name], response.json()
    run = PayrollRun.objects.get(pk=response.json()["id"])
    assert (run.broker_id, run.month, run.status) == (b.user(name).organisation_id or b.p.broker_org.pk,
                                                      last_month(), "preview")


@pytest.mark.parametrize("name", ["team_head", "auditor", "other_auditor", "worker", "firm"])
def test_a_role_that_may_not_preview_is_refused_before_its_input_is_read(books, client_for, name):
    refused_and_unchanged(lambda: call(client_for, books, name, "post", "/api/payroll-runs/", {"month": "soon"}),
                          FORBIDDEN)


@pytest.mark.parametrize("action", ["recompute", "close"])
@pytest.mark.parametrize("name", NAMES)
def test_run_recompute_and_close_a_preview(books, client_for, name, action):
    b = books
    url = f"/api/payroll-runs/{b.draft.pk}/{action}/"
    if name not in ("broker", "admin"):
        refused_and_unchanged(lambda: call(client_for, b, name, "post", url), expect(WRITES_DRAFT, name))
        return
    response = call(client_for, b, name, "post", url)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == ("closed" if action == "close" else "preview")


@pytest.mark.parametrize("name", NAMES)
def test_run_close_a_closed_run(books, client_for, name):
    # the owner reaches the rule (409); the auditor sees the run and may not write (403)
    table = {**WRITES_CLOSED, "broker": 409, "admin": 409}
    code = "run_closed" if name in ("broker", "admin") else None
    refused_and_unchanged(lambda: call(client_for, books, name, "post", f"/api/payroll-runs/{books.closed.pk}/close/"),
                          expect(table, name), code)


def answer(**extra) -> dict:
    return {"bank_reference": "BOC-0001", "paid_on": today(), **extra}


@pytest.mark.parametrize("route", ["run", "batch"])
@pytest.mark.parametrize("name", NAMES)
def test_mark_paid(books, client_for, name, route):
    b = books
    url = (f"/api/payroll-runs/{b.closed.pk}/pay/" if route == "run"
           else f"/api/payout-batches/{b.batch.pk}/paid/")
    if name not in ("broker", "admin"):
        refused_and_unchanged(lambda: call(client_for, b, name, "post", url, answer()), expect(WRITES_CLOSED, name))
        return
    response = call(client_for, b, name, "post", url, answer())
    assert response.status_code == 201, response.json()
    assert PayoutBatch.objects.get(pk=b.batch.pk).status == "paid"
    assert PayrollRun.objects.get(pk=b.closed.pk).status == "paid"


@pytest.mark.parametrize("route", ["run", "batch"])
@pytest.mark.parametrize("name", ["team_head", "auditor"])
def test_a_role_that_may_not_pay_is_refused_before_its_input_is_read(books, client_for, name, route):
    b = books
    url = (f"/api/payroll-runs/{b.closed.pk}/pay/" if route == "run"
           else f"/api/payout-batches/{b.batch.pk}/paid/")
    refused_and_unchanged(lambda: call(client_for, b, name, "post", url, {"paid_on": "someday"}), FORBIDDEN)


def test_the_rival_paying_the_broker_s_run_is_not_found_whatever_the_body(books, client_for):
    b = books
    refused_and_unchanged(lambda: call(client_for, b, "rival_broker", "post", f"/api/payroll-runs/{b.closed.pk}/pay/",
                                       {}), 404)


# --- payout batches -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_batch_list(books, client_for, name):
    b = books
    visible = {"broker": {b.batch}, "team_head": {b.batch}, "rival_broker": {b.rival_batch},
               "auditor": {b.batch, b.rival_batch}, "other_auditor": set(), "admin": {b.batch, b.rival_batch}}
    response = call(client_for, b, name, "get", "/api/payout-batches/")
    if name not in visible:
        assert_refused(response, FORBIDDEN)
        return
    assert ids(response) == {batch.pk for batch in visible[name]}


@pytest.mark.parametrize("name", NAMES)
def test_batch_detail(books, client_for, name):
    response = call(client_for, books, name, "get", f"/api/payout-batches/{books.batch.pk}/")
    if expect(READS_CLOSED, name) != 200:
        assert_refused(response, expect(READS_CLOSED, name))
        return
    assert response.status_code == 200
    assert {i["worker"] for i in response.json()["items"]} == {books.slip.worker_id, books.colleague_slip.worker_id}


@pytest.mark.parametrize("name", NAMES)
def test_batch_bank_file_is_the_owner_s(books, client_for, name):
    # the team head and the auditor see the batch and may not export it; who does not see it: 404
    table = {"broker": 200, "admin": 200, **WRITES_CLOSED}
    response = call(client_for, books, name, "get", f"/api/payout-batches/{books.batch.pk}/bank-file/")
    if expect(table, name) != 200:
        assert_refused(response, expect(table, name))
        return
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode("utf-8-sig").splitlines()[0] == "worker,bank,account,amount,reference"


@pytest.mark.parametrize("name", NAMES)
def test_batch_summary(books, client_for, name):
    response = call(client_for, books, name, "get", f"/api/payout-batches/{books.batch.pk}/summary/")
    if expect(READS_CLOSED, name) != 200:
        assert_refused(response, expect(READS_CLOSED, name))
        return
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


@pytest.mark.parametrize("name", NAMES)
def test_batch_retry(books, client_for, name):
    b = books
    batch_mark_paid(actor=b.p.broker, batch_id=b.batch.pk, bank_reference="BOC-0001",
                    paid_on=timezone.localdate(), failures=[{"worker": b.colleague_slip.worker_id, "reason": "销户"}])
    url = f"/api/payout-batches/{b.batch.pk}/retry/"
    if name not in ("broker", "admin"):
        refused_and_unchanged(lambda: call(client_for, b, name, "post", url), expect(WRITES_CLOSED, name))
        return
    response = call(client_for, b, name, "post", url)
    assert response.status_code == 201, response.json()
    assert [i["worker"] for i in response.json()["items"]] == [b.colleague_slip.worker_id]


# --- payslips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_payslip_list(books, client_for, name):
    b = books
    ours = {b.slip, b.colleague_slip, b.draft_slip}
    visible = {"broker": ours, "team_head": ours, "rival_broker": {b.rival_slip}, "worker": {b.slip},
               "other_worker": {b.rival_slip}, "auditor": {b.slip, b.colleague_slip, b.rival_slip},
               "other_auditor": set(), "admin": ours | {b.rival_slip}}
    response = call(client_for, b, name, "get", "/api/payslips/")
    if name not in visible:
        assert_refused(response, FORBIDDEN)
        return
    assert ids(response) == {slip.pk for slip in visible[name]}


SLIP_CLOSED = {**READS_CLOSED, "worker": 200, "other_worker": 404}
SLIP_DRAFT = {**READS_DRAFT, "worker": 404, "other_worker": 404}


@pytest.mark.parametrize("tail", ["", "pdf/", "reconciliation/"])
@pytest.mark.parametrize("which, table", [("slip", SLIP_CLOSED), ("draft_slip", SLIP_DRAFT)])
@pytest.mark.parametrize("name", NAMES)
def test_payslip_detail_pdf_and_reconciliation(books, client_for, name, which, table, tail):
    slip = getattr(books, which)
    response = call(client_for, books, name, "get", f"/api/payslips/{slip.pk}/{tail}")
    if expect(table, name) != 200:
        assert_refused(response, expect(table, name))
        return
    assert response.status_code == 200
    if tail == "pdf/":
        assert response.content.startswith(b"%PDF")
    elif tail == "":
        assert (response.json()["id"], response.json()["total"]) == (slip.pk, f"{slip.total:.2f}")
    else:
        assert response.json()["payslip_total"] == f"{slip.total:.2f}"


# --- ledger accounts ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_ledger_accounts(books, client_for, name):
    a = books.accounts
    visible = {"firm": a["firm"], "broker": a["broker"], "team_head": a["broker"], "rival_broker": a["rival"],
               "worker": a["worker"], "other_worker": a["other_worker"], "auditor": a["broker"] | a["rival"],
               "other_auditor": set(), "admin": set(Account.objects.values_list("code", flat=True))}
    response = call(client_for, books, name, "get", "/api/ledger/accounts/?page_size=100")
    if name not in visible:
        assert_refused(response, FORBIDDEN)
        return
    assert response.status_code == 200
    assert {row["code"] for row in response.json()["results"]} == visible[name]


def test_nothing_was_posted_by_the_refusals(books, client_for):
    # one sweep of every write by every persona who may not: no ledger transaction appears
    b = books
    before = Transaction.objects.count()
    for name in NAMES:
        if name in ("broker", "admin"):
            continue
        for url in (f"/api/payroll-runs/{b.closed.pk}/pay/", f"/api/payout-batches/{b.batch.pk}/paid/",
                    f"/api/payroll-runs/{b.draft.pk}/close/"):
            assert call(client_for, b, name, "post", url, answer()).status_code in (403, 404)
    assert Transaction.objects.count() == before


def test_an_auditor_without_an_office_sees_no_payroll_and_no_accounts(personas, client_for):
    # "the auditor's county" of an auditor with no federation office is no county: not the
    # brokers registered above county level, whose jurisdiction has no county either
    p = personas
    high = OrganisationFactory(kind=Organisation.Kind.BROKER, name="市级加工点", jurisdiction=p.home["city"])
    account_for(purpose=P.BROKER_CASH, organisation=high)
    # a run is born a preview and closes with its payslips in it (the database keeps that order)
    run = PayrollRun.objects.create(broker=high, month=last_month())
    Payslip.objects.create(run=run, worker=p.worker_record, worker_name=p.worker_record.name, total=Decimal("1.00"))
    PayrollRun.objects.filter(pk=run.pk).update(status=PayrollRun.Status.CLOSED)
    PayoutBatch.objects.create(run=run, number=1)
    lone = client_for(UserFactory(username="lone_auditor", role=Role.AUDITOR, organisation=None))
    for url in ("/api/payroll-runs/", "/api/payout-batches/", "/api/payslips/", "/api/ledger/accounts/"):
        assert ids(lone.get(url)) == set(), url
    # while an administrator sees them all
    admin = client_for(p.admin)
    assert ids(admin.get("/api/payroll-runs/")) == {run.pk}
    assert len(ids(admin.get("/api/ledger/accounts/"))) == 1
