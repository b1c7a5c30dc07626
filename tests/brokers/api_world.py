"""A small workforce for the brokers API tests (test_api_*.py, test_permissions_brokers.py): the
personas of tests/personas.py with awards, bundles, piece rates, piece logs, disputes,
attendance and availability on both sides (the broker's and the rival's), all built through the
real services. Test modules import the `api_world` fixture from here.

    broker   award (120 pieces: bundles of 50, 50, 20), rates 0.9000 threading / 0.3000 knotting
             uncut award (100 pieces, no bundles) for /cut/
             workers: the worker (with a login), 赵小红 (no login yet)
             the worker's logs: `disputed` (10 threading, an open dispute), `plain` (10 knotting)
             the worker's attendance today and availability
    rival    rival_award (100 pieces: bundles of 50, 50), the same rates; the other worker's
             log with an open dispute; her attendance today and availability
    villages the home village is professional (decided by Suichang's auditor); the away one is not
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from brokers import services
from brokers.models import (
    Attendance, Availability, BrokerProfile, Bundle, Dispute, Membership, PieceLog, PieceRate, ProcessingSite,
    ProfessionalVillageStatus, Relocation, TrainingRecord, Worker,
)
from orders.models import Award, Procedure

from ..factories import WorkerFactory, joined_on
from ..orders import builders
from ..personas import Personas

NAMES = ["firm", "broker", "team_head", "rival_broker", "worker", "other_worker", "auditor", "other_auditor",
         "admin", "anonymous"]

THREADING_RATE = Decimal("0.9000")
KNOTTING_RATE = Decimal("0.3000")


def cid() -> str:
    return uuid.uuid4().hex


@dataclass
class World:
    p: Personas
    award: Award
    uncut: Award
    rival_award: Award
    threading: Procedure
    knotting: Procedure
    rival_threading: Procedure
    bundles: list[Bundle]
    rival_bundles: list[Bundle]
    nologin: Worker
    disputed: PieceLog
    plain: PieceLog
    rival_log: PieceLog
    dispute: Dispute
    rival_dispute: Dispute

    def user(self, name: str) -> User | None:
        return self.p.users()[name]


def procedures(award: Award) -> list[Procedure]:
    return list(award.order.procedures.order_by("sequence"))


def set_rates(owner: User, award: Award, threading: Decimal = THREADING_RATE,
              knotting: Decimal = KNOTTING_RATE) -> None:
    first, second = procedures(award)
    services.piece_rate_set(actor=owner, award_id=award.pk, procedure_id=first.pk, rate=threading)
    services.piece_rate_set(actor=owner, award_id=award.pk, procedure_id=second.pk, rate=knotting)


def log(actor: User, worker: Worker, bundle: Bundle, procedure: Procedure, quantity: int, **row: Any) -> PieceLog:
    """One piece log through the service (today, a fresh client id unless given)."""
    data = {"worker": worker.pk, "bundle": bundle.pk, "procedure": procedure.pk, "quantity": quantity,
            "work_date": timezone.localdate(), "client_id": cid(), **row}
    [result] = services.piece_logs_record(actor=actor, rows=[data])
    return result.log


def build_world(p: Personas) -> World:
    for org in (p.broker_org, p.rival_org):
        services.profile_for(org.pk)  # a GET creates missing profiles; make them now so writes compare cleanly

    award = builders.awarded(p.firm, p.broker, quantity=120, product="串珠手链 建明")
    uncut = builders.awarded(p.firm, p.broker, quantity=100, product="未裁订单")
    rival_award = builders.awarded(p.firm, p.rival_broker, quantity=100, product="对手订单")
    bundles = services.bundles_cut(actor=p.broker, award_id=award.pk, size=50)
    rival_bundles = services.bundles_cut(actor=p.rival_broker, award_id=rival_award.pk, size=50)
    set_rates(p.broker, award)
    set_rates(p.rival_broker, rival_award)
    threading, knotting = procedures(award)
    rival_threading, _ = procedures(rival_award)

    nologin = services.worker_register(actor=p.broker, data={
        "name": "赵小红", "phone": "13900000009", "national_id": "331123199001010042",
        "village": p.home["village"], "work_mode": "home"})

    disputed = log(p.broker, p.worker_record, bundles[0], threading, 10)
    plain = log(p.broker, p.worker_record, bundles[0], knotting, 10)
    rival_log = log(p.rival_broker, p.other_worker_record, rival_bundles[0], rival_threading, 10)
    dispute = services.dispute_open(actor=p.worker, log_id=disputed.pk, kind="wrong_count", correct_quantity=8)
    rival_dispute = services.dispute_open(actor=p.other_worker, log_id=rival_log.pk, kind="not_mine")

    today = timezone.localdate()
    services.attendance_mark(actor=p.broker, day=today, marks=[{"worker": p.worker_record.pk, "mark": "on_time"}])
    services.attendance_mark(actor=p.rival_broker, day=today,
                             marks=[{"worker": p.other_worker_record.pk, "mark": "late"}])
    services.availability_declare(actor=p.worker, start_date=today, end_date=today, reason="farm_season")
    services.availability_declare(actor=p.other_worker, start_date=today, end_date=today, reason="child_care")

    services.village_status_set(actor=p.auditor, village_id=p.home["village"].pk, is_professional=True,
                                basis="designation", evidence="县妇联认定", effective_from=today)

    return World(p=p, award=award, uncut=uncut, rival_award=rival_award, threading=threading, knotting=knotting,
                 rival_threading=rival_threading, bundles=bundles, rival_bundles=rival_bundles, nologin=nologin,
                 disputed=disputed, plain=plain, rival_log=rival_log, dispute=dispute, rival_dispute=rival_dispute)


@pytest.fixture
def api_world(personas) -> World:
    return build_world(personas)


MODELS = [User, Worker, Membership, BrokerProfile, ProcessingSite, TrainingRecord, Relocation,
          ProfessionalVillageStatus, Bundle, PieceRate, PieceLog, Dispute, Attendance, Availability]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the workforce: a refused request must leave this exactly as it was."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


REFUSED_CODES = {"not_authenticated", "permission_denied"}


def assert_refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if code is not None:
        assert body["code"] == code, body
    elif status == 404:
        assert body["code"] == "not_found", body
    elif status in (401, 403):
        assert body["code"] in REFUSED_CODES, body


def refused_and_unchanged(call, status: int, code: str | None = None):
    """Run a write that must be refused: the answer is `status` (and `code`) and no row changed."""
    before = snapshot()
    response = call()
    assert_refused(response, status, code)
    assert snapshot() == before
    return response


def rows_of(response) -> list[dict]:
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def extra_worker(p: Personas, broker: User, *, started_on=None, **kwargs) -> Worker:
    """A worker in `broker`'s workforce (since 1 January of last year unless said, as the personas'
    workers: a test logging in the month before last on 29 February needs December), living in
    the home village."""
    worker = WorkerFactory(village=kwargs.pop("village", p.home["village"]), **kwargs)
    Membership.objects.create(broker=broker.organisation, worker=worker, started_on=started_on or joined_on())
    return worker
