"""Bounded input on money (issue 9 § 5, docs/money.md § Limits): a firm's payment was made within
the last year and not in the future; a payout batch was paid between the day it was made and
today; amounts have a plausible maximum. Each refusal is a 400 naming the field and the range."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from orders import services
from payments.models import Invoice, Payment

from ..orders.builders import awarded
from ..personas import build_personas

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)  # today 2026-11-16

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(db):
    with time_machine.travel(NOW, tick=True):
        p = build_personas()
        award = awarded(p.firm, p.broker, quantity=100)  # 1.2000 a piece
        delivery = services.delivery_record(actor=p.broker, award_id=award.pk, quantity=100)
        services.inspection_record(actor=p.firm, delivery_id=delivery.pk, accepted=100, rejected=0)
        yield p, Invoice.objects.get(award=award)  # 120.00 outstanding


def pay(p, invoice, **data):
    c = APIClient()
    c.force_authenticate(user=p.firm)
    c.credentials(HTTP_ACCEPT_LANGUAGE="en")
    body = {"amount": "10.00", "paid_on": "2026-11-16", "idempotency_key": "pay-000001", **data}
    return c.post(f"/api/invoices/{invoice.pk}/payments/", body, format="json")


@pytest.mark.parametrize("paid_on", ["0001-01-01", "2025-11-14", "2026-11-17", "9999-12-31"])
def test_a_firm_payment_dated_out_of_range_is_refused_naming_the_range(invoice, paid_on):
    p, inv = invoice
    response = pay(p, inv, paid_on=paid_on)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["fields"] == {"paid_on": ["Choose a date from 2025-11-15 to 2026-11-16."]}
    assert not Payment.objects.exists()


@pytest.mark.parametrize("paid_on", ["2025-11-15", "2026-11-16"])
def test_a_firm_payment_at_the_ends_of_the_range_is_recorded(invoice, paid_on):
    p, inv = invoice
    response = pay(p, inv, paid_on=paid_on)
    assert response.status_code == 201, response.content[:300]
    assert Payment.objects.get().amount == Decimal("10.00")


def test_a_payment_amount_has_a_plausible_maximum(invoice):
    p, inv = invoice
    response = pay(p, inv, amount="100000000.01")
    assert response.status_code == 400
    assert response.json()["fields"] == {"amount": ["Ensure this value is less than or equal to 100000000."]}


def test_a_payment_reference_over_100_characters_is_refused(invoice):
    p, inv = invoice
    response = pay(p, inv, reference="R" * 101)
    assert response.status_code == 400 and list(response.json()["fields"]) == ["reference"]
