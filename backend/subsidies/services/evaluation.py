"""Evaluation: a version's rules over a period, from the payments and brokers figures, set-based.

`request_evaluation` queues a run (staff on demand, or the beat schedule); `run_evaluation` (the
Celery task's body) computes the proposals and records them as claims: a new subject gets a claim,
an unchanged one nothing, a changed one a replacement (while nobody has approved it) or an
adjustment claim for the difference (once approved or paid), and a subject no longer eligible has
its open claim superseded or a negative adjustment. `compute` writes nothing, so the simulation
runs it too. Every figure comes from a grouped query over the county (payments.figures,
brokers.selectors): the number of queries does not grow with the number of brokers."""
from __future__ import annotations

import calendar
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from brokers import selectors as broker_selectors
from brokers.models import BrokerCategory
from core.errors import Conflict, ValidationFailed
from core.money import round_amount
from core.realtime import groups, publish, send_now
from payments import figures

from .. import rules
from ..models import AuditEvent, Claim, ClaimEvidence, Evaluation, PolicyVersion, Rule, claim_subject
from . import audit

logger = logging.getLogger(__name__)

EVENT = "subsidy.evaluation"
EVIDENCE_BATCH = 5000
YEAR_KINDS = tuple(kind for kind in rules.RULE_KINDS if kind != rules.LOAN_INTEREST)
MONTH_KINDS = (rules.LOAN_INTEREST,)
ONE_TIME_KINDS = (rules.RELOCATION, rules.NEW_PROFESSIONAL_VILLAGE)
OPEN = (Claim.Status.COMPUTED, Claim.Status.FIRST_APPROVED)  # nobody has committed money to these yet
COMMITTED = (Claim.Status.APPROVED, Claim.Status.PAID)
DEAD = (Claim.Status.REJECTED, Claim.Status.SUPERSEDED)
E = ClaimEvidence.Kind


# --- periods ------------------------------------------------------------------------------------

def period_end(period: str, period_start: date) -> date:
    if period == Evaluation.Period.YEAR:
        return date(period_start.year, 12, 31)
    return period_start.replace(day=calendar.monthrange(period_start.year, period_start.month)[1])


def _check_period(period: str, period_start: date) -> date:
    if period not in Evaluation.Period.values:
        raise ValidationFailed(_("The period is a year or a month."), field="period")
    if period == Evaluation.Period.YEAR and (period_start.month, period_start.day) != (1, 1):
        raise ValidationFailed(_("A year is evaluated from 1 January."), field="period_start", code="period_start")
    if period == Evaluation.Period.MONTH and period_start.day != 1:
        raise ValidationFailed(_("A month is evaluated from its first day."), field="period_start",
                               code="period_start")
    end = period_end(period, period_start)
    if end >= timezone.localdate():
        raise Conflict(_("The period ends on %(end)s: it can be evaluated from the day after."),
                       params={"end": end.isoformat()}, code="period_not_ended")
    return end


def period_kinds(period: str) -> tuple[str, ...]:
    return YEAR_KINDS if period == Evaluation.Period.YEAR else MONTH_KINDS


def in_force_during(version: PolicyVersion, start: date, end: date) -> bool:
    """A version that is (or was) active on some day of the period: activated, from a day not after
    the period's end, and not ended before its start."""
    return (version.status != PolicyVersion.Status.DRAFT and version.effective_from is not None
            and version.effective_from <= end and (version.effective_to is None or version.effective_to >= start))


# --- requesting and running ----------------------------------------------------------------------

def request_evaluation(*, actor, version: PolicyVersion, period: str, period_start: date,
                       simulation: bool = False) -> Evaluation:
    """Queue an evaluation (or a simulation of a draft) and send the Celery task on commit.
    Staff on demand (actor) or the beat schedule (actor=None). A run of the same version and
    period already queued or running is returned instead of a second one."""
    end = _check_period(period, period_start)
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().select_related("policy").get(pk=version.pk)
        if not simulation and not in_force_during(version, period_start, end):
            raise Conflict(_("This version was not in force during the period: only an activated version in force "
                             "evaluates it (simulate a draft instead)."), code="version_not_in_force")
        pending = (Evaluation.objects.filter(version=version, period=period, period_start=period_start,
                                             simulation=simulation,
                                             status__in=[Evaluation.Status.QUEUED, Evaluation.Status.RUNNING])
                   .order_by("id").first())
        if pending is not None:
            return pending
        evaluation = Evaluation.objects.create(version=version, period=period, period_start=period_start,
                                               simulation=simulation,
                                               requested_by=actor if getattr(actor, "pk", None) else None)
        audit.record(actor=actor, action=AuditEvent.Action.SIMULATE if simulation else AuditEvent.Action.EVALUATE,
                     object_type="evaluation", object_id=evaluation.pk, county_id=version.policy.jurisdiction_id,
                     after={"version": version.pk, "period": period, "period_start": period_start,
                            "simulation": simulation})
        transaction.on_commit(lambda: _send(evaluation.pk))
    return evaluation


