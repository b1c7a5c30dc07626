"""The database keeps the money, whatever SQL is sent (issue 10 § 5): every raw-SQL attack of
tests/db_attacks.py is refused by a trigger, with the trigger's own message, and leaves the rows
it aimed at as they were; the app's own paths never meet a trigger.

Every test here is transactional: the world is committed, and the PostgreSQL checks that run at
commit (deferred constraint triggers) fire when the attack's statement commits."""
from __future__ import annotations

from decimal import Decimal
from importlib import import_module

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from brokers.models import PieceLog
from payments.models import Account, PayoutItem
from payments.payouts import batch_mark_paid, batch_retry
from payments.services import ledger_post

from ..db_attacks import ATTACKS, attempt, build_world, refused_as_expected, rewriting_history

pytestmark = pytest.mark.django_db(transaction=True)
SQLITE_REFUSES = [attack for attack in ATTACKS if attack.sqlite]
POSTGRES_ONLY = [attack for attack in ATTACKS if not attack.sqlite]


@pytest.fixture
def world(personas):
    return build_world(personas)


def let_through(attacks, world) -> list[str]:
    """The attacks the database did not refuse with the trigger's message, or whose rows changed.
    One world for all of them: a refused attack leaves it as it was, which is asserted too (and a
    transactional world per attack would cost seconds each)."""
    failures = []
    for attack in attacks:
        before = attack.read(connection, world)
        refusal = attempt(connection, attack, world)
        if not refused_as_expected(refusal, attack):
            failures.append(f"{attack}: {refusal!r}")
        elif attack.read(connection, world) != before:
            failures.append(f"{attack}: refused, but its rows changed")
    return failures


def test_the_database_refuses_every_attack_sqlite_can_express(world):
    """Unmarked: SQLite in the plain run, PostgreSQL in the services run."""
    assert len(SQLITE_REFUSES) >= 30
    assert let_through(SQLITE_REFUSES, world) == []


@pytest.mark.postgres
def test_postgres_also_refuses_what_needs_row_versions_or_commit_time_checks(world):
    assert [attack.name for attack in POSTGRES_ONLY] == [
        "a balanced pair added to the newest posted transaction", "a transaction with no entries",
        "an unbalanced transaction with its entries"]
    assert let_through(POSTGRES_ONLY, world) == []


def test_an_incomplete_transaction_holds_up_the_next_posting(world):
    """PostgreSQL refuses a transaction without entries at commit. SQLite cannot check at
    commit: it lets one through, and then refuses the next posting, so no posting lands on
    books that do not balance (docs/security.md § Database guarantees)."""
    empty = next(attack for attack in ATTACKS if attack.name == "a transaction with no entries")
    refusal = attempt(connection, empty, world)
    cash, income = Account.objects.filter(pk__in=world.posted_accounts)
    post = dict(key="after-the-attack", kind="test", memo="after", lines=[(cash, Decimal("1.00")),
                                                                             (income, Decimal("-1.00"))])
    if connection.vendor == "postgresql":
        assert refused_as_expected(refusal, empty)
        assert ledger_post(**post).entries.count() == 2
    else:
        assert refusal is None and empty.read(connection, world)
        with pytest.raises(DatabaseError, match="at least two entries"):
            ledger_post(**post)


def test_every_guard_is_installed():
    """A later migration that remakes a guarded table (SQLite copies it into a new one) drops
    its triggers silently: this names them all."""
    payments = import_module("payments.migrations.0006_integrity_triggers")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            expected = {"payments_entry_balanced", "payments_entry_immutable", "payments_transaction_immutable",
                        "payments_entry_fixed_at_posting", "payments_transaction_complete",
                        "payments_payslip_frozen", "payments_payslipline_frozen", "payments_payrollrun_frozen",
                        "payments_payment_append_only", "payments_invoiceline_append_only",
                        "payments_payoutitem_forward", "brokers_piecelog_append_only"}
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = {"payments_entry_immutable", "payments_transaction_immutable", "brokers_piecelog_no_update",
                        "brokers_piecelog_no_delete", *payments.SQLITE_NAMES}
        installed = {name for (name,) in cursor.fetchall()}
    assert expected <= installed, expected - installed


