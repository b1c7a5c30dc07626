"""Shared checks of API answers: a client that asks for English (the messages tests assert), and
the one error shape of a refusal naming its field."""
from __future__ import annotations

from rest_framework.test import APIClient


def english_client(user) -> APIClient:
    """An APIClient logged in as `user`, asking for English messages."""
    c = APIClient()
    c.force_authenticate(user=user)
    c.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return c


def refused(response, field: str, message: str | None = None, code: str = "invalid") -> dict:
    """A 400 in the one error shape with `code`, naming `field` (with exactly `message`, if given)."""
    assert response.status_code == 400, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    assert field in body["fields"], body
    if message is not None:
        assert body["fields"][field] == [message], body
    return body