def _send(evaluation_id: int) -> None:
    from ..tasks import evaluate  # the task module imports this one

    evaluate.delay(evaluation_id)


def _notify(evaluation: Evaluation, payload: dict, *, now: bool) -> None:
    group = groups.county_auditors(evaluation.version.policy.jurisdiction_id)
    body = {"evaluation": evaluation.pk, "version": evaluation.version_id, "period": evaluation.period,
            "period_start": evaluation.period_start.isoformat(), "simulation": evaluation.simulation, **payload}
    if now:
        try:
            send_now(group, EVENT, body)
        except Exception:  # progress is a courtesy: never fail the run for it
            logger.exception("could not send evaluation progress")
    else:
        publish(group, EVENT, body)


def run_evaluation(evaluation_id: int) -> Evaluation:
    """Do the work of a queued evaluation (the Celery task calls this): claims, adjustments,
    supersessions, evidence, risk flags; counts; progress and completion over the live events.
    Idempotent: a done evaluation is returned as it is; a duplicate delivery running at the same
    time waits on the row lock and then finds it done."""
    from . import flags, simulation  # the flags helper's module imports this one

    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation_id)
        if evaluation.status == Evaluation.Status.DONE:
            return evaluation
        evaluation.status, evaluation.started_at, evaluation.error = Evaluation.Status.RUNNING, timezone.now(), ""
        evaluation.save(update_fields=["status", "started_at", "error"])
    try:
        with transaction.atomic():
            evaluation = (Evaluation.objects.select_for_update().select_related("version__policy")
                          .get(pk=evaluation_id))
            if evaluation.status == Evaluation.Status.DONE:
                return evaluation
            if evaluation.simulation:
                evaluation.results = simulation.simulate(evaluation)
                counts: dict = {}
            else:
                def progress(kind: str, n: int) -> None:
                    _notify(evaluation, {"status": "running", "kind": kind, "proposals": n}, now=True)

                _more_work_mem()
                # the county year's payouts, read once for the proposals and the risk flags
                payouts = figures.CountyYearPayouts(year=evaluation.period_start.year,
                                                    county_id=evaluation.version.policy.jurisdiction_id)
                proposals = compute(evaluation.version, period=evaluation.period,
                                    period_start=evaluation.period_start, progress=progress, payouts=payouts)
                counts = record(evaluation, proposals)
                counts["flags"] = flags.flag_claims(evaluation, payouts=payouts)
            evaluation.status, evaluation.finished_at, evaluation.counts = (Evaluation.Status.DONE, timezone.now(),
                                                                            counts)
            evaluation.save(update_fields=["status", "finished_at", "counts", "results"])
            _notify(evaluation, {"status": "done", "counts": counts}, now=False)
        return evaluation
    except Exception as exc:
        logger.exception("evaluation %s failed", evaluation_id)
        message = f"{type(exc).__name__}: {exc}"[:500]
        Evaluation.objects.filter(pk=evaluation_id).exclude(status=Evaluation.Status.DONE).update(
            status=Evaluation.Status.FAILED, finished_at=timezone.now(), error=message)
        evaluation = Evaluation.objects.select_related("version__policy").get(pk=evaluation_id)
        _notify(evaluation, {"status": "failed", "error": message}, now=False)
        raise


