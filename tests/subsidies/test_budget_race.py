"""The fund budget under concurrent approvals, on PostgreSQL (row locks are real there): two
auditors approving at once never commit more than the budget, the refused ones are told what is
left, and batches that lock the same claims and funds in different orders do not deadlock.

Each thread has its own database connection and closes it at the end; a barrier releases them
together so the approvals really overlap."""
from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from accounts.models import Role
from core.errors import DomainError
from payments.models import Entry, Transaction
from subsidies.models import AuditEvent, Claim, Fund
from subsidies.services import review

from ..factories import UserFactory
from .factories import active_version, make_claim, policy_for

D = Decimal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work) -> list[tuple[str, object]]:
    """Run work(i) in n threads released together. Each outcome: ("ok", result),
    ("refused", error) or ("crashed", repr) — a crash fails the test."""
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, object] | None] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[i] = ("ok", work(i))
        except DomainError as exc:
            outcomes[i] = ("refused", exc)
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


@pytest.fixture
def world(personas):
    policy = policy_for(personas.home["county"], fund_owner=personas.federation_org, budget=D("10000"))
    second = UserFactory(role=Role.AUDITOR, organisation=personas.federation_org)
    return personas, active_version(policy), second


def test_concurrent_approvals_never_exceed_the_budget(world):
    personas, version, second = world
    claims = [make_claim(version, broker=personas.broker_org, amount=D("2000.00")) for _ in range(8)]
    auditors = [personas.auditor, second]

    # the fund row does not exist yet: the first approvals also race to create it
    outcomes = race(8, lambda i: review.approve(actor=auditors[i % 2], claim_id=claims[i].pk).pk)

    assert Counter(kind for kind, _ in outcomes) == {"ok": 5, "refused": 3}
    refusals = [exc for kind, exc in outcomes if kind == "refused"]
    assert {exc.code for exc in refusals} == {"budget_exceeded"}
    assert {exc.params["remaining"] for exc in refusals} == {"0.00"}
    fund = Fund.objects.get(version=version, year=2025)
    assert (fund.budget, fund.committed) == (D("10000.00"), D("10000.00"))
    approved = {pk for kind, pk in outcomes if kind == "ok"}
    assert set(Claim.objects.filter(status=Claim.Status.APPROVED).values_list("pk", flat=True)) == approved
    assert Claim.objects.filter(status=Claim.Status.COMPUTED).count() == 3
    # exactly the approvals answered are on the books and in the audit trail
    assert set(Transaction.objects.filter(kind="subsidy_approval").values_list("idempotency_key", flat=True)) == {
        f"subsidy:claim:{pk}:approve" for pk in approved}
    assert Entry.objects.filter(account__organisation=personas.broker_org).aggregate(s=Sum("amount"))["s"] == \
        D("-10000.00")
    assert set(AuditEvent.objects.filter(action="approve").values_list("object_id", flat=True)) == approved


def test_concurrent_second_approvals_by_the_same_pair_commit_once(world):
    # two auditors race to give the final approval of the same claim: one wins, the other is
    # told the claim moved on; the fund is charged once
    personas, version, second = world
    third = UserFactory(role=Role.AUDITOR, organisation=personas.federation_org)
    claim = make_claim(version, broker=personas.broker_org, amount=D("6000.00"))
    review.approve(actor=personas.auditor, claim_id=claim.pk)

    outcomes = race(2, lambda i: review.approve(actor=[second, third][i], claim_id=claim.pk).status)

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert [exc.code for kind, exc in outcomes if kind == "refused"] == ["claim_state"]
    assert Fund.objects.get(version=version, year=2025).committed == D("6000.00")
    assert Transaction.objects.filter(kind="subsidy_approval").count() == 1


def test_batches_in_opposite_orders_across_two_funds_do_not_deadlock(world):
    personas, version, second = world
    this_year = [make_claim(version, broker=personas.broker_org, amount=D("1000.00"), year=2025) for _ in range(3)]
    next_year = [make_claim(version, broker=personas.broker_org, amount=D("1000.00"), year=2026) for _ in range(3)]
    forwards = [c.pk for pair in zip(this_year, next_year) for c in pair]
    batches = [forwards[:4], list(reversed(forwards))[:4]]  # overlapping, in opposite orders

    outcomes = race(2, lambda i: [c.pk for c in review.approve_many(actor=[personas.auditor, second][i],
                                                                    claim_ids=batches[i])])

    # whoever locks first approves all four; the other finds some of its claims approved
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    [winner] = [result for kind, result in outcomes if kind == "ok"]
    assert set(Claim.objects.filter(status=Claim.Status.APPROVED).values_list("pk", flat=True)) == set(winner)
    assert [exc.code for kind, exc in outcomes if kind == "refused"] == ["claim_state"]
    committed = dict(Fund.objects.filter(version=version).values_list("year", "committed"))
    assert sum(committed.values()) == D("4000.00")
