"""The OpenAPI schema is generated without warnings and validates as OpenAPI 3."""
from __future__ import annotations

import re

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


# --- the schema tells the truth (issue 9, item 4) ------------------------------------------------

@pytest.fixture
def schema(api):
    return yaml.safe_load(api.get("/api/schema/").content)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_error_shape_is_one_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message", "fields"]
    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["message"]["type"] == "string"
    assert error["properties"]["fields"] == {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        for code, response in responses.items():
            if code >= "400":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if path != "/api/auth/csrf/":
            assert "403" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method != "get" and not path.startswith("/api/auth/"):
            assert {"404", "409"} <= set(responses), (method, path)
        if method == "get" and not any(p["in"] == "query" and p["name"] != "cursor"
                                       for p in operation.get("parameters", [])):
            assert "400" not in responses, (method, path)  # nothing taken, nothing to refuse
    for path in ["/api/auth/login/", "/api/auth/token/"]:
        assert set(schema["paths"][path]["post"]["responses"]) == {"200", "400", "403", "429"}
    assert "401" in schema["paths"]["/api/auth/token/"]["delete"]["responses"]
    assert "404" in schema["paths"]["/api/broker-profiles/me/capacity/"]["get"]["responses"]


def test_created_is_201_and_downloads_have_their_media_types(schema):
    paths = schema["paths"]
    assert set(paths["/api/orders/"]["post"]["responses"]) & {"200", "201"} == {"201"}
    assert set(paths["/api/payroll-runs/"]["post"]["responses"]) & {"200", "201"} == {"200", "201"}
    assert list(paths["/api/payslips/{id}/pdf/"]["get"]["responses"]["200"]["content"]) == ["application/pdf"]
    assert list(paths["/api/payout-batches/{id}/bank-file/"]["get"]["responses"]["200"]["content"]) == ["text/csv"]
    assert list(paths["/api/bundles/tickets/"]["get"]["responses"]["200"]["content"]) == ["application/pdf"]


@pytest.mark.parametrize("path", [
    "/api/orders/{id}/bids/", "/api/orders/{id}/awards/", "/api/orders/{id}/events/", "/api/orders/{id}/attachments/",
    "/api/villages/{id}/status/", "/api/broker-profiles/me/capacity/", "/api/receivables/",
])
def test_sub_lists_are_plain_arrays_without_list_filters(schema, path):
    operation = schema["paths"][path]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert not {p["name"] for p in operation.get("parameters", [])} & {"cursor", "page_size", "status", "category"}


def test_paginated_lists_say_so_and_bound_page_size(schema):
    operation = schema["paths"]["/api/orders/"]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page == "#/components/schemas/PaginatedOrderListList"
    page_size = next(p for p in operation["parameters"] if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    # the payslips of a run are a page too
    assert "cursor" in {p["name"] for p in schema["paths"]["/api/payroll-runs/{id}/payslips/"]["get"]["parameters"]}


def test_nullable_fields_are_nullable(schema):
    components = schema["components"]["schemas"]
    assert components["PayrollRun"]["properties"]["since_month"]["nullable"] is True
    me = components["Me"]["properties"]
    assert me["organisation"]["nullable"] is True
    assert me["jurisdiction"]["nullable"] is True
    assert me["worker_id"]["nullable"] is True


def test_months_are_yyyy_mm_strings(schema):
    components = schema["components"]["schemas"]
    month = {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}
    for component, field in [("PayrollRun", "month"), ("PayrollRun", "since_month"), ("Payslip", "month"),
                             ("PayoutBatch", "month"), ("PayslipLine", "work_month"), ("PayrollRunInputRequest", "month")]:
        prop = components[component]["properties"][field]
        assert {k: prop[k] for k in month} == month, (component, field)
        assert "format" not in prop
    parameter = next(p for p in schema["paths"]["/api/payroll-runs/"]["get"]["parameters"] if p["name"] == "month")
    assert parameter["schema"]["pattern"] == month["pattern"]


def test_decimal_inputs_need_a_digit(schema):
    rate = schema["components"]["schemas"]["PieceRateInputRequest"]["properties"]["rate"]
    pattern = re.compile(rate["pattern"])
    assert [bool(pattern.match(v)) for v in ["0.25", "12", ".5", "", "-", "."]] == [
        True, True, True, False, False, False]


def test_bodies_are_json_and_uploads_multipart(schema):
    assert list(schema["paths"]["/api/orders/"]["post"]["requestBody"]["content"]) == ["application/json"]
    assert list(schema["paths"]["/api/orders/{id}/attachments/"]["post"]["requestBody"]["content"]) == [
        "multipart/form-data"]


# --- what the schema documents is what the API does ------------------------------------------

def test_a_filter_on_an_unknown_id_is_an_empty_list_not_a_400(personas, client_for):
    response = client_for(personas.firm).get("/api/awards/", {"broker": 999999})
    assert response.status_code == 200
    response = client_for(personas.firm).get("/api/bids/", {"order": 999999})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("query, field", [
    ("page_size=0", "page_size"), ("page_size=501", "page_size"), ("page_size=null", "page_size"),
    ("status=", "status"), ("quantity_min=0.5", "quantity_min"), ("open=null", "open"), ("bid=0", None),
])
def test_a_bad_filter_or_page_size_is_a_400_naming_it(personas, client_for, query, field):
    response = client_for(personas.firm).get(f"/api/orders/?{query}")
    if field is None:  # not a parameter of the list: ignored
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_a_number_is_not_text_nor_money(personas, client_for):
    client = client_for(personas.firm)
    response = client.patch("/api/auth/me/", {"display_name": 0}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["display_name"]
    response = client.patch("/api/auth/me/", {"display_name": "陈"}, format="json")
    assert response.status_code == 200


def test_an_undocumented_method_on_the_token_route_is_405(api):
    assert api.generic("TRACE", "/api/auth/token/").status_code == 405
    assert api.get("/api/auth/token/").status_code == 405
    assert api.delete("/api/auth/token/").status_code in (401, 403)


def test_training_of_zero_days_is_a_400_not_a_500(personas, client_for):
    from brokers.models import BrokerProfile

    BrokerProfile.objects.get_or_create(organisation=personas.broker_org)
    response = client_for(personas.broker).post("/api/broker-profiles/me/training/", {
        "course": "缝纫", "completed_on": "2026-11-02", "days": 0, "certificate_no": ""}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["days"]


def test_month_field_reads_and_prints_exactly_yyyy_mm():
    from datetime import date

    from rest_framework import serializers

    from core.fields import MonthField

    field = MonthField()
    assert field.to_internal_value("0780-04") == date(780, 4, 1)
    assert field.to_representation(date(780, 4, 1)) == "0780-04"
    assert field.to_representation(date(2026, 11, 30)) == "2026-11"
    for bad in ["2026-1", "2026-13", "2026-00", "0000-01", "2026-11-01", " 2026-11", 202611, None]:
        with pytest.raises(serializers.ValidationError):
            field.to_internal_value(bad)
