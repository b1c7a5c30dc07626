"""Risk flags: what an auditor should look at before approving; they inform, never block.
OWNED BY the flags helper.

`flag_claims` runs at the end of an evaluation over the claims it created, set-based: a handful of
queries for the whole county (the year's pay per broker and worker with its December part, the
workers' national IDs, December's batches, open disputes; the loans come with the claims), the
rest in Python over those rows, one `bulk_create`. It
recomputes what it needs from the payments and brokers data and the rule's own parameters (not
from `Claim.inputs`), so a flag is a second look at the figures, not a repetition of them.

Each flag stores `params` (the figures, JSON-safe: money as text) from which `message` writes the
sentence in the reader's language, and `records` ([{"kind", "id"}]) it is about.

The margins below are the flags' own, not the policy's (the 2009 notice says nothing about them);
they are module constants until rules.py gives them a home as parameters."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Organisation
from core.money import round_amount
from payments import figures

from .. import figures_extra, rules
from ..models import Claim, Evaluation, RiskFlag

# The margins are the reward rule's audit parameters (rules.SPECS: flag_minimum_margin,
# flag_minimum_share, flag_tier_wages_margin, flag_tier_workers_margin, flag_spike_factor), so a
# county tunes them per version like any other parameter; percentages there, fractions here.
HUNDRED = Decimal(100)


def _share(p: dict, name: str) -> Decimal:
    return p[name] / HUNDRED


REWARD_KINDS = (rules.BROKER_REWARD_GENERAL, rules.BROKER_REWARD_MACHINERY)
Code = RiskFlag.Code


def flag_claims(evaluation: Evaluation, *, payouts: figures.CountyYearPayouts | None = None) -> int:
    """Add the risk flags of the claims this evaluation created (set-based); returns how many.

    Which claims get which flag:
    - broker reward claims (general and machinery): workers just over the counting threshold,
      the same person counted by two brokers, just over a tier boundary, a year-end spike;
    - every claim with a broker as beneficiary: open worker disputes at the broker;
    - loan-interest claims: the loan registered after its start.
    A claim already carrying a flag of a code is not flagged again with it (running twice adds
    nothing). `payouts`: the county year's payouts the evaluation already read (run_evaluation
    passes them so the year is read once); read here when not given."""
    claims = list(evaluation.claims.select_related("rule", "loan").order_by("id"))
    if not claims:
        return 0
    found: list[RiskFlag] = []
    found += _reward_flags([c for c in claims if c.kind in REWARD_KINDS and c.broker_id], payouts)
    found += _dispute_flags([c for c in claims if c.broker_id])
    found += _loan_flags([c for c in claims if c.loan_id])
    existing = set(RiskFlag.objects.filter(claim__evaluation=evaluation).values_list("claim_id", "code"))
    new = [flag for flag in found if (flag.claim_id, flag.code) not in existing]
    RiskFlag.objects.bulk_create(new)
    return len(new)


# --- broker rewards ----------------------------------------------------------------------------

def _money(value: Decimal) -> str:
    return str(round_amount(value))


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}"


def _tiers_met(outcome: rules.Outcome) -> list[int]:
    return [int(step.label.split("_")[1]) for step in outcome.steps
            if step.label.startswith("tier_") and step.label.endswith("_met") and step.result]


def _reward_flags(claims: list[Claim], payouts: figures.CountyYearPayouts | None = None) -> list[RiskFlag]:
    flags: list[RiskFlag] = []
    by_year: dict[tuple[int, int], list[Claim]] = defaultdict(list)  # (year, county): one, in practice
    for claim in claims:
        by_year[(claim.period_start.year, claim.county_id)].append(claim)
    params_of: dict[int, dict] = {}
    for claim in claims:
        if claim.rule_id not in params_of:
            params_of[claim.rule_id] = rules.validate_parameters(claim.kind, claim.rule.values())
    for (year, county_id), year_claims in sorted(by_year.items()):
        claim_brokers = {c.broker_id for c in year_claims}
        broker_ids = sorted(claim_brokers)
        pays = figures_extra.pay_by_worker(year=year, county_id=county_id, payouts=payouts)
        fee_basis = any(params_of[c.rule_id]["wages_basis"] == "processing_fee_income" for c in year_claims)
        fees = figures.processing_fee_income(year=year, broker_ids=broker_ids) if fee_basis else {}
        own: dict[int, dict[int, Decimal]] = defaultdict(dict)  # broker -> worker -> paid
        issued: dict[int, Decimal] = defaultdict(Decimal)  # broker -> wages issued in the year
        in_december: dict[int, Decimal] = defaultdict(Decimal)
        person_of: dict[int, str] = {}
        paid_by_person: dict[str, list[tuple[int, int, Decimal]]] = defaultdict(list)  # (broker, worker, paid)
        for pay in pays:
            person_of[pay.worker_id] = pay.person
            paid_by_person[pay.person].append((pay.broker_id, pay.worker_id, pay.paid))
            if pay.broker_id in claim_brokers:
                own[pay.broker_id][pay.worker_id] = pay.paid
                issued[pay.broker_id] += pay.paid
                in_december[pay.broker_id] += pay.december
        spiking: dict[int, dict] = {}
        per_claim = []
        for claim in year_claims:
            p = params_of[claim.rule_id]
            basis = p["wages_basis"]
            wages_issued = round_amount(issued[claim.broker_id])
            wages = fees.get(claim.broker_id, Decimal("0.00")) if basis == "processing_fee_income" else wages_issued
            minimum = p["worker_minimum_paid"]
            counted = {w: paid for w, paid in own.get(claim.broker_id, {}).items() if paid >= minimum}
            outcome = rules.broker_reward(claim.kind, rules.BrokerYear(wages, len(counted)), p)
            per_claim.append((claim, p, wages, basis, counted, outcome))
            december = round_amount(in_december[claim.broker_id])
            spike = _spike(december, wages_issued - december, p["flag_spike_factor"])
            if spike is not None:
                spiking[claim.broker_id] = spike
        december_batches = (figures_extra.batches_paid_in_month(year=year, month=12, broker_ids=sorted(spiking))
                            if spiking else {})
        others = _other_brokers(per_claim, paid_by_person, person_of)
        names = dict(Organisation.objects.filter(pk__in={b for per in others.values() for bs in per.values()
                                                         for b in bs}).values_list("pk", "name"))
        for claim, p, wages, basis, counted, outcome in per_claim:
            if not outcome.case:
                flag = _just_over_minimum(claim, p, wages, counted, outcome, year)
                if flag:
                    flags.append(flag)
            flag = _two_brokers(claim, counted, others.get(claim.id, {}), person_of, names, year)
            if flag:
                flags.append(flag)
            flag = _just_over_tier(claim, p, wages, basis, len(counted), outcome)
            if flag:
                flags.append(flag)
            if claim.broker_id in spiking:
                records = [{"kind": "payout_batch", "id": b} for b in december_batches.get(claim.broker_id, [])]
                flags.append(RiskFlag(claim=claim, code=Code.YEAR_END_SPIKE,
                                      params={"year": year, **spiking[claim.broker_id]}, records=records))
    return flags


def _just_over_minimum(claim, p, wages, counted, outcome, year) -> RiskFlag | None:
    """Workers counted who were paid at least the counting threshold but less than it × (1 +
    flag_minimum_margin %). Flagged when there is at least one and either without them the
    reward would be lower (they decide the tier), or they are more than flag_minimum_share %
    of the workers counted (a pattern worth a look even when the tier does not hang on them).
    A case claim is not flagged: its amount does not depend on the worker count."""
    minimum = p["worker_minimum_paid"]
    upper = minimum * (1 + _share(p, "flag_minimum_margin"))
    just = sorted(w for w, paid in counted.items() if paid < upper)
    if not just:
        return None
    without = rules.broker_reward(claim.kind, rules.BrokerYear(wages, len(counted) - len(just)), p)
    amount = outcome.amount or Decimal("0.00")
    lowers = (without.amount or Decimal("0.00")) < amount
    many = Decimal(len(just)) > _share(p, "flag_minimum_share") * len(counted)
    if not (lowers or many):
        return None
    return RiskFlag(claim=claim, code=Code.WORKERS_JUST_OVER_MINIMUM, params={
        "year": year, "just_over": len(just), "counted": len(counted), "minimum": _money(minimum),
        "upper": _money(upper), "margin_percent": _percent(_share(p, "flag_minimum_margin")),
        "share_percent": _percent(_share(p, "flag_minimum_share")), "lowers_reward": lowers,
        "amount": _money(amount), "amount_without": _money(without.amount or 0),
    }, records=[{"kind": "worker", "id": w} for w in just])


def _other_brokers(per_claim, paid_by_person, person_of) -> dict[int, dict[int, set[int]]]:
    """{claim id: {worker id counted by the claim's broker: {other broker ids that also count the
    same person}}}, with the claim's own broker in the set when the person is counted twice at
    it under two Worker rows. 'Counts' means paid at least the claim's counting threshold in the
    year, under any of the person's Worker rows."""
    result: dict[int, dict[int, set[int]]] = {}
    for claim, p, _wages, _basis, counted, _outcome in per_claim:
        minimum = p["worker_minimum_paid"]
        found: dict[int, set[int]] = {}
        for worker in counted:
            also = {broker for broker, other_worker, paid in paid_by_person[person_of[worker]]
                    if paid >= minimum and not (broker == claim.broker_id and other_worker == worker)}
            if also:
                found[worker] = also
        result[claim.id] = found
    return result


