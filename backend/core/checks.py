"""System checks. `check --deploy` warns when the application's database role could get round
the database's own rules (core/db_roles.py): a superuser, the tables' owner, TRUNCATE."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .db_roles import db_role_problems

ROLE_WARNING_IDS = {"superuser": "core.W001", "owner": "core.W002", "privilege": "core.W003",
                    "attribute": "core.W004"}
HINT = ("Connect web, worker and beat as the application role: `manage.py db_roles` creates it, "
        "`manage.py db_roles --check` verifies it (README, Production).")


@register(Tags.security, Tags.database, deploy=True)
def check_database_role(app_configs=None, databases=None, **kwargs):
    if not settings.DATABASE_ROLE_CHECK:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            problems = db_role_problems(cursor)
    except DatabaseError as exc:
        return [Warning(f"Could not check the database role: {exc}".strip(), hint=HINT, id="core.W005")]
    return [Warning(f"The application's database role is too powerful: {problem.message}.", hint=HINT,
                    id=ROLE_WARNING_IDS[problem.kind]) for problem in problems]
