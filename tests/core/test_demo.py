"""The demo county: what `make run` loads, and loading it twice changes nothing."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Jurisdiction, Organisation, Role, User
from brokers.demo import workdays
from brokers.models import (
    Attendance, Availability, BrokerProfile, Bundle, Dispute, HouseholdTag, Membership, PieceLog, PieceRate,
    ProfessionalVillageStatus, Worker,
)
from core.demo import national_id
from orders.models import (
    Award, Bid, Delivery, Dispatch, Inspection, MaterialReturn, Order, OrderEvent, ReconciliationLine, Subcontract,
)
from payments.invoicing import outstanding, receivables_ageing
from payments.models import (
    Account, Entry, Invoice, InvoiceLine, Payment, PayoutBatch, PayoutItem, PayrollRun, Payslip, PayslipLine,
    Transaction,
)

pytestmark = pytest.mark.django_db


MODELS = (
    Jurisdiction, Organisation, User, Worker, Membership, Order, OrderEvent, Bid, Award, Dispatch, MaterialReturn,
    Delivery, Inspection, ReconciliationLine, Subcontract, BrokerProfile, Bundle, PieceRate, PieceLog, Attendance,
    Availability, Dispute, ProfessionalVillageStatus, Account, Transaction, Entry, Invoice, InvoiceLine, Payment,
    PayrollRun, Payslip, PayslipLine, PayoutBatch, PayoutItem,
)


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def money_state() -> list:
    """What a rerun must not touch: runs (a preview recomputed would get a new computed_at and
    new payslip ids), batches and the workers' bank details."""
    return [
        list(PayrollRun.objects.order_by("pk").values_list("pk", "month", "status", "total", "computed_at",
                                                           "watermark")),
        list(Payslip.objects.order_by("pk").values_list("pk", "total")),
        list(PayoutBatch.objects.order_by("pk").values_list("pk", "status", "bank_reference", "paid_on")),
        list(Worker.objects.order_by("pk").values_list("pk", "bank_name", "bank_account")),
    ]


def test_demo_is_a_believable_suichang_and_idempotent(capsys, settings):
    call_command("seed_demo")
    first, money = counts(), money_state()
    call_command("seed_demo")
    assert counts() == first
    assert money_state() == money

    out = capsys.readouterr().out
    assert settings.DEMO_PASSWORD in out
    for username in ["admin", "firm", "broker1", "broker2", "broker3", "auditor", "worker1"]:
        assert f"  {username} " in out

    lishui = Jurisdiction.objects.get(name="丽水市")
    assert lishui.children.filter(level="county").count() == 9
    suichang = Jurisdiction.objects.get(name="遂昌县")
    assert suichang.county_id == suichang.pk
    villages = Jurisdiction.objects.filter(level="village", county=suichang)
    assert villages.count() == 3

    assert Organisation.objects.filter(kind="firm", jurisdiction__name="义乌市").count() == 1
    assert Organisation.objects.filter(kind="broker").count() == 3
    assert Organisation.objects.filter(kind="federation", jurisdiction=suichang).count() == 1
    assert User.objects.filter(role=Role.AUDITOR).count() == 1
    assert User.objects.filter(role=Role.ADMIN, is_superuser=True).count() == 1

    # today's workforce; last year's seasonal hands (subsidies.demo) ended their memberships
    workforce = Worker.objects.filter(memberships__ended_on__isnull=True)
    assert workforce.count() == 60
    assert Counter(workforce.values_list("village__name", flat=True)) == {"大柘村": 20, "苏村": 20, "淤溪村": 20}
    assert Worker.objects.count() == 60 + 320 + 120 + 45
    tags = Counter(tag for row in Worker.objects.values_list("household_tags", flat=True) for tag in row)
    assert tags[HouseholdTag.POOR_HOUSEHOLD] > 0 and tags[HouseholdTag.ELDERLY] > 0
    assert Membership.objects.filter(ended_on__isnull=True).count() == 60


