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
