"""Test settings: base plus speed-ups. DATABASE_URL and REDIS_URL still choose the services."""
import os

from .base import *  # noqa: F401,F403
from .base import CACHES, CHANNEL_LAYERS, REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Parallel test workers (pytest -n) share one Redis: keep their groups and caches apart, since
# each worker's database hands out the same ids (broker.2 in one is not broker.2 in another).
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
if REDIS_URL:
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] += f"-{_worker}"
    # tests clear the cache by this prefix (never FLUSHDB, which would wipe the channel layer's
    # groups and Celery's queues under another test's feet)
    CACHES["default"]["KEY_PREFIX"] = f"lailiao-test-cache-{_worker}"
