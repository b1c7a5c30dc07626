"""The money's rules in the database, whatever SQL is sent (issue 10 § 5). Adds to the ledger
triggers of 0002 and the payroll freeze of 0005; docs/security.md § Database guarantees lists
what each database refuses.

PostgreSQL
- A posted transaction's entries are fixed at posting: an entry must be written by the same
  (sub)transaction as its transaction row (the two rows' `xmin` are equal), so no entry joins a
  transaction committed earlier; and at commit (a deferred constraint trigger) every new
  transaction has at least two entries that sum to zero.
- A closed run's payslips and lines gain, lose and move nothing: INSERT, UPDATE and DELETE check
  the run of the old row and of the new one. A run is inserted as a preview and its status only
  moves forward (preview → closed → paid); once closed only its status and paid time change.
- Firm payments and invoice lines are append-only. A payout item only moves forward: pending →
  paid (with its paid date, set once) or pending → failed (with the reason), a failed item is
  retried once (`retried_in`, set once); its amount, worker, payslip, batch and bank account
  never change, and it is never deleted. (payouts.py updates exactly these columns.)

SQLite (the embedded default) has no deferred triggers and no row versions, so:
- an entry may be added only to the newest transaction, and a transaction may be posted only
  when the newest one before it has at least two entries summing to zero: every transaction but
  the newest is complete and fixed; the newest one can be incomplete, or gain entries, until
  the next posting, which is then refused;
- the rest as on PostgreSQL, with BEFORE triggers; UPDATE and DELETE guards stand aside while
  `lailiao_maintenance` (brokers 0006) holds a row, which the test runner's flush sets."""
from importlib import import_module

from django.db import migrations

frozen_0005 = import_module("payments.migrations.0005_payroll_frozen")

FIXED = "ledger entries are fixed at posting: post a new transaction instead of adding to one"
INCOMPLETE = "a ledger transaction has at least two entries that sum to zero, posted with it"
FROZEN = frozen_0005.MESSAGE
FORWARD = "a payroll run only moves forward: preview, closed, paid"
PAYMENT = "firm payments are append-only: a payment is never edited or deleted"
INVOICE_LINE = "invoice lines are append-only: a correction is a new line"
PAYOUT_ITEM = ("a payout item only moves forward (pending to paid or failed, failed to retried); "
               "its amount, worker, payslip, batch and account never change")
