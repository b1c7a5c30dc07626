"""A closed payroll run's payslips are frozen in the database too, so not even raw SQL can change
what was paid: once a run leaves `preview`, its payslips and their lines refuse UPDATE and DELETE,
and the run itself refuses a change to its month, broker, total or watermarks, or a way back to
preview (closed → paid, and the paid time, stay allowed). SQLite (the embedded default) refuses
UPDATEs only, as the ledger's triggers do: a DELETE trigger would stop the test runner's flush."""
from django.db import migrations

MESSAGE = "a closed payroll run is frozen: late work goes into the next open month"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION payments_payslip_frozen() RETURNS trigger AS $$
BEGIN
  IF (SELECT status FROM payments_payrollrun WHERE id = OLD.run_id) <> 'preview' THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payments_payslipline_frozen() RETURNS trigger AS $$
BEGIN
  IF (SELECT r.status FROM payments_payslip s JOIN payments_payrollrun r ON r.id = s.run_id
      WHERE s.id = OLD.payslip_id) <> 'preview' THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payments_payrollrun_frozen() RETURNS trigger AS $$
BEGIN
  IF OLD.status <> 'preview' AND (TG_OP = 'DELETE' OR NEW.status = 'preview'
      OR (NEW.month, NEW.broker_id, NEW.total, NEW.watermark, NEW.since_watermark)
         IS DISTINCT FROM (OLD.month, OLD.broker_id, OLD.total, OLD.watermark, OLD.since_watermark)) THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_payslip_frozen BEFORE UPDATE OR DELETE ON payments_payslip
  FOR EACH ROW EXECUTE FUNCTION payments_payslip_frozen();
CREATE TRIGGER payments_payslipline_frozen BEFORE UPDATE OR DELETE ON payments_payslipline
  FOR EACH ROW EXECUTE FUNCTION payments_payslipline_frozen();
CREATE TRIGGER payments_payrollrun_frozen BEFORE UPDATE OR DELETE ON payments_payrollrun
  FOR EACH ROW EXECUTE FUNCTION payments_payrollrun_frozen();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS payments_payrollrun_frozen ON payments_payrollrun;
DROP TRIGGER IF EXISTS payments_payslipline_frozen ON payments_payslipline;
DROP TRIGGER IF EXISTS payments_payslip_frozen ON payments_payslip;
DROP FUNCTION IF EXISTS payments_payrollrun_frozen();
DROP FUNCTION IF EXISTS payments_payslipline_frozen();
DROP FUNCTION IF EXISTS payments_payslip_frozen();
"""

SQLITE = [
    f"""CREATE TRIGGER payments_payslip_frozen BEFORE UPDATE ON payments_payslip
        WHEN (SELECT status FROM payments_payrollrun WHERE id = OLD.run_id) <> 'preview'
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER payments_payslipline_frozen BEFORE UPDATE ON payments_payslipline
        WHEN (SELECT r.status FROM payments_payslip s JOIN payments_payrollrun r ON r.id = s.run_id
              WHERE s.id = OLD.payslip_id) <> 'preview'
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER payments_payrollrun_frozen BEFORE UPDATE ON payments_payrollrun
        WHEN OLD.status <> 'preview' AND (NEW.status = 'preview' OR NEW.month IS NOT OLD.month
             OR NEW.broker_id IS NOT OLD.broker_id OR NEW.total <> OLD.total
             OR NEW.watermark IS NOT OLD.watermark OR NEW.since_watermark IS NOT OLD.since_watermark)
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS payments_payslip_frozen;", "DROP TRIGGER IF EXISTS payments_payslipline_frozen;",
               "DROP TRIGGER IF EXISTS payments_payrollrun_frozen;"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_payroll")]
    operations = [migrations.RunPython(forwards, backwards)]
