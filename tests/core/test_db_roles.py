"""Production's two database roles (core/db_roles.py, manage.py db_roles, docker-compose.yml):
the application role reads and writes rows and nothing else — it cannot truncate, disable or drop
a trigger, turn triggers off with session_replication_role, or create objects — and the owner
migrates. `check --deploy` and `db_roles --check` say when the app connects as more."""
from __future__ import annotations

import os
import secrets
import subprocess
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from core.checks import check_database_role
from core.db_roles import db_role_problems

from ..helpers import REPO, clean_env, manage

postgres = pytest.mark.postgres


# --- The SQL, one source --------------------------------------------------------------------


def test_the_compose_init_script_is_the_generated_one():
    out = StringIO()
    call_command("db_roles", "--init-script", stdout=out)
    committed = (REPO / "deploy" / "postgres" / "lailiao-roles.psql").read_text()
    assert out.getvalue() == committed, "regenerate: cd backend && manage.py db_roles --init-script > ../deploy/postgres/lailiao-roles.psql"


def test_the_script_grants_rows_only_and_quotes_names_and_passwords():
    out = StringIO()
    call_command("db_roles", "--owner", 'own"er', "--app", "app", "--app-password", "it's", "--print", stdout=out)
    script = out.getvalue()
    assert 'ALTER ROLE "own""er" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;' in script
    assert """ALTER ROLE "app" PASSWORD 'it''s';""" in script
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"app\";" in script
    assert ('ALTER DEFAULT PRIVILEGES FOR ROLE "own""er" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE '
            'ON TABLES TO "app";') in script
    assert "REVOKE CREATE ON SCHEMA public FROM PUBLIC;" in script
    grants = [line for line in script.splitlines() if "GRANT" in line and "REVOKE" not in line]
    for word in ("TRUNCATE", "REFERENCES", "TRIGGER", "GRANT ALL", "PRIVILEGES TO"):
        assert not any(word in line for line in grants), word


def test_the_owner_and_the_app_are_two_roles():
    with pytest.raises(CommandError, match="two different roles"):
        call_command("db_roles", "--owner", "same", "--app", "same", "--print")


@override_settings(DATABASE_ROLE_CHECK=False)
def test_the_deploy_check_can_be_turned_off():
    assert check_database_role() == []


# --- As the application role, on PostgreSQL ------------------------------------------------

REFUSED = {
    "truncate": "TRUNCATE payments_entry",
    "truncate cascade": "TRUNCATE payments_transaction CASCADE",
    "session_replication_role": "SET session_replication_role = replica",
    "disable triggers": "ALTER TABLE payments_entry DISABLE TRIGGER ALL",
    "disable one trigger": "ALTER TABLE payments_entry DISABLE TRIGGER payments_entry_immutable",
    "drop trigger": "DROP TRIGGER payments_entry_immutable ON payments_entry",
    "replace a trigger function": "CREATE OR REPLACE FUNCTION payments_refuse_change() RETURNS trigger "
                                  "AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
    "create a table": "CREATE TABLE public.h_roles_probe (id int)",
    "create a function": "CREATE FUNCTION public.h_roles_probe() RETURNS int AS 'SELECT 1' LANGUAGE sql",
    "create a temporary table": "CREATE TEMPORARY TABLE h_roles_probe (id int)",
    "create a trigger": "CREATE TRIGGER h_roles_probe BEFORE DELETE ON payments_entry "
                        "FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    "drop the table": "DROP TABLE payments_entry",
    "take the table": "ALTER TABLE payments_entry OWNER TO CURRENT_USER",
    "create a schema": "CREATE SCHEMA h_roles_probe",
    "session_replication_role for the role": "ALTER ROLE CURRENT_USER SET session_replication_role = replica",
    "become superuser": "ALTER ROLE CURRENT_USER SUPERUSER",
    "run a program": "COPY payments_entry TO PROGRAM 'true'",
}