def test_demo_has_the_firms_orders_in_every_state():
    call_command("seed_demo")
    orders = Order.objects.filter(firm__name="义乌市恒亿饰品有限公司")
    assert set(orders.values_list("status", flat=True)) == set(Order.Status.values)
    statuses = Counter(Order.objects.values_list("status", flat=True))
    call_command("seed_demo")  # counts of every model stay equal: test_demo_is_a_believable_suichang_and_idempotent
    assert Counter(Order.objects.values_list("status", flat=True)) == statuses

    # the pieces docs/orders.md walks through
    assert Bid.objects.filter(status=Bid.Status.NEEDS_RECONFIRM).exists()
    assert Order.objects.get(status="awarded").awards.filter(status="active").count() == 2  # a split award
    assert Dispatch.objects.filter(status=Dispatch.Status.RECEIVED).exists()
    assert Inspection.objects.filter(rejected__gt=0).exclude(reason="").exists()
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).exists()
    assert ReconciliationLine.objects.filter(excess_loss__gt=0).exists()
    assert Award.objects.filter(status=Award.Status.COMPLETED).exists()
    assert Order.objects.filter(category="machinery", awards__broker__name="石练机械来料加工厂").exists()
    sub = Subcontract.objects.get()
    assert (sub.from_broker.kind, sub.to_broker.kind, sub.status) == ("broker", "broker", "accepted")


def test_demo_logins_work(settings):
    from accounts.models import AuthToken

    call_command("seed_demo")
    assert not AuthToken.objects.exists()  # the demo hands out no API tokens: clients log in
    for username in ["broker1", "13905782000"]:  # a worker logs in with her phone
        response = APIClient().post("/api/auth/token/", {"username": username, "password": settings.DEMO_PASSWORD},
                                    format="json")
        assert response.status_code == 200, response.json()


def test_national_id_checksum():
    from datetime import date

    # GB 11643 worked example: 11010519491231002X
    assert national_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"


def test_demo_has_a_month_of_piecework():
    call_command("seed_demo")
    broker1 = Organisation.objects.get(name="遂昌建明服装厂")
    logs = PieceLog.objects.filter(broker=broker1)
    # last month and this month so far, by the broker's 20 workers, within every bundle's size
    assert logs.values("worker").distinct().count() == 20
    assert logs.dates("work_date", "month").count() >= 2
    for bundle in Bundle.objects.filter(broker=broker1):
        for procedure in bundle.award.order.procedures.all():
            total = sum(logs.filter(bundle=bundle, procedure=procedure).values_list("quantity", flat=True))
            assert 0 <= total <= bundle.size
    assert Attendance.objects.filter(broker=broker1, mark="leave").exclude(leave_reason="").exists()
    assert Dispute.objects.filter(status="open").count() == 1
    assert BrokerProfile.objects.get(organisation__name="石练机械来料加工厂").category == "machinery"


def _months():
    this_month = timezone.localdate().replace(day=1)
    return this_month, (this_month - timedelta(days=1)).replace(day=1)


def test_demo_has_invoices_and_a_partial_firm_payment():
    call_command("seed_demo")
    broker1 = Organisation.objects.get(name="遂昌建明服装厂")
    # inspections billed the awards; the firm paid part of broker1's blouse invoice
    blouses = Invoice.objects.get(broker=broker1, award__order__product="雪纺女式衬衫缝制")
    assert blouses.lines.filter(kind="processing_fee").exists()
    paid = blouses.payments.aggregate(t=Sum("amount"))["t"]
    assert paid == Decimal("1000.00") and outstanding(blouses) > 0
    assert Transaction.objects.filter(kind="firm_payment").count() == Payment.objects.count() == 2
    (ageing,) = receivables_ageing(broker_id=broker1.pk)
    assert ageing.total == outstanding(blouses)
    # the completed hair-clip award is paid in full, its material charge deducted
    clips = Invoice.objects.get(award__order__product="手工珍珠发夹")
    assert clips.lines.filter(kind="material_charge").exists() and outstanding(clips) == 0


def test_demo_has_last_months_payroll_paid_and_this_months_in_preview(settings):
    call_command("seed_demo")
    broker1 = Organisation.objects.get(name="遂昌建明服装厂")
    this_month, last_month = _months()

    run = PayrollRun.objects.get(broker=broker1, month=last_month)
    assert run.status == PayrollRun.Status.PAID and run.ledger is not None
    slips = list(run.payslips.prefetch_related("lines"))
    assert len(slips) == 20
    for slip in slips:  # a payslip's total is the sum of its rounded lines, exactly
        assert slip.total == sum(line.amount for line in slip.lines.all())
    assert run.total == sum(slip.total for slip in slips)
    kinds = Counter(PayslipLine.objects.filter(payslip__run=run).values_list("kind", flat=True))
    assert kinds["pieces"] >= 20 and kinds["attendance_bonus"] > 0 and kinds["minimum_wage_top_up"] > 0

    # paid today by bank transfer: one payment bounced and was paid again in a retry batch
    batches = list(run.batches.order_by("number"))
    assert [b.status for b in batches] == ["paid", "paid"]
    assert all(b.bank_reference and b.paid_on == timezone.localdate() for b in batches)
    bounced = PayoutItem.objects.get(batch=batches[0], status="failed")
    assert bounced.retried_in == batches[1]
    assert batches[1].items.get().status == "paid" and batches[1].items.get().worker == bounced.worker
    assert PayoutItem.objects.filter(batch__run=run, status="paid").aggregate(t=Sum("amount"))["t"] == run.total
    assert not Worker.objects.filter(memberships__broker=broker1, bank_account="").exists()

    preview = PayrollRun.objects.get(broker=broker1, month=this_month)
    assert preview.status == PayrollRun.Status.PREVIEW and not preview.batches.exists()

    # worker1 sees her payslip of last month
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "worker1", "password": settings.DEMO_PASSWORD},
                        format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    mine = client.get("/api/payslips/").json()["results"]
    assert [slip["id"] for slip in mine] == list(
        Payslip.objects.filter(worker__user__username="worker1", run=run).values_list("pk", flat=True))


