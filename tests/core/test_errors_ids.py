"""An id no database column can hold (20 digits) is a 400, never a 500: SQLite's driver cannot
bind an integer over 64 bits. Fields that take ids refuse it by name (core.fields.IdField); any
other path that lets one reach the driver is answered by the exception handler's net."""
from __future__ import annotations

import pytest
from django.utils import timezone

from core.fields import MAX_ID

from ..factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
HUGE = 10**20


def post(client, path, body):
    return client.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("field", ["procedure", "worker", "bundle"])
def test_a_huge_id_in_a_piece_log_is_a_400_naming_the_field(personas, client_for, field):
    body = {"bundle": 1, "worker": personas.worker_record.pk, "procedure": 1, "quantity": 1,
            "work_date": timezone.localdate().isoformat(), "client_id": "huge-id-0001", field: HUGE}
    response = post(client_for(personas.broker), "/api/piece-logs/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]


def test_the_largest_id_a_column_holds_is_looked_up_not_refused(personas, client_for):
    body = {"bundle": MAX_ID, "worker": personas.worker_record.pk, "procedure": 1, "quantity": 1,
            "work_date": timezone.localdate().isoformat(), "client_id": "huge-id-0002"}
    response = post(client_for(personas.broker), "/api/piece-logs/", body)
    assert response.status_code == 404  # no such bundle in her workforce's work


def test_a_huge_village_id_is_a_400(personas, client_for):
    response = client_for(personas.broker).patch(f"/api/workers/{personas.worker_record.pk}/",
                                                 {"village": HUGE}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_too_short_new_password_is_refused_in_chinese(personas, client_for):
    """Django 5.2 changed this message and its own zh_Hans catalogue lacks the new one: ours has it."""
    response = client_for(personas.worker).post("/api/auth/password/", {
        "old_password": TEST_PASSWORD, "new_password": "1x"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    messages = response.json()["fields"]["new_password"]
    assert "密码太短，至少需要 8 个字符。" in messages
