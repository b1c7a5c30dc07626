"""Drafting and activating policy versions. OWNED BY the policies/exports helper."""
from __future__ import annotations

from datetime import date

from ..models import PolicyVersion, Rule


def draft_version(*, actor, from_version_id: int) -> PolicyVersion:
    """Copy a version (rules and parameters) into a new draft."""
    raise NotImplementedError


def edit_draft(*, actor, version_id: int, data: dict) -> PolicyVersion:
    """annual_budget, second_approval_over, note; drafts only (409 otherwise)."""
    raise NotImplementedError


def edit_rule(*, actor, rule_id: int, parameters: dict | None = None, enabled: bool | None = None) -> Rule:
    """Set parameter values (validated by rules.validate_parameters: 400 naming each field); drafts only."""
    raise NotImplementedError


def activate(*, actor, version_id: int, effective_from: date) -> PolicyVersion:
    """Draft → active from a date; the version active before it ends the day before (retired)."""
    raise NotImplementedError
