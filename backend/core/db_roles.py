"""The two PostgreSQL roles production runs with, in one place.

- The **owner** owns the schema's tables, sequences and functions and runs `migrate`
  (NOSUPERUSER, NOCREATEROLE, NOCREATEDB).
- The **application** role (web, worker, beat) may only read and write rows: SELECT, INSERT,
  UPDATE, DELETE on tables, USAGE and SELECT on sequences. No TRUNCATE, REFERENCES or TRIGGER,
  no CREATE in the schema, not superuser, not the owner of anything: it cannot truncate the
  ledger, disable or drop a trigger, or set `session_replication_role` (which turns every
  trigger off).

`role_script()` is the SQL, as steps that are safe to run again; `db_roles_apply()` runs it on a
connection (the `db_roles` command), `role_script_text()` prints it for psql (the compose init
script, deploy/postgres/lailiao-roles.psql, is this text with psql variables for the names), and
`db_role_problems()` says what the connected role may do that the application role must not
(`db_roles --check`, the `check --deploy` warnings in core/checks.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

SCHEMA = "public"
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"
# Privileges the application role must hold on no table (the owner's are implicit).
FORBIDDEN_TABLE_PRIVILEGES = ("TRUNCATE", "REFERENCES", "TRIGGER")
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


@dataclass(frozen=True)
class Step:
    """One statement. A `gexec` step is a query whose rows are statements to run in turn
    (psql's \\gexec): how a script says "create the role if it is missing" without PL/pgSQL,
    whose bodies psql variables cannot reach."""

    sql: str
    gexec: bool = False


@dataclass(frozen=True)
class Names:
    """The SQL text that stands for each name: quoted identifiers and literals, or psql
    variables (`:"owner"`, `:'owner'`)."""

    owner: str
    app: str
    owner_literal: str
    app_literal: str
    database: str
    owner_password: str | None = None
    app_password: str | None = None


def names_for(*, owner: str, app: str, database: str, owner_password: str | None = None,
              app_password: str | None = None) -> Names:
    if owner == app:
        raise ValueError("the owner and the application role must be two roles")
    ident = lambda value: sql.Identifier(value).as_string(None)  # noqa: E731
    literal = lambda value: None if value is None else sql.Literal(value).as_string(None)  # noqa: E731
    return Names(owner=ident(owner), app=ident(app), owner_literal=literal(owner), app_literal=literal(app),
                 database=ident(database), owner_password=literal(owner_password),
                 app_password=literal(app_password))


# The compose init script's names: psql variables set with -v (deploy/postgres/10-lailiao-roles.sh).
PSQL_NAMES = Names(owner=':"owner"', app=':"app"', owner_literal=":'owner'", app_literal=":'app'",
                   database=':"DBNAME"', owner_password=":'owner_password'", app_password=":'app_password'")


def _create_if_missing(literal: str) -> Step:
    return Step(f"SELECT format('CREATE ROLE %I', rolname) FROM (VALUES ({literal})) AS wanted(rolname) "
                f"WHERE NOT EXISTS (SELECT FROM pg_roles WHERE pg_roles.rolname = wanted.rolname)", gexec=True)


def _adopt(owner_literal: str) -> list[Step]:
    """Hand every table, view, sequence and function of the schema that someone else owns (a
    database that was migrated as a superuser) to the owner. Sequences that belong to a column
    move with their table; objects of extensions stay where they are."""
    not_extension = ("NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
                     "AND d.objid = {oid} AND d.deptype = 'e')")
    relations = (
        "SELECT format('ALTER %s %I.%I OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' "
        "WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' "
        f"ELSE 'TABLE' END, n.nspname, c.relname, {owner_literal}) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = '{SCHEMA}' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        f"AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = {owner_literal}) "
        "AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))) "
        "AND " + not_extension.format(catalog="pg_class", oid="c.oid") + " ORDER BY c.relkind, c.relname"
    )
    routines = (
        f"SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, {owner_literal}) "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE n.nspname = '{SCHEMA}' AND p.prokind IN ('f', 'p') "
        f"AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = {owner_literal}) "
        "AND " + not_extension.format(catalog="pg_proc", oid="p.oid") + " ORDER BY 1"
    )
    return [Step(relations, gexec=True), Step(routines, gexec=True)]


def role_script(names: Names) -> list[Step]:
    """Every step, in order; running them again changes nothing. Run by a superuser (creating
    roles, handing objects over), in one transaction, so the app's grants are never half done."""
    n = names
    steps = [
        _create_if_missing(n.owner_literal),
        _create_if_missing(n.app_literal),
        Step(f"ALTER ROLE {n.owner} {ROLE_ATTRIBUTES}"),
        Step(f"ALTER ROLE {n.app} {ROLE_ATTRIBUTES}"),
    ]
    if n.owner_password is not None:
        steps.append(Step(f"ALTER ROLE {n.owner} PASSWORD {n.owner_password}"))
    if n.app_password is not None:
        steps.append(Step(f"ALTER ROLE {n.app} PASSWORD {n.app_password}"))
    steps += [
        # Both may connect; no one needs temporary tables.
        Step(f"REVOKE TEMPORARY ON DATABASE {n.database} FROM PUBLIC"),
        Step(f"GRANT CONNECT ON DATABASE {n.database} TO {n.owner}, {n.app}"),
        # PostgreSQL 15 no longer lets PUBLIC create in public; older clusters still do.
        Step(f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC"),
        Step(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM {n.app}"),
        Step(f"GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO {n.owner}"),
        Step(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {n.app}"),
        *_adopt(n.owner_literal),
        # Existing objects: exactly the app's privileges, whatever it held before.
        Step(f"REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM {n.app}"),
        Step(f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {SCHEMA} TO {n.app}"),
        Step(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {SCHEMA} FROM {n.app}"),
        Step(f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {n.app}"),
        # Objects later migrations create (as the owner) get the same, without another run.
        Step(f"ALTER DEFAULT PRIVILEGES FOR ROLE {n.owner} IN SCHEMA {SCHEMA} REVOKE ALL ON TABLES FROM {n.app}"),
        Step(f"ALTER DEFAULT PRIVILEGES FOR ROLE {n.owner} IN SCHEMA {SCHEMA} "
             f"GRANT {TABLE_PRIVILEGES} ON TABLES TO {n.app}"),
        Step(f"ALTER DEFAULT PRIVILEGES FOR ROLE {n.owner} IN SCHEMA {SCHEMA} REVOKE ALL ON SEQUENCES FROM {n.app}"),
        Step(f"ALTER DEFAULT PRIVILEGES FOR ROLE {n.owner} IN SCHEMA {SCHEMA} "
             f"GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCES TO {n.app}"),
    ]
    return steps


def role_script_text(names: Names) -> str:
    """The steps as a psql script (`\\gexec` after the queries that produce statements)."""
    lines = []
    for step in role_script(names):
        lines.append(step.sql + ("\n\\gexec" if step.gexec else ";"))
    return "\n".join(lines) + "\n"


def db_roles_apply(*, connection, owner: str, app: str, owner_password: str | None = None,
                   app_password: str | None = None) -> list[str]:
    """Run the script on a Django connection (as a superuser), in one transaction. Returns the
    statements run, passwords masked."""
    from django.db import transaction

    executed = []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        names = names_for(owner=owner, app=app, database=database, owner_password=owner_password,
                          app_password=app_password)
        masks = {p: "'…'" for p in (names.owner_password, names.app_password) if p is not None}
        for step in role_script(names):
            statements = [step.sql]
            if step.gexec:
                cursor.execute(step.sql)
                statements = [row[0] for row in cursor.fetchall()]
            for statement in statements:
                cursor.execute(statement)
                for secret, mask in masks.items():
                    statement = statement.replace(secret, mask)
                executed.append(statement)
    return executed


@dataclass(frozen=True)
class Problem:
    """Something the connected role may do that the application role must not. `kind` is one
    of superuser, owner, privilege, attribute."""

    kind: str
    message: str


_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
                 "AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'")


def _sample(count: int, names: list[str]) -> str:
    return ", ".join(names) + (f" and {count - len(names)} more" if count > len(names) else "")


def db_role_problems(cursor) -> list[Problem]:
    """What the role this cursor's connection logged in as could do to get round the database's
    rules. Empty for a correctly granted application role. Works on a Django or a psycopg cursor."""
    problems: list[Problem] = []
    cursor.execute("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                   "FROM pg_roles WHERE rolname = current_user")
    role, superuser, createrole, createdb, replication, bypassrls = cursor.fetchone()
    if superuser:  # may do everything below, and more: one line says it
        return [Problem("superuser", f"role {role} is a superuser: it can truncate any table, disable "
                                     f"triggers and set session_replication_role")]
    for flag, name in ((createrole, "CREATEROLE"), (createdb, "CREATEDB"), (replication, "REPLICATION"),
                       (bypassrls, "BYPASSRLS")):
        if flag:
            problems.append(Problem("attribute", f"role {role} has {name}"))

    cursor.execute("SELECT count(*), (array_agg(n.nspname || '.' || c.relname ORDER BY n.nspname, c.relname))[1:5] "
                   "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   f"WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                   "AND pg_has_role(current_user, c.relowner, 'MEMBER')")
    count, sample = cursor.fetchone()
    if count:
        problems.append(Problem("owner", f"role {role} owns (or is a member of the owner of) {count} relation(s), "
                                         f"e.g. {_sample(count, sample)}: an owner can disable and drop triggers"))

    for privilege in FORBIDDEN_TABLE_PRIVILEGES:  # no query parameters: '%' is LIKE's here
        cursor.execute("SELECT count(*), (array_agg(n.nspname || '.' || c.relname ORDER BY n.nspname, c.relname))[1:5] "
                       "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       f"WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, '{privilege}')")
        count, sample = cursor.fetchone()
        if count:
            problems.append(Problem("privilege", f"role {role} has {privilege} on {count} table(s), "
                                                 f"e.g. {_sample(count, sample)}"))

    cursor.execute(f"SELECT array_agg(n.nspname ORDER BY n.nspname) FROM pg_namespace n WHERE {_USER_SCHEMAS} "
                   "AND has_schema_privilege(n.oid, 'CREATE')")
    (schemas,) = cursor.fetchone()
    if schemas:
        problems.append(Problem("privilege", f"role {role} may create objects in schema(s) {', '.join(schemas)}"))
    cursor.execute("SELECT has_database_privilege(current_database(), 'CREATE'), "
                   "pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), "
                   "'MEMBER'), current_setting('server_version_num')::int")
    create_schema, owns_database, version = cursor.fetchone()
    if owns_database:
        problems.append(Problem("owner", f"role {role} owns the database"))
    elif create_schema:
        problems.append(Problem("privilege", f"role {role} may create schemas in the database"))
    if version >= 150000:  # SET on a superuser-only parameter is grantable since 15
        cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        if cursor.fetchone()[0]:
            problems.append(Problem("privilege", f"role {role} may set session_replication_role"))
    return problems