def _two_brokers(claim, counted, found, person_of, names, year) -> RiskFlag | None:
    """The same person (the same Worker, or Worker rows whose national IDs differ only in case)
    counted by this claim's broker and by another broker in the same year; each broker's claim
    is flagged with the workers and the other brokers. Two Worker rows of one person counted at
    the same broker are flagged too (`duplicates`). The other brokers looked at: every broker of
    the county, and any broker elsewhere that paid a worker living in the county
    (`figures_extra.pay_by_worker`); a worker from outside the county paid by a broker outside
    it is not this county's to check."""
    if not found:
        return None
    brokers = sorted({b for also in found.values() for b in also if b != claim.broker_id})
    duplicates = sorted(w for w, also in found.items() if claim.broker_id in also)
    records = [{"kind": "worker", "id": w} for w in sorted(found)] + [{"kind": "broker", "id": b} for b in brokers]
    return RiskFlag(claim=claim, code=Code.NATIONAL_ID_TWO_BROKERS, params={
        "year": year, "workers": len([w for w, also in found.items() if also - {claim.broker_id}]),
        "counted": len(counted), "duplicates": len(duplicates),
        "brokers": [{"id": b, "name": names.get(b, "")} for b in brokers],
        "brokers_of": {str(w): sorted(also) for w, also in sorted(found.items())},  # worker id -> brokers
    }, records=records)