def test_the_apps_own_payout_moves_pass(world, personas):
    """payouts.py moves an item pending → failed, then marks it retried; the guards allow
    exactly that (pending → paid is the world's own first batch)."""
    item = PayoutItem.objects.get(pk=world.pending_item)
    batch, recorded = batch_mark_paid(actor=personas.broker, batch_id=item.batch_id, bank_reference="ATTACK-2",
                                      paid_on=timezone.localdate(),
                                      failures=[{"worker": item.worker_id, "reason": "账户冻结"}])
    assert recorded and PayoutItem.objects.get(pk=item.pk).status == PayoutItem.Status.FAILED
    retry, made = batch_retry(actor=personas.broker, batch_id=batch.pk)
    assert made and PayoutItem.objects.get(pk=item.pk).retried_in_id == retry.pk
    batch_mark_paid(actor=personas.broker, batch_id=retry.pk, bank_reference="ATTACK-3", paid_on=timezone.localdate())
    assert PayoutItem.objects.get(batch=retry).status == PayoutItem.Status.PAID


def test_rewriting_history_is_for_test_setup_only(world):
    """The tests' escape (a superuser setting on PostgreSQL, the maintenance row on SQLite) works,
    and the guard is back once it ends."""
    with rewriting_history():
        PieceLog.objects.filter(pk=world.piece_log).update(quantity=8)
    assert PieceLog.objects.get(pk=world.piece_log).quantity == 8
    with pytest.raises(DatabaseError, match="append-only"):
        PieceLog.objects.filter(pk=world.piece_log).update(quantity=9)


# An upsert rewrites a row without an UPDATE statement: SQLite's REPLACE deletes the old row and
# inserts the new one (the DELETE guard fires only with recursive_triggers, which the settings
# turn on), PostgreSQL's INSERT … ON CONFLICT DO UPDATE is an UPDATE to its triggers.
UPSERTS = {
    "a piece log's quantity": ("brokers_piecelog", lambda w: w.piece_log, "quantity", "quantity + 100"),
    "a firm payment's amount": ("payments_payment", lambda w: w.payment, "amount", "amount + 1000"),
    "an invoice line's amount": ("payments_invoiceline", lambda w: w.invoice_line, "amount", "amount * 10"),
    "a paid payout item's bank account": ("payments_payoutitem", lambda w: w.paid_item, "bank_account",
                                          "'6666 0000 attacker'"),
    "a paid run reopened": ("payments_payrollrun", lambda w: w.paid_run, "status", "'preview'"),
    "a closed payslip line's amount": ("payments_payslipline", lambda w: w.closed_line, "amount", "amount + 9999"),
    "a posted transaction's memo": ("payments_transaction", lambda w: w.posted, "memo", "'rewritten'"),
}


def upsert(table: str, column: str, expression: str) -> str:
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
    values = ", ".join(expression if c == column else c for c in columns)
    select = f"SELECT {values} FROM {table} WHERE id = %s"
    if connection.vendor == "sqlite":
        return f"REPLACE INTO {table} ({', '.join(columns)}) {select}"
    return (f"INSERT INTO {table} ({', '.join(columns)}) {select} "
            f"ON CONFLICT (id) DO UPDATE SET {column} = EXCLUDED.{column}")


@pytest.mark.parametrize("table, row, column, expression", UPSERTS.values(), ids=UPSERTS.keys())
def test_an_upsert_cannot_rewrite_a_guarded_row(world, table, row, column, expression):
    probe = f"SELECT * FROM {table} WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.execute(probe, [row(world)])
        before = cursor.fetchall()
    assert before
    with pytest.raises(DatabaseError):
        with connection.cursor() as cursor:
            cursor.execute(upsert(table, column, expression), [row(world)])
    with connection.cursor() as cursor:
        cursor.execute(probe, [row(world)])
        assert cursor.fetchall() == before
