"""Raw-SQL attacks on the money, as data: each one is what an attacker holding the application's
database connection could send, and each must be refused by the database itself (the triggers of
migrations payments 0002, 0005, 0006 and brokers 0006; docs/security.md § Database guarantees).

The contract, for the tests here and for the application-role test (a separate psycopg
connection):
- `build_world(personas)` makes, through the real services and committed (call it from a
  `transaction=True` test), the rows the attacks aim at, and returns their ids as a `World`.
- `attack.run(conn, world)` sends the forbidden SQL on `conn` and commits. `conn` is anything
  with `.cursor()` (a context manager whose cursor takes `%s` parameters) and `.commit()`: a
  Django connection outside any atomic block (autocommit: each statement commits, so deferred
  checks fire at the statement) or a psycopg connection (the refusal surfaces at `execute` or at
  `commit`). Every attack is one statement, so nothing half-done survives a refusal.
- `attempt(conn, attack, world)` runs it and returns the refusal (the exception), having rolled
  `conn` back, or None if the database let it through.
- `attack.read(conn, world)` reads back, by raw SQL, the rows the attack aims at: equal before
  and after a refused attack.
- `attack.refusal` is a regular expression the refusal's message matches (the trigger's own
  message, not some other constraint's); `attack.sqlite` says whether SQLite refuses it too.

`rewriting_history()` lets a test's own setup age a row (a log recorded "three days ago") past
the guards: on PostgreSQL by `session_replication_role = replica`, which only a superuser (the
test database's owner, never the application role) may set; on SQLite by the maintenance row."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

FIXED = r"entries are fixed at posting"
INCOMPLETE = r"at least two entries that sum to zero|does not balance"
IMMUTABLE = r"posted ledger rows are immutable"
FROZEN = r"a closed payroll run is frozen"
FORWARD = r"a payroll run only moves forward"
PIECE_LOG = r"piece logs are append-only"
PAYMENT = r"firm payments are append-only"
INVOICE_LINE = r"invoice lines are append-only"
PAYOUT_ITEM = r"a payout item only moves forward"


@dataclass(frozen=True)
class World:
    posted: int  # a posted transaction, not the newest one
    posted_accounts: tuple[int, int]  # two accounts it posts to
    newest: int  # the newest transaction
    broker: int
    worker: int
    month: str  # the closed run's month, YYYY-MM-DD
    paid_run: int
    paid_batch: int
    paid_item: int
    closed_run: int
    closed_slip: int
    closed_line: int
    pending_item: int
    preview_run: int
    preview_slip: int
    preview_line: int
    piece_log: int
    payment: int
    invoice_line: int


@dataclass(frozen=True)
class Attack:
    name: str
    sql: str
    params: Callable[[World], Sequence]
    probe: str  # reads back the rows the attack aims at
    probe_params: Callable[[World], Sequence]
    refusal: str
    sqlite: bool = True

    def run(self, conn, world: World) -> None:
        with conn.cursor() as cursor:
            cursor.execute(self.sql, list(self.params(world)))
        conn.commit()

    def read(self, conn, world: World) -> list[tuple]:
        with conn.cursor() as cursor:
            cursor.execute(self.probe, list(self.probe_params(world)))
            return [tuple(row) for row in cursor.fetchall()]

    def __str__(self) -> str:
        return self.name


def attempt(conn, attack: Attack, world: World) -> Exception | None:
    """The database's refusal of `attack` (conn rolled back), or None if it went through."""
    try:
        attack.run(conn, world)
    except Exception as refusal:  # the driver's or Django's DatabaseError, whichever conn is
        conn.rollback()
        return refusal
    return None


def refused_as_expected(refusal: Exception | None, attack: Attack) -> bool:
    return refusal is not None and re.search(attack.refusal, str(refusal)) is not None


ENTRY_PAIR = ("INSERT INTO payments_entry (transaction_id, account_id, amount, amount_currency) "
              "VALUES (%s, %s, 1, 'CNY'), (%s, %s, -1, 'CNY')")
ENTRIES_OF = "SELECT id, account_id, amount FROM payments_entry WHERE transaction_id = %s ORDER BY id"
RUN = "SELECT id, status, total, watermark, ledger_id, paid_at FROM payments_payrollrun WHERE id = %s"
LINES = ("SELECT id, payslip_id, position, amount FROM payments_payslipline WHERE id = %s OR payslip_id = %s "
         "ORDER BY id")
SLIPS = "SELECT id, run_id, worker_id, total FROM payments_payslip WHERE id = %s OR run_id = %s ORDER BY id"
ITEM = ("SELECT id, batch_id, payslip_id, worker_id, bank_account, amount, status, paid_on, retried_in_id "
        "FROM payments_payoutitem WHERE id = %s")
