"""The subsidies API tests' world, on the personas: Suichang (home) with its 2009 policy and
Longquan (away) with its own copy, each county's federation office the fund owner.

Home claims: the broker's general reward for 2025 (flagged, with evidence: a paid payout batch of
two payslips, the two workers counted, a loan, a relocation and a village status record), the
rival broker's, and a village's new-professional-village award. Away: a Longquan broker's claim.
One payment batch and one audit event per county."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Organisation
from brokers.models import Loan, ProfessionalVillageStatus, Relocation, Worker, ZoneKind
from payments.models import PayoutBatch, PayoutItem, PayrollRun, Payslip
from subsidies import rules
from subsidies.models import (AuditEvent, Claim, ClaimEvidence, Evaluation, PaymentBatch, PolicyVersion, RiskFlag,
                              claim_subject)

from ..factories import MembershipFactory, OrganisationFactory, WorkerFactory
from ..personas import Personas
from .factories import active_version, make_claim, policy_for

Kind = ClaimEvidence.Kind
# risk flags' params as services/flags.py writes them (its `message` reads them)
JUST_OVER_TIER = {"near_wages": True, "wages": "120000.00", "wages_line": "100000", "wages_margin_percent": "20",
                  "tier": 1, "basis": "wages_issued"}
FLAG_PARAMS = {RiskFlag.Code.JUST_OVER_TIER: JUST_OVER_TIER, RiskFlag.Code.OPEN_DISPUTES: {"count": 2},
               RiskFlag.Code.YEAR_END_SPIKE: {"year": 2025, "december": "50000.00"}}


@dataclass
class SubsidyWorld:
    p: Personas
    version: PolicyVersion  # Suichang's active version
    away_version: PolicyVersion  # Longquan's
    away_broker: Organisation
    mine: Claim  # the broker's 2025 general reward, with evidence and a flag
    rival: Claim
    village: Claim
    away: Claim
    colleague: Worker  # the broker's second worker
    batch: PayoutBatch  # the broker's payout batch of 2025-03 (evidence)
    slips: list[Payslip]  # its two payslips
    other_batch: PayoutBatch  # a batch of 2025-04 that is not evidence
    loan: Loan
    relocation: Relocation
    status_record: ProfessionalVillageStatus
    payment_batch: PaymentBatch  # Suichang's
    away_payment_batch: PaymentBatch
    event: AuditEvent  # Suichang's
    away_event: AuditEvent

    def user(self, name: str):
        return self.p.users()[name]

    def home_claims(self) -> set[int]:
        return {self.mine.pk, self.rival.pk, self.village.pk}

    def events_of(self, county) -> set[int]:
        return set(AuditEvent.objects.filter(county=county).values_list("pk", flat=True))


def computed_claim(version: PolicyVersion, *, broker, amount: Decimal, inputs: dict, steps: list, sentence_zh: str,
                   sentence_en: str, year: int = 2025) -> Claim:
    """A computed broker reward as make_claim makes one, with its own inputs, steps and sentences,
    set at insert: the database never lets a claim's computed facts change afterwards (0003)."""
    evaluation = Evaluation.objects.create(version=version, period=Evaluation.Period.YEAR,
                                           period_start=dt.date(year, 1, 1), status=Evaluation.Status.DONE)
    kind = rules.BROKER_REWARD_GENERAL
    subject = claim_subject(policy_id=version.policy_id, kind=kind, period_start=dt.date(year, 1, 1),
                            broker_id=broker.pk)
    return Claim.objects.create(
        key=subject, subject=subject, policy=version.policy, version=version, rule=version.rules.get(kind=kind),
        kind=kind, evaluation=evaluation, county_id=version.policy.jurisdiction_id, period_start=dt.date(year, 1, 1),
        period_end=dt.date(year, 12, 31), fund_year=year, broker=broker, amount=amount, computed_amount=amount,
        needs_second_approval=abs(amount) > version.second_approval_over,
        second_approval_over=version.second_approval_over, inputs=inputs, steps=steps, sentence_zh=sentence_zh,
        sentence_en=sentence_en, fingerprint=f"api-world-{broker.pk}-{year}")


def _paid_batch(broker, month: dt.date, slips: list[tuple[Worker, Decimal]], *, number: int = 1) -> tuple:
    """A run's rows as the database lets them be written: payslips while a preview, then closed,
    its batch and items, then paid (the payroll services' ledger postings are not needed here)."""
    run = PayrollRun.objects.create(broker=broker, month=month, total=sum((a for _w, a in slips), Decimal("0")))
    rows = [Payslip.objects.create(run=run, worker=worker, worker_name=worker.name, total=amount)
            for worker, amount in slips]
    PayrollRun.objects.filter(pk=run.pk).update(status=PayrollRun.Status.CLOSED)
    batch = PayoutBatch.objects.create(run=run, number=number, status=PayoutBatch.Status.PAID,
                                       bank_reference=f"BANK-{broker.pk}-{month:%Y%m}", paid_on=month.replace(day=10))
    for slip in rows:
        PayoutItem.objects.create(batch=batch, payslip=slip, worker=slip.worker, account_holder=slip.worker_name,
                                  amount=slip.total, reference=f"PAY-{batch.pk}-{slip.worker_id}",
                                  status=PayoutItem.Status.PAID, paid_on=batch.paid_on)
    return batch, rows


