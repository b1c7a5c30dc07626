"""The piecework and workforce services, called directly: bundles, piece rates and the rate in
force, piece logs (resends, the bundle-size cap, dates, membership, all-or-nothing batches),
reversals, disputes, attendance, registering and enrolling workers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import MinimumWage, Role
from brokers import services
from brokers.errors import (
    AlreadyReversed, BundleOverfilled, ClientIdReused, DisputeClosed, DisputeWindowClosed, DuplicateNationalId,
    DuplicateScan, NotAMember, RateAlreadyScheduled, RateBelowFloor,
)
from brokers.models import Attendance, Bundle, Dispute, Membership, PieceLog, PieceRate, Worker
from brokers.services.piecework import MAX_BULK_ROWS
from core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from orders import services as order_services
from orders.models import Award

from ..db_attacks import rewriting_history
from ..factories import MembershipFactory, UserFactory, WorkerFactory
from ..orders.builders import awarded
from .shop import cid, logged, open_shop, row

pytestmark = pytest.mark.django_db

D = Decimal


def refused(call, error_type: type[DomainError], code: str) -> DomainError:
    """`call` raises `error_type` with `code`; returns the error for further checks."""
    with pytest.raises(error_type) as caught:
        call()
    assert caught.value.code == code, (caught.value.code, caught.value.message, caught.value.fields)
    return caught.value


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def record(actor, *rows):
    return services.piece_logs_record(actor=actor, rows=list(rows))


def second_worker(p, *, started_on=dt.date(2026, 1, 1)) -> Worker:
    worker = WorkerFactory(name="赵小红", village=p.home["village"])
    MembershipFactory(broker=p.broker_org, worker=worker, started_on=started_on)
    return worker


# --- bundles_cut -----------------------------------------------------------------------------

def test_an_award_is_cut_into_bundles_of_the_size_the_last_one_smaller(personas):
    award = awarded(personas.firm, personas.broker, quantity=120)

    bundles = services.bundles_cut(actor=personas.broker, award_id=award.pk, size=50)

    assert [(b.number, b.size) for b in bundles] == [(1, 50), (2, 50), (3, 20)]
    stored = list(Bundle.objects.filter(award=award).values_list("number", "size", "broker_id", "created_by_id"))
    assert stored == [(n, s, personas.broker_org.pk, personas.broker.pk) for n, s in [(1, 50), (2, 50), (3, 20)]]
    codes = [b.code for b in bundles]
    assert len(set(codes)) == 3 and all(len(c) == 16 and int(c, 16) >= 0 for c in codes)


def test_a_size_that_divides_the_award_makes_equal_bundles_and_a_big_size_one_bundle(personas):
    even = awarded(personas.firm, personas.broker, quantity=100)
    assert [b.size for b in services.bundles_cut(actor=personas.team_head, award_id=even.pk, size=25)] == [25] * 4
    whole = awarded(personas.firm, personas.broker, quantity=30)
    assert [(b.number, b.size) for b in services.bundles_cut(actor=personas.broker, award_id=whole.pk, size=500)] \
        == [(1, 30)]


def test_a_second_cut_numbers_on_and_cuts_only_what_is_left(personas):
    award = awarded(personas.firm, personas.broker, quantity=120)
    # given: two bundles of 30 already on the award (cut when the broker first made tickets)
    for number in (1, 2):
        Bundle.objects.create(award=award, broker=personas.broker_org, number=number, size=30, code=cid()[:16],
                              created_by=personas.broker)

    bundles = services.bundles_cut(actor=personas.broker, award_id=award.pk, size=25)

    assert [(b.number, b.size) for b in bundles] == [(3, 25), (4, 25), (5, 10)]
    assert sum(Bundle.objects.filter(award=award).values_list("size", flat=True)) == 120


def test_a_fully_bundled_award_is_not_cut_again(personas):
    award = awarded(personas.firm, personas.broker, quantity=120)
    services.bundles_cut(actor=personas.broker, award_id=award.pk, size=50)

    refused(lambda: services.bundles_cut(actor=personas.broker, award_id=award.pk, size=10), DomainError,
            "award_fully_bundled")
    assert Bundle.objects.filter(award=award).count() == 3


def test_only_the_awarded_broker_cuts_its_award(personas):
    award = awarded(personas.firm, personas.broker, quantity=120)
    refused(lambda: services.bundles_cut(actor=personas.rival_broker, award_id=award.pk, size=50), NotFound,
            "not_found")
    for actor in (personas.firm, personas.worker, personas.auditor):
        refused(lambda: services.bundles_cut(actor=actor, award_id=award.pk, size=50), Forbidden,
                "permission_denied")
    refused(lambda: services.bundles_cut(actor=personas.broker, award_id=999_999, size=50), NotFound, "not_found")
    assert not Bundle.objects.exists()


def test_an_award_that_is_not_active_is_not_cut(personas):
    award = awarded(personas.firm, personas.broker, quantity=120)
    order_services.award_decline(actor=personas.broker, award_id=award.pk, reason="机器坏了")
    assert Award.objects.get(pk=award.pk).status == Award.Status.DECLINED

    refused(lambda: services.bundles_cut(actor=personas.broker, award_id=award.pk, size=50), DomainError,
            "award_not_active")
    assert not Bundle.objects.exists()


@pytest.mark.parametrize("size", [0, -5])
def test_a_bundle_holds_at_least_one_piece(personas, size):
    award = awarded(personas.firm, personas.broker, quantity=120)
    error = refused(lambda: services.bundles_cut(actor=personas.broker, award_id=award.pk, size=size),
                    ValidationFailed, "invalid")
    assert list(error.fields) == ["size"]
    assert not Bundle.objects.exists()


# --- piece_rate_set --------------------------------------------------------------------------

def test_a_rate_below_the_floor_is_refused_at_the_floor_it_is_set(personas):
    shop = open_shop(personas, rates=(None, None))
    threading, knotting = shop.procedures  # 4 and 1 standard minutes: floors 0.7663 and 0.1916

    error = refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                                    procedure_id=threading.pk, rate=D("0.7662")),
                    RateBelowFloor, "below_fair_rate_floor")
    assert "0.7663" in error.message and list(error.fields) == ["rate"]
    refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                            procedure_id=knotting.pk, rate=D("0.1915")),
            RateBelowFloor, "below_fair_rate_floor")
    assert not PieceRate.objects.exists()

    rate = services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                                   rate=D("0.7663"))
    assert (rate.rate, rate.set_by_id, rate.award_id, rate.procedure_id) == (
        D("0.7663"), personas.broker.pk, shop.award.pk, threading.pk)
    assert abs(rate.effective_from - timezone.now()) < dt.timedelta(seconds=5)


def test_the_floor_follows_the_minimum_wage_of_the_broker_s_county(personas):
    shop = open_shop(personas, rates=(None, None))
    threading = shop.procedures[0]
    # Suichang raises its minimum wage: 4 × 2400 / 10440 = 0.91954… → 0.9196
    MinimumWage.objects.create(county=personas.home["county"], monthly_amount=D("2400"),
                               effective_from=today() - days(30))
    # another county's wage changes nothing here
    MinimumWage.objects.create(county=personas.away["county"], monthly_amount=D("9000"),
                               effective_from=today() - days(30))

    refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                            procedure_id=threading.pk, rate=D("0.9195")),
            RateBelowFloor, "below_fair_rate_floor")
    assert services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                                   rate=D("0.9196")).rate == D("0.9196")


def test_a_wage_raise_not_yet_in_force_leaves_today_s_floor_but_binds_rates_starting_after_it(personas):
    shop = open_shop(personas, rates=(None, None))
    threading = shop.procedures[0]
    # from next month Suichang's minimum wage is 2,400: 4 × 2400 / 10440 → 0.9196
    MinimumWage.objects.create(county=personas.home["county"], monthly_amount=D("2400"),
                               effective_from=today() + days(30))

    now_rate = services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                                       rate=D("0.8000"))
    assert now_rate.rate == D("0.8000")
    # a rate that starts after the raise is measured against the raised wage
    later = timezone.now() + days(31)
    error = refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                                    procedure_id=threading.pk, rate=D("0.8000"),
                                                    effective_from=later),
                    RateBelowFloor, "below_fair_rate_floor")
    assert "0.9196" in error.message
    assert services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                                   rate=D("0.9196"), effective_from=later).rate == D("0.9196")
    assert PieceRate.objects.count() == 2


def test_a_rate_is_never_backdated(personas):
    shop = open_shop(personas, rates=(None, None))
    error = refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                                    procedure_id=shop.procedures[0].pk, rate=D("0.9000"),
                                                    effective_from=timezone.now() - dt.timedelta(hours=1)),
                    ValidationFailed, "invalid")
    assert list(error.fields) == ["effective_from"]
    assert not PieceRate.objects.exists()


def test_a_future_rate_applies_only_from_its_effective_time(personas):
    shop = open_shop(personas)  # threading 0.9000 from now
    threading = shop.procedures[0]
    start = timezone.now() + dt.timedelta(hours=2)
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                            rate=D("1.1000"), effective_from=start)
    pair = (shop.award.pk, threading.pk)

    assert services.rates_in_force({pair}, timezone.now()) == {pair: D("0.9000")}
    assert services.rates_in_force({pair}, start) == {pair: D("1.1000")}
    # pieces logged now are paid at the rate in force now
    [result] = record(personas.broker, row(personas.worker_record, shop.bundles[0], threading, 5))
    assert PieceLog.objects.get(pk=result.log.pk).rate == D("0.9000")


def test_two_rates_of_a_procedure_do_not_start_at_the_same_moment(personas):
    shop = open_shop(personas, rates=(None, None))
    threading, knotting = shop.procedures
    start = timezone.now() + days(7)
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                            rate=D("1.1000"), effective_from=start)

    error = refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                                    procedure_id=threading.pk, rate=D("1.0500"), effective_from=start),
                    RateAlreadyScheduled, "piece_rate_exists")
    assert list(error.fields) == ["effective_from"] and error.status_code == 409
    # another procedure, or another moment, is fine
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=knotting.pk,
                            rate=D("0.3000"), effective_from=start)
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk,
                            rate=D("1.0500"), effective_from=start + dt.timedelta(seconds=1))
    assert list(PieceRate.objects.filter(procedure=threading).values_list("rate", flat=True)) == [
        D("1.1000"), D("1.0500")]


def test_rates_are_set_by_the_owner_of_the_award_for_its_own_procedures(personas):
    shop = open_shop(personas, rates=(None, None))
    other = awarded(personas.firm, personas.rival_broker, quantity=50)
    foreign_procedure = other.order.procedures.first()

    refused(lambda: services.piece_rate_set(actor=personas.rival_broker, award_id=shop.award.pk,
                                            procedure_id=shop.procedures[0].pk, rate=D("0.9")), NotFound, "not_found")
    refused(lambda: services.piece_rate_set(actor=personas.team_head, award_id=shop.award.pk,
                                            procedure_id=shop.procedures[0].pk, rate=D("0.9")),
            Forbidden, "permission_denied")
    error = refused(lambda: services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk,
                                                    procedure_id=foreign_procedure.pk, rate=D("0.9")),
                    ValidationFailed, "invalid")
    assert list(error.fields) == ["procedure"]
    assert not PieceRate.objects.exists()


# --- rates_in_force --------------------------------------------------------------------------

def test_the_rate_in_force_is_the_latest_effective_one_per_award_and_procedure(personas):
    first = open_shop(personas, rates=(None, None))
    second = open_shop(personas, quantity=60, rates=(None, None))
    a, b = first.procedures
    c, _ = second.procedures
    t = timezone.now()

    def rate(award, procedure, value, hours):
        # written directly: the service refuses backdated rates, and here the past must exist
        PieceRate.objects.create(award=award, procedure=procedure, rate=D(value), set_by=personas.broker,
                                 effective_from=t + dt.timedelta(hours=hours))

    # inserted out of time order on purpose: the id order must not decide
    rate(first.award, a, "0.9500", -1)
    rate(first.award, a, "0.8000", -3)
    rate(first.award, a, "1.2000", +1)
    rate(first.award, b, "0.3000", -2)
    rate(second.award, c, "0.8800", -5)
    pairs = {(first.award.pk, a.pk), (first.award.pk, b.pk), (second.award.pk, c.pk)}

    assert services.rates_in_force(pairs, t) == {
        (first.award.pk, a.pk): D("0.9500"), (first.award.pk, b.pk): D("0.3000"), (second.award.pk, c.pk): D("0.8800")}
    # between the first two rates; b has none yet
    assert services.rates_in_force(pairs, t - dt.timedelta(hours=2.5)) == {
        (first.award.pk, a.pk): D("0.8000"), (second.award.pk, c.pk): D("0.8800")}
    # a rate is in force from its effective time on, inclusive
    assert services.rates_in_force(pairs, t - dt.timedelta(hours=1))[(first.award.pk, a.pk)] == D("0.9500")
    assert services.rates_in_force(pairs, t + dt.timedelta(hours=1))[(first.award.pk, a.pk)] == D("1.2000")
    # before anything: nothing
    assert services.rates_in_force(pairs, t - dt.timedelta(hours=6)) == {}
    # only the pairs asked for, and a procedure of one award is not priced by another's rate
    assert services.rates_in_force({(first.award.pk, b.pk)}, t) == {(first.award.pk, b.pk): D("0.3000")}
    assert services.rates_in_force({(second.award.pk, a.pk)}, t) == {}
    assert services.rates_in_force(set(), t) == {}


def test_rates_in_force_is_one_query_for_any_number_of_pairs(personas, django_assert_num_queries):
    shop = open_shop(personas)
    pairs = {(shop.award.pk, p.pk) for p in shop.procedures}
    with django_assert_num_queries(1):
        assert len(services.rates_in_force(pairs, timezone.now())) == 2


# --- piece_logs_record: the basics -----------------------------------------------------------

def test_a_log_records_who_did_what_at_the_rate_in_force(personas):
    shop = open_shop(personas)
    threading = shop.procedures[0]

    [result] = record(personas.broker, row(personas.worker_record, shop.bundles[0], threading, 30, client_id="c-0001"))

    log = PieceLog.objects.get()
    assert result.log.pk == log.pk and result.duplicate is False and result.errors == []
    assert (log.broker_id, log.worker_id, log.bundle_id, log.procedure_id, log.quantity, log.work_date, log.rate,
            log.source, log.recorded_by_id, log.client_id, log.reverses_id) == (
        personas.broker_org.pk, personas.worker_record.pk, shop.bundles[0].pk, threading.pk, 30, today(),
        D("0.9000"), PieceLog.Source.BROKER, personas.broker.pk, "c-0001", None)


def test_the_source_says_who_recorded_the_log(personas):
    shop = open_shop(personas)
    threading, knotting = shop.procedures
    [by_head] = record(personas.team_head, row(personas.worker_record, shop.bundles[0], threading, 5))
    # the worker scans the ticket: the QR code names the bundle, and she is the worker
    [scan] = record(personas.worker, {"bundle_code": shop.bundles[1].code, "procedure": knotting.pk, "quantity": 4,
                                      "work_date": today(), "client_id": cid()})

    assert PieceLog.objects.get(pk=by_head.log.pk).source == PieceLog.Source.TEAM_HEAD
    scanned = PieceLog.objects.get(pk=scan.log.pk)
    assert (scanned.source, scanned.worker_id, scanned.bundle_id, scanned.recorded_by_id) == (
        PieceLog.Source.SCAN, personas.worker_record.pk, shop.bundles[1].pk, personas.worker.pk)


def test_a_worker_records_only_her_own_pieces_and_not_twice_in_the_guard_window(personas):
    shop = open_shop(personas)
    knotting = shop.procedures[1]
    mine = {"bundle_code": shop.bundles[0].code, "procedure": knotting.pk, "quantity": 4, "work_date": today()}

    error = refused(lambda: record(personas.worker, {**mine, "worker": personas.other_worker_record.pk,
                                                     "client_id": cid()}), Forbidden, "permission_denied")
    assert list(error.fields) == ["worker"]
    record(personas.worker, {**mine, "client_id": cid()})
    refused(lambda: record(personas.worker, {**mine, "client_id": cid()}), DuplicateScan, "duplicate_scan")
    assert logged(shop.bundles[0], knotting) == 4


def test_a_bundle_of_another_broker_is_not_found(personas):
    shop = open_shop(personas)
    error = refused(lambda: record(personas.rival_broker, row(personas.other_worker_record, shop.bundles[0],
                                                              shop.procedures[0], 1)), NotFound, "not_found")
    assert list(error.fields) == ["bundle"]
    assert not PieceLog.objects.exists()


def test_a_procedure_of_another_order_is_refused(personas):
    shop = open_shop(personas)
    other = open_shop(personas, quantity=40)
    error = refused(lambda: record(personas.broker, row(personas.worker_record, shop.bundles[0],
                                                        other.procedures[0], 1)), ValidationFailed, "invalid")
    assert list(error.fields) == ["procedure"]
    assert not PieceLog.objects.exists()


@pytest.mark.parametrize("quantity", [0, -3])
def test_a_log_is_of_at_least_one_piece(personas, quantity):
    # a negative log would free room under the cap without being a reversal
    shop = open_shop(personas)
    error = refused(lambda: record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0],
                                                        quantity)), ValidationFailed, "invalid")
    assert list(error.fields) == ["quantity"]
    assert not PieceLog.objects.exists()


def test_a_batch_is_one_to_a_thousand_rows(personas):
    shop = open_shop(personas, quantity=1000, size=1000)
    threading = shop.procedures[0]
    refused(lambda: services.piece_logs_record(actor=personas.broker, rows=[]), ValidationFailed, "invalid")
    too_many = [row(personas.worker_record, shop.bundles[0], threading, 1) for _ in range(MAX_BULK_ROWS + 1)]
    error = refused(lambda: services.piece_logs_record(actor=personas.broker, rows=too_many), ValidationFailed,
                    "invalid")
    assert list(error.fields) == ["rows"]
    assert not PieceLog.objects.exists()

    results = services.piece_logs_record(actor=personas.broker, rows=too_many[:MAX_BULK_ROWS])
    assert len(results) == MAX_BULK_ROWS and logged(shop.bundles[0], threading) == MAX_BULK_ROWS


# --- client ids --------------------------------------------------------------------------------

def test_the_same_client_id_with_the_same_content_returns_the_first_log(personas):
    shop = open_shop(personas)
    sent = row(personas.worker_record, shop.bundles[0], shop.procedures[0], 30)
    [first] = record(personas.broker, sent)

    [again] = record(personas.broker, dict(sent))
    [by_head] = record(personas.team_head, dict(sent))  # a team head's phone resending the broker's row

    assert (again.log.pk, again.duplicate) == (first.log.pk, True)
    assert (by_head.log.pk, by_head.duplicate) == (first.log.pk, True)
    assert PieceLog.objects.count() == 1 and logged(shop.bundles[0], shop.procedures[0]) == 30


def test_a_resend_is_answered_even_when_the_bundle_has_filled_since(personas):
    shop = open_shop(personas)
    bundle, threading = shop.bundles[0], shop.procedures[0]
    sent = row(personas.worker_record, bundle, threading, 30)
    record(personas.broker, sent)
    record(personas.broker, row(personas.worker_record, bundle, threading, 20))  # now 50 of 50

    [again] = record(personas.broker, sent)
    assert again.duplicate and logged(bundle, threading) == 50 and PieceLog.objects.count() == 2


@pytest.mark.parametrize("change", [
    {"quantity": 31}, {"procedure": "knotting"}, {"bundle": "second"}, {"work_date": "yesterday"},
    {"worker": "zhao"},
])
def test_the_same_client_id_with_different_content_is_refused(personas, change):
    shop = open_shop(personas)
    zhao = second_worker(personas)
    sent = row(personas.worker_record, shop.bundles[0], shop.procedures[0], 30)
    [first] = record(personas.broker, sent)
    values = {"knotting": shop.procedures[1].pk, "second": shop.bundles[1].pk, "yesterday": today() - days(1),
              "zhao": zhao.pk}
    changed = {**sent, **{k: values.get(v, v) for k, v in change.items()}}

    error = refused(lambda: record(personas.broker, changed), ClientIdReused, "client_id_reused")
    assert list(error.fields) == ["client_id"] and error.status_code == 409
    assert list(PieceLog.objects.values_list("pk", flat=True)) == [first.log.pk]


def test_the_same_row_twice_in_one_batch_counts_once(personas):
    shop = open_shop(personas)
    same = row(personas.worker_record, shop.bundles[0], shop.procedures[0], 5)
    results = record(personas.broker, same, dict(same))
    assert [r.duplicate for r in results] == [False, True]
    assert results[0].log.pk == results[1].log.pk
    assert list(PieceLog.objects.values_list("quantity", flat=True)) == [5]


def test_one_client_id_for_two_different_rows_in_one_batch_is_refused(personas):
    shop = open_shop(personas)
    same = row(personas.worker_record, shop.bundles[0], shop.procedures[0], 5)
    other = row(personas.worker_record, shop.bundles[1], shop.procedures[0], 5)
    batch = [same, other, {**other, "client_id": same["client_id"], "quantity": 6}]
    error = refused(lambda: record(personas.broker, *batch), ValidationFailed, "invalid_rows")
    assert list(error.fields) == ["rows.2.client_id"]
    assert not PieceLog.objects.exists()


def test_a_client_id_of_a_reversal_cannot_be_used_for_a_log(personas):
    shop = open_shop(personas)
    [first] = record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], 5))
    services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="点错了", client_id="rev-00001")

    refused(lambda: record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], 5,
                                                client_id="rev-00001")), ClientIdReused, "client_id_reused")
    assert PieceLog.objects.count() == 2


# --- the bundle-size cap -------------------------------------------------------------------------

def test_pieces_of_a_bundle_procedure_never_exceed_the_bundle_size(personas):
    shop = open_shop(personas)
    small = shop.bundles[2]  # 20 pieces
    threading, knotting = shop.procedures
    worker = personas.worker_record

    record(personas.broker, row(worker, small, threading, 15))
    error = refused(lambda: record(personas.broker, row(worker, small, threading, 6)), BundleOverfilled,
                    "bundle_overfilled")
    assert "5" in error.message and str(small) in error.message and list(error.fields) == ["quantity"]
    assert error.status_code == 409
    # the other procedure and the other bundles have their own room
    record(personas.broker, row(worker, small, knotting, 20))
    record(personas.broker, row(worker, shop.bundles[0], threading, 50))
    record(personas.broker, row(worker, small, threading, 5))
    assert (logged(small, threading), logged(small, knotting), logged(shop.bundles[0], threading)) == (20, 20, 50)
    refused(lambda: record(personas.broker, row(worker, small, threading, 1)), BundleOverfilled, "bundle_overfilled")


def test_the_cap_counts_every_worker_s_pieces(personas):
    shop = open_shop(personas)
    small, threading = shop.bundles[2], shop.procedures[0]
    record(personas.broker, row(personas.worker_record, small, threading, 12))
    refused(lambda: record(personas.broker, row(second_worker(personas), small, threading, 9)), BundleOverfilled,
            "bundle_overfilled")
    assert logged(small, threading) == 12


def test_a_reversal_makes_room_under_the_cap(personas):
    shop = open_shop(personas)
    small, threading = shop.bundles[2], shop.procedures[0]
    [first] = record(personas.broker, row(personas.worker_record, small, threading, 15))
    services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="数错了", quantity=4)
    assert logged(small, threading) == 11

    refused(lambda: record(personas.broker, row(personas.worker_record, small, threading, 10)), BundleOverfilled,
            "bundle_overfilled")
    record(personas.broker, row(personas.worker_record, small, threading, 9))
    assert logged(small, threading) == 20


def test_the_cap_counts_the_rows_of_the_same_batch(personas):
    shop = open_shop(personas)
    small, threading = shop.bundles[2], shop.procedures[0]
    error = refused(lambda: record(personas.broker, row(personas.worker_record, small, threading, 12),
                                   row(personas.worker_record, small, threading, 9)),
                    ValidationFailed, "invalid_rows")
    assert list(error.fields) == ["rows.1.quantity"]
    assert not PieceLog.objects.exists()
    record(personas.broker, row(personas.worker_record, small, threading, 12),
           row(personas.worker_record, small, threading, 8))
    assert logged(small, threading) == 20


# --- dates, membership, rates ------------------------------------------------------------------

def test_a_work_date_in_the_future_is_refused(personas):
    shop = open_shop(personas)
    error = refused(lambda: record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0],
                                                        1, work_date=today() + days(1))), ValidationFailed, "invalid")
    assert list(error.fields) == ["work_date"]
    assert not PieceLog.objects.exists()
    record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], 1, work_date=today()))


def test_a_worker_is_logged_only_while_she_is_a_member(personas):
    shop = open_shop(personas)
    bundle, threading = shop.bundles[0], shop.procedures[0]
    # she joined ten days ago and left three days ago
    joined = WorkerFactory(name="钱美华", village=personas.home["village"])
    Membership.objects.create(broker=personas.broker_org, worker=joined, started_on=today() - days(10),
                              ended_on=today() - days(3))

    for day in (today() - days(11), today() - days(2), today()):
        error = refused(lambda: record(personas.broker, row(joined, bundle, threading, 1, work_date=day)),
                        NotAMember, "not_a_member")
        assert list(error.fields) == ["worker"]
    for day in (today() - days(10), today() - days(3)):  # both ends count
        record(personas.broker, row(joined, bundle, threading, 1, work_date=day))
    # the rival's worker is not in this workforce at all
    refused(lambda: record(personas.broker, row(personas.other_worker_record, bundle, threading, 1)), NotAMember,
            "not_a_member")
    assert logged(bundle, threading) == 2


def test_a_worker_who_left_and_came_back_is_a_member_again(personas):
    shop = open_shop(personas)
    bundle, threading = shop.bundles[0], shop.procedures[0]
    services.membership_end(actor=personas.broker, worker_id=personas.worker_record.pk, ended_on=today() - days(20))
    refused(lambda: record(personas.broker, row(personas.worker_record, bundle, threading, 1)), NotAMember,
            "not_a_member")
    services.worker_enrol(actor=personas.broker, national_id=personas.worker_record.national_id,
                          name=personas.worker_record.name, started_on=today() - days(5))

    record(personas.broker, row(personas.worker_record, bundle, threading, 1, work_date=today() - days(25)))
    record(personas.broker, row(personas.worker_record, bundle, threading, 1))
    refused(lambda: record(personas.broker, row(personas.worker_record, bundle, threading, 1,
                                                work_date=today() - days(10))), NotAMember, "not_a_member")


def test_no_rate_no_log(personas):
    shop = open_shop(personas, rates=("0.9000", None))
    knotting = shop.procedures[1]
    # a rate that starts tomorrow does not price today's pieces
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=knotting.pk,
                            rate=D("0.3500"), effective_from=timezone.now() + days(1))

    error = refused(lambda: record(personas.broker, row(personas.worker_record, shop.bundles[0], knotting, 1)),
                    DomainError, "no_piece_rate")
    assert list(error.fields) == ["procedure"]
    assert not PieceLog.objects.exists()


def test_a_rate_change_applies_to_pieces_logged_after_it(personas):
    shop = open_shop(personas)
    bundle, threading = shop.bundles[0], shop.procedures[0]
    [before] = record(personas.broker, row(personas.worker_record, bundle, threading, 10))
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk, rate=D("0.9500"))
    [after] = record(personas.broker, row(personas.worker_record, bundle, threading, 10))

    assert PieceLog.objects.get(pk=before.log.pk).rate == D("0.9000")
    assert PieceLog.objects.get(pk=after.log.pk).rate == D("0.9500")


# --- all or nothing ------------------------------------------------------------------------------

def test_a_batch_with_any_bad_row_writes_nothing_and_names_every_bad_row(personas):
    shop = open_shop(personas)
    threading, knotting = shop.procedures
    worker = personas.worker_record
    [kept] = record(personas.broker, row(worker, shop.bundles[0], threading, 10))
    before = list(PieceLog.objects.values_list("pk", "quantity"))
    batch = [
        row(worker, shop.bundles[0], knotting, 10),  # fine
        row(personas.other_worker_record, shop.bundles[0], knotting, 1),  # not a member
        row(worker, shop.bundles[2], threading, 21),  # over the cap
        {**row(worker, shop.bundles[0], threading, 11), "client_id": kept.log.client_id},  # id reused
        row(worker, shop.bundles[1], threading, 1, work_date=today() + days(2)),  # future
        {**row(worker, shop.bundles[0], threading, 1), "bundle": 999_999},  # no such bundle
        row(worker, shop.bundles[1], knotting, 50),  # fine
    ]

    error = refused(lambda: services.piece_logs_record(actor=personas.broker, rows=batch), ValidationFailed,
                    "invalid_rows")
    assert error.fields.keys() == {"rows.1.worker", "rows.2.quantity", "rows.3.client_id", "rows.4.work_date",
                                   "rows.5.bundle"}
    assert "5" in error.message
    assert list(PieceLog.objects.values_list("pk", "quantity")) == before

    good = [batch[0], {**batch[3], "quantity": 10}, batch[6]]  # row 1 now a true resend
    results = services.piece_logs_record(actor=personas.broker, rows=good)
    assert [(r.index, r.duplicate) for r in results] == [(0, False), (1, True), (2, False)]
    assert results[1].log.pk == kept.log.pk
    assert PieceLog.objects.count() == 3


def test_a_batch_the_database_refuses_half_way_leaves_nothing_behind(personas, monkeypatch):
    # given: the insert writes the first half of the rows, then the database refuses the rest
    shop = open_shop(personas)
    real_bulk_create = PieceLog.objects.bulk_create

    def half_then_refuse(objs, *args, **kwargs):
        objs = list(objs)
        real_bulk_create(objs[: len(objs) // 2], *args, **kwargs)
        assert PieceLog.objects.count() == len(objs) // 2  # the first half is written…
        raise IntegrityError("the database refused the rest")

    monkeypatch.setattr(PieceLog.objects, "bulk_create", half_then_refuse)
    rows = [row(personas.worker_record, shop.bundles[0], shop.procedures[0], 1) for _ in range(4)]
    with pytest.raises(IntegrityError):
        services.piece_logs_record(actor=personas.broker, rows=rows)
    monkeypatch.undo()

    assert not PieceLog.objects.exists()  # … and rolled back with the batch


# --- piece_log_reverse ---------------------------------------------------------------------------

def test_a_reversal_is_a_negative_log_naming_the_log_at_its_rate(personas):
    shop = open_shop(personas)
    threading = shop.procedures[0]
    [first] = record(personas.broker, row(personas.worker_record, shop.bundles[0], threading, 30,
                                          work_date=today() - days(1)))
    services.piece_rate_set(actor=personas.broker, award_id=shop.award.pk, procedure_id=threading.pk, rate=D("1.0000"))

    reversal = services.piece_log_reverse(actor=personas.team_head, log_id=first.log.pk, reason="不是她做的")

    assert (reversal.quantity, reversal.rate, reversal.reverses_id, reversal.reason, reversal.worker_id,
            reversal.bundle_id, reversal.procedure_id, reversal.work_date, reversal.source, reversal.recorded_by_id) \
        == (-30, D("0.9000"), first.log.pk, "不是她做的", personas.worker_record.pk, shop.bundles[0].pk, threading.pk,
            today() - days(1), PieceLog.Source.TEAM_HEAD, personas.team_head.pk)
    assert logged(shop.bundles[0], threading) == 0
    # a log is reversed once, and a reversal is not reversed
    refused(lambda: services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="again"),
            AlreadyReversed, "already_reversed")
    refused(lambda: services.piece_log_reverse(actor=personas.broker, log_id=reversal.pk, reason="undo"),
            DomainError, "reversal_of_reversal")
    assert PieceLog.objects.count() == 2


def test_a_partial_reversal_takes_between_one_and_all_pieces(personas):
    shop = open_shop(personas)
    [first] = record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], 30))
    for quantity in (0, -1, 31):
        error = refused(lambda: services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="x",
                                                           quantity=quantity), ValidationFailed, "invalid")
        assert list(error.fields) == ["quantity"]
    error = refused(lambda: services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="  "),
                    ValidationFailed, "invalid")
    assert list(error.fields) == ["reason"]
    assert PieceLog.objects.count() == 1

    assert services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="少五件",
                                      quantity=5).quantity == -5
    assert logged(shop.bundles[0], shop.procedures[0]) == 25


def test_a_resent_reversal_returns_the_first_and_a_client_id_names_one_reversal(personas):
    shop = open_shop(personas)
    first, second = (record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], 10))[0]
                     for _ in range(2))
    reversal = services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="x", client_id="rev-0001")

    again = services.piece_log_reverse(actor=personas.broker, log_id=first.log.pk, reason="x", client_id="rev-0001")
    assert again.pk == reversal.pk
    refused(lambda: services.piece_log_reverse(actor=personas.broker, log_id=second.log.pk, reason="x",
                                               client_id="rev-0001"), ClientIdReused, "client_id_reused")
    refused(lambda: services.piece_log_reverse(actor=personas.broker, log_id=second.log.pk, reason="x",
                                               client_id=first.log.client_id), ClientIdReused, "client_id_reused")
    assert PieceLog.objects.count() == 3 and logged(shop.bundles[0], shop.procedures[0]) == 10


def test_only_the_broker_s_staff_reverse_its_logs(personas):
    shop = open_shop(personas)
    [first] = record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], 10))
    refused(lambda: services.piece_log_reverse(actor=personas.rival_broker, log_id=first.log.pk, reason="x"),
            NotFound, "not_found")
    for actor in (personas.worker, personas.firm, personas.auditor):
        refused(lambda: services.piece_log_reverse(actor=actor, log_id=first.log.pk, reason="x"), Forbidden,
                "permission_denied")
    assert PieceLog.objects.count() == 1


# --- disputes ------------------------------------------------------------------------------------

def _one_log(personas, quantity=30):
    shop = open_shop(personas)
    [result] = record(personas.broker, row(personas.worker_record, shop.bundles[0], shop.procedures[0], quantity))
    return shop, result.log


def test_a_wrong_count_accepted_reverses_the_difference(personas):
    shop, log = _one_log(personas)
    dispute = services.dispute_open(actor=personas.worker, log_id=log.pk, kind=Dispute.Kind.WRONG_COUNT,
                                    correct_quantity=25, note="少了五件")
    assert (dispute.status, dispute.worker_id, dispute.broker_id, dispute.correct_quantity) == (
        Dispute.Status.OPEN, personas.worker_record.pk, personas.broker_org.pk, 25)

    resolved = services.dispute_resolve(actor=personas.broker, dispute_id=dispute.pk, accept=True,
                                        resolution="重新点过，25件")

    resolved.refresh_from_db()
    assert (resolved.status, resolved.resolution, resolved.resolved_by_id) == (
        Dispute.Status.ACCEPTED, "重新点过，25件", personas.broker.pk)
    assert resolved.resolved_at is not None
    reversal = PieceLog.objects.get(pk=resolved.reversal_id)
    assert (reversal.quantity, reversal.rate, reversal.reverses_id) == (-5, D("0.9000"), log.pk)
    assert logged(shop.bundles[0], shop.procedures[0]) == 25
    refused(lambda: services.dispute_resolve(actor=personas.broker, dispute_id=dispute.pk, accept=False,
                                             resolution="no"), DisputeClosed, "dispute_closed")


def test_not_mine_accepted_reverses_the_whole_log(personas):
    shop, log = _one_log(personas)
    dispute = services.dispute_open(actor=personas.worker, log_id=log.pk, kind=Dispute.Kind.NOT_MINE,
                                    correct_quantity=7)
    assert dispute.correct_quantity is None
    resolved = services.dispute_resolve(actor=personas.team_head, dispute_id=dispute.pk, accept=True,
                                        resolution="是别人的")
    assert PieceLog.objects.get(pk=resolved.reversal_id).quantity == -30
    assert logged(shop.bundles[0], shop.procedures[0]) == 0


def test_a_rejection_needs_a_reason_and_writes_no_log(personas):
    _shop, log = _one_log(personas)
    dispute = services.dispute_open(actor=personas.worker, log_id=log.pk, kind=Dispute.Kind.NOT_MINE)
    error = refused(lambda: services.dispute_resolve(actor=personas.broker, dispute_id=dispute.pk, accept=False,
                                                     resolution=" "), ValidationFailed, "invalid")
    assert list(error.fields) == ["resolution"]
    assert Dispute.objects.get(pk=dispute.pk).status == Dispute.Status.OPEN

    services.dispute_resolve(actor=personas.broker, dispute_id=dispute.pk, accept=False, resolution="记录没错")
    dispute.refresh_from_db()
    assert (dispute.status, dispute.reversal_id) == (Dispute.Status.REJECTED, None)
    assert PieceLog.objects.count() == 1
    # rejected: she may dispute again
    services.dispute_open(actor=personas.worker, log_id=log.pk, kind=Dispute.Kind.NOT_MINE, note="再查一次")


@pytest.mark.parametrize("correct", [None, 30, 31, -1])
def test_a_wrong_count_names_a_smaller_count(personas, correct):
    _shop, log = _one_log(personas)
    error = refused(lambda: services.dispute_open(actor=personas.worker, log_id=log.pk, kind=Dispute.Kind.WRONG_COUNT,
                                                  correct_quantity=correct), ValidationFailed, "invalid")
    assert list(error.fields) == ["correct_quantity"]
    assert not Dispute.objects.exists()


def test_only_the_worker_disputes_her_own_logs_once_at_a_time(personas):
    _shop, log = _one_log(personas)
    for actor in (personas.broker, personas.auditor, personas.firm):
        refused(lambda: services.dispute_open(actor=actor, log_id=log.pk, kind="not_mine"), Forbidden,
                "permission_denied")
    refused(lambda: services.dispute_open(actor=personas.other_worker, log_id=log.pk, kind="not_mine"), NotFound,
            "not_found")
    services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine")
    refused(lambda: services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine"), DomainError,
            "dispute_open")
    assert Dispute.objects.count() == 1


def test_a_reversed_log_or_a_reversal_is_not_disputed(personas):
    _shop, log = _one_log(personas)
    reversal = services.piece_log_reverse(actor=personas.broker, log_id=log.pk, reason="x", quantity=3)
    refused(lambda: services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine"), AlreadyReversed,
            "already_reversed")
    refused(lambda: services.dispute_open(actor=personas.worker, log_id=reversal.pk, kind="not_mine"), NotFound,
            "not_found")
    assert not Dispute.objects.exists()


def test_the_dispute_window_closes(personas, settings):
    _shop, log = _one_log(personas)
    days_allowed = settings.PIECE_DISPUTE_WINDOW_DAYS
    # time moves on: the log was recorded just inside, then just outside the window
    with rewriting_history():  # the log is append-only: age it for the test only
        PieceLog.objects.filter(pk=log.pk).update(recorded_at=timezone.now() - days(days_allowed) + dt.timedelta(minutes=1))
    dispute = services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine")
    services.dispute_resolve(actor=personas.broker, dispute_id=dispute.pk, accept=False, resolution="没错")
    with rewriting_history():
        PieceLog.objects.filter(pk=log.pk).update(recorded_at=timezone.now() - days(days_allowed) - dt.timedelta(minutes=1))
    error = refused(lambda: services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine"),
                    DisputeWindowClosed, "dispute_window_closed")
    assert str(days_allowed) in error.message
    assert Dispute.objects.count() == 1


def test_only_the_log_s_broker_resolves(personas):
    _shop, log = _one_log(personas)
    dispute = services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine")
    refused(lambda: services.dispute_resolve(actor=personas.rival_broker, dispute_id=dispute.pk, accept=True,
                                             resolution="x"), NotFound, "not_found")
    for actor in (personas.worker, personas.auditor):
        refused(lambda: services.dispute_resolve(actor=actor, dispute_id=dispute.pk, accept=True, resolution="x"),
                Forbidden, "permission_denied")
    assert Dispute.objects.get().status == Dispute.Status.OPEN and PieceLog.objects.count() == 1


def test_accepting_a_dispute_on_a_log_reversed_meanwhile_changes_nothing(personas):
    _shop, log = _one_log(personas)
    dispute = services.dispute_open(actor=personas.worker, log_id=log.pk, kind="not_mine")
    services.piece_log_reverse(actor=personas.broker, log_id=log.pk, reason="已经改了")
    refused(lambda: services.dispute_resolve(actor=personas.broker, dispute_id=dispute.pk, accept=True,
                                             resolution="接受"), AlreadyReversed, "already_reversed")
    assert Dispute.objects.get().status == Dispute.Status.OPEN and PieceLog.objects.count() == 2


# --- attendance_mark -----------------------------------------------------------------------------

def test_a_day_is_marked_in_bulk_and_marking_again_replaces_it(personas):
    zhao = second_worker(personas)
    me = personas.worker_record
    day = today() - days(1)

    saved = services.attendance_mark(actor=personas.team_head, day=day, marks=[
        {"worker": me.pk, "mark": Attendance.Mark.ON_TIME},
        {"worker": zhao.pk, "mark": Attendance.Mark.LEAVE, "leave_reason": Attendance.LeaveReason.FARM_SEASON},
    ])
    assert len(saved) == 2
    assert set(Attendance.objects.values_list("worker_id", "date", "mark", "leave_reason", "recorded_by_id")) == {
        (me.pk, day, "on_time", "", personas.team_head.pk),
        (zhao.pk, day, "leave", "farm_season", personas.team_head.pk)}

    services.attendance_mark(actor=personas.broker, day=day, marks=[{"worker": me.pk, "mark": Attendance.Mark.LATE,
                                                                     "note": "堵车"}])
    assert set(Attendance.objects.values_list("worker_id", "mark", "note")) == {
        (me.pk, "late", "堵车"), (zhao.pk, "leave", "")}


def test_bad_marks_are_all_reported_by_index_and_nothing_is_written(personas):
    zhao = second_worker(personas)
    me = personas.worker_record
    services.attendance_mark(actor=personas.broker, day=today(), marks=[{"worker": me.pk, "mark": "on_time"}])

    error = refused(lambda: services.attendance_mark(actor=personas.broker, day=today(), marks=[
        {"worker": me.pk, "mark": "late"},  # fine on its own
        {"worker": zhao.pk, "mark": "leave"},  # no reason
        {"worker": personas.other_worker_record.pk, "mark": "on_time"},  # the rival's
        {"worker": me.pk, "mark": "on_time"},  # twice
        {"worker": zhao.pk, "mark": "late", "leave_reason": "sick"},  # twice and a reason without a leave
    ]), ValidationFailed, "invalid_rows")
    assert error.fields.keys() == {"marks.1.leave_reason", "marks.2.worker", "marks.3.worker", "marks.4.worker",
                                   "marks.4.leave_reason"}
    assert list(Attendance.objects.values_list("worker_id", "mark")) == [(me.pk, "on_time")]


def test_attendance_respects_membership_dates_and_is_not_marked_ahead(personas):
    newcomer = second_worker(personas, started_on=today() - days(3))
    error = refused(lambda: services.attendance_mark(actor=personas.broker, day=today() - days(4), marks=[
        {"worker": newcomer.pk, "mark": "on_time"}]), ValidationFailed, "invalid_rows")
    assert list(error.fields) == ["marks.0.worker"]
    services.attendance_mark(actor=personas.broker, day=today() - days(3), marks=[
        {"worker": newcomer.pk, "mark": "on_time"}])
    services.membership_end(actor=personas.broker, worker_id=newcomer.pk, ended_on=today() - days(1))
    refused(lambda: services.attendance_mark(actor=personas.broker, day=today(), marks=[
        {"worker": newcomer.pk, "mark": "on_time"}]), ValidationFailed, "invalid_rows")

    error = refused(lambda: services.attendance_mark(actor=personas.broker, day=today() + days(1), marks=[
        {"worker": personas.worker_record.pk, "mark": "on_time"}]), ValidationFailed, "invalid")
    assert list(error.fields) == ["date"]
    refused(lambda: services.attendance_mark(actor=personas.worker, day=today(), marks=[
        {"worker": personas.worker_record.pk, "mark": "on_time"}]), Forbidden, "permission_denied")
    assert Attendance.objects.count() == 1


# --- worker_register / worker_enrol --------------------------------------------------------------

def _worker_data(personas, **extra):
    return {"name": "孙丽", "phone": "13900000009", "village": personas.home["village"], "work_mode": "home",
            "household_tags": ["poor_household"], **extra}


def test_registering_a_worker_makes_her_a_member_from_today(personas):
    worker = services.worker_register(actor=personas.team_head,
                                      data=_worker_data(personas, national_id="33112319900101002X"))
    assert (worker.name, worker.national_id, worker.household_tags) == ("孙丽", "33112319900101002X",
                                                                        ["poor_household"])
    assert list(Membership.objects.filter(worker=worker).values_list("broker_id", "started_on", "ended_on")) == [
        (personas.broker_org.pk, today(), None)]


def test_the_same_national_id_is_registered_once(personas):
    services.worker_register(actor=personas.broker, data=_worker_data(personas, national_id="33112319900101002X"))
    for national_id in ("33112319900101002X", "33112319900101002x", " 33112319900101002X "):
        error = refused(lambda: services.worker_register(actor=personas.rival_broker, data=_worker_data(
            personas, name="别人", national_id=national_id)), DuplicateNationalId, "duplicate_national_id")
        assert list(error.fields) == ["national_id"] and error.status_code == 409
    assert Worker.objects.filter(national_id__iexact="33112319900101002X").count() == 1
    assert not Membership.objects.filter(broker=personas.rival_org, worker__name="孙丽").exists()


def test_workers_without_a_national_id_are_not_duplicates_of_each_other(personas):
    for national_id in (None, "", None, ""):
        services.worker_register(actor=personas.broker, data=_worker_data(personas, national_id=national_id))
    assert Worker.objects.filter(name="孙丽", national_id__isnull=True).count() == 4


def test_a_worker_is_registered_in_a_village(personas):
    error = refused(lambda: services.worker_register(actor=personas.broker, data=_worker_data(
        personas, village=personas.home["township"])), ValidationFailed, "invalid")
    assert list(error.fields) == ["village"]
    refused(lambda: services.worker_register(actor=personas.firm, data=_worker_data(personas)), Forbidden,
            "permission_denied")
    assert not Worker.objects.filter(name="孙丽").exists()


def test_another_broker_enrols_a_registered_worker_by_id_and_name(personas):
    her = personas.worker_record

    for national_id, name in ((her.national_id, "别的名字"), ("110101199001010000", her.name)):
        refused(lambda: services.worker_enrol(actor=personas.rival_broker, national_id=national_id, name=name),
                NotFound, "not_found")
    worker = services.worker_enrol(actor=personas.rival_broker, national_id=her.national_id.lower(), name=her.name,
                                   started_on=today() - days(2))

    assert worker.pk == her.pk
    assert set(Membership.objects.filter(worker=her, ended_on__isnull=True).values_list("broker_id", flat=True)) == {
        personas.broker_org.pk, personas.rival_org.pk}
    error = refused(lambda: services.worker_enrol(actor=personas.rival_broker, national_id=her.national_id,
                                                  name=her.name), Conflict, "already_member")
    assert error.status_code == 409
    assert Membership.objects.filter(worker=her).count() == 2


def test_a_worker_of_two_brokers_is_logged_by_each_for_its_own_work(personas):
    mine = open_shop(personas)
    her = personas.worker_record
    services.worker_enrol(actor=personas.rival_broker, national_id=her.national_id, name=her.name)
    rival_award = awarded(personas.firm, personas.rival_broker, quantity=40)
    [rival_bundle] = services.bundles_cut(actor=personas.rival_broker, award_id=rival_award.pk, size=40)
    rival_step = rival_award.order.procedures.order_by("sequence").first()
    services.piece_rate_set(actor=personas.rival_broker, award_id=rival_award.pk, procedure_id=rival_step.pk,
                            rate=D("0.8000"))

    record(personas.broker, row(her, mine.bundles[0], mine.procedures[0], 5))
    [theirs] = record(personas.rival_broker, row(her, rival_bundle, rival_step, 7))
    assert PieceLog.objects.get(pk=theirs.log.pk).broker_id == personas.rival_org.pk
    assert dict(PieceLog.objects.values_list("broker_id", "quantity")) == {personas.broker_org.pk: 5,
                                                                          personas.rival_org.pk: 7}


def test_a_login_needs_a_phone_that_has_none(personas):
    worker = services.worker_register(actor=personas.broker, data=_worker_data(personas), password="s3cret-pass")
    assert worker.user.role == Role.WORKER and worker.user.check_password("s3cret-pass")
    UserFactory(username="13900000010", phone="13900000010")
    refused(lambda: services.worker_register(actor=personas.broker, data=_worker_data(
        personas, name="周", phone="13900000010"), password="s3cret-pass"), Conflict, "phone_taken")
    assert not Worker.objects.filter(name="周").exists()  # all or nothing