LEDGER_DELETE = "posted ledger rows are immutable: post a reversing transaction"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION payments_entry_fixed_at_posting() RETURNS trigger AS $$
BEGIN
  -- the same xmin: written by the (sub)transaction that wrote the transaction row; a row of
  -- another transaction still in progress is not visible here, so it is refused too
  IF NOT EXISTS (SELECT 1 FROM payments_entry e JOIN payments_transaction t ON t.id = e.transaction_id
                 WHERE e.id = NEW.id AND t.xmin = e.xmin) THEN
    RAISE EXCEPTION '{FIXED}' USING ERRCODE = 'restrict_violation',
      DETAIL = format('entry for ledger transaction %s', NEW.transaction_id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_entry_fixed_at_posting AFTER INSERT ON payments_entry
  FOR EACH ROW EXECUTE FUNCTION payments_entry_fixed_at_posting();

CREATE OR REPLACE FUNCTION payments_transaction_complete() RETURNS trigger AS $$
DECLARE n integer; total numeric;
BEGIN
  SELECT count(*), COALESCE(sum(amount), 0) INTO n, total FROM payments_entry WHERE transaction_id = NEW.id;
  IF n < 2 OR total <> 0 THEN
    RAISE EXCEPTION '{INCOMPLETE}' USING ERRCODE = 'check_violation',
      DETAIL = format('ledger transaction %s has %s entries summing to %s', NEW.id, n, total);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payments_transaction_complete AFTER INSERT ON payments_transaction
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments_transaction_complete();

DROP TRIGGER IF EXISTS payments_payslip_frozen ON payments_payslip;
DROP TRIGGER IF EXISTS payments_payslipline_frozen ON payments_payslipline;
DROP TRIGGER IF EXISTS payments_payrollrun_frozen ON payments_payrollrun;

CREATE OR REPLACE FUNCTION payments_payslip_frozen() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF (SELECT status FROM payments_payrollrun WHERE id = OLD.run_id) IS DISTINCT FROM 'preview' THEN
      RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'restrict_violation';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  IF (SELECT status FROM payments_payrollrun WHERE id = NEW.run_id) IS DISTINCT FROM 'preview' THEN
    RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payments_payslipline_frozen() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF (SELECT r.status FROM payments_payslip s JOIN payments_payrollrun r ON r.id = s.run_id
        WHERE s.id = OLD.payslip_id) IS DISTINCT FROM 'preview' THEN
      RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'restrict_violation';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  IF (SELECT r.status FROM payments_payslip s JOIN payments_payrollrun r ON r.id = s.run_id
      WHERE s.id = NEW.payslip_id) IS DISTINCT FROM 'preview' THEN
    RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payments_payrollrun_frozen() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status IS DISTINCT FROM 'preview' THEN
      RAISE EXCEPTION '{FORWARD}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'preview' THEN
      RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF (OLD.status, NEW.status) NOT IN (('preview', 'preview'), ('preview', 'closed'), ('closed', 'closed'),
                                      ('closed', 'paid'), ('paid', 'paid')) THEN
    RAISE EXCEPTION '{FORWARD}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.status <> 'preview' AND (
      (NEW.id, NEW.broker_id, NEW.month, NEW.since_month, NEW.since_watermark, NEW.watermark, NEW.total,
       NEW.computed_at, NEW.closed_at, NEW.closed_by_id, NEW.ledger_id, NEW.created_at)
      IS DISTINCT FROM
      (OLD.id, OLD.broker_id, OLD.month, OLD.since_month, OLD.since_watermark, OLD.watermark, OLD.total,
       OLD.computed_at, OLD.closed_at, OLD.closed_by_id, OLD.ledger_id, OLD.created_at)
      OR (NEW.paid_at IS DISTINCT FROM OLD.paid_at AND (OLD.paid_at IS NOT NULL OR NEW.status <> 'paid'))) THEN
    RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_payslip_frozen BEFORE INSERT OR UPDATE OR DELETE ON payments_payslip
  FOR EACH ROW EXECUTE FUNCTION payments_payslip_frozen();
CREATE TRIGGER payments_payslipline_frozen BEFORE INSERT OR UPDATE OR DELETE ON payments_payslipline
  FOR EACH ROW EXECUTE FUNCTION payments_payslipline_frozen();
CREATE TRIGGER payments_payrollrun_frozen BEFORE INSERT OR UPDATE OR DELETE ON payments_payrollrun
  FOR EACH ROW EXECUTE FUNCTION payments_payrollrun_frozen();

CREATE OR REPLACE FUNCTION payments_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_payment_append_only BEFORE UPDATE OR DELETE ON payments_payment
  FOR EACH ROW EXECUTE FUNCTION payments_append_only('{PAYMENT}');
CREATE TRIGGER payments_invoiceline_append_only BEFORE UPDATE OR DELETE ON payments_invoiceline
  FOR EACH ROW EXECUTE FUNCTION payments_append_only('{INVOICE_LINE}');

CREATE OR REPLACE FUNCTION payments_payoutitem_forward() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '{PAYOUT_ITEM}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF (NEW.id, NEW.batch_id, NEW.payslip_id, NEW.worker_id, NEW.account_holder, NEW.bank_name, NEW.bank_account,
      NEW.amount, NEW.reference)
     IS DISTINCT FROM
     (OLD.id, OLD.batch_id, OLD.payslip_id, OLD.worker_id, OLD.account_holder, OLD.bank_name, OLD.bank_account,
      OLD.amount, OLD.reference)
     OR NOT (
       (NEW.status = OLD.status AND NEW.paid_on IS NOT DISTINCT FROM OLD.paid_on AND NEW.failure_reason = OLD.failure_reason)
       OR (OLD.status = 'pending' AND NEW.status = 'paid' AND OLD.paid_on IS NULL AND NEW.paid_on IS NOT NULL
           AND NEW.failure_reason = OLD.failure_reason)
       OR (OLD.status = 'pending' AND NEW.status = 'failed' AND NEW.paid_on IS NOT DISTINCT FROM OLD.paid_on))
     OR (NEW.retried_in_id IS DISTINCT FROM OLD.retried_in_id AND (OLD.retried_in_id IS NOT NULL OR NEW.status <> 'failed'))
  THEN
    RAISE EXCEPTION '{PAYOUT_ITEM}' USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_payoutitem_forward BEFORE UPDATE OR DELETE ON payments_payoutitem
  FOR EACH ROW EXECUTE FUNCTION payments_payoutitem_forward();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS payments_payoutitem_forward ON payments_payoutitem;
