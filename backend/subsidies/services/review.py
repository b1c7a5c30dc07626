"""Review: computed → first approval → approved → paid, or rejected / superseded; case amounts;
the budget under the fund's row lock; ledger postings; payment batches.
OWNED BY the review helper; the signatures below are the contract others code against."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..models import Claim, Fund, PaymentBatch, PolicyVersion


def enter_case_amount(*, actor, claim_id: int, amount: Decimal, reason: str) -> Claim:
    raise NotImplementedError


def approve(*, actor, claim_id: int) -> Claim:
    """First approval or final approval, whichever the claim needs next."""
    raise NotImplementedError


def approve_many(*, actor, claim_ids: list[int]) -> list[Claim]:
    raise NotImplementedError


def reject(*, actor, claim_id: int, reason: str) -> Claim:
    raise NotImplementedError


def fund_for(version: PolicyVersion, year: int) -> Fund:
    raise NotImplementedError


def budget_of(version: PolicyVersion, year: int) -> dict:
    """{"year", "budget", "committed", "remaining", "pending"} (pending: computed and first-approved)."""
    raise NotImplementedError


def set_budget(*, actor, version_id: int, year: int, amount: Decimal) -> Fund:
    raise NotImplementedError


def open_payment_batch(*, actor, claim_ids: list[int]) -> PaymentBatch:
    raise NotImplementedError


def mark_batch_paid(*, actor, batch_id: int, bank_reference: str, paid_on: date) -> PaymentBatch:
    raise NotImplementedError
