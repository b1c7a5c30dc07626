"""Simulation: a (draft) version against a past year, no claims. OWNED BY the flags helper."""
from __future__ import annotations

from ..models import Evaluation


def simulate(evaluation: Evaluation) -> dict:
    """The report stored in `evaluation.results`: totals per rule, per-broker and per-village
    differences against the version active in that year, and the budget impact."""
    raise NotImplementedError
