"""Piece logs are append-only in the database too: a correction is a reversing log (negative
quantity naming the log it reverses), so no UPDATE or DELETE of a log is ever needed, and raw SQL
cannot rewrite what a worker was paid for.

PostgreSQL: a trigger refuses every UPDATE and DELETE (TRUNCATE is the owner's, not the
application role's: docs/security.md § Database guarantees).

SQLite (the embedded default): the same two triggers, with one escape the test runner needs:
its table flush empties every table with DELETE (PostgreSQL's uses TRUNCATE, which fires no row
triggers), so the guards stand aside while the one-row table `lailiao_maintenance` holds a row
(tests/conftest.py sets it around the flush). On SQLite every connection is the owner and could
drop the triggers anyway; the escape adds no power it does not already have.

`lailiao_maintenance` is created here, in the lowest app with a guarded table; the payments
guards use it too."""
from django.db import migrations

MESSAGE = "piece logs are append-only: correct a log with a reversing log"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION brokers_piecelog_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER brokers_piecelog_append_only BEFORE UPDATE OR DELETE ON brokers_piecelog
  FOR EACH ROW EXECUTE FUNCTION brokers_piecelog_append_only();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS brokers_piecelog_append_only ON brokers_piecelog;
DROP FUNCTION IF EXISTS brokers_piecelog_append_only();
"""

MAINTENANCE = "NOT EXISTS (SELECT 1 FROM lailiao_maintenance)"

SQLITE = [
    # at most one row (id 1): present while a bulk maintenance job (the test flush) runs
    "CREATE TABLE IF NOT EXISTS lailiao_maintenance (id integer PRIMARY KEY CHECK (id = 1))",
    f"""CREATE TRIGGER brokers_piecelog_no_update BEFORE UPDATE ON brokers_piecelog WHEN {MAINTENANCE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER brokers_piecelog_no_delete BEFORE DELETE ON brokers_piecelog WHEN {MAINTENANCE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS brokers_piecelog_no_update;", "DROP TRIGGER IF EXISTS brokers_piecelog_no_delete;",
               "DROP TABLE IF EXISTS lailiao_maintenance;"]


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
    dependencies = [("brokers", "0005_piecelog_broker_id")]
    operations = [migrations.RunPython(forwards, backwards)]
