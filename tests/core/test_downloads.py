"""Every file the API serves is what it says it is (issue 10 § 1): sent with its type and
`X-Content-Type-Options: nosniff`, and either a download in a sandbox (order attachments,
tests/orders/test_attachments_security.py; the bank file) or a PDF we generate, shown inline
to print (payslips, batch summaries, bundle tickets) under the app's policy."""
from __future__ import annotations

from datetime import timedelta

import pytest

from ..payments.payroll_world import last_month, log, payroll_world, ym

pytestmark = pytest.mark.django_db

SANDBOX = "default-src 'none'; sandbox"


def assert_generated_pdf(response, filename: str) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "script-src 'self'" in response["Content-Security-Policy"]  # the app's policy


def test_payroll_files_are_never_sniffed_and_the_bank_file_is_a_sandboxed_download(personas, client_for):
    # given last month's payroll closed, with its payout batch
    world = payroll_world(personas)
    log(world, 40, day=last_month() + timedelta(days=2))
    broker = client_for(personas.broker)
    run = broker.post("/api/payroll-runs/", {"month": ym(last_month())}, format="json").json()
    closed = broker.post(f"/api/payroll-runs/{run['id']}/close/", format="json").json()
    [batch] = closed["batches"]

    bank = broker.get(f"/api/payout-batches/{batch['id']}/bank-file/")
    assert bank.status_code == 200
    assert bank["Content-Type"] == "text/csv; charset=utf-8"
    assert bank["Content-Disposition"] == f'attachment; filename="payroll-{ym(last_month())}-batch-1.csv"'
    assert (bank["X-Content-Type-Options"], bank["Content-Security-Policy"]) == ("nosniff", SANDBOX)
    assert bank["Cache-Control"] == "private, no-store"  # full account numbers

    assert_generated_pdf(broker.get(f"/api/payout-batches/{batch['id']}/summary/"),
                         f"payroll-{ym(last_month())}-batch-1.pdf")
    [slip] = broker.get(f"/api/payroll-runs/{run['id']}/payslips/").json()["results"]
    assert_generated_pdf(broker.get(f"/api/payslips/{slip['id']}/pdf/"),
                         f"payslip-{ym(last_month())}-{slip['id']}.pdf")


def test_bundle_tickets_are_a_generated_pdf_never_sniffed(personas, client_for):
    world = payroll_world(personas)
    award = world.shop.award
    assert_generated_pdf(client_for(personas.broker).get(f"/api/bundles/tickets/?award={award.pk}"),
                         f"tickets-award-{award.pk}.pdf")