LOG = "SELECT id, quantity, work_date, rate, worker_id FROM brokers_piecelog WHERE id = %s"
PAYMENT_ROW = "SELECT id, amount, paid_on, invoice_id FROM payments_payment WHERE id = %s"
INVOICE_LINE_ROW = "SELECT id, amount, quantity, due_on FROM payments_invoiceline WHERE id = %s"


def _pair(transaction: Callable[[World], int]) -> Callable[[World], list]:
    return lambda w: [transaction(w), w.posted_accounts[0], transaction(w), w.posted_accounts[1]]


ATTACKS: list[Attack] = [
    # the ledger
    Attack("a balanced pair added to a posted transaction", ENTRY_PAIR, _pair(lambda w: w.posted),
           ENTRIES_OF, lambda w: [w.posted], FIXED),
    # SQLite: the newest transaction may gain entries until the next posting (no row versions)
    Attack("a balanced pair added to the newest posted transaction", ENTRY_PAIR, _pair(lambda w: w.newest),
           ENTRIES_OF, lambda w: [w.newest], FIXED, sqlite=False),
    # SQLite: no commit-time triggers; the next posting is refused instead
    Attack("a transaction with no entries",
           "INSERT INTO payments_transaction (idempotency_key, fingerprint, kind, memo, posted_at, reason) "
           "VALUES ('attack:empty', 'x', 'attack', 'attack', CURRENT_TIMESTAMP, '')", lambda w: [],
           "SELECT id FROM payments_transaction WHERE idempotency_key = 'attack:empty'", lambda w: [],
           INCOMPLETE, sqlite=False),
    # PostgreSQL syntax (one statement writes the transaction and its entries)
    Attack("an unbalanced transaction with its entries",
           "WITH t AS (INSERT INTO payments_transaction (idempotency_key, fingerprint, kind, memo, posted_at, reason) "
           "VALUES ('attack:unbalanced', 'x', 'attack', 'attack', CURRENT_TIMESTAMP, '') RETURNING id) "
           "INSERT INTO payments_entry (transaction_id, account_id, amount, amount_currency) "
           "SELECT t.id, %s, 5, 'CNY' FROM t UNION ALL SELECT t.id, %s, -4, 'CNY' FROM t",
           lambda w: list(w.posted_accounts),
           "SELECT id FROM payments_transaction WHERE idempotency_key = 'attack:unbalanced'", lambda w: [],
           INCOMPLETE, sqlite=False),
    Attack("a posted entry changed", "UPDATE payments_entry SET amount = amount * 2 WHERE transaction_id = %s",
           lambda w: [w.posted], ENTRIES_OF, lambda w: [w.posted], IMMUTABLE),
    Attack("posted entries deleted", "DELETE FROM payments_entry WHERE transaction_id = %s",
           lambda w: [w.posted], ENTRIES_OF, lambda w: [w.posted], IMMUTABLE),
    Attack("a posted transaction deleted", "DELETE FROM payments_transaction WHERE id = %s",
           lambda w: [w.posted], "SELECT id, memo FROM payments_transaction WHERE id = %s", lambda w: [w.posted],
           IMMUTABLE),
    # closed payslips gain, lose and move nothing
    Attack("a line inserted into a closed payslip",
           "INSERT INTO payments_payslipline (payslip_id, position, kind, work_month, amount, params) "
           "VALUES (%s, 99, 'adjustment', %s, 100, '{}')", lambda w: [w.closed_slip, w.month],
           LINES, lambda w: [w.closed_line, w.closed_slip], FROZEN),
    Attack("a preview line moved into a closed payslip",
           "UPDATE payments_payslipline SET payslip_id = %s, position = 99 WHERE id = %s",
           lambda w: [w.closed_slip, w.preview_line], LINES, lambda w: [w.preview_line, w.closed_slip], FROZEN),
    Attack("a closed line moved into a preview payslip",
           "UPDATE payments_payslipline SET payslip_id = %s, position = 99 WHERE id = %s",
           lambda w: [w.preview_slip, w.closed_line], LINES, lambda w: [w.closed_line, w.preview_slip], FROZEN),
    Attack("a closed line changed", "UPDATE payments_payslipline SET amount = 100 WHERE id = %s",
           lambda w: [w.closed_line], LINES, lambda w: [w.closed_line, w.closed_slip], FROZEN),
    Attack("a closed line deleted", "DELETE FROM payments_payslipline WHERE id = %s",
           lambda w: [w.closed_line], LINES, lambda w: [w.closed_line, w.closed_slip], FROZEN),
    Attack("a preview payslip moved into a closed run", "UPDATE payments_payslip SET run_id = %s WHERE id = %s",
           lambda w: [w.closed_run, w.preview_slip], SLIPS, lambda w: [w.preview_slip, w.closed_run], FROZEN),
    Attack("a payslip inserted into a closed run",
           "INSERT INTO payments_payslip (run_id, worker_id, worker_name, total, days_present, days_late) "
           "VALUES (%s, %s, 'attack', 100, 0, 0)", lambda w: [w.closed_run, w.worker],
           SLIPS, lambda w: [w.closed_slip, w.closed_run], FROZEN),
    Attack("a closed payslip deleted", "DELETE FROM payments_payslip WHERE id = %s",
           lambda w: [w.closed_slip], SLIPS, lambda w: [w.closed_slip, w.closed_run], FROZEN),
    # runs move forward only, and a closed one keeps its figures
    Attack("a paid run set back to closed", "UPDATE payments_payrollrun SET status = 'closed' WHERE id = %s",
           lambda w: [w.paid_run], RUN, lambda w: [w.paid_run], FORWARD),
    Attack("a closed run set back to preview", "UPDATE payments_payrollrun SET status = 'preview' WHERE id = %s",
           lambda w: [w.closed_run], RUN, lambda w: [w.closed_run], FORWARD),
    Attack("a preview run marked paid", "UPDATE payments_payrollrun SET status = 'paid' WHERE id = %s",
           lambda w: [w.preview_run], RUN, lambda w: [w.preview_run], FORWARD),
    Attack("a run inserted as closed",
           "INSERT INTO payments_payrollrun (broker_id, month, status, since_watermark, watermark, total, "
           "computed_at, created_at) VALUES (%s, '2001-01-01', 'closed', 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
           lambda w: [w.broker],
           "SELECT id FROM payments_payrollrun WHERE broker_id = %s AND month = '2001-01-01'", lambda w: [w.broker],
           FORWARD),
    Attack("a closed run's ledger posting detached", "UPDATE payments_payrollrun SET ledger_id = NULL WHERE id = %s",
           lambda w: [w.closed_run], RUN, lambda w: [w.closed_run], FROZEN),
    Attack("a closed run's total changed", "UPDATE payments_payrollrun SET total = total + 100 WHERE id = %s",
           lambda w: [w.closed_run], RUN, lambda w: [w.closed_run], FROZEN),
    Attack("a closed run deleted", "DELETE FROM payments_payrollrun WHERE id = %s",
           lambda w: [w.closed_run], RUN, lambda w: [w.closed_run], FROZEN),
    # append-only: piece logs, firm payments, invoice lines
    Attack("a piece log changed", "UPDATE brokers_piecelog SET quantity = quantity + 100 WHERE id = %s",
           lambda w: [w.piece_log], LOG, lambda w: [w.piece_log], PIECE_LOG),
    Attack("a piece log moved to another day", "UPDATE brokers_piecelog SET work_date = '2001-01-01' WHERE id = %s",
           lambda w: [w.piece_log], LOG, lambda w: [w.piece_log], PIECE_LOG),
    Attack("a piece log deleted", "DELETE FROM brokers_piecelog WHERE id = %s",
           lambda w: [w.piece_log], LOG, lambda w: [w.piece_log], PIECE_LOG),
    Attack("a firm payment changed", "UPDATE payments_payment SET amount = amount + 1000 WHERE id = %s",
           lambda w: [w.payment], PAYMENT_ROW, lambda w: [w.payment], PAYMENT),
    Attack("a firm payment deleted", "DELETE FROM payments_payment WHERE id = %s",
           lambda w: [w.payment], PAYMENT_ROW, lambda w: [w.payment], PAYMENT),
    Attack("an invoice line changed", "UPDATE payments_invoiceline SET amount = amount * 10 WHERE id = %s",
           lambda w: [w.invoice_line], INVOICE_LINE_ROW, lambda w: [w.invoice_line], INVOICE_LINE),
    Attack("an invoice line deleted", "DELETE FROM payments_invoiceline WHERE id = %s",
           lambda w: [w.invoice_line], INVOICE_LINE_ROW, lambda w: [w.invoice_line], INVOICE_LINE),
    # payout items: only the forward moves payouts.py makes
    Attack("a pending payout raised", "UPDATE payments_payoutitem SET amount = amount + 100 WHERE id = %s",
           lambda w: [w.pending_item], ITEM, lambda w: [w.pending_item], PAYOUT_ITEM),
    Attack("a pending payout sent to another account",
           "UPDATE payments_payoutitem SET bank_account = '6222020000000000' WHERE id = %s",
           lambda w: [w.pending_item], ITEM, lambda w: [w.pending_item], PAYOUT_ITEM),
    Attack("a pending payout moved to another batch", "UPDATE payments_payoutitem SET batch_id = %s WHERE id = %s",
           lambda w: [w.paid_batch, w.pending_item], ITEM, lambda w: [w.pending_item], PAYOUT_ITEM),
    Attack("a pending payout marked retried", "UPDATE payments_payoutitem SET retried_in_id = %s WHERE id = %s",
           lambda w: [w.paid_batch, w.pending_item], ITEM, lambda w: [w.pending_item], PAYOUT_ITEM),
    Attack("a paid payout set back to pending",
           "UPDATE payments_payoutitem SET status = 'pending', paid_on = NULL WHERE id = %s",
           lambda w: [w.paid_item], ITEM, lambda w: [w.paid_item], PAYOUT_ITEM),
    Attack("a paid payout's date changed", "UPDATE payments_payoutitem SET paid_on = '2001-01-01' WHERE id = %s",
           lambda w: [w.paid_item], ITEM, lambda w: [w.paid_item], PAYOUT_ITEM),
    Attack("a paid payout marked failed",
           "UPDATE payments_payoutitem SET status = 'failed', failure_reason = 'x' WHERE id = %s",
           lambda w: [w.paid_item], ITEM, lambda w: [w.paid_item], PAYOUT_ITEM),
    Attack("a payout item deleted", "DELETE FROM payments_payoutitem WHERE id = %s",
           lambda w: [w.paid_item], ITEM, lambda w: [w.paid_item], PAYOUT_ITEM),
]