@postgres
@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
def test_the_app_role_is_refused(app_role_connection, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_role_connection.execute(statement)


@postgres
def test_the_app_role_cannot_grant_itself_more(app_role_connection):
    # PostgreSQL answers a grant without the grant option with a warning, and grants nothing
    app_role_connection.execute("GRANT TRUNCATE, TRIGGER ON payments_entry TO CURRENT_USER")
    assert app_role_connection.execute(
        "SELECT has_table_privilege('payments_entry', 'TRUNCATE'), has_table_privilege('payments_entry', 'TRIGGER')"
    ).fetchone() == (False, False)


@postgres
def test_the_app_role_cannot_become_the_owner(app_role_connection, db_roles):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_role_connection.execute(f'SET ROLE "{db_roles.owner}"')


@postgres
def test_the_app_role_is_no_superuser_and_owns_nothing(app_role_connection):
    with app_role_connection.cursor() as cursor:
        assert db_role_problems(cursor) == []
        cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
                       "FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False, False, False)
        cursor.execute("SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid) "
                       "+ (SELECT count(*) FROM pg_proc WHERE proowner = r.oid) "
                       "+ (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) "
                       "+ (SELECT count(*) FROM pg_database WHERE datdba = r.oid) "
                       "FROM pg_roles r WHERE r.rolname = current_user")
        assert cursor.fetchone() == (0,)


@postgres
def test_the_owner_owns_every_table_and_the_app_role_can_use_them_all(app_role_connection, db_roles):
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
                       "AND c.relkind IN ('r', 'p', 'v', 'S') AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)",
                       [db_roles.owner])
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")
        (tables,) = cursor.fetchone()
    rows = app_role_connection.execute(
        "SELECT count(*) FILTER (WHERE has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE')), "
        "count(*) FILTER (WHERE has_table_privilege(c.oid, 'TRUNCATE, REFERENCES, TRIGGER')) "
        "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'").fetchone()
    assert tables > 40 and rows == (tables, 0)


@postgres
def test_the_app_role_does_the_apps_work(app_role_connection):
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    # given a row the test committed through Django
    store = SessionStore()
    store["probe"] = 1
    store.create()
    conn = app_role_connection
    # when the app role reads, inserts (with an identity sequence), updates and deletes
    assert conn.execute("SELECT count(*) FROM django_session WHERE session_key = %s",
                        [store.session_key]).fetchone() == (1,)
    conn.execute("INSERT INTO django_session (session_key, session_data, expire_date) "
                 "VALUES ('h-roles-probe', 'x', now() + interval '1 day')")
    conn.execute("UPDATE django_session SET session_data = 'y' WHERE session_key = 'h-roles-probe'")
    (content_type,) = conn.execute("INSERT INTO django_content_type (app_label, model) "
                                   "VALUES ('h_roles', 'probe') RETURNING id").fetchone()
    with conn.transaction():
        conn.execute("SELECT * FROM payments_entry FOR UPDATE")
        conn.execute("DELETE FROM django_content_type WHERE id = %s", [content_type])
    conn.execute("DELETE FROM django_session WHERE session_key = %s", [store.session_key])
    # then Django sees it all
    assert list(Session.objects.values_list("session_key", "session_data")) == [("h-roles-probe", "y")]


