"""The subsidies' guarantees in the database, whatever SQL is sent (issue 11 §§ 1, 4, 7;
docs/subsidies.md "Guarantees"). The four-eyes rules are CHECK constraints of the models; these
triggers add what a CHECK cannot see: the row before the change, and other tables.

- The audit trail (`subsidies_auditevent`) is append-only: UPDATE and DELETE are refused.
- A version that has produced claims is never edited again: its rules gain, lose and change
  nothing, and its budget per year, second-approval threshold, start date, policy and number are
  fixed. Its status and end date still change (activation of a successor retires it).
- A claim's computed facts never change after insert (what it is for, from which version and
  rule, for whom and which period, the inputs, the arithmetic, the fingerprint, the computed
  amount, whether it is a case, an adjustment or needs a second approver). Its amount and case
  entry change only while it is computed (staff entering a case amount). Its status only moves
  forward: computed → first_approved → approved → paid, computed/first_approved → rejected or
  superseded. Who approved or rejected it, its batch and its ledger postings are set once.
  Claims are never deleted.
- A claim's evidence is insert-only.

PostgreSQL: BEFORE row triggers (TRUNCATE, which the test flush uses, is the owner's and fires
none). SQLite: the same as BEFORE triggers with WHEN conditions; the UPDATE and DELETE guards
stand aside while `lailiao_maintenance` (brokers 0006) holds a row, which the test flush sets."""
from django.db import migrations

AUDIT = "the subsidy audit trail is append-only: an event is never edited or deleted"
RULES_FROZEN = "this policy version has produced claims: its rules are frozen, draft a new version"
VERSION_FROZEN = ("this policy version has produced claims: its budget, threshold and start date are frozen, "
                  "draft a new version")
CLAIM_FACTS = "the computed facts of a claim never change: an evaluation makes an adjustment claim instead"
CLAIM_AMOUNT = "the amount and case entry of a claim change only while it is computed"
CLAIM_FORWARD = ("a claim only moves forward: computed, first_approved, approved, paid; "
                 "computed or first_approved to rejected or superseded")
CLAIM_SET_ONCE = "who approved or rejected a claim, its payment batch and its ledger postings are set once"
CLAIM_DELETE = "claims are never deleted: reject or supersede them"
EVIDENCE = "the evidence of a claim is insert-only"

# what an evaluation computed; never changed by review (services/review.py writes none of these)
FACTS = ("id", "key", "subject", "policy_id", "version_id", "rule_id", "kind", "county_id", "period_start",
         "period_end", "fund_year", "broker_id", "village_id", "loan_id", "relocation_id", "is_case",
         "computed_amount", "adjusts_id", "is_adjustment", "needs_second_approval", "second_approval_over",
         "inputs", "steps", "fingerprint")
CASE_ENTRY = ("amount", "case_entered_by_id", "case_entered_at", "case_reason")
SET_ONCE = ("first_approved_by_id", "approved_by_id", "rejected_by_id", "payment_batch_id", "approval_ledger_id",
            "payment_ledger_id")
FORWARD = [("computed", "first_approved"), ("computed", "approved"), ("first_approved", "approved"),
           ("approved", "paid"), ("computed", "rejected"), ("first_approved", "rejected"),
           ("computed", "superseded"), ("first_approved", "superseded")]
VERSION_FIXED = ("id", "policy_id", "number", "annual_budget", "second_approval_over", "effective_from")


def _row(prefix: str, columns) -> str:
    return "(" + ", ".join(f"{prefix}.{c}" for c in columns) + ")"


POSTGRES = f"""
CREATE OR REPLACE FUNCTION subsidies_refuse() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER subsidies_auditevent_append_only BEFORE UPDATE OR DELETE ON subsidies_auditevent
  FOR EACH ROW EXECUTE FUNCTION subsidies_refuse('{AUDIT}');
CREATE TRIGGER subsidies_claimevidence_insert_only BEFORE UPDATE OR DELETE ON subsidies_claimevidence
  FOR EACH ROW EXECUTE FUNCTION subsidies_refuse('{EVIDENCE}');

CREATE OR REPLACE FUNCTION subsidies_rule_frozen() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF EXISTS (SELECT 1 FROM subsidies_claim WHERE version_id = OLD.version_id) THEN
      RAISE EXCEPTION '{RULES_FROZEN}' USING ERRCODE = 'restrict_violation';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  IF EXISTS (SELECT 1 FROM subsidies_claim WHERE version_id = NEW.version_id) THEN
    RAISE EXCEPTION '{RULES_FROZEN}' USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER subsidies_rule_frozen BEFORE INSERT OR UPDATE OR DELETE ON subsidies_rule
  FOR EACH ROW EXECUTE FUNCTION subsidies_rule_frozen();

CREATE OR REPLACE FUNCTION subsidies_policyversion_frozen() RETURNS trigger AS $$
BEGIN
  IF {_row('NEW', VERSION_FIXED)} IS DISTINCT FROM {_row('OLD', VERSION_FIXED)}
     AND EXISTS (SELECT 1 FROM subsidies_claim WHERE version_id = OLD.id) THEN
    RAISE EXCEPTION '{VERSION_FROZEN}' USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER subsidies_policyversion_frozen BEFORE UPDATE ON subsidies_policyversion
  FOR EACH ROW EXECUTE FUNCTION subsidies_policyversion_frozen();

CREATE OR REPLACE FUNCTION subsidies_claim_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '{CLAIM_DELETE}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF {_row('NEW', FACTS)} IS DISTINCT FROM {_row('OLD', FACTS)} THEN
    RAISE EXCEPTION '{CLAIM_FACTS}' USING ERRCODE = 'restrict_violation', DETAIL = format('claim %s', OLD.id);
  END IF;
  IF OLD.status <> 'computed' AND {_row('NEW', CASE_ENTRY)} IS DISTINCT FROM {_row('OLD', CASE_ENTRY)} THEN
    RAISE EXCEPTION '{CLAIM_AMOUNT}' USING ERRCODE = 'restrict_violation', DETAIL = format('claim %s', OLD.id);
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status
     AND (OLD.status, NEW.status) NOT IN ({", ".join(f"('{a}', '{b}')" for a, b in FORWARD)}) THEN
    RAISE EXCEPTION '{CLAIM_FORWARD}' USING ERRCODE = 'restrict_violation',
      DETAIL = format('claim %s: %s to %s', OLD.id, OLD.status, NEW.status);
  END IF;
  IF {" OR ".join(f"(OLD.{c} IS NOT NULL AND NEW.{c} IS DISTINCT FROM OLD.{c})" for c in SET_ONCE)} THEN
    RAISE EXCEPTION '{CLAIM_SET_ONCE}' USING ERRCODE = 'restrict_violation', DETAIL = format('claim %s', OLD.id);
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER subsidies_claim_guard BEFORE UPDATE OR DELETE ON subsidies_claim
  FOR EACH ROW EXECUTE FUNCTION subsidies_claim_guard();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS subsidies_claim_guard ON subsidies_claim;
DROP TRIGGER IF EXISTS subsidies_policyversion_frozen ON subsidies_policyversion;
DROP TRIGGER IF EXISTS subsidies_rule_frozen ON subsidies_rule;
DROP TRIGGER IF EXISTS subsidies_claimevidence_insert_only ON subsidies_claimevidence;
DROP TRIGGER IF EXISTS subsidies_auditevent_append_only ON subsidies_auditevent;
DROP FUNCTION IF EXISTS subsidies_claim_guard();
DROP FUNCTION IF EXISTS subsidies_policyversion_frozen();
DROP FUNCTION IF EXISTS subsidies_rule_frozen();
DROP FUNCTION IF EXISTS subsidies_refuse();
"""

