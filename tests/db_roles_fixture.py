"""`app_role_connection`: a psycopg connection to this test database as an application role
granted exactly as production's (core/db_roles.py), to prove what raw SQL the app cannot do.

The session's `db_roles` runs `db_roles_apply` once: an owner role takes over the test
database's tables (migrated as postgres) and the app role gets the app's grants; both are
dropped at the end, the tables handed back. Role names are cluster-wide, so they carry the test
database's name (one per checkout and xdist worker). Tests that use the connection see only
committed rows: they run with django_db(transaction=True) (the fixture asks for
`transactional_db`). The connection is in autocommit; wrap statements that belong together in
`with conn.transaction():`."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class DbRoles:
    owner: str
    app: str
    password: str
    host: str
    port: int
    dbname: str

    def conninfo(self, user: str) -> dict:
        return {"host": self.host, "port": self.port, "dbname": self.dbname, "user": user,
                "password": self.password, "connect_timeout": 5}

    def url(self, user: str) -> str:
        return f"postgres://{user}:{self.password}@{self.host}:{self.port}/{self.dbname}"


@pytest.fixture(scope="session")
def db_roles(django_db_setup, django_db_blocker):
    from django.db import connection

    from core.db_roles import db_roles_apply

    if connection.vendor != "postgresql":
        pytest.skip("database roles need PostgreSQL")
    settings = connection.settings_dict
    name = settings["NAME"]
    roles = DbRoles(owner=f"{name}_owner", app=f"{name}_app", password=secrets.token_hex(16),
                    host=settings["HOST"] or "127.0.0.1", port=int(settings["PORT"] or 5432), dbname=name)
    with django_db_blocker.unblock():
        db_roles_apply(connection=connection, owner=roles.owner, app=roles.app,
                       owner_password=roles.password, app_password=roles.password)
    yield roles
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        owner, app = (connection.ops.quote_name(role) for role in (roles.owner, roles.app))
        cursor.execute(f"REASSIGN OWNED BY {owner} TO CURRENT_USER")
        # their privileges (the objects are back); one role at a time: in one statement
        # PostgreSQL trips over the default ACL that names both
        cursor.execute(f"DROP OWNED BY {owner}")
        cursor.execute(f"DROP OWNED BY {app}")
        cursor.execute(f"DROP ROLE {app}")
        cursor.execute(f"DROP ROLE {owner}")


@pytest.fixture
def app_role_connection(db_roles, transactional_db):
    import psycopg

    conn = psycopg.connect(**db_roles.conninfo(db_roles.app), autocommit=True)
    try:
        yield conn
    finally:
        conn.close()
