"""A closed run's payslips are frozen in the database, not only in the services: raw SQL cannot
edit a closed payslip, its lines or the run's figures (nor, on PostgreSQL, delete them), while a
preview stays a draft the services rebuild at will."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from payments.models import PayrollRun, Payslip, PayslipLine
from payments.payouts import batch_mark_paid
from payments.payroll import payroll_close, payroll_preview, payroll_recompute

from .payroll_world import last_month, log, payroll_world

pytestmark = pytest.mark.django_db
D = Decimal


def refused(sql: str, params: list) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@pytest.fixture
def closed(personas):
    w = payroll_world(personas)
    log(w, 7, day=last_month().replace(day=2))  # 7 × 0.0125 = 0.0875 → 0.09
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    return w, payroll_close(actor=personas.broker, run_id=run.pk)


def test_a_preview_is_a_draft_the_database_lets_change(personas):
    w = payroll_world(personas)
    log(w, 7, day=last_month().replace(day=2))
    run, _ = payroll_preview(actor=personas.broker, month=last_month())
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_payslipline SET amount = 5 WHERE payslip_id IN "
                       "(SELECT id FROM payments_payslip WHERE run_id = %s)", [run.pk])
    # the recompute rebuilds it from the logs
    run = payroll_recompute(actor=personas.broker, run_id=run.pk)
    assert [line.amount for line in PayslipLine.objects.filter(payslip__run=run)] == [D("0.09")]


def test_a_closed_payslip_cannot_be_edited_even_by_raw_sql(closed):
    w, run = closed
    slip = run.payslips.get()
    line = slip.lines.get()
    refused("UPDATE payments_payslipline SET amount = 100 WHERE id = %s", [line.pk])
    refused("UPDATE payments_payslip SET total = 100 WHERE id = %s", [slip.pk])
    refused("UPDATE payments_payrollrun SET total = 100 WHERE id = %s", [run.pk])
    refused("UPDATE payments_payrollrun SET watermark = 0 WHERE id = %s", [run.pk])
    refused("UPDATE payments_payrollrun SET status = 'preview' WHERE id = %s", [run.pk])
    assert (PayslipLine.objects.get(pk=line.pk).amount, Payslip.objects.get(pk=slip.pk).total) == (D("0.09"),
                                                                                                    D("0.09"))
    assert PayrollRun.objects.get(pk=run.pk).status == PayrollRun.Status.CLOSED


def test_a_closed_run_still_becomes_paid(closed):
    w, run = closed
    batch = run.batches.get()
    batch_mark_paid(actor=w.p.broker, batch_id=batch.pk, bank_reference="BOC-1", paid_on=timezone.localdate())
    run = PayrollRun.objects.get(pk=run.pk)
    assert (run.status, run.total) == (PayrollRun.Status.PAID, D("0.09"))
    refused("UPDATE payments_payrollrun SET status = 'preview' WHERE id = %s", [run.pk])


@pytest.mark.postgres
def test_postgres_refuses_deleting_a_closed_run_or_its_payslips(closed):
    w, run = closed
    slip = run.payslips.get()
    refused("DELETE FROM payments_payslipline WHERE payslip_id = %s", [slip.pk])
    refused("DELETE FROM payments_payslip WHERE id = %s", [slip.pk])
    refused("DELETE FROM payments_payrollrun WHERE id = %s", [run.pk])
    assert PayslipLine.objects.filter(payslip=slip).count() == 1
