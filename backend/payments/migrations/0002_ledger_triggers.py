"""The ledger's rules in the database, so that not even raw SQL can break them.

PostgreSQL: a deferred constraint trigger refuses a transaction whose entries do not sum to zero
(checked at commit, once all its entries are in), and triggers refuse any UPDATE or DELETE of a
posted transaction or entry. SQLite (the embedded default) refuses UPDATEs only: its DELETE
trigger would also stop the test runner's table flush; the code never deletes."""
from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION payments_check_balanced() RETURNS trigger AS $$
DECLARE total numeric;
BEGIN
  SELECT COALESCE(SUM(amount), 0) INTO total FROM payments_entry WHERE transaction_id = NEW.transaction_id;
  IF total <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (its entries sum to %)', NEW.transaction_id, total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payments_entry_balanced AFTER INSERT ON payments_entry
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments_check_balanced();

CREATE OR REPLACE FUNCTION payments_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'posted ledger rows are immutable: post a reversing transaction'
    USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_entry_immutable BEFORE UPDATE OR DELETE ON payments_entry
  FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();
CREATE TRIGGER payments_transaction_immutable BEFORE UPDATE OR DELETE ON payments_transaction
  FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS payments_transaction_immutable ON payments_transaction;
DROP TRIGGER IF EXISTS payments_entry_immutable ON payments_entry;
DROP TRIGGER IF EXISTS payments_entry_balanced ON payments_entry;
DROP FUNCTION IF EXISTS payments_refuse_change();
DROP FUNCTION IF EXISTS payments_check_balanced();
"""

SQLITE = [
    """CREATE TRIGGER payments_entry_immutable BEFORE UPDATE ON payments_entry
       BEGIN SELECT RAISE(ABORT, 'posted ledger rows are immutable: post a reversing transaction'); END;""",
    """CREATE TRIGGER payments_transaction_immutable BEFORE UPDATE ON payments_transaction
       BEGIN SELECT RAISE(ABORT, 'posted ledger rows are immutable: post a reversing transaction'); END;""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS payments_entry_immutable;",
               "DROP TRIGGER IF EXISTS payments_transaction_immutable;"]


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
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
