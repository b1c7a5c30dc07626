"""Risk flags: what an auditor should look at before approving; they inform, never block.
OWNED BY the flags helper."""
from __future__ import annotations

from ..models import Evaluation


def flag_claims(evaluation: Evaluation) -> int:
    """Add the risk flags of the claims this evaluation created (set-based); returns how many."""
    return 0
