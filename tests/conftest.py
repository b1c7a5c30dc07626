"""Test wiring. Tests marked `postgres` or `redis` need the real service: in the plain SQLite
run they are deselected (reported as such, never skipped); in the services run
(LAILIAO_REQUIRE_SERVICES=1, set by .ci/run) a missing service fails the whole session.

`--clock=2027-03-01T00:30:00+08:00` (or LAILIAO_TEST_CLOCK) runs the whole session at that
instant: a ticking time-machine traveller starts in every process (each xdist worker too) before
Django and the test databases are set up, and stops at the end. Tests that need a particular day
travel there themselves with time_machine (travels nest)."""
from __future__ import annotations

import datetime as dt
import os
import zoneinfo

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from .db_roles_fixture import app_role_connection, db_roles  # noqa: F401  (PostgreSQL role fixtures)

REQUIRE_SERVICES = os.environ.get("LAILIAO_REQUIRE_SERVICES") == "1"


def _has_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def _has_redis() -> bool:
    return bool(os.environ.get("REDIS_URL"))


CLOCK_ENV = "LAILIAO_TEST_CLOCK"
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE: a naive --clock is local time
_TRAVELLER = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption("--clock", default=None, metavar="INSTANT",
                     help=f"run the session with the clock set to this ISO 8601 instant, ticking from there "
                          f"(a date or a naive time is Asia/Shanghai local; env: {CLOCK_ENV})")


def parse_clock(value: str) -> dt.datetime:
    """An ISO 8601 date or datetime → an aware UTC datetime. UTC, not a ZoneInfo: time-machine
    would otherwise change the process's TZ, and Django reads its own TIME_ZONE anyway."""
    try:
        instant = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise pytest.UsageError(f"--clock / {CLOCK_ENV}: not an ISO 8601 date or datetime: {value!r}") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=LOCAL)
    return instant.astimezone(dt.timezone.utc)


def session_clock(config) -> dt.datetime | None:
    value = config.getoption("clock") or os.environ.get(CLOCK_ENV, "")
    return parse_clock(value) if value.strip() else None


def pytest_report_header(config):
    instant = session_clock(config)
    if instant is not None:
        return f"clock: {instant.astimezone(LOCAL).isoformat()} Asia/Shanghai ({instant.isoformat()}), ticking"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # First, so pytest-django (and xdist's workers, which run this hook too) start in the
    # chosen time; the traveller ticks, so timeouts and durations still pass.
    instant = session_clock(config)
    if instant is not None:
        import time_machine

        traveller = time_machine.travel(instant, tick=True)
        traveller.start()
        config.stash[_TRAVELLER] = traveller
    _check_services(config)


def pytest_unconfigure(config):
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()
        del config.stash[_TRAVELLER]


def _check_services(config):
    if not REQUIRE_SERVICES:
        return
    problems = []
    if not _has_postgres():
        problems.append("DATABASE_URL does not point at PostgreSQL")
    if not _has_redis():
        problems.append("REDIS_URL is not set")
    else:
        import redis

        try:
            redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=2).ping()
        except Exception as exc:
            problems.append(f"Redis does not answer at {os.environ['REDIS_URL']}: {exc}")
    if _has_postgres():
        import psycopg

        try:
            # the maintenance database: the test database does not exist yet
            url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
            psycopg.connect(url, connect_timeout=3).close()
        except Exception as exc:
            problems.append(f"PostgreSQL does not answer: {exc}")
    if problems:
        pytest.exit("services run, but: " + "; ".join(problems), returncode=3)


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        if (item.get_closest_marker("postgres") and not _has_postgres()) or (
            item.get_closest_marker("redis") and not _has_redis()
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def clear_cache() -> None:
    """Forget throttle counters and cached lookups. On Redis only this test worker's keys: a
    FLUSHDB would also drop the channel layer's groups and Celery's queued tasks of tests
    running at the same time."""
    from django.conf import settings

    config = settings.CACHES["default"]
    if config["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{config['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def personas(db):
    from .personas import build_personas

    return build_personas()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)` → an APIClient logged in as that user (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture(autouse=True, scope="session")
def _sqlite_flush_past_the_guards():
    """On SQLite the test runner's flush (transactional tests) empties tables with DELETE, which
    the append-only triggers refuse (migrations brokers 0006, payments 0006): they stand aside
    while `lailiao_maintenance` holds a row, so the flush sets it in its own transaction.
    PostgreSQL flushes with TRUNCATE, which fires no row triggers."""
    if _has_postgres():
        yield
        return
    from django.db.backends.sqlite3.base import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, ["INSERT OR IGNORE INTO lailiao_maintenance (id) VALUES (1)", *sql_list,
                               "DELETE FROM lailiao_maintenance"])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original