NO_MAINTENANCE = "NOT EXISTS (SELECT 1 FROM lailiao_maintenance)"
HAS_CLAIMS = "EXISTS (SELECT 1 FROM subsidies_claim WHERE version_id = {})"


def _trigger(name: str, when: str, table: str, condition: str, message: str) -> str:
    return (f"CREATE TRIGGER {name} BEFORE {when} ON {table} WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;")


def _changed(columns) -> str:
    return "(" + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns) + ")"


SQLITE = [
    _trigger("subsidies_auditevent_no_update", "UPDATE", "subsidies_auditevent", NO_MAINTENANCE, AUDIT),
    _trigger("subsidies_auditevent_no_delete", "DELETE", "subsidies_auditevent", NO_MAINTENANCE, AUDIT),
    _trigger("subsidies_claimevidence_no_update", "UPDATE", "subsidies_claimevidence", NO_MAINTENANCE, EVIDENCE),
    _trigger("subsidies_claimevidence_no_delete", "DELETE", "subsidies_claimevidence", NO_MAINTENANCE, EVIDENCE),
    _trigger("subsidies_rule_frozen_insert", "INSERT", "subsidies_rule", HAS_CLAIMS.format("NEW.version_id"),
             RULES_FROZEN),
    _trigger("subsidies_rule_frozen_update", "UPDATE", "subsidies_rule",
             f"{NO_MAINTENANCE} AND ({HAS_CLAIMS.format('OLD.version_id')} OR {HAS_CLAIMS.format('NEW.version_id')})",
             RULES_FROZEN),
    _trigger("subsidies_rule_frozen_delete", "DELETE", "subsidies_rule",
             f"{NO_MAINTENANCE} AND {HAS_CLAIMS.format('OLD.version_id')}", RULES_FROZEN),
    _trigger("subsidies_policyversion_frozen", "UPDATE", "subsidies_policyversion",
             f"{NO_MAINTENANCE} AND {_changed(VERSION_FIXED)} AND {HAS_CLAIMS.format('OLD.id')}", VERSION_FROZEN),
    _trigger("subsidies_claim_no_delete", "DELETE", "subsidies_claim", NO_MAINTENANCE, CLAIM_DELETE),
    _trigger("subsidies_claim_facts", "UPDATE", "subsidies_claim", f"{NO_MAINTENANCE} AND {_changed(FACTS)}",
             CLAIM_FACTS),
    _trigger("subsidies_claim_amount", "UPDATE", "subsidies_claim",
             f"{NO_MAINTENANCE} AND OLD.status <> 'computed' AND {_changed(CASE_ENTRY)}", CLAIM_AMOUNT),
    _trigger("subsidies_claim_forward", "UPDATE", "subsidies_claim",
             f"{NO_MAINTENANCE} AND NEW.status IS NOT OLD.status AND NOT ("
             + " OR ".join(f"(OLD.status = '{a}' AND NEW.status = '{b}')" for a, b in FORWARD) + ")", CLAIM_FORWARD),
    _trigger("subsidies_claim_set_once", "UPDATE", "subsidies_claim",
             f"{NO_MAINTENANCE} AND ("
             + " OR ".join(f"(OLD.{c} IS NOT NULL AND NEW.{c} IS NOT OLD.{c})" for c in SET_ONCE) + ")",
             CLAIM_SET_ONCE),
]
SQLITE_NAMES = [statement.split()[2] for statement in SQLITE]


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
        for name in SQLITE_NAMES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0002_suichang_2009"), ("brokers", "0006_piecelog_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
