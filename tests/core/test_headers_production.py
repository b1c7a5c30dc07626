"""The production settings' headers on real responses (issue 10 § 6): the app is run with
config.settings.production in a fresh interpreter (its own SQLite database, migrated), and
Django's test client sends requests through the whole middleware stack as the reverse proxy
would, `X-Forwarded-Proto: https` (SECURE_PROXY_SSL_HEADER). A real admin login sets the session
cookie. Checked: HSTS with subdomains, Secure + HttpOnly + SameSite session cookie, SameSite
CSRF cookie (readable by script: the web app sends it back), X-Frame-Options, Referrer-Policy,
nosniff, Cross-Origin-Opener-Policy, the Content-Security-Policy, and plain HTTP redirected."""
from __future__ import annotations

import json
import secrets

import pytest

from ..helpers import clean_env, manage

HOST = "lailiao.example.cn"

PROBE = r"""
import json
from django.test import Client
from accounts.models import Role, User

User.objects.create_superuser(username="ops", password="a long production password", role=Role.ADMIN)
https = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "%(host)s"}
client = Client()

def seen(response):
    return {"status": response.status_code, "headers": dict(response.headers),
            "cookies": {name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"]),
                               "samesite": c["samesite"]} for name, c in response.cookies.items()}}

out = {
    "root": seen(client.get("/", **https)),
    "api": seen(client.get("/api/orders/", **https)),
    "login": seen(client.post("/admin/login/?next=/admin/", {"username": "ops",
                              "password": "a long production password"}, **https)),
    "plain": seen(Client().get("/", HTTP_HOST="%(host)s")),
    "health": seen(Client().get("/healthz", HTTP_HOST="%(host)s")),
}
print("PROBE " + json.dumps(out))
""" % {"host": HOST}


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("production")
    (tmp / "dist").mkdir()
    (tmp / "dist" / "index.html").write_text(
        '<!doctype html><title>来料</title><script type="module" src="/assets/index.js"></script>', encoding="utf-8")
    env = clean_env(tmp, DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=secrets.token_urlsafe(64),
                    ALLOWED_HOSTS=HOST, CSRF_TRUSTED_ORIGINS=f"https://{HOST}", FRONTEND_DIST=str(tmp / "dist"),
                    STATIC_ROOT=str(tmp / "static"), MEDIA_ROOT=str(tmp / "media"))
    migrated = manage("migrate", "--noinput", env=env, timeout=240)
    assert migrated.returncode == 0, migrated.stderr
    result = manage("shell", "-c", PROBE, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE "))


def csp(headers: dict) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in headers["Content-Security-Policy"].split(";"))}


@pytest.mark.parametrize("page", ["root", "api", "login"])
def test_every_https_answer_has_the_security_headers(answers, page):
    headers = answers[page]["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = csp(headers)
    assert policy["script-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"] and policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"] and policy["img-src"] == ["'self'", "data:"]
    # the page's own websocket, named for browsers whose 'self' does not cover wss:
    assert policy["connect-src"] == ["'self'", f"wss://{HOST}"]


def test_the_app_is_served_and_the_api_answers_json(answers):
    assert answers["root"]["status"] == 200
    assert answers["api"]["status"] == 403  # anonymous: the one error shape
    assert answers["api"]["headers"]["Content-Type"] == "application/json"


def test_the_session_cookie_is_secure_httponly_and_same_site(answers):
    login = answers["login"]
    assert login["status"] == 302, login
    assert login["cookies"]["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_the_csrf_cookie_is_secure_and_same_site_and_readable_by_the_web_app(answers):
    for page in ("root", "login"):
        assert answers[page]["cookies"]["csrftoken"] == {"secure": True, "httponly": False, "samesite": "Lax"}


def test_plain_http_is_redirected_to_https_except_the_health_check(answers):
    assert answers["plain"]["status"] == 301
    assert answers["plain"]["headers"]["Location"] == f"https://{HOST}/"
    assert answers["health"]["status"] in (200, 503)  # answered over HTTP for the orchestrator
    assert "Strict-Transport-Security" not in answers["health"]["headers"]  # HSTS only over HTTPS