def _just_over_tier(claim, p, wages, basis, workers, outcome) -> RiskFlag | None:
    """Wages issued within flag_tier_wages_margin % above the wage line of the tier awarded (for a
    case, the case line), or workers counted at most flag_tier_workers_margin above its worker line."""
    if outcome.case:
        tier, wage_line, worker_line = "case", p["case_wages_over"], None
    else:
        met = _tiers_met(outcome)
        if not met:
            return None
        tier = met[-1]
        wage_line, worker_line = p[f"tier_{tier}_wages_over"], p[f"tier_{tier}_workers_over"]
    near_wages = wages - wage_line <= wage_line * _share(p, "flag_tier_wages_margin")
    near_workers = worker_line is not None and workers - worker_line <= p["flag_tier_workers_margin"]
    if not (near_wages or near_workers):
        return None
    return RiskFlag(claim=claim, code=Code.JUST_OVER_TIER, params={
        "tier": tier, "basis": basis, "wages": _money(wages), "wages_line": _money(wage_line),
        "wages_margin_percent": _percent(_share(p, "flag_tier_wages_margin")), "near_wages": near_wages,
        "workers": workers, "workers_line": worker_line, "workers_margin": p["flag_tier_workers_margin"],
        "near_workers": near_workers,
    }, records=[{"kind": "broker", "id": claim.broker_id}])


