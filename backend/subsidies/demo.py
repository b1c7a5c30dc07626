"""Demo subsidies: what the county's 2009 policy needs to give real claims over the demo year.

The demo year is last calendar year (`timezone.localdate()`, Asia/Shanghai, minus one year).
Over it the three demo brokers get a year of paid payroll large enough that real tiers are met:

- 北界巧手来料加工中心 (`broker2`, general): 120 workers, about 300,000 yuan issued, 108 of them paid
  at least 2,000 yuan, so the first tier (> 200,000 and > 100) is met;
- 遂昌建明服装厂 (`broker1`, general): 320 workers, about 770,000 yuan, 308 counted: the second
  tier (> 500,000 and > 300); two of them paid just over the counting threshold;
- 石练机械来料加工厂 (`broker3`, machinery): 45 workers, about 560,000 yuan, 42 counted: the
  machinery first tier (> 500,000 and > 40).

Those are last year's seasonal hands: their memberships ended on 31 December, so the brokers'
current workforce (20 each, the piecework and payroll demos) is what it was. The payroll months
run from December of the year before to November, each paid out on the 10th of the next month,
so twelve payouts fall in the demo year (wages issued count by payout date); a month that already
has a run (the live payroll demo's) is left alone.

The payroll history is inserted directly, not through the payroll services (which compute from
piece logs, and would take minutes for 5,800 payslips): per run, in the order the database
triggers accept (payments migrations 0005 and 0006): the run as a preview, its payslips and their
lines, the wages posting, the run closed with its total and ledger, the payout batch with its
posting, the items paid, the run paid. Every ledger posting balances, as the payroll's own do.

Also: two loans (150,000 at 遂昌建明, above the 100,000 cap, registered before it started; 50,000
at 北界, registered six weeks after its start, which the loan-registered-late flag shows), the
villages' professional status (苏村 and 淤溪村 professional for years; 大柘村 is new in the demo
year, brokers.demo designates it), and broker1's relocation into the county park (brokers.demo).

Idempotent: loans by contract number, village records by village, payroll runs by (broker,
month), workers by national ID."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Jurisdiction, Organisation, User
from brokers import services as broker_services
from brokers.models import Loan, Membership, ProfessionalVillageStatus, Worker, WorkMode
from core.money import round_amount
from payments.models import Account, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine
from payments.services import ledger_post

P = Account.Purpose

# username: (workers, village code, procedure, rate per piece, pieces a month (low, high), how many
# are paid under the counting threshold, how many just over it)
WORKFORCES = {
    "broker1": (320, "331123101201", "衬衫缝制", Decimal("0.3500"), (520, 700), 12, 2),
    "broker2": (120, "331123102201", "串珠手链穿珠", Decimal("0.4200"), (400, 560), 12, 0),
    "broker3": (45, "331123103201", "机械件焊接", Decimal("1.2000"), (780, 1000), 3, 0),
}
# the area code, a birth year offset and an ID sequence start per broker, so IDs never collide
# with core.demo's workers (sequences 100-218)
ID_SEQ = {"broker1": 300, "broker2": 700, "broker3": 900}
BANK = "遂昌农商银行"

LOANS = [
    # (username, contract number, lender, principal, start (month, day of the demo year), registered
    # days after its start (negative: before))
    ("broker1", "SCNSH-DK-2109", "遂昌农商银行大柘支行", Decimal("150000.00"), (3, 1), -6),
    ("broker2", "SCNSH-DK-2233", "遂昌农商银行北界支行", Decimal("50000.00"), (6, 15), 45),
]

VILLAGES = [
    # (village code, professional from, basis, evidence); 大柘村's record is brokers.demo's
    ("331123102201", date(2019, 3, 1), "criteria", "2018年全村来料加工费236万元，参与农户173户（县妇联认定文件遂妇〔2019〕7号）。"),
    ("331123103201", date(2016, 7, 1), "criteria", "2015年全村来料加工费205万元，参与农户151户（县妇联认定文件遂妇〔2016〕12号）。"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ["秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "丽华", "美华", "春梅", "海燕", "小红", "金花", "彩霞", "素芬", "月娥",
         "雪梅", "惠芳", "爱华", "翠花", "巧玲"]


def demo_year(today: date | None = None) -> int:
    return (today or timezone.localdate()).year - 1


def payroll_months(year: int) -> list[tuple[date, date]]:
    """(month, payout day): December of the year before to November, each paid the 10th of the
    next month, so every payout falls in `year`."""
    months = [date(year - 1, 12, 1)] + [date(year, m, 1) for m in range(1, 12)]
    return [(month, date(year, 1, 10) if month.month == 12 else date(year, month.month + 1, 10)) for month in months]


def _aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


# --- loans and villages ---------------------------------------------------------------------------

def _loans(users: dict[str, User], year: int) -> None:
    for username, number, lender, principal, (month, day), registered_after in LOANS:
        if Loan.objects.filter(contract_number=number).exists():
            continue
        start = date(year, month, day)
        Loan.objects.create(broker=users[username].organisation, lender=lender, principal=principal, start=start,
                            end=None, contract_number=number, contract_name=f"借款合同 {number}.pdf",
                            registered_by=users[username],
                            registered_at=_aware(start + timedelta(days=registered_after)))


def _villages(auditor: User) -> None:
    for code, since, basis, evidence in VILLAGES:
        village = Jurisdiction.objects.get(code=code)
        if not ProfessionalVillageStatus.objects.filter(village=village).exists():
            broker_services.village_status_set(actor=auditor, village_id=village.pk, is_professional=True,
                                               basis=basis, evidence=evidence, effective_from=since)


# --- a year of wages ------------------------------------------------------------------------------

def national_id(born: date, seq: int) -> str:
    from core.demo import national_id as well_formed

    return well_formed("331123", born, seq)


def _workforce(username: str, broker: Organisation, year: int) -> list[Worker]:
    """The broker's seasonal hands of the demo year: found by national ID, else created with
    their bank details on file and a membership for the year."""
    count, village_code, *_rest = WORKFORCES[username]
    village = Jurisdiction.objects.get(code=village_code)
    rng = random.Random(f"demo-workforce-{username}")
    wanted = []
    for n in range(count):
        born = date(1960 + rng.randrange(38), 1 + rng.randrange(12), 1 + rng.randrange(28))
        seq = ID_SEQ[username] + (n % 50) * 2  # even: women
        born = born.replace(year=1960 + (n // 50) * 5 + born.year % 5)  # (born, seq) distinct per broker
        wanted.append((national_id(born, seq), born, n))
    found = {w.national_id: w for w in Worker.objects.filter(national_id__in=[nid for nid, _b, _n in wanted])}
    new = [Worker(name=SURNAMES[(n * 7 + len(username)) % len(SURNAMES)] + GIVEN[(n * 3) % len(GIVEN)],
                  phone="", national_id=nid, village=village, work_mode=[WorkMode.HOME, WorkMode.CENTRE][n % 2],
                  household_tags=(["poor_household"] if n % 6 == 0 else ["left_behind_woman"] if n % 5 == 0 else []),
                  bank_name=BANK, bank_account=f"6230 9102 {ID_SEQ[username] + n:04d} {born:%m%d} {n % 997:03d}")
           for nid, born, n in wanted if nid not in found]
    if new:
        Worker.objects.bulk_create(new)
        found = {w.national_id: w for w in Worker.objects.filter(national_id__in=[nid for nid, _b, _n in wanted])}
    members = set(Membership.objects.filter(broker=broker, worker__in=found.values()).values_list("worker_id", flat=True))
    Membership.objects.bulk_create(
        Membership(broker=broker, worker=worker, started_on=date(year - 1, 12, 1), ended_on=date(year, 12, 31))
        for worker in found.values() if worker.pk not in members)
    return [found[nid] for nid, _born, _n in wanted]


def _pieces(username: str, workers: list[Worker], months: int) -> dict[int, list[int]]:
    """{worker: pieces per month}: most a full year, the first few only a few months (under the
    counting threshold), and the last `just_over` of them a year worth just over it."""
    _count, _village, _procedure, rate, (low, high), under, just_over = WORKFORCES[username]
    rng = random.Random(f"demo-pieces-{username}")
    out = {}
    for n, worker in enumerate(workers):
        pieces = [rng.randrange(low, high) for _ in range(months)]
        if n < under:  # joined late or left early: a few months, under 1,500 yuan in all
            few = max(1, int(Decimal(1500) / (high * rate)))
            pieces = [p if m < 1 + n % few else 0 for m, p in enumerate(pieces)]
        elif n >= len(workers) - just_over:  # a year just over the threshold: 2,000 yuan and a little
            per_month = int(Decimal("2000.70") / rate / months) + 1
            pieces = [per_month] * months
        out[worker.pk] = pieces
    return out


def _accounts(broker: Organisation, workers: list[Worker]) -> dict[int, Account]:
    """The workers' wages-payable accounts, made in one go (as `account_for` would make them)."""
    codes = {w.pk: f"{P.WORKER_WAGES_PAYABLE}:org{broker.pk}:worker{w.pk}" for w in workers}
    existing = {a.worker_id: a for a in Account.objects.filter(code__in=codes.values())}
    missing = [Account(code=codes[w.pk], purpose=P.WORKER_WAGES_PAYABLE, organisation=broker, worker=w,
                       name=f"{broker} {w} {P.WORKER_WAGES_PAYABLE.label}") for w in workers if w.pk not in existing]
    if missing:
        Account.objects.bulk_create(missing)
        existing = {a.worker_id: a for a in Account.objects.filter(code__in=codes.values())}
    return existing


