"""Settings load both ways: the embedded default with no variables, and services from the
environment; the production settings pass `check --deploy`."""
from __future__ import annotations

import json
import secrets


from ..helpers import clean_env, manage

PROBE = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'db': s.DATABASES['default']['ENGINE'], 'db_name': str(s.DATABASES['default']['NAME']),"
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'broker': s.CELERY_BROKER_URL,"
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'cache': s.CACHES['default']['BACKEND'], 'debug': s.DEBUG,"
    "'hosts': s.ALLOWED_HOSTS, 'init': s.DATABASES['default'].get('OPTIONS', {}).get('init_command', '')}))"
)


def probe(env) -> dict:
    result = manage("shell", "-c", PROBE, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_without_any_variable(tmp_path):
    values = probe(clean_env(tmp_path))
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["db_name"].endswith("lailiao.sqlite3")
    assert "journal_mode=WAL" in values["init"]
    assert values["layer"] == "channels.layers.InMemoryChannelLayer"
    assert values["broker"] == "memory://"
    assert values["eager"] is True
    assert values["cache"].endswith("LocMemCache")
    assert values["debug"] is False
    assert (tmp_path / "var" / "secret_key").exists()


def test_services_from_the_environment(tmp_path):
    env = clean_env(
        tmp_path,
        DATABASE_URL="postgres://lailiao:pw@db.internal:5432/lailiao",
        REDIS_URL="redis://cache.internal:6379/2",
        ALLOWED_HOSTS="lailiao.example.cn,api.lailiao.example.cn",
        DEBUG="1",
    )
    values = probe(env)
    assert values["db"] == "django.db.backends.postgresql"
    assert values["db_name"] == "lailiao"
    assert values["layer"] == "channels_redis.core.RedisChannelLayer"
    assert values["broker"] == "redis://cache.internal:6379/2"
    assert values["eager"] is False
    assert values["cache"].endswith("RedisCache")
    assert values["debug"] is True
    assert values["hosts"] == ["lailiao.example.cn", "api.lailiao.example.cn"]


def test_a_bad_boolean_is_a_clear_error(tmp_path):
    result = manage("check", env=clean_env(tmp_path, DEBUG="maybe"))
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    env = clean_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="lailiao.example.cn",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production")
    env.pop("SECRET_KEY", None)
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


