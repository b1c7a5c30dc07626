"""The OpenAPI schema is generated without warnings and validates as OpenAPI 3."""
from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate

from ..helpers import clean_env, manage

pytestmark = pytest.mark.django_db


def test_served_schema_validates(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    paths = schema["paths"]
    for path in ["/api/auth/login/", "/api/auth/me/", "/api/auth/token/", "/api/workers/", "/api/organisations/"]:
        assert path in paths


def test_error_shape_is_the_schema_of_error_responses(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)
    login = schema["paths"]["/api/auth/login/"]["post"]
    assert "200" in login["responses"]


def test_schema_generation_has_no_warnings(tmp_path):
    result = manage("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"),
                    env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_interactive_docs_are_served_without_a_cdn(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html
