"""One error shape, translated: Accept-Language first, then the user's preference."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_error_in_chinese_with_accept_language_zh_hans(api):
    response = api.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403
    assert response.json() == {"code": "not_authenticated", "message": "请先登录。", "fields": {}}
    assert response.headers["Content-Language"] == "zh-hans"


def test_error_in_english_with_accept_language_en(api):
    response = api.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "Please log in first."


def test_default_language_is_chinese(api):
    assert api.get("/api/auth/me/").json()["message"] == "请先登录。"


def test_field_errors_are_translated(api):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    token = client.get("/api/auth/csrf/").json()["csrfToken"]
    response = client.post("/api/auth/login/", {}, format="json", HTTP_X_CSRFTOKEN=token,
                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"] == "部分字段无效。"
    assert body["fields"]["username"] == ["该字段是必填项。"]


def test_user_preference_applies_without_header(personas, api):
    personas.rival_broker.language = "en"
    personas.rival_broker.save()
    api.force_login(personas.rival_broker)  # a real session, read by the middleware
    response = api.get(f"/api/workers/{personas.worker_record.pk}/")
    assert response.status_code == 404
    assert response.json()["message"] == "Not found."


def test_user_preference_applies_to_token_clients(personas, api):
    from accounts.models import AuthToken

    personas.rival_broker.language = "en"
    personas.rival_broker.save()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=personas.rival_broker)[1]}")
    assert api.get(f"/api/workers/{personas.worker_record.pk}/").json()["message"] == "Not found."


def test_header_beats_user_preference(personas, client_for):
    personas.rival_broker.language = "en"
    personas.rival_broker.save()
    response = client_for(personas.rival_broker).get(
        f"/api/workers/{personas.worker_record.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.json()["message"] == "未找到。"


def test_labels_follow_the_language(personas, client_for):
    client = client_for(personas.broker)
    assert client.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="en").json()["role_label"] == "Broker (owner)"
    assert client.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["role_label"] == "经纪人（负责人）"


def test_unknown_api_path_is_a_json_404(personas, client_for):
    response = client_for(personas.broker).get("/api/workers/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_method_not_allowed_has_the_shape(personas, client_for):
    response = client_for(personas.broker).delete("/api/jurisdictions/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
