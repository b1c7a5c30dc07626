"""A county's year for the subsidy tests, built fast: brokers, workers, paid wages, invoiced fees,
loans, relocations and village status records, written straight to the tables (bulk inserts that
pass the payments app's database guards), not through the payroll services, so a test can pay
101 workers 200,000.01 yuan in a handful of queries.

    w = county_world()                          # a county with a township and three villages,
                                                # Suichang's 2009 policy active (w.version)
    b = w.broker("建明服装厂")                   # a general broker (category="machinery" too)
    team = w.workers(101)                       # workers living in w.villages[0] (village=...)
    w.pay_evenly(b, team, "200000.01", on=date(2025, 6, 30))   # one paid payout batch
    w.pay(b, {team[0]: D("35.00")}, on=date(2025, 12, 31))      # a late payslip, another batch
    w.invoice(b, "120000.00", on=date(2025, 5, 1))              # an accepted inspection's fee line
    w.loan(b, "150000", start=date(2025, 3, 1))
    w.relocation(b, on=date(2025, 7, 1))
    w.village_status(w.villages[1], professional=True, on=date(2025, 4, 1))
    w.set_params(rules.BROKER_REWARD_GENERAL, worker_minimum_paid="1000")

Every payout is a closed payroll run of its own month (each broker's runs take distinct months),
with one payslip and one paid payout item per worker. Amounts are Decimals or text, exactly."""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from accounts.models import Jurisdiction, Organisation, Role, User
from brokers.models import BrokerProfile, Loan, ProfessionalVillageStatus, Relocation, Worker, ZoneKind
from orders.models import Award, Delivery, Inspection
from payments.models import Account, Invoice, InvoiceLine, PayoutBatch, PayoutItem, PayrollRun, Payslip
from payments.services import account_for, ledger_post
from subsidies.models import Policy, PolicyVersion

from ..factories import JurisdictionFactory, OrganisationFactory, UserFactory, jurisdiction_chain
from ..orders.builders import awarded
from .factories import active_version, policy_for

D = Decimal
_seq = itertools.count(1)


def money(value) -> Decimal:
    return D(str(value)).quantize(D("0.01"))


