"""Login limits must not leak from one test to the next: axes's rows are rolled back with each
test's transaction and tests/conftest.py clears the cache, but a test that commits (transaction
=True, or a --reuse-db run after an interrupted one) would leave locked-out clients behind."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_login_lockouts(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None and "db" not in request.fixturenames:
        yield
        return
    from axes.models import AccessAttempt, AccessLog

    request.getfixturevalue("transactional_db" if marker and marker.kwargs.get("transaction") else "db")
    AccessAttempt.objects.all().delete()
    AccessLog.objects.all().delete()
    yield
