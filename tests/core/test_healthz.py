"""/healthz and `manage.py healthcheck` report the database, channel layer and task queue."""
from __future__ import annotations

import json
import os

import pytest

from ..helpers import clean_env, manage, throwaway_redis


@pytest.mark.django_db
def test_healthz_reports_every_service(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "task_queue"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    expected_layer = "RedisChannelLayer" if os.environ.get("REDIS_URL") else "InMemoryChannelLayer"
    assert body["checks"]["channel_layer"]["backend"] == expected_layer
    assert response.headers["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_answers_503_when_a_check_fails(api, monkeypatch):
    from core import health

    def broken():
        raise ConnectionError("database is gone")

    monkeypatch.setattr(health, "check_database", lambda: health._timed(broken))
    response = api.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "status": "down", "error": "ConnectionError: database is gone", "ms": response.json()["checks"]["database"]["ms"]
    }


def test_healthcheck_command_on_the_embedded_default(tmp_path):
    env = clean_env(tmp_path)
    assert manage("migrate", "-v0", env=env).returncode == 0
    result = manage("healthcheck", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["checks"]["database"]["vendor"] == "sqlite"
    assert report["checks"]["task_queue"]["mode"] == "in-process"


@pytest.mark.redis
def test_a_stopped_redis_is_reported_down(tmp_path):
    with throwaway_redis() as (url, stop):
        env = clean_env(tmp_path, REDIS_URL=url, HEALTHZ_TIMEOUT_SECONDS="1")
        up = manage("healthcheck", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert json.loads(up.stdout)["checks"]["task_queue"]["mode"] == "broker"

        stop()
        down = manage("healthcheck", env=env)
        assert down.returncode == 1
        report = json.loads(down.stdout)
        assert report["status"] == "down"
        assert report["checks"]["channel_layer"]["status"] == "down"
        assert report["checks"]["task_queue"]["status"] == "down"
        assert report["checks"]["database"]["status"] == "ok"