def _spike(december: Decimal, before: Decimal, factor: Decimal) -> dict | None:
    """December's wages issued above flag_spike_factor × the monthly average of January to
    November (`before` is their total), the average over all eleven months (a month without
    payouts counts as nothing, so a broker who began paying in the autumn is flagged too: worth a
    look, not a refusal). Compared without dividing: December × 11 > factor × (January–November)."""
    if december <= 0 or december * 11 <= factor * before:
        return None
    average = round_amount(before / 11)
    ratio = str((december * 11 / before).quantize(Decimal("0.1"))) if before > 0 else None
    return {"december": _money(december), "average": _money(average), "ratio": ratio,
            "factor": f"{factor.normalize():f}"}


# --- every broker claim: open disputes; loan claims: registered late ---------------------------

def _dispute_flags(claims: list[Claim]) -> list[RiskFlag]:
    """Open worker disputes at the claim's broker when the flags are made (one query)."""
    if not claims:
        return []
    disputes = figures_extra.open_disputes(broker_ids=sorted({c.broker_id for c in claims}))
    return [RiskFlag(claim=c, code=Code.OPEN_DISPUTES, params={"count": len(disputes[c.broker_id])},
                     records=[{"kind": "dispute", "id": d} for d in disputes[c.broker_id]])
            for c in claims if disputes.get(c.broker_id)]


def _loan_flags(claims: list[Claim]) -> list[RiskFlag]:
    """A loan whose registration (local date) is after its start: the interest of months before
    it was registered is claimed after the fact. The loans come with the claims (one join)."""
    flags = []
    for claim in claims:
        loan = claim.loan
        registered_on = timezone.localdate(loan.registered_at)
        if registered_on > loan.start:
            flags.append(RiskFlag(claim=claim, code=Code.LOAN_REGISTERED_LATE, params={
                "registered_on": registered_on.isoformat(), "start": loan.start.isoformat(),
                "days_late": (registered_on - loan.start).days,
            }, records=[{"kind": "loan", "id": loan.pk}]))
    return flags


# --- the sentence --------------------------------------------------------------------------------

