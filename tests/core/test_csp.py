"""The Content-Security-Policy (django-csp, config/settings/base.py; issue 10 § 1): every page
and API answer carries it, and what it allows is what the web app, the API docs and the admin
need: none of them has an inline script, so script-src is 'self' alone."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings


pytestmark = pytest.mark.django_db

EXPECTED = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class Scripts(HTMLParser):
    """The <script> elements of a page: their src (None for an inline one) and type."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            self.scripts.append({"src": values.get("src"), "type": values.get("type")})
        self.handlers += [name for name in values if name.startswith("on")]


def scripts_of(html: str) -> Scripts:
    parser = Scripts()
    parser.feed(html)
    return parser


def assert_no_inline_script(html: str) -> None:
    page = scripts_of(html)
    inline = [s for s in page.scripts if s["src"] is None and s["type"] not in ("application/json",)]
    assert not inline, inline
    assert not page.handlers, page.handlers
    assert "javascript:" not in html


def test_the_web_app_at_the_root_has_the_policy(client, settings, tmp_path):
    (tmp_path / "index.html").write_text(
        '<!doctype html><title>来料</title><script type="module" crossorigin src="/assets/index.js"></script>',
        encoding="utf-8")
    settings.FRONTEND_DIST = tmp_path
    response = client.get("/")
    assert response.status_code == 200
    assert policy(response) == EXPECTED


def test_the_page_shown_before_the_app_is_built_has_the_policy_and_no_script(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path  # no index.html there
    response = client.get("/")
    assert policy(response) == EXPECTED
    assert_no_inline_script(response.content.decode())


def test_the_web_apps_html_has_no_inline_script():
    # the source page, and the Vite build when there is one (frontend/dist, `npm run build`)
    pages = [django_settings.REPO_DIR / "frontend" / "index.html", django_settings.FRONTEND_DIST / "index.html"]
    checked = 0
    for page in pages:
        if page.exists():
            assert_no_inline_script(page.read_text(encoding="utf-8"))
            checked += 1
    assert checked >= 1


def test_an_api_answer_has_the_policy(client_for, personas):
    response = client_for(personas.firm).get("/api/orders/")
    assert response.status_code == 200
    assert policy(response) == EXPECTED
    assert policy(client_for(None).get("/api/orders/")) == EXPECTED  # a refusal too


def test_the_api_docs_load_their_script_from_a_file_not_inline(client):
    # given the docs page
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert policy(response) == EXPECTED
    html = response.content.decode()
    assert_no_inline_script(html)
    assert "validator.swagger.io" not in html
    # when its scripts are fetched, each is our own file and the init script is JavaScript
    sources = [s["src"] for s in scripts_of(html).scripts]
    assert all(src.startswith("/") and not src.startswith("//") for src in sources), sources
    init = next(src for src in sources if "script" in src.split("?", 1)[-1])
    script = client.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    body = script.content.decode()
    assert "SwaggerUIBundle(" in body and '"validatorUrl": null' in body


def test_the_admin_has_the_policy_and_no_inline_script(client, personas):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert policy(response) == EXPECTED
    assert_no_inline_script(response.content.decode())
    client.force_login(personas.admin)
    for path in ["/admin/", "/admin/orders/order/", "/admin/orders/order/add/"]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert policy(page) == EXPECTED
        assert_no_inline_script(page.content.decode())


def test_the_policy_names_no_host_but_our_own():
    flat = " ".join(v for values in django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].values() for v in values)
    assert not re.search(r"https?://|\*|'unsafe-eval'", flat)
