"""Claims and policies for tests that do not need an evaluation to make them: a policy for a test
county (Suichang's 2009 rules), and a claim of a given kind, amount and state."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from subsidies import rules, suichang
from subsidies.models import Claim, Evaluation, Policy, PolicyVersion, claim_subject

_seq = itertools.count(1)


def policy_for(county, *, fund_owner=None, budget: Decimal | None = None) -> Policy:
    """Suichang's 2009 policy, installed for a test county (code `suichang-2009-<county id>`)."""
    policy = suichang.load(county=county, code=f"{suichang.CODE}-{county.pk}", fund_owner=fund_owner)
    if budget is not None:
        policy.versions.update(annual_budget=budget)
    return policy


def active_version(policy: Policy) -> PolicyVersion:
    return policy.versions.get(status=PolicyVersion.Status.ACTIVE)


def make_claim(version: PolicyVersion, *, broker=None, village=None, kind: str = rules.BROKER_REWARD_GENERAL,
               amount: Decimal | None = Decimal("2000.00"), year: int = 2025, is_case: bool = False,
               status: str = Claim.Status.COMPUTED, **fields) -> Claim:
    """A computed claim as an evaluation would leave it (no evidence); `amount=None, is_case=True`
    for a case claim."""
    evaluation = Evaluation.objects.create(version=version, period=Evaluation.Period.YEAR,
                                           period_start=dt.date(year, 1, 1), status=Evaluation.Status.DONE)
    n = next(_seq)
    subject = claim_subject(policy_id=version.policy_id, kind=kind, period_start=dt.date(year, 1, 1),
                            broker_id=getattr(broker, "pk", None), village_id=getattr(village, "pk", None)) + f"#{n}"
    threshold = version.second_approval_over
    needs_second = is_case or (amount is not None and abs(amount) > threshold)
    return Claim.objects.create(
        key=subject, subject=subject, policy=version.policy, version=version,
        rule=version.rules.get(kind=kind), kind=kind, evaluation=evaluation, county_id=version.policy.jurisdiction_id,
        period_start=dt.date(year, 1, 1), period_end=dt.date(year, 12, 31), fund_year=year,
        broker=broker, village=village, is_case=is_case, amount=amount, computed_amount=amount,
        needs_second_approval=needs_second, second_approval_over=threshold,
        inputs={}, steps=[], sentence_zh="测试", sentence_en="test", fingerprint=f"test{n}", status=status, **fields)