@dataclass
class CountyWorld:
    county: Jurisdiction
    township: Jurisdiction
    villages: list[Jurisdiction]
    staff: User  # decides village status, registers loans
    policy: Policy
    version: PolicyVersion
    firm_user: User | None = None
    _months: dict = field(default_factory=dict)  # broker id → the next free payroll month
    _awards: dict = field(default_factory=dict)  # broker id → the award its invoice lines bill

    # --- people ---------------------------------------------------------------------------------

    def broker(self, name: str | None = None, *, category: str = "general", village: Jurisdiction | None = None,
               profile: bool = True) -> Organisation:
        """A broker registered in the township (or `village`), with a profile of `category`."""
        org = OrganisationFactory(kind=Organisation.Kind.BROKER, name=name or f"加工点{next(_seq)}",
                                  jurisdiction=village or self.township)
        if profile:  # a broker organisation gets its profile on creation (brokers' signal)
            BrokerProfile.objects.update_or_create(organisation=org, defaults={"category": category})
        else:
            BrokerProfile.objects.filter(organisation=org).delete()
        return org

    def brokers(self, n: int, *, category: str = "general") -> list[Organisation]:
        orgs = Organisation.objects.bulk_create([
            Organisation(kind=Organisation.Kind.BROKER, name=f"加工点{next(_seq)}", jurisdiction=self.township)
            for _ in range(n)])
        BrokerProfile.objects.bulk_create([BrokerProfile(organisation=o, category=category) for o in orgs])
        return orgs

    def workers(self, n: int, *, village: Jurisdiction | None = None) -> list[Worker]:
        """`n` workers living in `village` (the first village by default), in one insert."""
        village = village or self.villages[0]
        return Worker.objects.bulk_create([Worker(name=f"工人{next(_seq)}", village=village) for _ in range(n)])

    # --- money ----------------------------------------------------------------------------------

    def _run_month(self, broker: Organisation, on: dt.date) -> dt.date:
        month = self._months.get(broker.pk, on.replace(day=1))
        self._months[broker.pk] = (month - dt.timedelta(days=1)).replace(day=1)
        return month

    def pay(self, broker: Organisation, amounts: dict, *, on: dt.date) -> PayoutBatch:
        """One closed payroll run and one payout batch paid `on`, paying each worker its amount
        ({Worker or worker id: amount})."""
        run = PayrollRun.objects.create(broker=broker, month=self._run_month(broker, on),
                                        status=PayrollRun.Status.PREVIEW)
        ids = {getattr(w, "pk", w): money(a) for w, a in amounts.items()}
        slips = Payslip.objects.bulk_create([Payslip(run=run, worker_id=wid, worker_name="工人", total=amount)
                                             for wid, amount in ids.items()], batch_size=2000)
        total = sum(ids.values(), D("0.00"))
        PayrollRun.objects.filter(pk=run.pk).update(status=PayrollRun.Status.CLOSED, total=total,
                                                    closed_at=timezone.now())
        batch = PayoutBatch.objects.create(run=run, number=1, status=PayoutBatch.Status.PAID, paid_on=on,
                                           paid_at=timezone.now(), bank_reference=f"BK-{run.pk}")
        PayoutItem.objects.bulk_create([
            PayoutItem(batch=batch, payslip=slip, worker_id=slip.worker_id, account_holder="工人",
                       amount=slip.total, reference=uuid.uuid4().hex, status=PayoutItem.Status.PAID, paid_on=on)
            for slip in slips], batch_size=2000)
        return batch

    def pay_evenly(self, broker: Organisation, workers: list, total, *, on: dt.date) -> PayoutBatch:
        """Pay `total` exactly over `workers`: equal shares to the fen, the remainder fen by fen
        to the first workers."""
        total = money(total)
        fen = int(total * 100)
        share, rest = divmod(fen, len(workers))
        amounts = {w: D(share + (1 if i < rest else 0)) / 100 for i, w in enumerate(workers)}
        return self.pay(broker, amounts, on=on)

    def _award(self, broker: Organisation) -> Award:
        if broker.pk not in self._awards:
            if self.firm_user is None:
                firm = OrganisationFactory(kind=Organisation.Kind.FIRM, name=f"义乌饰品公司{next(_seq)}",
                                           jurisdiction=self.county)
                self.firm_user = UserFactory(role=Role.FIRM_MEMBER, organisation=firm)
            owner = UserFactory(role=Role.BROKER_OWNER, organisation=broker)
            self._awards[broker.pk] = awarded(self.firm_user, owner, quantity=1000)
        return self._awards[broker.pk]

    def invoice(self, broker: Organisation, amount, *, on: dt.date) -> InvoiceLine:
        """A processing-fee line of `amount` for an inspection on `on` (noon, local time), posted
        to the ledger as the invoicing service does."""
        award = self._award(broker)
        amount = money(amount)
        delivery = Delivery.objects.create(award=award, quantity=1, delivered_by=self.firm_user)
        inspected_at = timezone.make_aware(dt.datetime.combine(on, dt.time(12, 0)))
        inspection = Inspection.objects.create(delivery=delivery, award=award, accepted=1, rejected=0,
                                               inspected_by=self.firm_user, inspected_at=inspected_at)
        invoice, _created = Invoice.objects.get_or_create(award=award, defaults={"firm_id": award.order.firm_id,
                                                                                 "broker_id": broker.pk})
        posted = ledger_post(key=f"test:invoice:{inspection.pk}", kind="processing_fee", memo=f"test {amount}",
                             lines=[(account_for(purpose=Account.Purpose.FIRM_RECEIVABLE, organisation=invoice.firm),
                                     amount),
                                    (account_for(purpose=Account.Purpose.BROKER_INCOME, organisation=broker), -amount)])
        return InvoiceLine.objects.create(invoice=invoice, kind=InvoiceLine.Kind.PROCESSING_FEE, inspection=inspection,
                                          quantity=1, unit_price=amount, amount=amount, due_on=on, ledger=posted,
                                          description="1 piece accepted")

    # --- events ---------------------------------------------------------------------------------

    def loan(self, broker: Organisation, principal, *, start: dt.date, end: dt.date | None = None,
             registered_at: dt.datetime | None = None) -> Loan:
        return Loan.objects.create(broker=broker, lender="遂昌农商银行", principal=money(principal), start=start, end=end,
                                   contract_number=f"JK-{next(_seq)}", registered_by=self.staff,
                                   registered_at=registered_at or timezone.now())

    def relocation(self, broker: Organisation, *, on: dt.date, zone_kind: str = ZoneKind.COUNTY_PARK) -> Relocation:
        return Relocation.objects.create(broker=broker, zone_kind=zone_kind, zone_name="遂昌工业园区", moved_on=on,
                                         evidence="入园协议")

    def village(self, name: str | None = None) -> Jurisdiction:
        return JurisdictionFactory(level=Jurisdiction.Level.VILLAGE, name=name or f"村{next(_seq)}",
                                   parent=self.township)

    def village_status(self, village: Jurisdiction, *, professional: bool = True, on: dt.date,
                       basis: str = ProfessionalVillageStatus.Basis.CRITERIA) -> ProfessionalVillageStatus:
        return ProfessionalVillageStatus.objects.create(village=village, is_professional=professional,
                                                        effective_from=on, basis=basis, evidence="县级认定文件",
                                                        decided_by=self.staff)

    # --- the policy -----------------------------------------------------------------------------

    def set_params(self, kind: str, version: PolicyVersion | None = None, **values) -> None:
        """Change parameters of a rule (values as text) before any claim freezes the version."""
        rule = (version or self.version).rules.get(kind=kind)
        params = dict(rule.parameters)
        for name, value in values.items():
            params[name] = {**params[name], "value": value}
        type(rule).objects.filter(pk=rule.pk).update(parameters=params)

    def enable_only(self, *kinds: str, version: PolicyVersion | None = None) -> None:
        """Disable every other rule, so a test reads the claims of the kinds it is about."""
        (version or self.version).rules.exclude(kind__in=kinds).update(enabled=False)


def county_world(name: str = "遂昌县", *, villages: int = 3) -> CountyWorld:
    """A fresh county (province > city > county > township > villages), a staff user, and
    Suichang's 2009 policy installed for it (version 1 active since 2009)."""
    chain = jurisdiction_chain(name)
    extra = [JurisdictionFactory(level=Jurisdiction.Level.VILLAGE, name=f"{name}村{i}", parent=chain["township"])
             for i in range(villages - 1)]
    federation = OrganisationFactory(kind=Organisation.Kind.FEDERATION, name=f"{name}妇联", jurisdiction=chain["county"])
    staff = UserFactory(role=Role.AUDITOR, organisation=federation)
    policy = policy_for(chain["county"])
    return CountyWorld(county=chain["county"], township=chain["township"], villages=[chain["village"], *extra],
                       staff=staff, policy=policy, version=active_version(policy))