def build_world(p: Personas) -> SubsidyWorld:
    version = active_version(policy_for(p.home["county"], fund_owner=p.federation_org))
    away_version = active_version(policy_for(p.away["county"], fund_owner=p.other_federation_org))
    away_broker = OrganisationFactory(kind=Organisation.Kind.BROKER, name="龙泉加工点", jurisdiction=p.away["township"])

    mine = computed_claim(version, broker=p.broker_org, amount=Decimal("2000.00"),
                          inputs={"wages_issued": "120000.00", "workers_counted": 2},
                          steps=[{"label": "tier_1_wages", "operator": ">", "operands": ["120000.00", "100000"],
                                  "result": True}],
                          sentence_zh="工资发放 120,000.00 元 > 100,000 → 2,000 元",
                          sentence_en="wages issued 120,000.00 yuan > 100,000 → 2,000 yuan")
    rival = make_claim(version, broker=p.rival_org, amount=Decimal("5000.00"))
    village = make_claim(version, village=p.home["village"], kind=rules.NEW_PROFESSIONAL_VILLAGE,
                         amount=Decimal("30000.00"))
    away = make_claim(away_version, broker=away_broker, amount=Decimal("2000.00"))

    colleague = WorkerFactory(name="陈美华", village=p.home["village"])
    MembershipFactory(broker=p.broker_org, worker=colleague)
    batch, slips = _paid_batch(p.broker_org, dt.date(2025, 3, 1),
                               [(p.worker_record, Decimal("61000.00")), (colleague, Decimal("59000.00"))])
    other_batch, _ = _paid_batch(p.broker_org, dt.date(2025, 4, 1), [(p.worker_record, Decimal("100.00"))])
    loan = Loan.objects.create(broker=p.broker_org, lender="遂昌农商银行", principal=Decimal("80000.00"),
                               start=dt.date(2025, 1, 15), contract_number="JK-2025-001", registered_by=p.broker)
    relocation = Relocation.objects.create(broker=p.broker_org, zone_kind=ZoneKind.COUNTY_PARK, zone_name="遂昌工业园区",
                                           moved_on=dt.date(2025, 6, 1), evidence="搬迁协议")
    status_record = ProfessionalVillageStatus.objects.create(
        village=p.home["village"], is_professional=True, effective_from=dt.date(2025, 1, 1),
        basis=ProfessionalVillageStatus.Basis.DESIGNATION, evidence="县妇联认定", decided_by=p.auditor)
    ClaimEvidence.objects.bulk_create([
        ClaimEvidence(claim=mine, kind=Kind.PAYOUT_BATCH, object_id=batch.pk, amount=Decimal("120000.00"), note="2025"),
        ClaimEvidence(claim=mine, kind=Kind.WORKER, object_id=p.worker_record.pk, amount=Decimal("61000.00")),
        ClaimEvidence(claim=mine, kind=Kind.WORKER, object_id=colleague.pk, amount=Decimal("59000.00")),
        ClaimEvidence(claim=mine, kind=Kind.LOAN, object_id=loan.pk, amount=Decimal("80000.00")),
        ClaimEvidence(claim=mine, kind=Kind.RELOCATION, object_id=relocation.pk),
        ClaimEvidence(claim=mine, kind=Kind.VILLAGE_STATUS, object_id=status_record.pk),
        ClaimEvidence(claim=mine, kind=Kind.BROKER, object_id=p.broker_org.pk),
    ])
    RiskFlag.objects.create(claim=mine, code=RiskFlag.Code.JUST_OVER_TIER, params=JUST_OVER_TIER,
                            records=[{"kind": "payout_batch", "id": batch.pk}])

    payment_batch = PaymentBatch.objects.create(policy=version.policy, county=p.home["county"], created_by=p.auditor)
    away_payment_batch = PaymentBatch.objects.create(policy=away_version.policy, county=p.away["county"],
                                                     created_by=p.other_auditor)
    event = AuditEvent.objects.create(county=p.home["county"], actor=p.auditor, action=AuditEvent.Action.SET_BUDGET,
                                      object_type="policy_version", object_id=version.pk,
                                      before={"budget": "2000000.00"}, after={"budget": "2500000.00"})
    away_event = AuditEvent.objects.create(county=p.away["county"], actor=p.other_auditor,
                                           action=AuditEvent.Action.SET_BUDGET, object_type="policy_version",
                                           object_id=away_version.pk)
    return SubsidyWorld(p, version, away_version, away_broker, mine, rival, village, away, colleague, batch, slips,
                        other_batch, loan, relocation, status_record, payment_batch, away_payment_batch, event,
                        away_event)
