"""Simulation: a (draft) version against a past year, no claims. OWNED BY the flags helper.

`simulate` runs the evaluation's `compute` (which writes nothing) for the simulated version and
for the version of the same policy that was in force that year, and compares them: totals per
rule, the brokers and villages whose amounts differ, and what the simulated version would leave
of its fund. The report is JSON-safe (money as exact text, to the fen) and is what
`run_evaluation` stores in `evaluation.results`; nothing is written here."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.utils import timezone

from accounts.models import Jurisdiction, Organisation
from core.money import AMOUNT_QUANTUM

from .. import rules
from ..models import Evaluation, Fund, PolicyVersion
from . import evaluation as engine

ZERO = Decimal("0.00")


def simulate(evaluation: Evaluation) -> dict:
    """The report stored in `evaluation.results`: totals per rule, per-broker and per-village
    differences against the version active in that year, and the budget impact.

    - The period: a year evaluation covers every kind; loan interest, which is monthly, is the sum
      of the year's months (those begun by today, for the current year). A month evaluation
      covers that month's loan interest only.
    - The version compared with (`compared_with_version_id`): of the same policy, not a draft, not
      the simulated version itself, in force on some day of the period; of several (a version
      changed mid-year) the one that started last, i.e. the one in force at the period's end.
      None when there is none: every "active" figure is then zero.
    - A case proposal (one strategy for one event) has no amount until staff enter one: it is
      counted in `cases`, never in the money.
    - `budget`: the simulated version's fund for the year (its `Fund` row if it has one, else its
      annual budget), less what it would give."""
    version = evaluation.version
    start, end = _period(evaluation)
    compared = _compared_version(version, start, end)
    draft = _proposals(version, evaluation.period, start, end)
    active = _proposals(compared, evaluation.period, start, end) if compared else []

    kinds = set(_enabled_kinds(version, evaluation.period)) | {p.kind for p in draft}
    if compared:
        kinds |= set(_enabled_kinds(compared, evaluation.period)) | {p.kind for p in active}
    totals = {kind: _sums([p for p in draft if p.kind == kind], [p for p in active if p.kind == kind])
              for kind in rules.RULE_KINDS if kind in kinds}
    total = _sums(draft, active)

    loan_brokers = _loan_brokers(draft + active)
    brokers = _differences(draft, active, lambda p: p.broker_id or loan_brokers.get(p.loan_id))
    villages = _differences(draft, active, lambda p: None if p.broker_id or p.loan_id else p.village_id)
    broker_names = dict(Organisation.objects.filter(pk__in=[r["key"] for r in brokers]).values_list("pk", "name"))
    village_names = dict(Jurisdiction.objects.filter(pk__in=[r["key"] for r in villages]).values_list("pk", "name"))

    budget = _budget_of(version, start.year)
    draft_total, active_total = _sum_amounts(draft), _sum_amounts(active)
    return {
        "year": start.year,
        "period": evaluation.period,
        "period_start": start.isoformat(),
        "version_id": version.pk,
        "compared_with_version_id": compared.pk if compared else None,
        "totals": totals,
        "total": total,
        "brokers": [{"broker_id": r["key"], "name": broker_names.get(r["key"], ""), **_shown(r)} for r in brokers],
        "villages": [{"village_id": r["key"], "name": village_names.get(r["key"], ""), **_shown(r)}
                     for r in villages],
        "budget": {
            "annual_budget": _text(budget),
            "draft_total": _text(draft_total),
            "active_total": _text(active_total),
            "remaining_after_draft": _text(budget - draft_total),
            "over_budget": draft_total > budget,
            "active_annual_budget": _text(_budget_of(compared, start.year)) if compared else None,
        },
        "cases": total["cases"],
        "active_cases": total["active_cases"],
    }


def _period(evaluation: Evaluation) -> tuple[date, date]:
    start = evaluation.period_start
    if evaluation.period == Evaluation.Period.MONTH:
        start = start.replace(day=1)
        after = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return start, date.fromordinal(after.toordinal() - 1)
    return date(start.year, 1, 1), date(start.year, 12, 31)


def _compared_version(version: PolicyVersion, start: date, end: date) -> PolicyVersion | None:
    return (PolicyVersion.objects.filter(policy_id=version.policy_id, effective_from__isnull=False,
                                         effective_from__lte=end)
            .exclude(status=PolicyVersion.Status.DRAFT).exclude(pk=version.pk)
            .exclude(effective_to__lt=start).order_by("-effective_from", "-number").first())


def _enabled_kinds(version: PolicyVersion, period: str) -> list[str]:
    kinds = list(version.rules.filter(enabled=True).values_list("kind", flat=True))
    if period == Evaluation.Period.MONTH:
        return [k for k in kinds if k == rules.LOAN_INTEREST]
    return kinds


def _proposals(version: PolicyVersion, period: str, start: date, end: date) -> list:
    """What `compute` proposes for the period; for a year, with the loan interest of its months."""
    if period == Evaluation.Period.MONTH:
        made = engine.compute(version, period=Evaluation.Period.MONTH, period_start=start)
    else:
        made = list(engine.compute(version, period=Evaluation.Period.YEAR, period_start=start))
        if version.rules.filter(kind=rules.LOAN_INTEREST, enabled=True).exists():
            today = timezone.localdate()
            for month in range(1, 13):
                first = date(start.year, month, 1)
                if first > today:
                    break
                made += engine.compute(version, period=Evaluation.Period.MONTH, period_start=first)
    return [p for p in made if p.outcome.eligible]


def _text(value: Decimal) -> str:
    return str(Decimal(value).quantize(AMOUNT_QUANTUM))


def _sum_amounts(proposals) -> Decimal:
    return sum((p.amount for p in proposals if p.amount is not None), ZERO)


def _sums(draft, active) -> dict:
    d, a = _sum_amounts(draft), _sum_amounts(active)
    return {"draft": _text(d), "active": _text(a), "difference": _text(d - a),
            "claims": sum(1 for p in draft if p.amount is not None),
            "active_claims": sum(1 for p in active if p.amount is not None),
            "cases": sum(1 for p in draft if p.amount is None),
            "active_cases": sum(1 for p in active if p.amount is None)}


def _loan_brokers(proposals) -> dict[int, int]:
    """The broker of a loan proposal that does not name one (one query, usually none)."""
    from brokers.models import Loan

    loans = {p.loan_id for p in proposals if p.loan_id and not p.broker_id}
    return dict(Loan.objects.filter(pk__in=loans).values_list("pk", "broker_id")) if loans else {}


def _differences(draft, active, key_of) -> list[dict]:
    """Per beneficiary: the two sums and case counts; only those that differ, the largest
    difference (either way) first, then by id."""
    rows: dict[int, dict] = defaultdict(lambda: {"draft": ZERO, "active": ZERO, "draft_cases": 0, "active_cases": 0})
    for side, proposals in (("draft", draft), ("active", active)):
        for p in proposals:
            key = key_of(p)
            if key is None:
                continue
            if p.amount is None:
                rows[key][f"{side}_cases"] += 1
            else:
                rows[key][side] += p.amount
    listed = []
    for key, row in rows.items():
        difference = row["draft"] - row["active"]
        if difference == 0 and row["draft_cases"] == row["active_cases"]:
            continue
        listed.append({"key": key, "draft": _text(row["draft"]), "active": _text(row["active"]),
                       "difference": _text(difference), "draft_cases": row["draft_cases"],
                       "active_cases": row["active_cases"], "_abs": abs(difference)})
    listed.sort(key=lambda r: (-r["_abs"], r["key"]))
    return listed


def _shown(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("key", "_abs")}


def _budget_of(version: PolicyVersion, year: int) -> Decimal:
    fund = Fund.objects.filter(version=version, year=year).values_list("budget", flat=True).first()
    return Decimal(fund if fund is not None else version.annual_budget)