def _more_work_mem() -> None:
    """PostgreSQL, for this transaction only (SET LOCAL): room for the one grouped read over a
    county year's payouts (payments.figures.CountyYearPayouts: a million rows into 100,000 groups)
    to run in memory. The planner estimates the (broker, worker) groups from the product of the
    columns' distinct values, about 15 times too many (1.5 million for 113,000 at 100,000
    workers), so at 64 MB it still chose an external merge sort on disk (2.2-2.5 s); from 192 MB
    it sorts in memory and hashes the batches (1.5 s; about 180 MB used at that scale). JIT is
    off: compiling that plan cost more than it saved."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")


# --- proposals ---------------------------------------------------------------------------------

@dataclass
class Proposal:
    """What a rule gives one beneficiary for the period, before it is recorded: `subject` is
    `models.claim_subject(...)`; `outcome` the rules module's answer (amount None for a case);
    `inputs` every figure used (JSON-safe: Decimals as text); `evidence` the records behind it as
    (ClaimEvidence.Kind, object_id, amount or None, note) tuples; `rank` for top villages."""

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

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs, self.outcome.amount, self.outcome.case)


def plain(value):
    """JSON-safe, exactly: Decimals as text, dates ISO, tuples as lists."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def fingerprint(inputs: dict, amount: Decimal | None, case: bool = False) -> str:
    """sha256 of the canonical JSON of the inputs and the amount: equal on a re-run exactly when
    nothing the claim depends on changed."""
    text = json.dumps({"inputs": plain(inputs), "amount": None if amount is None else str(amount), "case": case},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def steps_json(outcome: rules.Outcome) -> list[dict]:
    return plain([{"label": s.label, "operator": s.operator, "operands": list(s.operands), "result": s.result}
                  for s in outcome.steps])


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def compute(version: PolicyVersion, *, period: str, period_start: date,
            progress: Callable[[str, int], None] | None = None,
            payouts: figures.CountyYearPayouts | None = None) -> list[Proposal]:
    """Every eligible proposal of the version's enabled rules for the period (a year: every kind
    but loan interest; a month: loan interest), for the policy's county, from grouped queries.
    Writes nothing: simulation calls it for a draft and for the active version. `progress` is
    called with each kind and its number of proposals once the kind is done. `payouts` is the
    county year's payouts read once (run_evaluation shares it with the risk flags); read here
    when not given."""
    county_id = version.policy.jurisdiction_id
    kinds = period_kinds(period)
    enabled = {rule.kind: rule for rule in Rule.objects.filter(version=version, enabled=True, kind__in=kinds)}
    if payouts is None or (payouts.year, payouts.county_id) != (period_start.year, county_id):
        payouts = figures.CountyYearPayouts(year=period_start.year, county_id=county_id)
    ctx = _Context(version.policy_id, county_id, period_start, period_end(period, period_start), payouts)
    proposals: list[Proposal] = []
    for kind in kinds:
        rule = enabled.get(kind)
        if rule is None:
            continue
        made = _COMPUTERS[kind](ctx, kind, rule.values())
        proposals += made
        if progress is not None:
            progress(kind, len(made))
    return proposals


class _Context:
    """The period and the figures shared by several kinds, each read once (lazily)."""

    def __init__(self, policy_id: int, county_id: int, start: date, end: date, payouts: figures.CountyYearPayouts):
        self.policy_id, self.county_id, self.start, self.end = policy_id, county_id, start, end
        self.payouts = payouts  # the period's year of payouts, one pass shared by the kinds
        self.year = start.year
        self._cache: dict = {}

    def once(self, name: str, read: Callable):
        if name not in self._cache:
            self._cache[name] = read()
        return self._cache[name]

    def wages(self, year: int) -> dict[int, Decimal]:
        return self.once(f"wages{year}", lambda: figures.wages_issued(year=year, county_id=self.county_id))

    def fees(self, year: int) -> dict[int, Decimal]:
        return self.once(f"fees{year}", lambda: figures.processing_fee_income(year=year, county_id=self.county_id))

    def paid_rows(self) -> dict[int, list[tuple[int, Decimal]]]:
        def read():
            by_broker: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
            for broker_id, worker_id, paid in self.payouts.county_by_worker():
                by_broker[broker_id].append((worker_id, paid))
            return by_broker
        return self.once("paid_rows", read)

    def batches(self) -> dict[int, list[tuple[int, Decimal]]]:
        def read():
            by_broker: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
            for broker_id, batch_id, paid in self.payouts.by_batch:
                by_broker[broker_id].append((batch_id, paid))
            return by_broker
        return self.once("batches", read)

    def invoices(self, year: int) -> dict[int, list[tuple[int, Decimal]]]:
        def read():
            by_broker: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
            for broker_id, invoice_id, fee in figures.processing_fee_income_by_invoice(year=year,
                                                                                       county_id=self.county_id):
                by_broker[broker_id].append((invoice_id, fee))
            return by_broker
        return self.once(f"invoices{year}", read)

    def categories(self) -> dict[int, str]:
        return self.once("categories", lambda: broker_selectors.broker_categories(county_id=self.county_id))

    def status_records(self) -> list:
        return self.once("status", lambda: list(broker_selectors.village_status_records(county_id=self.county_id,
                                                                                        until=self.end)))

    def granted_elsewhere(self, kind: str) -> dict[str, Claim]:
        """The one-time kinds' live claims from another period: that subject is never paid twice."""
        def read():
            claims = (Claim.objects.filter(policy_id=self.policy_id, kind=kind, is_adjustment=False)
                      .exclude(status__in=DEAD).exclude(period_start=self.start).only("subject", "id", "key"))
            return {c.subject: c for c in claims}
        return self.once(f"granted:{kind}", read)


def _broker_reward(ctx: _Context, kind: str, params: dict) -> list[Proposal]:
    typed = rules.validate_parameters(kind, params)
    minimum = typed["worker_minimum_paid"]
    wanted = BrokerCategory.GENERAL if kind == rules.BROKER_REWARD_GENERAL else BrokerCategory.MACHINERY
    categories = ctx.categories()
    paid_rows, batches = ctx.paid_rows(), ctx.batches()
    if typed["wages_basis"] == "processing_fee_income":
        basis = ctx.fees(ctx.year)
    else:  # wages issued: the sum of what each worker was paid, from the rows already read
        basis = {b: sum((paid for _w, paid in rows), Decimal("0.00")) for b, rows in paid_rows.items()}
    proposals = []
    for broker_id in sorted(basis):
        if categories.get(broker_id, BrokerCategory.GENERAL) != wanted:
            continue
        counted = [(worker_id, paid) for worker_id, paid in paid_rows.get(broker_id, ()) if paid >= minimum]
        wages = basis[broker_id]
        outcome = rules.broker_reward(kind, rules.BrokerYear(wages, len(counted)), params)
        if not outcome.eligible:
            continue
        evidence = [(E.PAYOUT_BATCH, batch_id, paid, str(ctx.year)) for batch_id, paid in batches.get(broker_id, ())]
        if typed["wages_basis"] == "processing_fee_income":
            evidence += [(E.INVOICE, invoice_id, fee, str(ctx.year))
                         for invoice_id, fee in ctx.invoices(ctx.year).get(broker_id, ())]
        evidence += [(E.WORKER, worker_id, paid, "") for worker_id, paid in counted]
        inputs = {"year": ctx.year, "category": wanted, "wages_basis": typed["wages_basis"],
                  "wages_issued": _money(wages), "workers_counted": len(counted),
                  "worker_minimum_paid": _money(minimum), "parameters": params}
        proposals.append(Proposal(kind, claim_subject(policy_id=ctx.policy_id, kind=kind, period_start=ctx.start,
                                                      broker_id=broker_id),
                                  outcome, inputs, broker_id=broker_id, evidence=evidence))
    return proposals


def _month_before(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _loan_interest(ctx: _Context, kind: str, params: dict) -> list[Proposal]:
    typed = rules.validate_parameters(kind, params)
    loans = list(broker_selectors.loans_outstanding(county_id=ctx.county_id, start=ctx.start, end=ctx.end))
    if not loans:
        return []
    if typed["eligibility_year"] == "trailing_twelve_months":
        window_start = ctx.start.replace(year=ctx.start.year - 1)
        window_end = ctx.start - timedelta(days=1)
        wages = figures.wages_issued_between(start=window_start, end=window_end,
                                             broker_ids={loan.broker_id for loan in loans})
        window = {"from": window_start, "to": window_end}
    else:
        wages = ctx.wages(ctx.start.year - 1)
        window = {"from": date(ctx.start.year - 1, 1, 1), "to": date(ctx.start.year - 1, 12, 31)}
    proposals = []
    for loan in loans:
        issued = wages.get(loan.broker_id, Decimal("0.00"))
        outcome = rules.loan_interest(rules.Loan(loan.principal, loan.start, loan.end), ctx.start, issued, params)
        if not outcome.eligible:
            continue
        inputs = {"month": f"{ctx.start:%Y-%m}", "loan": loan.pk, "principal": _money(loan.principal),
                  "start": loan.start, "end": loan.end, "eligibility_year": typed["eligibility_year"],
                  "eligibility_window": window, "wages_issued": _money(issued), "parameters": params}
        evidence = [(E.LOAN, loan.pk, loan.principal, loan.contract_number[:200]),
                    (E.BROKER, loan.broker_id, issued, f"wages {window['from']:%Y-%m}..{window['to']:%Y-%m}")]
        proposals.append(Proposal(kind, claim_subject(policy_id=ctx.policy_id, kind=kind, period_start=ctx.start,
                                                      loan_id=loan.pk),
                                  outcome, inputs, broker_id=loan.broker_id, loan_id=loan.pk, evidence=evidence))
    return proposals


def _freight(ctx: _Context, kind: str, params: dict) -> list[Proposal]:
    typed = rules.validate_parameters(kind, params)
    this_year, last_year = ctx.fees(ctx.year), ctx.fees(ctx.year - 1)
    proposals = []
    for broker_id in sorted(this_year):
        this, last = this_year[broker_id], last_year.get(broker_id, Decimal("0.00"))
        outcome = rules.freight(this, last, params)
        if not outcome.eligible:
            continue
        evidence = [(E.INVOICE, invoice_id, fee, str(ctx.year))
                    for invoice_id, fee in ctx.invoices(ctx.year)[broker_id]]
        if typed["base"] == "year_over_year_increase":
            evidence += [(E.INVOICE, invoice_id, fee, str(ctx.year - 1))
                         for invoice_id, fee in ctx.invoices(ctx.year - 1).get(broker_id, ())]
        inputs = {"year": ctx.year, "income_this_year": _money(this), "income_last_year": _money(last),
                  "base": typed["base"], "parameters": params}
        proposals.append(Proposal(kind, claim_subject(policy_id=ctx.policy_id, kind=kind, period_start=ctx.start,
                                                      broker_id=broker_id),
                                  outcome, inputs, broker_id=broker_id, evidence=evidence))
    return proposals


def _relocation(ctx: _Context, kind: str, params: dict) -> list[Proposal]:
    typed = rules.validate_parameters(kind, params)
    first: dict[int, object] = {}
    for moved in broker_selectors.relocations_between(county_id=ctx.county_id, start=ctx.start, end=ctx.end):
        first.setdefault(moved.broker_id, moved)  # the year's first move is the one subsidised
    if not first:
        return []
    if typed["fee_year"] == "trailing_twelve_months_before_move":
        spans = {b: (m.moved_on.replace(year=m.moved_on.year - 1), m.moved_on - timedelta(days=1))
                 for b, m in first.items()}
        fees = figures.processing_fee_income_in_spans(spans)
    else:
        spans = {b: (date(ctx.year - 1, 1, 1), date(ctx.year - 1, 12, 31)) for b in first}
        fees = ctx.fees(ctx.year - 1)
    granted = ctx.granted_elsewhere(kind)
    proposals = []
    for broker_id, moved in sorted(first.items()):
        subject = claim_subject(policy_id=ctx.policy_id, kind=kind, broker_id=broker_id)
        fee = fees.get(broker_id, Decimal("0.00"))
        outcome = rules.relocation(fee, already_granted=subject in granted, params=params)
        if not outcome.eligible:
            continue
        start, end = spans[broker_id]
        inputs = {"relocation": moved.pk, "moved_on": moved.moved_on, "zone_kind": moved.zone_kind,
                  "zone_name": moved.zone_name, "fee_year": typed["fee_year"], "fee_from": start, "fee_to": end,
                  "processing_fee": _money(fee), "parameters": params}
        evidence = [(E.RELOCATION, moved.pk, None, f"{moved.moved_on}")]
        if typed["fee_year"] == "last_full_calendar_year_before_move":
            evidence += [(E.INVOICE, invoice_id, amount, str(ctx.year - 1))
                         for invoice_id, amount in ctx.invoices(ctx.year - 1).get(broker_id, ())]
        proposals.append(Proposal(kind, subject, outcome, inputs, broker_id=broker_id, relocation_id=moved.pk,
                                  evidence=evidence))
    return proposals


def _new_professional_village(ctx: _Context, kind: str, params: dict) -> list[Proposal]:
    records: dict[int, list] = defaultdict(list)
    for status in ctx.status_records():
        records[status.village_id].append(status)
    granted = ctx.granted_elsewhere(kind)
    proposals = []
    for village_id, history in sorted(records.items()):
        professional = [s for s in history if s.is_professional]
        if not professional or not (ctx.start <= professional[0].effective_from <= ctx.end):
            continue  # never professional, or first professional in another year
        subject = claim_subject(policy_id=ctx.policy_id, kind=kind, village_id=village_id)
        outcome = rules.new_professional_village(became_professional=True, already_awarded=subject in granted,
                                                 params=params)
        if not outcome.eligible:
            continue
        became = professional[0]
        inputs = {"year": ctx.year, "status_record": became.pk, "effective_from": became.effective_from,
                  "basis": became.basis, "parameters": params}
        evidence = [(E.VILLAGE_STATUS, s.pk, None,
                     f"{s.effective_from} {'professional' if s.is_professional else 'not professional'}")
                    for s in history]
        proposals.append(Proposal(kind, subject, outcome, inputs, village_id=village_id, evidence=evidence))
    return proposals


def _top_villages(ctx: _Context, kind: str, params: dict) -> list[Proposal]:
    typed = rules.validate_parameters(kind, params)
    last: dict[int, object] = {}
    for status in ctx.status_records():
        last[status.village_id] = status  # oldest first: the last is the status on 31 December
    professional = {v: s for v, s in last.items() if s.is_professional}
    if not professional:
        return []
    paid = ctx.payouts.wages_and_workers_by_village()
    workers = {v: n for v, (_wages, n) in paid.items()}
    if typed["index"] == "wages_to_village_workers":
        index = {v: wages for v, (wages, _n) in paid.items()}
    elif typed["index"] == "processing_fee_income":
        index = figures.processing_fee_income_by_village(year=ctx.year, county_id=ctx.county_id)
    else:
        index = {v: Decimal(n) for v, n in workers.items()}
    rows = [rules.VillageIndex(v, index.get(v, Decimal("0.00")), workers.get(v, 0)) for v in professional]
    awards = rules.top_villages(rows, params)
    by_id = {row.village_id: row for row in rows}
    # the ranking frozen into each claim: the awarded villages and the first one after them, with
    # their figures, so a later change elsewhere in the county does not touch the awards
    shown = [{"rank": n, "village": v, "index": _money(by_id[v].index), "workers": by_id[v].workers}
             for n, v in enumerate(awards[0].ranking[:len(awards) + 1] if awards else (), start=1)]
    proposals = []
    for award in awards:
        status = professional[award.village_id]
        inputs = {"year": ctx.year, "index_kind": typed["index"], "tie_break": typed["tie_break"],
                  "index": _money(by_id[award.village_id].index), "workers": by_id[award.village_id].workers,
                  "rank": award.rank, "ranking": shown, "professional_villages": len(rows), "parameters": params}
        evidence = [(E.VILLAGE_STATUS, status.pk, by_id[award.village_id].index, f"rank {award.rank}")]
        proposals.append(Proposal(kind, claim_subject(policy_id=ctx.policy_id, kind=kind, period_start=ctx.start,
                                                      village_id=award.village_id),
                                  award.outcome, inputs, village_id=award.village_id, rank=award.rank,
                                  evidence=evidence))
    return proposals


_COMPUTERS = {
    rules.BROKER_REWARD_GENERAL: _broker_reward,
    rules.BROKER_REWARD_MACHINERY: _broker_reward,
    rules.LOAN_INTEREST: _loan_interest,
    rules.FREIGHT: _freight,
    rules.RELOCATION: _relocation,
    rules.NEW_PROFESSIONAL_VILLAGE: _new_professional_village,
    rules.TOP_VILLAGES: _top_villages,
}


# --- recording -----------------------------------------------------------------------------------

NOT_ELIGIBLE = "not_eligible"


def _chain_state(chain: list[Claim]) -> tuple[Claim | None, list[Claim], Decimal, Claim | None]:
    """(the live base claim, its open adjustments, what its committed claims add up to, the claim
    whose fingerprint is the chain's current one)."""
    base = next((c for c in chain if not c.is_adjustment and c.status not in DEAD), None)
    if base is None:
        return None, [], Decimal("0"), (chain[-1] if chain else None)
    after = [c for c in chain if c.pk >= base.pk]
    open_adjustments = [c for c in after if c.is_adjustment and c.status in OPEN]
    committed = sum((c.amount or Decimal("0") for c in after if c.status in COMMITTED), Decimal("0"))
    current = next(c for c in reversed(after) if c.status not in DEAD)
    return base, open_adjustments, committed, current


def record(evaluation: Evaluation, proposals: list[Proposal]) -> dict:
    """Turn proposals into claims (in the caller's transaction): create, replace, adjust,
    supersede, or leave unchanged. Returns the counts."""
    version = evaluation.version
    policy_id = version.policy_id
    # the kinds this run evaluated: a rule switched off leaves its claims alone
    kinds = list(Rule.objects.filter(version=version, enabled=True, kind__in=period_kinds(evaluation.period))
                 .values_list("kind", flat=True))
    wanted = {p.subject: p for p in proposals}
    in_scope = Q(policy_id=policy_id, kind__in=kinds, period_start=evaluation.period_start)
    chains: dict[str, list[Claim]] = defaultdict(list)
    existing = Claim.objects.select_for_update().filter(in_scope | Q(subject__in=list(wanted))).order_by("id")
    for claim in existing:
        chains[claim.subject].append(claim)
    rule_ids = dict(Rule.objects.filter(version=version).values_list("kind", "id"))
    end = period_end(evaluation.period, evaluation.period_start)
    counts = {"created": 0, "adjusted": 0, "superseded": 0, "unchanged": 0}
    now = timezone.now()
    new_claims: list[tuple[Claim, list]] = []
    to_supersede: list[int] = []

    def make(p: Proposal, *, key: str, amount: Decimal | None, is_case: bool, adjusts: Claim | None = None,
             is_adjustment: bool = False, sentence: dict | None = None, steps: list | None = None,
             inputs: dict | None = None, fp: str | None = None) -> None:
        over = version.second_approval_over
        sentence = sentence or p.outcome.sentence
        claim = Claim(
            key=key, subject=p.subject, policy_id=policy_id, version=version, rule_id=rule_ids[p.kind], kind=p.kind,
            evaluation=evaluation, county_id=version.policy.jurisdiction_id, period_start=evaluation.period_start,
            period_end=end, fund_year=evaluation.period_start.year, broker_id=p.broker_id, village_id=p.village_id,
            loan_id=p.loan_id, relocation_id=p.relocation_id, is_case=is_case, amount=amount, computed_amount=amount,
            adjusts=adjusts, is_adjustment=is_adjustment,
            needs_second_approval=is_case or (amount is not None and abs(amount) > over), second_approval_over=over,
            inputs=plain(inputs if inputs is not None else p.inputs),
            steps=steps if steps is not None else steps_json(p.outcome),
            sentence_zh=sentence["zh-CN"][:500], sentence_en=sentence["en"][:500],
            fingerprint=fp or p.fingerprint, rank=p.rank, created_at=now)
        new_claims.append((claim, p.evidence))

    def adjust(p: Proposal, chain: list[Claim], latest: Claim, committed: Decimal, new_amount: Decimal | None,
               is_case: bool, fp: str) -> None:
        key = f"{p.subject}:{len(chain) + 1}"
        inputs = {**p.inputs, "adjusts": latest.key, "committed": _money(committed)}
        if is_case:
            make(p, key=key, amount=None, is_case=True, adjusts=latest, is_adjustment=True, inputs=inputs, fp=fp,
                 sentence=_adjust_sentence(p.outcome.sentence, None, latest.key))
            return
        difference = round_amount(new_amount - committed)
        steps = steps_json(p.outcome) + plain([{"label": "adjustment", "operator": "−",
                                                "operands": [new_amount, committed], "result": difference}])
        make(p, key=key, amount=difference, is_case=False, adjusts=latest, is_adjustment=True, inputs=inputs,
             steps=steps, fp=fp, sentence=_adjust_sentence(p.outcome.sentence, difference, latest.key))

    for subject in sorted(set(chains) | set(wanted)):
        chain, p = chains.get(subject, []), wanted.get(subject)
        base, open_adjustments, committed, current = _chain_state(chain)
        if p is None:  # no longer eligible
            if base is None:
                continue
            if base.status in OPEN:
                to_supersede += [base.pk] + [c.pk for c in open_adjustments]
                continue
            gone = fingerprint({"subject": subject, "eligible": False}, None)
            if current.fingerprint == gone or _rejected_since(chain, current, gone) \
                    or (committed == 0 and not open_adjustments):
                counts["unchanged"] += 1
                continue
            to_supersede += [c.pk for c in open_adjustments]
            if committed != 0:
                adjust(_withdrawal(base, subject, committed), chain, _latest(chain, to_supersede), committed,
                       Decimal("0.00"), False, gone)
                counts["adjusted"] += 1
            continue
        fp = p.fingerprint
        if current is not None and (current.fingerprint == fp and (base is not None
                                                                   or current.status == Claim.Status.REJECTED)
                                    or base is not None and _rejected_since(chain, current, fp)):
            counts["unchanged"] += 1  # the same inputs: a rejected claim (or adjustment) stays rejected
            continue
        if base is None:
            if not chain:
                make(p, key=subject, amount=p.amount, is_case=p.outcome.case)
                counts["created"] += 1
            else:  # rejected or superseded before, eligible with other inputs now: a new claim
                make(p, key=f"{subject}:{len(chain) + 1}", amount=p.amount, is_case=p.outcome.case, adjusts=chain[-1])
                counts["adjusted"] += 1
            continue
        if base.status in OPEN:
            to_supersede += [base.pk] + [c.pk for c in open_adjustments]
            make(p, key=f"{subject}:{len(chain) + 1}", amount=p.amount, is_case=p.outcome.case, adjusts=base)
            counts["adjusted"] += 1
            continue
        # approved or paid: money is committed, so the correction is a claim for the difference
        to_supersede += [c.pk for c in open_adjustments]
        if not p.outcome.case and p.amount == committed:
            if not open_adjustments:  # other figures, the same amount: nothing to pay or take back
                counts["unchanged"] += 1
            continue
        adjust(p, chain, _latest(chain, to_supersede), committed, p.amount, p.outcome.case, fp)
        counts["adjusted"] += 1

    if to_supersede:
        counts["superseded"] += Claim.objects.filter(pk__in=to_supersede, status__in=OPEN).update(
            status=Claim.Status.SUPERSEDED, superseded_at=now)
    _insert(new_claims)
    return counts


def _rejected_since(chain: list[Claim], current: Claim, fp: str) -> bool:
    """An adjustment for these very inputs was made after `current` and rejected: not again."""
    return any(c.pk > current.pk and c.status == Claim.Status.REJECTED and c.fingerprint == fp for c in chain)


def _latest(chain: list[Claim], superseding: list[int]) -> Claim:
    """The newest claim of the chain that stays live: what an adjustment names."""
    return next(c for c in reversed(chain) if c.status not in DEAD and c.pk not in superseding)


def _withdrawal(base: Claim, subject: str, committed: Decimal) -> Proposal:
    """A proposal standing for "no longer eligible": its adjustment takes back what was committed."""
    sentence = {"zh-CN": f"重新核算不再符合条件，已核准 {committed:,.2f} 元",
                "en": f"no longer eligible on re-evaluation; {committed:,.2f} yuan was committed"}
    outcome = rules.Outcome(base.kind, False, Decimal("0.00"), (), sentence, reason="no_longer_eligible")
    return Proposal(base.kind, subject, outcome, {"eligible": False, "reason": "no_longer_eligible"},
                    broker_id=base.broker_id, village_id=base.village_id, loan_id=base.loan_id,
                    relocation_id=base.relocation_id, rank=base.rank)


def _adjust_sentence(sentence: dict, difference: Decimal | None, key: str) -> dict:
    if difference is None:
        return {"zh-CN": f"{sentence['zh-CN']}；更正 {key}，差额由工作人员核定",
                "en": f"{sentence['en']}; corrects {key}, the difference set by staff"}
    return {"zh-CN": f"{sentence['zh-CN']}；更正 {key}，差额 {difference:+,.2f} 元",
            "en": f"{sentence['en']}; corrects {key}, difference {difference:+,.2f} yuan"}


def _insert(new_claims: list[tuple[Claim, list]]) -> None:
    """The claims in one bulk insert, then their evidence in large batches."""
    if not new_claims:
        return
    claims = Claim.objects.bulk_create([claim for claim, _evidence in new_claims], batch_size=1000)
    if connection.vendor == "postgresql":
        _insert_evidence_unnest(claims, new_claims)
        return
    rows = (ClaimEvidence(claim_id=claim.pk, kind=kind, object_id=object_id, amount=amount, note=(note or "")[:200])
            for claim, (_c, evidence) in zip(claims, new_claims) for kind, object_id, amount, note in evidence)
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= EVIDENCE_BATCH:
            ClaimEvidence.objects.bulk_create(batch)
            batch = []
    if batch:
        ClaimEvidence.objects.bulk_create(batch)


def _insert_evidence_unnest(claims: list[Claim], new_claims: list[tuple[Claim, list]]) -> None:
    """PostgreSQL: the evidence rows (50,000 for a county year) as INSERT ... SELECT FROM UNNEST of
    one array per column, in batches, without a model instance per row: building and preparing
    the instances was most of the time of recording (about 2 s of 3 at county scale)."""
    table = ClaimEvidence._meta.db_table
    sql = (f"INSERT INTO {table} (claim_id, kind, object_id, amount, note) "
           "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::numeric[], %s::varchar[])")
    columns: tuple[list, list, list, list, list] = ([], [], [], [], [])

    def flush() -> None:
        if columns[0]:
            with connection.cursor() as cursor:
                cursor.execute(sql, list(columns))
            for column in columns:
                column.clear()

    for claim, (_c, evidence) in zip(claims, new_claims):
        for kind, object_id, amount, note in evidence:
            columns[0].append(claim.pk)
            columns[1].append(str(kind))
            columns[2].append(object_id)
            columns[3].append(amount)
            columns[4].append((note or "")[:200])
            if len(columns[0]) >= EVIDENCE_BATCH:
                flush()
    flush()
