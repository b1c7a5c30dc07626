"""The session clock (tests/conftest.py): `--clock=INSTANT` or LAILIAO_TEST_CLOCK runs a whole
session at that instant, ticking, in every xdist worker, with the test database, async tests and
hypothesis; a test's own time_machine.travel nests inside it."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import CLOCK_ENV, parse_clock

REPO = Path(__file__).resolve().parents[2]

INNER = '''
import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given, settings, strategies as st

FIRST = dt.date(2027, 3, 1)


def test_plain():
    assert timezone.localdate() == FIRST and dt.datetime.now(dt.timezone.utc).date() == dt.date(2027, 2, 28)


@pytest.mark.django_db
def test_database_rows_are_stamped_at_the_instant():
    from accounts.models import User

    user = User.objects.create(username="clock")
    assert timezone.localtime(user.date_joined).date() == FIRST


async def test_async():
    assert timezone.localdate() == FIRST


@settings(max_examples=5, deadline=None)
@given(st.integers())
def test_hypothesis(n):
    assert timezone.localdate() == FIRST


def test_a_test_travels_further_and_comes_back():
    with time_machine.travel(dt.datetime(2028, 2, 29, 4, tzinfo=dt.timezone.utc), tick=False):
        assert timezone.localdate() == dt.date(2028, 2, 29)
    assert timezone.localdate() == FIRST
'''


def run_inner(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A small session with the project's conftest."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = config.settings.test\n"
        f"pythonpath = {REPO / 'backend'} {REPO}\nasyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n")
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F401,F403\n")
    (tmp_path / "test_inner.py").write_text(INNER)
    clean = {k: v for k, v in os.environ.items()
             if k not in (CLOCK_ENV, "DATABASE_URL", "REDIS_URL", "LAILIAO_REQUIRE_SERVICES")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nomigrations", *args], cwd=tmp_path, env=clean | (env or {}),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("how", ["option, two xdist workers", "environment, one process"])
def test_a_session_runs_at_the_chosen_instant_in_every_worker(tmp_path, how):
    instant = "2027-03-01T00:30:00+08:00"
    if how.startswith("option"):
        done = run_inner(tmp_path, "-n", "2", f"--clock={instant}")
    else:
        done = run_inner(tmp_path, "-n", "0", env={CLOCK_ENV: instant})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "5 passed" in done.stdout


def test_a_date_or_naive_time_is_asia_shanghai_and_garbage_is_a_usage_error():
    utc = dt.timezone.utc
    assert parse_clock("2027-03-01T00:30:00+08:00") == dt.datetime(2027, 2, 28, 16, 30, tzinfo=utc)
    assert parse_clock("2027-03-01T00:30") == dt.datetime(2027, 2, 28, 16, 30, tzinfo=utc)
    assert parse_clock("2028-02-29") == dt.datetime(2028, 2, 28, 16, 0, tzinfo=utc)
    assert parse_clock(" 2026-12-31T15:30:00Z ") == dt.datetime(2026, 12, 31, 15, 30, tzinfo=utc)
    with pytest.raises(pytest.UsageError, match="not an ISO 8601"):
        parse_clock("tomorrow")