def _months_back(n: int) -> dt.date:
    month = timezone.localdate().replace(day=1)
    for _ in range(n):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def build_world(personas) -> World:
    """Three months of one broker's payroll (paid, closed, preview), an invoice line and a firm
    payment, through the services. The newest transaction is the firm payment's."""
    from brokers.models import Membership
    from orders import services as orders
    from payments.invoicing import payment_record
    from payments.models import PayoutItem, PayrollRun, Transaction
    from payments.payouts import batch_mark_paid
    from payments.payroll import payroll_close, payroll_preview

    from .payments.payroll_world import log, payroll_world

    p = personas
    w = payroll_world(p)
    Membership.objects.filter(broker=p.broker_org).update(started_on=dt.date(2020, 1, 1))
    runs = []
    for back, pieces in ((3, 7), (2, 5), (1, 3)):
        month = _months_back(back)
        piece_log = log(w, pieces, day=month.replace(day=2))
        runs.append(payroll_preview(actor=p.broker, month=month)[0])
    paid_run = payroll_close(actor=p.broker, run_id=runs[0].pk)
    paid_batch = paid_run.batches.get()
    batch_mark_paid(actor=p.broker, batch_id=paid_batch.pk, bank_reference="ATTACK-1", paid_on=timezone.localdate())
    closed_run = payroll_close(actor=p.broker, run_id=runs[1].pk)
    preview_run = PayrollRun.objects.get(pk=runs[2].pk)
    assert PayrollRun.objects.get(pk=paid_run.pk).status == PayrollRun.Status.PAID
    closed_slip, preview_slip = closed_run.payslips.get(), preview_run.payslips.get()

    delivery = orders.delivery_record(actor=p.broker, award_id=w.shop.award.pk, quantity=10)
    inspection = orders.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=10, rejected=0)
    invoice_line = inspection.award.invoice.lines.get()
    payment = payment_record(actor=p.firm, invoice_id=invoice_line.invoice_id, amount=Decimal("1.00"),
                             paid_on=timezone.localdate(), reference="attack world", key="attack-world-1")
    posted = Transaction.objects.get(pk=paid_run.ledger_id)
    accounts = [entry.account_id for entry in posted.entries.all()]
    return World(
        posted=posted.pk, posted_accounts=(accounts[0], accounts[1]),
        newest=Transaction.objects.order_by("-id").values_list("id", flat=True)[0],
        broker=p.broker_org.pk, worker=w.worker.pk, month=closed_run.month.isoformat(),
        paid_run=paid_run.pk, paid_batch=paid_batch.pk,
        paid_item=PayoutItem.objects.get(batch=paid_batch, status=PayoutItem.Status.PAID).pk,
        closed_run=closed_run.pk, closed_slip=closed_slip.pk, closed_line=closed_slip.lines.order_by("position")[0].pk,
        pending_item=PayoutItem.objects.get(batch__run=closed_run, status=PayoutItem.Status.PENDING).pk,
        preview_run=preview_run.pk, preview_slip=preview_slip.pk, preview_line=preview_slip.lines.order_by("position")[0].pk,
        piece_log=piece_log.pk, payment=payment.pk, invoice_line=invoice_line.pk,
    )


@contextlib.contextmanager
def rewriting_history():
    """For a test's setup only: let raw UPDATEs and DELETEs past the append-only guards, e.g.
    to make a log look recorded days ago. Never for the app: it has no such power."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # superuser only
        else:
            cursor.execute("INSERT OR IGNORE INTO lailiao_maintenance (id) VALUES (1)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                cursor.execute("DELETE FROM lailiao_maintenance")
