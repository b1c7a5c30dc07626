"""Bounded input on the marketplace (issue 9 § 5, docs/api.md § Limits): dates within a sensible
range of today (Asia/Shanghai), a bid never promising delivery after the order's due date, text
and money with maxima, attachments with a size limit. Each refusal is a 400 naming the field."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.models import Attachment, Bid, Order

from .. import upload_files
from ..api_checks import english_client as client, refused
from ..personas import build_personas
from . import builders

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)
# today 2026-11-16: a month back 2026-10-16; a year ahead 2027-11-17; three years 2029-11-18
DUE_RANGE = "Choose a date from 2026-10-16 to 2029-11-18."
DEADLINE_RANGE = "Choose a date from 2026-10-16 to 2027-11-17."

pytestmark = pytest.mark.django_db


@pytest.fixture
def p(db):
    with time_machine.travel(NOW, tick=True):
        yield build_personas()


def create(p, **overrides):
    """POST an order: the builder's, with `overrides` as the JSON values sent."""
    data = builders.api_order_data()
    data.update(overrides)
    return client(p.firm).post("/api/orders/", data, format="json")


# --- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("due_date", ["0001-01-01", "2026-10-15", "2029-11-19", "9999-12-31"])
def test_a_due_date_out_of_range_is_refused_naming_the_range(p, due_date):
    refused(create(p, due_date=due_date), "due_date", DUE_RANGE)
    assert not Order.objects.exists()


def test_the_due_dates_range_is_inclusive(p):
    assert create(p, due_date="2029-11-18").status_code == 201


@pytest.mark.parametrize("deadline", ["2027-11-18T09:00:00+08:00", "9999-12-30T00:00:00+08:00"])
def test_a_bid_deadline_more_than_a_year_ahead_is_refused(p, deadline):
    refused(create(p, bid_deadline=deadline, due_date="2028-06-01"), "bid_deadline", DEADLINE_RANGE)


def test_an_edit_is_checked_against_the_same_range(p):
    order = builders.draft(p.firm)
    response = client(p.firm).patch(f"/api/orders/{order.pk}/", {"due_date": "9999-12-31"}, format="json")
    refused(response, "due_date", DUE_RANGE)
    order.refresh_from_db()
    assert order.due_date.isoformat() == "2026-12-16"  # the builder's 30 days, unchanged


# --- a bid's promised date -------------------------------------------------------------------------

def bid(p, order, promised: str, **extra):
    return client(p.broker).post(f"/api/orders/{order.pk}/bids/", {
        "unit_price": "1.5000", "quantity": 500, "promised_date": promised, **extra}, format="json")


def test_a_bid_promising_delivery_after_the_due_date_is_refused(p):
    order = builders.published(p.firm)  # due 2026-12-16
    body = refused(bid(p, order, "2026-12-17"), "promised_date",
                   "Promise delivery by the order's due date, 2026-12-16, at the latest.", code="after_due_date")
    assert body["message"] == "Promise delivery by the order's due date, 2026-12-16, at the latest."
    assert not Bid.objects.exists()
    assert bid(p, order, "2026-12-16").status_code == 201  # on the due date itself: fine


def test_a_revision_cannot_move_the_promise_past_the_due_date(p):
    order = builders.published(p.firm)
    placed = builders.bid(p.broker, order)
    response = client(p.broker).patch(f"/api/bids/{placed.pk}/", {"promised_date": "9999-12-31"}, format="json")
    refused(response, "promised_date", code="after_due_date")
    placed.refresh_from_db()
    assert placed.promised_date.isoformat() == "2026-12-06" and placed.revision == 1


# --- text, money, quantities ----------------------------------------------------------------------

def test_a_description_of_100000_characters_is_refused_5000_is_stored(p):
    refused(create(p, description="珠" * 100_000), "description",
            "Ensure this field has no more than 5000 characters.")
    response = create(p, description="珠" * 5000)
    assert response.status_code == 201
    assert len(Order.objects.get().description) == 5000


@pytest.mark.parametrize("field, value, message", [
    ("ceiling_unit_price", "99999999.9999", "Ensure this value is less than or equal to 100000."),
    ("ceiling_unit_price", "100000.0001", "Ensure this value is less than or equal to 100000."),
    ("ceiling_unit_price", "0.0000", "Ensure this value is greater than or equal to 0.0001."),
    ("quantity", 10_000_001, "Ensure this value is less than or equal to 10000000."),
])
def test_money_and_quantities_have_plausible_maxima(p, field, value, message):
    refused(create(p, **{field: value}), field, message)


def test_the_maxima_themselves_are_accepted(p):
    response = create(p, ceiling_unit_price="100000.0000", quantity=10_000_000)
    assert response.status_code == 201, response.content[:300]


@pytest.mark.parametrize("part, key, value, field", [
    ("procedures", "standard_minutes", "10000.01", "procedures.0.standard_minutes"),
    ("materials", "unit_value", "100000.0001", "materials.0.unit_value"),
    ("materials", "quantity_per_piece", "100000.0001", "materials.0.quantity_per_piece"),
    ("materials", "loss_allowance_pct", "100.01", "materials.0.loss_allowance_pct"),
])
def test_procedure_and_material_figures_have_maxima(p, part, key, value, field):
    data = builders.api_order_data()
    data[part][0][key] = value
    refused(client(p.firm).post("/api/orders/", data, format="json"), field)


def test_a_bid_note_over_1000_characters_is_refused(p):
    order = builders.published(p.firm)
    refused(bid(p, order, "2026-12-01", note="好" * 1001), "note")


# --- uploads ---------------------------------------------------------------------------------------

def test_an_attachment_over_the_size_limit_is_a_400_in_the_error_shape(p, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
    order = builders.draft(p.firm)

    def upload(size: int):
        drawing = SimpleUploadedFile("drawing.pdf", upload_files.pdf(size), content_type="application/pdf")
        return client(p.firm).post(f"/api/orders/{order.pk}/attachments/", {"file": drawing}, format="multipart")

    refused(upload(2 * 1024 * 1024 + 1), "file", "A file may be at most 2 MB; this one has 2097153 bytes.",
            code="file_too_large")
    assert not Attachment.objects.exists()
    assert upload(2 * 1024 * 1024).status_code == 201