# (instant, why): the demo is seeded on these days and must still hold together.
SEED_INSTANTS = [
    ("2027-03-01T00:30:00+08:00", "the 1st at 00:30, still 28 February in UTC"),
    ("2027-08-01T10:00:00+08:00", "the 1st and a Sunday"),
    ("2027-08-31T23:30:00+08:00", "the longest window, 31 + 31 days"),
    ("2028-02-29T12:00:00+08:00", "29 February"),
]


def _login(username: str, password: str) -> APIClient:
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": username, "password": password},
                        format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.parametrize("instant", [i for i, _ in SEED_INSTANTS], ids=[why for _, why in SEED_INSTANTS])
def test_demo_seeded_on_any_day_has_last_month_paid_and_pieces_today(instant, settings):
    with time_machine.travel(dt.datetime.fromisoformat(instant), tick=True):
        call_command("seed_demo")
        today = timezone.localdate()
        assert today == dt.date.fromisoformat(instant[:10])  # the Asia/Shanghai date, not UTC's
        this_month, last_month = _months()
        broker1 = Organisation.objects.get(name="遂昌建明服装厂")

        # last month closed and paid, this month in preview
        paid = PayrollRun.objects.get(broker=broker1, month=last_month)
        assert paid.status == PayrollRun.Status.PAID and paid.total > 0
        assert PayrollRun.objects.get(broker=broker1, month=this_month).status == PayrollRun.Status.PREVIEW
        # (the months before are last year's payroll history, subsidies.demo's)
        assert set(PayrollRun.objects.filter(broker=broker1, month__gte=last_month).values_list(
            "month", flat=True)) == {last_month, this_month}

        # pieces on every workday from the first of last month to today (the bundles never run
        # out first), and today all 20 workers came in
        logs = PieceLog.objects.filter(broker=broker1)
        assert logs.filter(work_date=today).values("worker").distinct().count() == 20
        assert set(logs.values_list("work_date", flat=True)) == set(workdays(today))
        assert logs.dates("work_date", "month")[0] == last_month
        assert Attendance.objects.filter(broker=broker1, date=today).count() == 20

        # 北界: pieces every workday too, and last month's payroll a preview, for the README's close
        # by hand
        broker2 = Organisation.objects.get(name="北界巧手来料加工中心")
        assert set(PieceLog.objects.filter(broker=broker2).values_list("work_date", flat=True)) == set(workdays(today))
        assert list(PayrollRun.objects.filter(broker=broker2, month__gte=last_month)
                    .values_list("month", "status")) == [(last_month, PayrollRun.Status.PREVIEW)]

        # worker1's screen is never empty: today, the month and its lines, and last month's payslip
        worker1 = _login("worker1", settings.DEMO_PASSWORD)
        earnings = worker1.get("/api/me/earnings/").json()
        assert Decimal(earnings["today"]) > 0 and Decimal(earnings["month"]) >= Decimal(earnings["today"])
        assert earnings["month_lines"]
        (slip,) = worker1.get("/api/payslips/").json()["results"]
        assert slip["id"] == Payslip.objects.get(run=paid, worker__user__username="worker1").pk


def test_workdays_are_last_month_to_today_sundays_off_but_today():
    sunday = dt.date(2027, 8, 1)
    days = workdays(sunday)
    assert (days[0], days[-1], len(days)) == (dt.date(2027, 7, 1), sunday, 27 + 1)  # July: 27 workdays
    assert dt.date(2027, 7, 4) not in days  # a Sunday of July
    assert workdays(dt.date(2028, 3, 1))[:2] == [dt.date(2028, 2, 1), dt.date(2028, 2, 2)]
    assert len(workdays(dt.date(2028, 3, 1))) == 25 + 1  # February 2028: 29 days, 4 Sundays