DROP TRIGGER IF EXISTS payments_invoiceline_append_only ON payments_invoiceline;
DROP TRIGGER IF EXISTS payments_payment_append_only ON payments_payment;
DROP TRIGGER IF EXISTS payments_payrollrun_frozen ON payments_payrollrun;
DROP TRIGGER IF EXISTS payments_payslipline_frozen ON payments_payslipline;
DROP TRIGGER IF EXISTS payments_payslip_frozen ON payments_payslip;
DROP TRIGGER IF EXISTS payments_transaction_complete ON payments_transaction;
DROP TRIGGER IF EXISTS payments_entry_fixed_at_posting ON payments_entry;
DROP FUNCTION IF EXISTS payments_payoutitem_forward();
DROP FUNCTION IF EXISTS payments_append_only();
DROP FUNCTION IF EXISTS payments_transaction_complete();
DROP FUNCTION IF EXISTS payments_entry_fixed_at_posting();
"""  # then 0005's payroll triggers and functions again

NO_MAINTENANCE = "NOT EXISTS (SELECT 1 FROM lailiao_maintenance)"
RUN_OF = "(SELECT status FROM payments_payrollrun WHERE id = {}.run_id)"
RUN_OF_SLIP = ("(SELECT r.status FROM payments_payslip s JOIN payments_payrollrun r ON r.id = s.run_id "
               "WHERE s.id = {}.payslip_id)")
NEWEST = "(SELECT MAX(id) FROM payments_transaction)"


def _trigger(name: str, when: str, table: str, condition: str, message: str) -> str:
    return (f"CREATE TRIGGER {name} BEFORE {when} ON {table} WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;")


SQLITE = [
    # the ledger: entries only for the newest transaction; a posting only after a complete one
    _trigger("payments_entry_fixed_at_posting", "INSERT", "payments_entry",
             f"NEW.transaction_id IS NOT {NEWEST}", FIXED),
    _trigger("payments_transaction_complete", "INSERT", "payments_transaction",
             f"EXISTS (SELECT 1 FROM payments_transaction t WHERE t.id = {NEWEST} AND ("
             "(SELECT COUNT(*) FROM payments_entry WHERE transaction_id = t.id) < 2 "
             # amounts are fen: a real imbalance is at least 0.01, float noise far below 0.005
             "OR ABS((SELECT TOTAL(amount) FROM payments_entry WHERE transaction_id = t.id)) >= 0.005))", INCOMPLETE),
    _trigger("payments_entry_no_delete", "DELETE", "payments_entry", NO_MAINTENANCE, LEDGER_DELETE),
    _trigger("payments_transaction_no_delete", "DELETE", "payments_transaction", NO_MAINTENANCE, LEDGER_DELETE),
    # payroll: 0005's UPDATE triggers, replaced by ones that check the new parent as well
    "DROP TRIGGER IF EXISTS payments_payslip_frozen;",
    "DROP TRIGGER IF EXISTS payments_payslipline_frozen;",
    "DROP TRIGGER IF EXISTS payments_payrollrun_frozen;",
    _trigger("payments_payslip_frozen_insert", "INSERT", "payments_payslip",
             f"{RUN_OF.format('NEW')} IS NOT 'preview'", FROZEN),
    _trigger("payments_payslip_frozen", "UPDATE", "payments_payslip",
             f"{NO_MAINTENANCE} AND ({RUN_OF.format('OLD')} IS NOT 'preview' OR {RUN_OF.format('NEW')} IS NOT 'preview')",
             FROZEN),
    _trigger("payments_payslip_frozen_delete", "DELETE", "payments_payslip",
             f"{NO_MAINTENANCE} AND {RUN_OF.format('OLD')} IS NOT 'preview'", FROZEN),
    _trigger("payments_payslipline_frozen_insert", "INSERT", "payments_payslipline",
             f"{RUN_OF_SLIP.format('NEW')} IS NOT 'preview'", FROZEN),
    _trigger("payments_payslipline_frozen", "UPDATE", "payments_payslipline",
             f"{NO_MAINTENANCE} AND ({RUN_OF_SLIP.format('OLD')} IS NOT 'preview' "
             f"OR {RUN_OF_SLIP.format('NEW')} IS NOT 'preview')", FROZEN),
    _trigger("payments_payslipline_frozen_delete", "DELETE", "payments_payslipline",
             f"{NO_MAINTENANCE} AND {RUN_OF_SLIP.format('OLD')} IS NOT 'preview'", FROZEN),
    _trigger("payments_payrollrun_forward_insert", "INSERT", "payments_payrollrun",
             "NEW.status IS NOT 'preview'", FORWARD),
    _trigger("payments_payrollrun_forward", "UPDATE", "payments_payrollrun",
             f"{NO_MAINTENANCE} AND NOT ((OLD.status = 'preview' AND NEW.status IN ('preview', 'closed')) "
             "OR (OLD.status = 'closed' AND NEW.status IN ('closed', 'paid')) "
             "OR (OLD.status = 'paid' AND NEW.status = 'paid'))", FORWARD),
    _trigger("payments_payrollrun_frozen", "UPDATE", "payments_payrollrun",
             f"{NO_MAINTENANCE} AND OLD.status <> 'preview' AND ("
             + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (
                 "id", "broker_id", "month", "since_month", "since_watermark", "watermark", "total", "computed_at",
                 "closed_at", "closed_by_id", "ledger_id", "created_at"))
             + " OR (NEW.paid_at IS NOT OLD.paid_at AND (OLD.paid_at IS NOT NULL OR NEW.status <> 'paid')))", FROZEN),
    _trigger("payments_payrollrun_frozen_delete", "DELETE", "payments_payrollrun",
             f"{NO_MAINTENANCE} AND OLD.status <> 'preview'", FROZEN),
    # append-only
    _trigger("payments_payment_no_update", "UPDATE", "payments_payment", NO_MAINTENANCE, PAYMENT),
    _trigger("payments_payment_no_delete", "DELETE", "payments_payment", NO_MAINTENANCE, PAYMENT),
    _trigger("payments_invoiceline_no_update", "UPDATE", "payments_invoiceline", NO_MAINTENANCE, INVOICE_LINE),
    _trigger("payments_invoiceline_no_delete", "DELETE", "payments_invoiceline", NO_MAINTENANCE, INVOICE_LINE),
    _trigger("payments_payoutitem_forward", "UPDATE", "payments_payoutitem",
             f"{NO_MAINTENANCE} AND ("
             + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (
                 "id", "batch_id", "payslip_id", "worker_id", "account_holder", "bank_name", "bank_account",
                 "amount", "reference"))
             + " OR NOT ((NEW.status IS OLD.status AND NEW.paid_on IS OLD.paid_on"
               " AND NEW.failure_reason IS OLD.failure_reason)"
               " OR (OLD.status = 'pending' AND NEW.status = 'paid' AND OLD.paid_on IS NULL"
               " AND NEW.paid_on IS NOT NULL AND NEW.failure_reason IS OLD.failure_reason)"
               " OR (OLD.status = 'pending' AND NEW.status = 'failed' AND NEW.paid_on IS OLD.paid_on))"
               " OR (NEW.retried_in_id IS NOT OLD.retried_in_id"
               " AND (OLD.retried_in_id IS NOT NULL OR NEW.status <> 'failed')))", PAYOUT_ITEM),
    _trigger("payments_payoutitem_no_delete", "DELETE", "payments_payoutitem", NO_MAINTENANCE, PAYOUT_ITEM),
]
SQLITE_NAMES = [statement.split()[2] for statement in SQLITE if statement.startswith("CREATE TRIGGER")]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: '%' is plpgsql's here
            cursor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_DROP)
            cursor.execute(frozen_0005.POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_NAMES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
        for statement in frozen_0005.SQLITE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_payroll_frozen"), ("brokers", "0006_piecelog_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
