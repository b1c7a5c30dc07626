"""The OpenAPI schema tells the truth: schemathesis generates requests for every operation from
/api/schema/ (valid and invalid ones) and sends each to the app in-process as five personas of
the demo (a firm, a broker owner, a worker, an auditor, anonymous), with all of its checks: no
server error, every status code, content type, header and body as documented, invalid input
refused and valid input accepted.

Run it alone: `.venv/bin/python -m pytest tests/core/test_schemathesis.py -q -p no:cacheprovider`
(`SCHEMATHESIS_EXAMPLES=<n>` fuzzes more per operation). Reproducible: a fixed seed, derandomized
Hypothesis without an example database, the demo seeded at a fixed instant, all rolled back."""
from __future__ import annotations

import itertools
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from ..conftest import clear_cache

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
# a Wednesday in the middle of a month: the demo has a closed, paid last month and a live one
INSTANT = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PERSONAS = {"firm": "firm", "broker": "broker1", "worker": "worker1", "auditor": "auditor", "anonymous": None}
# The demo's ids are small: a generated id is swapped for one of these half the time, so that
# detail routes answer their real objects too, not only 404s.
DEMO_IDS = st.integers(min_value=1, max_value=40)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, seeded once for the module inside a transaction rolled back at its end (each
    test's own transaction is a savepoint within it); the personas' API tokens."""
    from accounts.models import AuthToken, User

    # As Django's test client does: a request must not close the connection (inside the test's
    # transaction, close_old_connections would, on PostgreSQL).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock(), time_machine.travel(INSTANT, tick=True):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", verbosity=0)
            tokens = {name: AuthToken.objects.create(user=User.objects.get(username=username), device="schemathesis")[1]
                      for name, username in PERSONAS.items() if username}
            yield tokens
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


def _load_schema():
    config = SchemathesisConfig.from_dict({
        "seed": 20261118,
        # the personas' tokens are the credentials: none generated from the security schemes
        "generation": {"max-examples": EXAMPLES, "database": "none", "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        # a schema-valid request may still break a business rule the schema cannot say (an id that
        # exists, a procedure of the bundle's order, a month the broker can pay): a 400 naming the field
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]}},
    })
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=config)

    @loaded.hook
    def flatmap_path_parameters(context, path_parameters):
        if not path_parameters:
            return st.just(path_parameters)
        return st.fixed_dictionaries({
            name: st.one_of(st.just(value), DEMO_IDS) if isinstance(value, int) else st.just(value)
            for name, value in path_parameters.items()
        })

    return loaded


# Loaded at collection (the schema view needs no database): one test per operation.
schema = _load_schema()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, demo):
    # each generated request goes as the next persona in turn (per operation, so reproducible)
    persona = next(_turns.setdefault(case.operation.label, itertools.cycle(PERSONAS)))
    clear_cache()  # the login throttles count per test worker: each request starts afresh
    headers = {"Authorization": f"Token {demo[persona]}"} if persona in demo else {}
    case.call_and_validate(headers=headers)


_turns: dict[str, itertools.cycle] = {}