def _account(purpose: str, broker: Organisation) -> Account:
    from payments.services import account_for

    return account_for(purpose=purpose, organisation=broker)


def _year_of_wages(username: str, owner: User, year: int) -> None:
    broker = owner.organisation
    _count, _village, procedure, rate, *_rest = WORKFORCES[username]
    months = payroll_months(year)
    have = set(PayrollRun.objects.filter(broker=broker, month__in=[m for m, _p in months])
               .values_list("month", flat=True))
    todo = [(index, month, paid_on) for index, (month, paid_on) in enumerate(months) if month not in have]
    if not todo:
        return
    workers = _workforce(username, broker, year)
    pieces = _pieces(username, workers, len(months))
    payable = _accounts(broker, workers)
    expense, cash = _account(P.BROKER_WAGES_EXPENSE, broker), _account(P.BROKER_CASH, broker)
    for index, month, paid_on in todo:
        paid = [(w, pieces[w.pk][index]) for w in workers if pieces[w.pk][index]]
        slips_of = [(w, q, round_amount(q * rate)) for w, q in paid]
        closed_at = _aware(paid_on - timedelta(days=8))
        run = PayrollRun.objects.create(broker=broker, month=month, status=PayrollRun.Status.PREVIEW,
                                        computed_at=closed_at, created_at=closed_at)
        slips = Payslip.objects.bulk_create(
            Payslip(run=run, worker=w, worker_name=w.name, total=amount, days_present=22 + (w.pk + index) % 4,
                    days_late=(w.pk + index) % 3) for w, _q, amount in slips_of)
        PayslipLine.objects.bulk_create(
            PayslipLine(payslip=slip, position=1, kind=PayslipLine.Kind.PIECES, work_month=month, rate=rate,
                        quantity=q, amount=amount, params={"procedure": procedure})
            for slip, (_w, q, amount) in zip(slips, slips_of))
        total = sum((amount for _w, _q, amount in slips_of), Decimal("0"))
        wages = ledger_post(key=f"payroll:{run.pk}", kind="payroll", memo=f"payroll {broker.pk} {month:%Y-%m}",
                            lines=[(expense, total)] + [(payable[w.pk], -amount) for w, _q, amount in slips_of],
                            actor=owner)
        run.status, run.total, run.closed_at, run.closed_by, run.ledger = (
            PayrollRun.Status.CLOSED, total, closed_at, owner, wages)
        run.save(update_fields=["status", "total", "closed_at", "closed_by", "ledger"])
        batch = PayoutBatch.objects.create(run=run, number=1, created_at=closed_at)
        reference = f"SCNSH-DF-{month:%Y%m}-01"
        batch.ledger = ledger_post(key=f"payout:{batch.pk}", kind="payout",
                                   memo=f"payroll {broker.pk} {month:%Y-%m} batch 1 {reference}",
                                   lines=[(payable[w.pk], amount) for w, _q, amount in slips_of] + [(cash, -total)],
                                   actor=owner)
        paid_at = _aware(paid_on, 15)
        batch.status, batch.bank_reference, batch.paid_on, batch.paid_at, batch.paid_by = (
            PayoutBatch.Status.PAID, reference, paid_on, paid_at, owner)
        batch.save()
        PayoutItem.objects.bulk_create(
            PayoutItem(batch=batch, payslip=slip, worker=slip.worker, account_holder=slip.worker.name,
                       bank_name=slip.worker.bank_name, bank_account=slip.worker.bank_account, amount=slip.total,
                       reference=f"LL{month:%Y%m}-{broker.pk}-{slip.worker_id}-1", status=PayoutItem.Status.PAID,
                       paid_on=paid_on)
            for slip in slips)
        run.status, run.paid_at = PayrollRun.Status.PAID, paid_at
        run.save(update_fields=["status", "paid_at"])


@transaction.atomic
def build_subsidies_demo() -> None:
    """Needs the demo accounts (core.demo), the brokers' profiles and village (brokers.demo)."""
    users = {u.username: u for u in User.objects.filter(
        username__in=["admin", "broker1", "broker2", "broker3", "auditor"]).select_related("organisation")}
    year = demo_year()
    _loans(users, year)
    _villages(users["auditor"])
    for username in WORKFORCES:
        _year_of_wages(username, users[username], year)
