"""A cursor that is not one of our page links is a 400 naming `cursor` on every paged list, never
a 404 or a 500 (a base64 `p=abc` once reached the id filter as text)."""
from __future__ import annotations

import base64

import pytest

pytestmark = pytest.mark.django_db

LISTS = ["/api/organisations/", "/api/subsidies/claims/", "/api/subsidies/audit/", "/api/subsidies/policies/"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("cursor", [b64("p=abc"), b64("p=1e5"), b64("p=" + "9" * 30), "zzz", b64("o=x"),
                                    b64("p=1&r=x")])
def test_a_forged_cursor_is_a_400_naming_cursor(client_for, personas, url, cursor):
    response = client_for(personas.admin).get(url, {"cursor": cursor}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_cursor" and list(body["fields"]) == ["cursor"]


def test_our_own_next_link_still_pages(client_for, personas):
    client = client_for(personas.admin)
    first = client.get("/api/organisations/", {"page_size": 1}).json()
    assert first["next"]
    second = client.get(first["next"]).json()
    assert second["results"] and second["results"][0]["id"] != first["results"][0]["id"]
