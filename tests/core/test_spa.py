"""The web app is served at the root; API paths stay JSON 404s."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_root_serves_the_app_or_tells_how_to_build_it(client, settings):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lailiao" in html
    assert "csrftoken" in response.cookies


def test_client_routes_fall_back_to_the_app(client):
    assert client.get("/broker/orders/12").status_code == 200


def test_built_index_is_served_when_present(client, settings, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>来料 Lailiao built</title>", encoding="utf-8")
    settings.FRONTEND_DIST = tmp_path
    assert "built" in client.get("/").content.decode()


def test_unknown_api_path_is_not_the_app(client):
    assert client.get("/api/nothing-here/").status_code == 404