def _yuan(text) -> str:
    value = Decimal(text)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def message(flag: RiskFlag) -> str:
    """The flag's sentence in the active language, from its code and params."""
    p = flag.params or {}
    if flag.code == Code.WORKERS_JUST_OVER_MINIMUM:
        text = ngettext(
            "%(n)s of the %(counted)s workers counted was paid within %(margin)s%% above the counting threshold "
            "of %(minimum)s yuan (less than %(upper)s yuan in the year).",
            "%(n)s of the %(counted)s workers counted were paid within %(margin)s%% above the counting threshold "
            "of %(minimum)s yuan (less than %(upper)s yuan in the year).", p["just_over"]) % {
            "n": p["just_over"], "counted": p["counted"], "margin": p["margin_percent"],
            "minimum": _yuan(p["minimum"]), "upper": _yuan(p["upper"])}
        if p.get("lowers_reward"):
            if Decimal(p["amount_without"]) == 0:
                text += " " + _("Without them there would be no reward (instead of %(amount)s yuan).") % {
                    "amount": _yuan(p["amount"])}
            else:
                text += " " + _("Without them the reward would be %(without)s yuan instead of %(amount)s yuan.") % {
                    "without": _yuan(p["amount_without"]), "amount": _yuan(p["amount"])}
        else:
            text += " " + _("That is more than %(share)s%% of the workers counted.") % {"share": p["share_percent"]}
        return text
    if flag.code == Code.NATIONAL_ID_TWO_BROKERS:
        parts = []
        if p.get("workers"):
            names = ", ".join(b["name"] or f"#{b['id']}" for b in p.get("brokers", []))
            parts.append(ngettext(
                "%(n)s worker counted here was also counted by another broker in %(year)s: %(brokers)s.",
                "%(n)s workers counted here were also counted by another broker in %(year)s: %(brokers)s.",
                p["workers"]) % {"n": p["workers"], "year": p["year"], "brokers": names})
        if p.get("duplicates"):
            parts.append(ngettext(
                "%(n)s worker counted here shares a national ID with another worker counted here.",
                "%(n)s workers counted here share a national ID with another worker counted here.",
                p["duplicates"]) % {"n": p["duplicates"]})
        return " ".join(parts)
    if flag.code == Code.JUST_OVER_TIER:
        parts = []
        if p.get("near_wages"):
            figures_ = {"wages": _yuan(p["wages"]), "line": _yuan(p["wages_line"]),
                        "margin": p["wages_margin_percent"], "tier": p["tier"]}
            if p.get("basis") == "processing_fee_income":
                if p["tier"] == "case":
                    parts.append(_("Processing-fee income of %(wages)s yuan is within %(margin)s%% above the "
                                   "one-strategy-for-one-event line of %(line)s yuan.") % figures_)
                else:
                    parts.append(_("Processing-fee income of %(wages)s yuan is within %(margin)s%% above tier "
                                   "%(tier)s's line of %(line)s yuan.") % figures_)
            elif p["tier"] == "case":
                parts.append(_("Wages issued of %(wages)s yuan are within %(margin)s%% above the "
                               "one-strategy-for-one-event line of %(line)s yuan.") % figures_)
            else:
                parts.append(_("Wages issued of %(wages)s yuan are within %(margin)s%% above tier %(tier)s's line "
                               "of %(line)s yuan.") % figures_)
        if p.get("near_workers"):
            parts.append(ngettext(
                "%(n)s worker counted is within %(margin)s of tier %(tier)s's line of %(line)s workers.",
                "%(n)s workers counted are within %(margin)s of tier %(tier)s's line of %(line)s workers.",
                p["workers"]) % {"n": p["workers"], "margin": p["workers_margin"], "tier": p["tier"],
                                 "line": p["workers_line"]})
        return " ".join(parts)
    if flag.code == Code.YEAR_END_SPIKE:
        if p.get("ratio") is None:
            return _("Wages issued in December %(year)s, %(december)s yuan, with none from January to "
                     "November.") % {"year": p["year"], "december": _yuan(p["december"])}
        return _("Wages issued in December %(year)s, %(december)s yuan, were %(ratio)s times the monthly average "
                 "of January to November (%(average)s yuan); flagged above %(factor)s times.") % {
            "year": p["year"], "december": _yuan(p["december"]), "ratio": p["ratio"],
            "average": _yuan(p["average"]), "factor": p["factor"]}
    if flag.code == Code.OPEN_DISPUTES:
        return ngettext("%(n)s worker dispute is open at the broker.", "%(n)s worker disputes are open at the broker.",
                        p["count"]) % {"n": p["count"]}
    if flag.code == Code.LOAN_REGISTERED_LATE:
        return ngettext(
            "The loan was registered on %(registered)s, %(days)s day after its start on %(start)s.",
            "The loan was registered on %(registered)s, %(days)s days after its start on %(start)s.",
            p["days_late"]) % {"registered": p["registered_on"], "days": p["days_late"], "start": p["start"]}
    return str(Code(flag.code).label)
