"""Invoices from accepted inspections, deductions for excess material loss, firm payments
(partial, never over, retried once) and the broker's receivables by age."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import Material
from payments.invoicing import payment_record, receivables_ageing
from payments.models import Account, Invoice, InvoiceLine, Payment
from payments.selectors import balance
from payments.services import account_for

from ..db_attacks import rewriting_history
from ..orders.builders import awarded

pytestmark = pytest.mark.django_db
D = Decimal


def deliver_and_inspect(p, award, quantity, accepted, reason=""):
    delivery = services.delivery_record(actor=p.broker, award_id=award.pk, quantity=quantity)
    return services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=accepted,
                                      rejected=quantity - accepted, reason=reason)


def test_accepted_pieces_make_the_invoice_and_post_to_the_ledger(personas):
    p = personas
    award = awarded(p.firm, p.broker, quantity=100)  # 1.2000 a piece
    deliver_and_inspect(p, award, 60, 55, "线头")
    deliver_and_inspect(p, award, 5, 0, "返工")  # nothing accepted: no line
    deliver_and_inspect(p, award, 45, 45)
    invoice = Invoice.objects.get(award=award)
    assert [(line.quantity, line.amount) for line in invoice.lines.all()] == [(D("55"), D("66.00")),
                                                                            (D("45"), D("54.00"))]
    receivable = account_for(purpose=Account.Purpose.FIRM_RECEIVABLE, organisation=p.firm_org)
    income = account_for(purpose=Account.Purpose.BROKER_INCOME, organisation=p.broker_org)
    assert balance(receivable) == D("120.00") and balance(income) == D("-120.00")


def test_excess_material_loss_is_deducted_when_the_award_completes(personas):
    p = personas
    award = awarded(p.firm, p.broker, quantity=10)
    beads = Material.objects.get(order=award.order, name="玻璃珠")  # 20 a piece, 2% allowance, 0.01 each
    dispatch = services.dispatch_send(actor=p.firm, award_id=award.pk, lines=[{"material": beads.pk, "quantity": D(300)}])
    services.dispatch_receive(actor=p.broker, dispatch_id=dispatch.pk)
    deliver_and_inspect(p, award, 10, 10)
    services.award_complete(actor=p.firm, award_id=award.pk)
    # 300 received, 200 consumed, 4 allowed: 96 beads lost beyond the allowance × 0.01 = 0.96
    lines = list(Invoice.objects.get(award=award).lines.values_list("kind", "amount"))
    assert lines == [("processing_fee", D("12.00")), ("material_charge", D("-0.96"))]
    receivable = account_for(purpose=Account.Purpose.FIRM_RECEIVABLE, organisation=p.firm_org)
    assert balance(receivable) == D("11.04")


def test_the_firm_pays_in_parts_never_over_and_a_retry_counts_once(personas, client_for):
    p = personas
    award = awarded(p.firm, p.broker, quantity=100)
    deliver_and_inspect(p, award, 100, 100)
    invoice = Invoice.objects.get(award=award)
    firm = client_for(p.firm)
    today = timezone.localdate().isoformat()
    url = f"/api/invoices/{invoice.pk}/payments/"

    first = firm.post(url, {"amount": "50.00", "paid_on": today, "idempotency_key": "pay-000001"}, format="json")
    assert first.status_code == 201, first.json()
    again = firm.post(url, {"amount": "50.00", "paid_on": today, "idempotency_key": "pay-000001"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    over = firm.post(url, {"amount": "70.01", "paid_on": today, "idempotency_key": "pay-000002"}, format="json",
                     HTTP_ACCEPT_LANGUAGE="en")
    assert over.status_code == 409 and over.json()["code"] == "overpayment"
    assert "70.00" in over.json()["message"]
    fen = firm.post(url, {"amount": "1.001", "paid_on": today, "idempotency_key": "pay-000003"}, format="json")
    assert fen.status_code == 400 and "amount" in fen.json()["fields"]
    rest = firm.post(url, {"amount": "70.00", "paid_on": today, "idempotency_key": "pay-000004"}, format="json")
    assert rest.status_code == 201
    body = firm.get(f"/api/invoices/{invoice.pk}/").json()
    assert (body["total"], body["paid"], body["outstanding"]) == ("120.00", "120.00", "0.00")
    assert Payment.objects.count() == 2
    cash = account_for(purpose=Account.Purpose.BROKER_CASH, organisation=p.broker_org)
    receivable = account_for(purpose=Account.Purpose.FIRM_RECEIVABLE, organisation=p.firm_org)
    assert balance(cash) == D("120.00") and balance(receivable) == D("0.00")


@pytest.mark.parametrize("name, list_status, pay_status", [
    ("firm", 200, 201), ("broker", 200, 404), ("team_head", 200, 404), ("rival_broker", 200, 404),
    ("worker", 403, 403), ("auditor", 403, 403), ("anonymous", 403, 403), ("admin", 200, 201),
])
def test_who_sees_and_pays_invoices(personas, client_for, name, list_status, pay_status):
    p = personas
    award = awarded(p.firm, p.broker, quantity=100)
    deliver_and_inspect(p, award, 10, 10)
    invoice = Invoice.objects.get(award=award)
    client = client_for(p.users()[name])
    listed = client.get("/api/invoices/")
    assert listed.status_code == list_status
    if list_status == 200:
        ids = [row["id"] for row in listed.json()["results"]]
        assert ids == ([] if name == "rival_broker" else [invoice.pk])
    paid = client.post(f"/api/invoices/{invoice.pk}/payments/",
                       {"amount": "1.00", "paid_on": timezone.localdate().isoformat(), "idempotency_key": f"k-{name}-1"},
                       format="json")
    assert paid.status_code == pay_status
    assert Payment.objects.count() == (1 if pay_status == 201 else 0)


def test_receivables_are_aged_per_firm(personas, client_for):
    p = personas
    award = awarded(p.firm, p.broker, quantity=100)
    today = timezone.localdate()
    for days, accepted in [(100, 10), (70, 10), (40, 10), (5, 10)]:
        inspection = deliver_and_inspect(p, award, accepted, accepted)
        with rewriting_history():  # invoice lines are append-only: age it for the test only
            InvoiceLine.objects.filter(inspection=inspection).update(due_on=today - dt.timedelta(days=days))
    # a payment of 15.00 settles the oldest fee (12.00) and 3.00 of the next
    payment_record(actor=p.firm, invoice_id=Invoice.objects.get(award=award).pk, amount=D("15.00"), paid_on=today,
                     reference="转账", key="age-00001")
    [row] = receivables_ageing(broker_id=p.broker_org.pk, today=today)
    assert row.buckets == {"0-30": D("12.00"), "31-60": D("12.00"), "61-90": D("9.00"), ">90": D("0.00")}
    api = client_for(p.broker).get("/api/receivables/").json()
    assert api == [{"firm_id": p.firm_org.pk, "firm_name": p.firm_org.name,
                    "buckets": {"0-30": "12.00", "31-60": "12.00", "61-90": "9.00", ">90": "0.00"}, "total": "33.00"}]
    assert client_for(p.firm).get("/api/receivables/").status_code == 403
