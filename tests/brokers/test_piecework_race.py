"""Piece logs under concurrent requests, on PostgreSQL (row locks are real there): the bundle-size
cap holds, a client id sent by many phones at once is one log, a log is reversed once, and
batches that lock the same bundles in different orders do not deadlock.

Each thread has its own database connection and closes it at the end; a barrier releases them
together so the requests really overlap."""
from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from brokers import services
from brokers.models import PieceLog, PieceRate
from core.errors import DomainError
from orders.models import Award

from ..orders.builders import awarded
from .shop import cid, logged, open_shop, row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work) -> list[tuple[str, object]]:
    """Run work(i) in n threads released together. Each outcome: ("ok", result),
    ("refused", error code) or ("crashed", repr) — a crash fails the test."""
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, object] | None] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[i] = ("ok", work(i))
        except DomainError as exc:
            outcomes[i] = ("refused", exc.code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes[i] = ("crashed", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (a deadlock?)"
    assert not [o for o in outcomes if o is None or o[0] == "crashed"], outcomes
    return outcomes  # type: ignore[return-value]


def test_concurrent_logs_never_overfill_a_bundle(personas):
    shop = open_shop(personas, quantity=10, size=10)
    [bundle], threading_step = shop.bundles, shop.procedures[0]
    rows = [row(personas.worker_record, bundle, threading_step, 3) for _ in range(8)]  # 24 pieces for 10

    outcomes = race(8, lambda i: services.piece_logs_record(actor=personas.broker, rows=[rows[i]])[0].log.pk)

    assert Counter(kind for kind, _ in outcomes) == {"ok": 3, "refused": 5}
    assert {code for kind, code in outcomes if kind == "refused"} == {"bundle_overfilled"}
    assert logged(bundle, threading_step) == 9
    # exactly the requests that were answered with a log are on the books
    assert sorted(PieceLog.objects.values_list("pk", flat=True)) == sorted(pk for kind, pk in outcomes if kind == "ok")
    accepted = {rows[i]["client_id"] for i, (kind, _) in enumerate(outcomes) if kind == "ok"}
    assert set(PieceLog.objects.values_list("client_id", flat=True)) == accepted


def test_concurrent_logs_of_different_sizes_refuse_only_what_no_longer_fits(personas):
    # whoever comes first, the bundle ends at most full, and since the total only grows, a request
    # refused for lack of room would not fit on top of the final total either
    shop = open_shop(personas, quantity=10, size=10)
    [bundle], step = shop.bundles, shop.procedures[1]
    quantities = [4, 4, 3, 2, 2, 1]
    rows = [row(personas.worker_record, bundle, step, q) for q in quantities]

    outcomes = race(len(rows), lambda i: services.piece_logs_record(actor=personas.team_head, rows=[rows[i]]))

    done = [quantities[i] for i, (kind, _) in enumerate(outcomes) if kind == "ok"]
    assert logged(bundle, step) == sum(done) <= 10
    assert PieceLog.objects.count() == len(done)
    refused = [quantities[i] for i, (kind, _) in enumerate(outcomes) if kind == "refused"]
    assert {code for kind, code in outcomes if kind == "refused"} <= {"bundle_overfilled"}
    assert all(sum(done) + q > 10 for q in refused)


def test_one_client_id_sent_by_many_phones_at_once_is_one_log(personas):
    shop = open_shop(personas)
    same = row(personas.worker_record, shop.bundles[0], shop.procedures[0], 7)

    outcomes = race(6, lambda i: services.piece_logs_record(actor=personas.broker, rows=[dict(same)])[0])

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    results = [result for _, result in outcomes]
    [log] = PieceLog.objects.all()
    assert {result.log.pk for result in results} == {log.pk}
    assert [result.duplicate for result in results].count(False) == 1
    assert (log.client_id, log.quantity) == (same["client_id"], 7)


def test_one_client_id_sent_at_once_for_different_pieces_is_one_log_and_refusals(personas):
    # bundles of three awards: no lock serialises these requests, only the unique client id does
    shops = [open_shop(personas, quantity=50, size=50) for _ in range(3)]
    client_id = cid()
    rows = [row(personas.worker_record, shop.bundles[0], shop.procedures[0], 5, client_id=client_id) for shop in shops]

    outcomes = race(len(rows), lambda i: services.piece_logs_record(actor=personas.broker, rows=[rows[i]])[0].log.pk)

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused", "refused"]
    assert {code for kind, code in outcomes if kind == "refused"} == {"client_id_reused"}
    [log] = PieceLog.objects.all()
    assert log.pk == next(pk for kind, pk in outcomes if kind == "ok") and log.client_id == client_id


def test_one_reversal_client_id_sent_at_once_for_two_logs_reverses_one(personas):
    shop = open_shop(personas)
    logs = [services.piece_logs_record(actor=personas.broker, rows=[
        row(personas.worker_record, bundle, shop.procedures[0], 10)])[0].log for bundle in shop.bundles[:2]]
    client_id = cid()

    outcomes = race(2, lambda i: services.piece_log_reverse(actor=personas.broker, log_id=logs[i].pk, reason="点错了",
                                                            client_id=client_id).pk)

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert [code for kind, code in outcomes if kind == "refused"] == ["client_id_reused"]
    assert PieceLog.objects.filter(reverses__isnull=False).count() == 1


def test_two_concurrent_reversals_of_one_log_make_one(personas):
    shop = open_shop(personas)
    [first] = services.piece_logs_record(actor=personas.broker, rows=[
        row(personas.worker_record, shop.bundles[0], shop.procedures[0], 20)])
    actors = [personas.broker, personas.team_head]

    outcomes = race(2, lambda i: services.piece_log_reverse(actor=actors[i], log_id=first.log.pk,
                                                            reason="点错了", quantity=5 + i).pk)

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert [code for kind, code in outcomes if kind == "refused"] == ["already_reversed"]
    [reversal] = PieceLog.objects.filter(reverses=first.log.pk)
    assert reversal.pk == next(pk for kind, pk in outcomes if kind == "ok")
    assert logged(shop.bundles[0], shop.procedures[0]) == 20 + reversal.quantity


def test_a_reversal_resent_concurrently_is_one_reversal(personas):
    shop = open_shop(personas)
    [first] = services.piece_logs_record(actor=personas.broker, rows=[
        row(personas.worker_record, shop.bundles[0], shop.procedures[0], 20)])
    client_id = cid()

    outcomes = race(4, lambda i: services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk,
                                                            reason="点错了", client_id=client_id).pk)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    [reversal] = PieceLog.objects.filter(reverses=first.log.pk)
    assert {pk for _, pk in outcomes} == {reversal.pk}
    assert (reversal.client_id, reversal.quantity) == (client_id, -20)


def test_batches_over_the_same_bundles_in_opposite_orders_do_not_deadlock(personas):
    shop = open_shop(personas, quantity=200, size=50)
    b = shop.bundles
    step = shop.procedures[0]

    def batch(i: int):
        order = b if i % 2 == 0 else list(reversed(b))
        return services.piece_logs_record(actor=personas.broker, rows=[
            row(personas.worker_record, bundle, step, 1) for bundle in order])

    outcomes = race(6, batch)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert PieceLog.objects.aggregate(n=Sum("quantity"))["n"] == 6 * len(b)
    assert all(logged(bundle, step) == 6 for bundle in b)
    assert {log.rate for log in PieceLog.objects.all()} == {Decimal("0.9000")}




def finishes_while_locked(lock, work) -> bool:
    """Hold the rows `lock()` locks in one thread's transaction; run `work()` in another. True
    when `work` finished (without error) while the rows were still held."""
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def worker() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    holding, working = threading.Thread(target=holder), threading.Thread(target=worker)
    holding.start()
    try:
        assert locked.wait(timeout=10)
        working.start()
        working.join(timeout=5)
        finished = not working.is_alive()
    finally:
        release.set()
        holding.join(timeout=30)
        working.join(timeout=30)
    assert not errors, errors
    return finished


def test_logging_pieces_locks_the_bundles_and_not_their_award(personas):
    # The cap needs the bundle rows only. Locking the award as well would queue every piece log of
    # an award behind whoever holds it (a rate change, a cut, an award transition), and batches
    # whose bundle ids interleave two awards (X, Y, X) could deadlock on the award rows.
    shop = open_shop(personas)

    assert finishes_while_locked(
        lambda: Award.objects.select_for_update().get(pk=shop.award.pk),
        lambda: services.piece_logs_record(actor=personas.broker, rows=[
            row(personas.worker_record, shop.bundles[0], shop.procedures[0], 3)]),
    ), "the piece log waited for the award's lock"
    assert logged(shop.bundles[0], shop.procedures[0]) == 3


def test_a_rate_change_does_not_wait_for_another_broker_s_rate_change(personas):
    # Both brokers are in the same township: a rate change must lock its award, not the broker's
    # organisation and jurisdiction rows joined to read the county's minimum wage.
    mine = open_shop(personas, rates=(None, None))
    rival_award = awarded(personas.firm, personas.rival_broker, quantity=50)

    assert finishes_while_locked(
        # the rival's rate change, its transaction not yet committed
        lambda: services.piece_rate_set(actor=personas.rival_broker, award_id=rival_award.pk,
                                        procedure_id=rival_award.order.procedures.first().pk,
                                        rate=Decimal("0.9000")),
        lambda: services.piece_rate_set(actor=personas.broker, award_id=mine.award.pk,
                                        procedure_id=mine.procedures[0].pk, rate=Decimal("0.9000")),
    ), "the rate change waited for the other broker's"
    assert PieceRate.objects.filter(award=mine.award).count() == 1