@postgres
def test_tables_a_later_migration_creates_are_granted_without_another_run(app_role_connection, db_roles):
    # given a table the owner creates after the roles were set up (as `migrate` would)
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{db_roles.owner}"')
        try:
            cursor.execute("CREATE TABLE h_roles_later (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                           "note text NOT NULL)")
        finally:
            cursor.execute("RESET ROLE")
    try:
        # then the app writes rows in it, and still may not truncate it
        app_role_connection.execute("INSERT INTO h_roles_later (note) VALUES ('new')")
        assert app_role_connection.execute("SELECT note FROM h_roles_later").fetchall() == [("new",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_role_connection.execute("TRUNCATE h_roles_later")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE h_roles_later")


# --- db_roles and the deploy check ---------------------------------------------------------


@postgres
@pytest.mark.django_db(transaction=True)
def test_db_roles_check_fails_on_a_superuser_connection():
    with pytest.raises(CommandError, match="is a superuser"):
        call_command("db_roles", "--check")


@postgres
@pytest.mark.django_db(transaction=True)
def test_the_deploy_check_warns_on_a_superuser_connection():
    warnings = check_database_role()
    assert [w.id for w in warnings] == ["core.W001"]
    assert "superuser" in warnings[0].msg


@postgres
def test_db_roles_check_passes_as_the_app_role_and_fails_as_the_owner(db_roles, transactional_db, tmp_path):
    ok = manage("db_roles", "--check", env=clean_env(tmp_path, DATABASE_URL=db_roles.url(db_roles.app)))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "not superuser, owns nothing" in ok.stdout
    owner = manage("db_roles", "--check", env=clean_env(tmp_path, DATABASE_URL=db_roles.url(db_roles.owner)))
    assert owner.returncode != 0
    assert "owns (or is a member of the owner of)" in owner.stderr and "TRUNCATE" in owner.stderr


@postgres
def test_check_deploy_is_clean_as_the_app_role_and_warns_as_the_owner(db_roles, transactional_db, tmp_path):
    def check_deploy(user):
        env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production",
                        SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="lailiao.example.cn",
                        DATABASE_URL=db_roles.url(user))
        return manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    app = check_deploy(db_roles.app)
    assert app.returncode == 0, app.stdout + app.stderr
    owner = check_deploy(db_roles.owner)
    assert owner.returncode != 0
    assert "core.W002" in owner.stderr and "core.W003" in owner.stderr


@postgres
def test_db_roles_runs_again_without_changing_anything(db_roles, app_role_connection):
    out = StringIO()
    call_command("db_roles", "--owner", db_roles.owner, "--app", db_roles.app, stdout=out, stderr=StringIO())
    assert "roles ready" in out.getvalue()
    assert "ALTER TABLE" not in out.getvalue()  # the owner already owns everything
    with app_role_connection.cursor() as cursor:
        assert db_role_problems(cursor) == []
    # the password was kept: a new connection still logs in
    psycopg.connect(**db_roles.conninfo(db_roles.app)).close()


# --- docker-compose.yml wiring (scripts/check-compose) ------------------------------------


def check_compose(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    """scripts/check-compose on `text` placed beside the repository's Dockerfile and deploy/."""
    for name in ("Dockerfile", "deploy"):
        if not (tmp_path / name).exists():
            (tmp_path / name).symlink_to(REPO / name)
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "CHECK_COMPOSE_ENV_FILE"}
    return subprocess.run([str(REPO / "scripts" / "check-compose"), str(path)], capture_output=True, text=True,
                          env=env, timeout=60)


COMPOSE = (REPO / "docker-compose.yml").read_text()
APP_URL = "DATABASE_URL: postgres://lailiao_app:${LAILIAO_DB_APP_PASSWORD:-lailiao_app}@postgres:5432/lailiao"
OWNER_URL = "DATABASE_URL: postgres://lailiao_owner:${LAILIAO_DB_OWNER_PASSWORD:-lailiao_owner}@postgres:5432/lailiao"
MIGRATE_DEPENDENCY = "migrate:\n        condition: service_completed_successfully"
BROKEN = {
    "app as the superuser": (APP_URL, "DATABASE_URL: postgres://postgres:${POSTGRES_PASSWORD:-postgres}@postgres:5432/lailiao",
                             "connects as the superuser"),
    "migrate as the app": (OWNER_URL, APP_URL, "does not match the owner role"),
    "web as the owner": (APP_URL, OWNER_URL, "services.web: DATABASE_URL user 'lailiao_owner' does not match the app role"),
    "no init script": ("      - ./deploy/postgres:/docker-entrypoint-initdb.d:ro\n", "", "mount the roles init script"),
    "init script elsewhere": ("./deploy/postgres:/docker-entrypoint-initdb.d", "./scripts:/docker-entrypoint-initdb.d",
                              "has no 10-lailiao-roles.sh"),
    "no app role": ("      LAILIAO_DB_APP: lailiao_app\n", "", "LAILIAO_DB_APP and LAILIAO_DB_APP_PASSWORD must be set"),
    "web before migrate": (MIGRATE_DEPENDENCY, "migrate:\n        condition: service_started",
                           "services.web.depends_on: must depend on migrate with condition: service_completed_successfully"),
}


def test_the_compose_file_wires_the_roles(tmp_path):
    assert OWNER_URL in COMPOSE and APP_URL in COMPOSE
    result = check_compose(tmp_path, COMPOSE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("old, new, error", BROKEN.values(), ids=BROKEN.keys())
def test_check_compose_refuses_broken_role_wiring(tmp_path, old, new, error):
    assert old in COMPOSE
    result = check_compose(tmp_path, COMPOSE.replace(old, new, 1))
    assert result.returncode == 1
    assert error in result.stderr
