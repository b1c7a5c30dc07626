"""The raw-SQL attacks of tests/db_attacks.py, sent as the application role that production
connects as (core/db_roles.py, granted exactly as `manage.py db_roles` grants it): every one is
refused there too, and the role cannot switch the guards off first (issue 10 § 5; the refusals
of TRUNCATE, session_replication_role and trigger changes one by one are in
tests/core/test_db_roles.py)."""
from __future__ import annotations

import psycopg
import pytest

from ..db_attacks import ATTACKS, attempt, build_world, refused_as_expected

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SWITCH_OFF = [
    "SET session_replication_role = replica",
    "ALTER TABLE payments_entry DISABLE TRIGGER ALL",
    "ALTER TABLE brokers_piecelog DISABLE TRIGGER USER",
    "DROP TRIGGER payments_entry_immutable ON payments_entry",
    "TRUNCATE payments_entry CASCADE",
]


def let_through(conn, world) -> list[str]:
    failures = []
    for attack in ATTACKS:
        before = attack.read(conn, world)
        refusal = attempt(conn, attack, world)
        if not refused_as_expected(refusal, attack):
            failures.append(f"{attack}: {refusal!r}")
        elif attack.read(conn, world) != before:
            failures.append(f"{attack}: refused, but its rows changed")
    return failures


def test_every_attack_is_refused_as_the_application_role(personas, app_role_connection):
    world = build_world(personas)
    with app_role_connection.cursor() as cursor:
        cursor.execute("SELECT current_user, usesuper FROM pg_user WHERE usename = current_user")
        user, superuser = cursor.fetchone()
    assert user.endswith("_app") and superuser is False
    assert len(ATTACKS) >= 30
    assert let_through(app_role_connection, world) == []


def test_the_application_role_cannot_switch_the_guards_off_first(personas, app_role_connection):
    world = build_world(personas)
    for statement in SWITCH_OFF:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with app_role_connection.cursor() as cursor:
                cursor.execute(statement)
    # and, having tried, it is no further: each attack is still refused
    assert let_through(app_role_connection, world) == []
