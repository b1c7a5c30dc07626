"""Evaluation: a version's rules over a period, from the payments and brokers figures, set-based.
OWNED BY the evaluation helper; the signatures below are the contract others code against."""
from __future__ import annotations

from datetime import date

from ..models import Evaluation, PolicyVersion


def request_evaluation(*, actor, version: PolicyVersion, period: str, period_start: date,
                       simulation: bool = False) -> Evaluation:
    """Queue an evaluation (or a simulation of a draft) and send the Celery task on commit.
    Staff on demand (actor) or the beat schedule (actor=None). Returns the queued Evaluation."""
    raise NotImplementedError


def run_evaluation(evaluation_id: int) -> Evaluation:
    """Do the work of a queued evaluation (the Celery task calls this): claims, adjustments,
    supersessions, evidence, risk flags; counts; progress and completion over the live events."""
    raise NotImplementedError


# --- the pure-ish middle, used by simulation too ------------------------------------------------

from dataclasses import dataclass, field  # noqa: E402
from decimal import Decimal  # noqa: E402

from .. import rules  # noqa: E402


@dataclass
class Proposal:
    """What a rule gives one beneficiary for the period, before it is recorded: `subject` is
    `models.claim_subject(...)`; `outcome` the rules module's answer (amount None for a case);
    `inputs` every figure used (JSON-safe: Decimals as text); `evidence` the records behind it as
    (ClaimEvidence.Kind, object_id, amount or None, note) tuples, or left empty when the recorder
    inserts them set-based (see `evidence_sql`); `rank` for top villages."""

    kind: str
    subject: str
    outcome: rules.Outcome
    inputs: dict
    broker_id: int | None = None
    village_id: int | None = None
    loan_id: int | None = None
    relocation_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    rank: int | None = None
    evidence: list = field(default_factory=list)

    @property
    def amount(self) -> Decimal | None:
        return self.outcome.amount


def compute(version: PolicyVersion, *, period: str, period_start: date) -> list[Proposal]:
    """Every eligible proposal of the version's enabled rules for the period (a year: every kind
    but loan interest; a month: loan interest), for the policy's county, from grouped queries.
    Writes nothing: simulation calls it for a draft and for the active version."""
    raise NotImplementedError
