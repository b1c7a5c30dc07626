"""Test wiring. Tests marked `postgres` or `redis` need the real service: in the plain SQLite
run they are deselected (reported as such, never skipped); in the services run
(LAILIAO_REQUIRE_SERVICES=1, set by .ci/run) a missing service fails the whole session."""
from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

REQUIRE_SERVICES = os.environ.get("LAILIAO_REQUIRE_SERVICES") == "1"


def _has_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def _has_redis() -> bool:
    return bool(os.environ.get("REDIS_URL"))


def pytest_configure(config):
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
