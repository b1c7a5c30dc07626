"""Property: any interleaving of piece logs (single and batched, some over the cap), resends and
reversals over two bundles, two procedures, two workers and a rate change in the middle keeps

  (a) each bundle-procedure's pieces within 0..bundle size,
  (b) a resent client id from changing anything, and
  (c) each worker's provisional pay (brokers.selectors.worker_earnings) equal to the sum over
      (procedure, rate) lines of round-half-up(quantity × rate), computed here from the rows the
      model knows were accepted, at the rate in force when each was recorded.

The shop is built once per test; each example runs in a savepoint that is rolled back, so every
example starts from the same fresh state (no logs, rate A in force, rate B not set)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from brokers import services
from brokers.errors import AlreadyReversed, BundleOverfilled, ClientIdReused
from brokers.models import PieceLog, PieceRate
from brokers.selectors import worker_earnings
from core.errors import ValidationFailed

from ..factories import MembershipFactory, WorkerFactory
from .shop import cid, open_shop

pytestmark = pytest.mark.django_db

D = Decimal
SIZES = (10, 7)  # an award of 17 cut into bundles of 10
# Bead work: fractions of a fen a piece, so half-fen lines are common (7 × 0.0125 = 0.0875 → 0.09).
RATE_A = (D("0.0125"), D("0.0135"))
RATE_B = (D("0.0175"), D("0.0105"))
RATE_C = D("0.0999")  # scheduled for tomorrow: never paid today
TINY_PROCEDURES = [{"name": "穿珠", "standard_minutes": D("0.05")}, {"name": "打结", "standard_minutes": D("0.02")}]


def fen_half_up(value: Decimal) -> Decimal:
    """Independent of core.money: to the fen, half up, for a value ≥ 0."""
    assert value >= 0
    return D(int(value * 100 + D("0.5"))) / 100


# --- operations ----------------------------------------------------------------------------------

workers = st.integers(0, 1)
bundles = st.integers(0, 1)
procedures = st.integers(0, 1)
quantities = st.integers(1, 12)  # bundles hold 10 and 7: many logs do not fit

fresh_log = st.tuples(st.just("log"), workers, bundles, procedures, quantities, st.booleans())
batch = st.tuples(st.just("batch"), st.lists(st.tuples(workers, bundles, procedures, quantities), min_size=2,
                                             max_size=4), st.booleans())
resend = st.tuples(st.just("resend"), st.integers(0, 10_000), st.booleans())
reverse = st.tuples(st.just("reverse"), st.integers(0, 10_000), st.one_of(st.none(), quantities))
resend_reversal = st.tuples(st.just("resend_reversal"), st.integers(0, 10_000))
operations = st.lists(st.one_of(fresh_log, fresh_log, batch, resend, reverse, reverse, resend_reversal), min_size=3,
                      max_size=24)


@dataclass
class Accepted:
    pk: int
    worker: int
    bundle: int
    procedure: int
    quantity: int
    rate: Decimal
    reversed: bool = False


@dataclass
class Model:
    """What the books must hold, kept without looking at them."""

    totals: dict[tuple[int, int], int] = field(default_factory=lambda: {(b, p): 0 for b in (0, 1) for p in (0, 1)})
    sent: list[dict] = field(default_factory=list)  # every row sent with a new client id
    accepted: dict[str, Accepted] = field(default_factory=dict)  # by client id
    reversals: list[tuple[int, str, int]] = field(default_factory=list)  # (pk, client id, reversed pk)
    lines: list[tuple[int, int, int, Decimal]] = field(default_factory=list)  # (worker, procedure, ±pieces, rate)
    rates: tuple[Decimal, Decimal] = RATE_A

    def rows(self) -> int:
        return len(self.accepted) + len(self.reversals)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=operations, change_pct=st.integers(0, 100))
def test_any_interleaving_keeps_the_cap_the_resends_and_the_pay(personas, ops, change_pct):
    shop = _shop(personas)
    with transaction.atomic():
        _run(shop, ops, change_at=len(ops) * change_pct // 100)  # 100 %: the rate never changes
        transaction.set_rollback(True)  # the next example starts from the same fresh shop


def _shop(personas):
    """Built once per test (hypothesis runs every example with the same fixtures): the award,
    its bundles, rate A, a second worker, and a rate C set for tomorrow that no example may pay."""
    shop = getattr(personas, "piecework_shop", None)
    if shop is None:
        shop = open_shop(personas, quantity=sum(SIZES), size=SIZES[0], rates=tuple(str(r) for r in RATE_A),
                         procedures=TINY_PROCEDURES)
        assert [b.size for b in shop.bundles] == list(SIZES)
        zhao = WorkerFactory(name="赵小红", village=personas.home["village"])
        MembershipFactory(broker=personas.broker_org, worker=zhao)
        shop.workers = [personas.worker_record, zhao]
        for procedure in shop.procedures:
            services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=procedure.pk,
                                    rate=RATE_C, effective_from=timezone.now() + dt.timedelta(days=1))
        personas.piecework_shop = shop
    return shop


def _run(shop, ops, change_at) -> None:
    p = shop.p
    model = Model()
    actors = [p.broker, p.team_head]
    today = timezone.localdate()

    def new_row(worker, bundle, procedure, quantity):
        return {"worker": shop.workers[worker].pk, "bundle": shop.bundles[bundle].pk,
                "procedure": shop.procedures[procedure].pk, "quantity": quantity, "work_date": today,
                "client_id": cid(), "_key": (worker, bundle, procedure)}

    def send(rows, actor):
        return services.piece_logs_record(actor=actor, rows=[{k: v for k, v in r.items() if k != "_key"}
                                                             for r in rows])

    def snapshot():
        return list(PieceLog.objects.order_by("pk").values_list("pk", "quantity", "rate", "client_id"))

    def accept(row, result):
        worker, bundle, procedure = row["_key"]
        model.totals[(bundle, procedure)] += row["quantity"]
        model.accepted[row["client_id"]] = Accepted(result.log.pk, worker, bundle, procedure, row["quantity"],
                                                    model.rates[procedure])
        model.lines.append((worker, procedure, row["quantity"], model.rates[procedure]))

    def try_log(row, actor):
        """A row with a client id the books have not accepted: fits or is refused as a whole."""
        _worker, bundle, procedure = row["_key"]
        fits = model.totals[(bundle, procedure)] + row["quantity"] <= SIZES[bundle]
        before = snapshot()
        if fits:
            [result] = send([row], actor)
            assert not result.duplicate
            accept(row, result)
            event("a log fits")
        else:
            event("a log is over the cap")
            with pytest.raises(BundleOverfilled):
                send([row], actor)
            assert snapshot() == before

    for step, op in enumerate(ops):
        if step == change_at:  # the broker changes both rates in the middle of the work
            for procedure, rate in zip(shop.procedures, RATE_B):
                services.piece_rate_set(actor=p.broker, award_id=shop.award.pk, procedure_id=procedure.pk, rate=rate)
            model.rates = RATE_B
            event("the rate changes mid-way")
        kind = op[0]

        if kind == "log":
            _, worker, bundle, procedure, quantity, by_head = op
            row = new_row(worker, bundle, procedure, quantity)
            model.sent.append(row)
            try_log(row, actors[by_head])

        elif kind == "batch":
            _, specs, repeat_id = op
            rows = [new_row(*spec) for spec in specs]
            repeat = None
            if repeat_id and len(rows) >= 2:  # the same client id twice inside one batch
                rows[-1]["client_id"] = rows[0]["client_id"]
                same = (rows[-1]["_key"], rows[-1]["quantity"]) == (rows[0]["_key"], rows[0]["quantity"])
                # the same row twice counts once; one id for two different rows is refused
                repeat = "same" if same else "different"
            counted = rows[:-1] if repeat == "same" else rows
            room = dict(model.totals)
            fits = True
            for row in counted:
                _worker, bundle, procedure = row["_key"]
                room[(bundle, procedure)] += row["quantity"]
                fits &= room[(bundle, procedure)] <= SIZES[bundle]
            before = snapshot()
            event(f"a batch {'fits' if fits and repeat != 'different' else 'is refused'}")
            if fits and repeat != "different":
                results = send(rows, p.broker)
                for row, result in zip(counted, results):
                    accept(row, result)
                if repeat == "same":
                    assert results[-1].duplicate and results[-1].log.pk == results[0].log.pk
                model.sent.extend(counted)
            else:
                with pytest.raises(ValidationFailed) as caught:
                    send(rows, p.broker)
                assert caught.value.code == "invalid_rows"
                assert snapshot() == before  # all or nothing
                if repeat != "different":
                    model.sent.extend(counted)

        elif kind == "resend":
            _, which, changed = op
            if not model.sent:
                continue
            original = model.sent[which % len(model.sent)]
            known = model.accepted.get(original["client_id"])
            event(f"a resend of a {'refused' if known is None else 'recorded'} log, {'changed' if changed else 'same'}")
            if known is None:  # refused before: a resend is a new attempt, and may fit now
                try_log(dict(original), p.broker)
                continue
            before = snapshot()
            if changed:
                with pytest.raises(ClientIdReused):
                    send([{**original, "quantity": original["quantity"] + 1}], p.broker)
            else:
                [result] = send([dict(original)], p.team_head)
                assert result.duplicate and result.log.pk == known.pk
            assert snapshot() == before  # (b) a resend never changes anything

        elif kind == "reverse":
            _, which, quantity = op
            logs = list(model.accepted.values())
            if not logs:
                continue
            target = logs[which % len(logs)]
            before = snapshot()
            client_id = cid()
            call = lambda: services.piece_log_reverse(actor=p.broker, log_id=target.pk, reason="点错了",  # noqa: E731
                                                      quantity=quantity, client_id=client_id)
            if target.reversed:
                with pytest.raises(AlreadyReversed):
                    call()
                assert snapshot() == before
            elif quantity is not None and quantity > target.quantity:
                with pytest.raises(ValidationFailed):
                    call()
                assert snapshot() == before
            else:
                taken = target.quantity if quantity is None else quantity
                reversal = call()
                assert (reversal.quantity, reversal.rate, reversal.reverses_id) == (-taken, target.rate, target.pk)
                target.reversed = True
                event("a reversal")
                model.totals[(target.bundle, target.procedure)] -= taken
                model.reversals.append((reversal.pk, client_id, target.pk))
                model.lines.append((target.worker, target.procedure, -taken, target.rate))

        elif kind == "resend_reversal":
            if not model.reversals:
                continue
            pk, client_id, target_pk = model.reversals[op[1] % len(model.reversals)]
            before = snapshot()
            again = services.piece_log_reverse(actor=p.team_head, log_id=target_pk, reason="点错了",
                                               client_id=client_id)
            assert again.pk == pk
            event("a reversal resent")
            assert snapshot() == before

        _check_books(shop, model)

    _check_books(shop, model)
    _check_pay(shop, model)


def _check_books(shop, model: Model) -> None:
    """(a) every bundle-procedure within 0..size, and exactly what the model accepted."""
    on_books = {(row["bundle_id"], row["procedure_id"]): row["n"] for row in
                PieceLog.objects.values("bundle_id", "procedure_id").annotate(n=Sum("quantity")).order_by()}
    for (bundle, procedure), expected in model.totals.items():
        actual = on_books.get((shop.bundles[bundle].pk, shop.procedures[procedure].pk), 0)
        assert 0 <= actual <= SIZES[bundle]
        assert actual == expected
    assert PieceLog.objects.count() == model.rows()
    # every log carries the rate that was in force when it was recorded (never the future rate C)
    by_client = dict(PieceLog.objects.filter(reverses__isnull=True).values_list("client_id", "rate"))
    assert by_client == {client_id: a.rate for client_id, a in model.accepted.items()}


def _check_pay(shop, model: Model) -> None:
    """(c) provisional pay = Σ over (procedure, rate) of round-half-up(Σ quantity × rate)."""
    for index, worker in enumerate(shop.workers):
        lines: dict[tuple[int, Decimal], int] = {}
        for w, procedure, quantity, rate in model.lines:
            if w == index:
                lines[(procedure, rate)] = lines.get((procedure, rate), 0) + quantity
        expected = sum((fen_half_up(q * rate) for (_procedure, rate), q in lines.items()), D("0.00"))
        earnings = worker_earnings(worker)
        assert earnings.today == expected, (lines, earnings)
        assert earnings.week == expected and earnings.month == expected
        assert {(line.procedure_id, line.rate): line.quantity for line in earnings.month_lines} == {
            (shop.procedures[procedure].pk, rate): q for (procedure, rate), q in lines.items() if q}
    assert PieceRate.objects.filter(rate=RATE_C).count() == 2  # C is still only scheduled
