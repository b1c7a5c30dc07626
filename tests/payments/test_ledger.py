"""The double-entry ledger: balanced, immutable, idempotent — in code and in the database."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Organisation
from payments.errors import AlreadyReversed, IdempotencyKeyReused, OverPrecise, Unbalanced
from payments.models import Account, Entry, Transaction
from payments.selectors import balance, balances
from payments.services import account_for, ledger_post, ledger_reverse

from ..factories import OrganisationFactory

pytestmark = pytest.mark.django_db
D = Decimal
P = Account.Purpose


@pytest.fixture
def books():
    firm = OrganisationFactory(kind=Organisation.Kind.FIRM, name="义乌账本公司")
    broker = OrganisationFactory(kind=Organisation.Kind.BROKER, name="账本经纪人")
    return {
        "receivable": account_for(purpose=P.FIRM_RECEIVABLE, organisation=firm),
        "income": account_for(purpose=P.BROKER_INCOME, organisation=broker),
        "cash": account_for(purpose=P.BROKER_CASH, organisation=broker),
    }


def invoice(books, key="inv-1", amount="72.00"):
    return ledger_post(key=key, kind="invoice", memo="验收 60 件 × 1.20",
                       lines=[(books["receivable"], D(amount)), (books["income"], -D(amount))])


def test_a_balanced_posting_and_balances(books):
    posted = invoice(books)
    assert [(e.account.code, e.amount.amount) for e in posted.entries.order_by("id")] == [
        (books["receivable"].code, D("72.00")), (books["income"].code, D("-72.00"))]
    assert balance(books["receivable"]) == D("72.00")
    assert balances([books["receivable"], books["income"], books["cash"]]) == {
        books["receivable"].pk: D("72.00"), books["income"].pk: D("-72.00"), books["cash"].pk: D("0.00")}


def test_balance_as_of_a_date(books):
    first = invoice(books)
    later = timezone.now() + dt.timedelta(seconds=1)
    invoice(books, key="inv-2", amount="10.00")
    assert balance(books["receivable"], as_of=first.posted_at) == D("72.00")
    assert balance(books["receivable"], as_of=later) == D("82.00")
    assert balance(books["receivable"], as_of=first.posted_at - dt.timedelta(days=1)) == D("0.00")


@pytest.mark.parametrize("lines, error", [
    ([("receivable", "72.00"), ("income", "-71.99")], Unbalanced),
    ([("receivable", "0.005"), ("income", "-0.005")], OverPrecise),
    ([("receivable", "72.00")], None),
    ([("receivable", "0"), ("income", "0")], None),
])
def test_bad_postings_are_refused_and_write_nothing(books, lines, error):
    from core.errors import ValidationFailed

    with pytest.raises(error or ValidationFailed):
        ledger_post(key="bad", kind="invoice", memo="x", lines=[(books[a], D(v)) for a, v in lines])
    assert not Transaction.objects.exists() and not Entry.objects.exists()


def test_the_same_key_returns_the_first_posting(books):
    first = invoice(books)
    again = invoice(books)
    assert again.pk == first.pk
    assert Transaction.objects.count() == 1 and balance(books["receivable"]) == D("72.00")


def test_the_same_key_with_other_content_is_refused(books):
    invoice(books)
    with pytest.raises(IdempotencyKeyReused):
        invoice(books, amount="73.00")
    assert balance(books["receivable"]) == D("72.00")


def test_a_reversal_names_the_original_and_cancels_it(books):
    posted = invoice(books)
    reversal = ledger_reverse(transaction_id=posted.pk, reason="验收数量录错", key="rev-1")
    assert reversal.reverses_id == posted.pk and reversal.reason == "验收数量录错"
    assert balance(books["receivable"]) == D("0.00") and balance(books["income"]) == D("0.00")
    # retried: the same reversal; a second, different reversal: refused
    assert ledger_reverse(transaction_id=posted.pk, reason="验收数量录错", key="rev-1").pk == reversal.pk
    with pytest.raises(AlreadyReversed):
        ledger_reverse(transaction_id=posted.pk, reason="again", key="rev-2")


def test_posted_rows_cannot_be_edited_even_by_raw_sql(books):
    posted = invoice(books)
    entry = posted.entries.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE payments_entry SET amount = 1 WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE payments_transaction SET memo = 'edited' WHERE id = %s", [posted.pk])
    assert Entry.objects.get(pk=entry.pk).amount.amount == D("72.00")


@pytest.mark.postgres
def test_postgres_refuses_deletes_and_unbalanced_entries_by_raw_sql(books):
    posted = invoice(books)
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM payments_entry WHERE transaction_id = %s", [posted.pk])
    # an unbalanced transaction written behind the code's back fails when checked
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "INSERT INTO payments_transaction (idempotency_key, fingerprint, kind, memo, posted_at, reason) "
                "VALUES ('raw', 'x', 'raw', 'raw', now(), '') RETURNING id")
            tx = cursor.fetchone()[0]
            cursor.execute("INSERT INTO payments_entry (transaction_id, account_id, amount, amount_currency) "
                           "VALUES (%s, %s, 5, 'CNY')", [tx, books["cash"].pk])
    assert Transaction.objects.count() == 1


amounts = st.decimals(min_value=D("-99999.99"), max_value=D("99999.99"), places=2).filter(lambda d: d != 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(amounts, min_size=1, max_size=4), st.booleans(), st.booleans()), max_size=12))
def test_the_ledger_always_balances_whatever_is_posted_retried_or_reversed(books, operations):
    accounts = list(books.values())
    run = uuid.uuid4().hex  # hypothesis runs its examples in one database: keys unique per example
    for index, (parts, retry, reverse) in enumerate(operations):
        # a balanced posting: the parts on some accounts, their opposite sum on the last
        lines = [(accounts[i % 2], part) for i, part in enumerate(parts)] + [(accounts[2], -sum(parts))]
        lines = [(a, v) for a, v in lines if v != 0]
        if len(lines) < 2:
            continue
        key = f"hyp-{run}-{index}"
        posted = ledger_post(key=key, kind="hyp", memo="hyp", lines=lines)
        if retry:
            assert ledger_post(key=key, kind="hyp", memo="hyp", lines=lines).pk == posted.pk
        if reverse:
            ledger_reverse(transaction_id=posted.pk, reason="hyp", key=f"{key}-rev")
        total = sum(balances(accounts).values(), D(0))
        assert total == D("0.00")
    keys = list(Transaction.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))
