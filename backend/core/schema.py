"""The OpenAPI schema's view of every operation: besides its success answer, each error it can
give, all in the one error shape (component `Error`), so a client generated from the schema
knows every status it may meet. Views add an operation's own extra codes with
`extend_schema(responses=...)`; the rules by method and route kind live here, once."""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance, is_list_serializer, is_serializer
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API: a stable code to switch on, a translated message, and the "
                   "messages per input field (nested fields joined with '.', bulk rows as rows.<i>.<field>).",
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "message": {"type": "string", "example": "Some fields are not valid."},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["code", "message", "fields"],
}

ERROR_DESCRIPTIONS = {
    "400": "The input is not valid (`fields` names each bad input).",
    "401": "The token or credentials were not accepted.",
    "403": "Not logged in, or this user may not do this.",
    "404": "Not found, or not visible to this user: the object of the path, one the input names, or the "
           "caller's own (a broker's profile); also an invalid page cursor.",
    "409": "Not allowed in the object's current state.",
    "429": "Too many attempts; try again later.",
}

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def error(code: int) -> OpenApiResponse:
    """An operation's own extra error answer: `extend_schema(responses={200: X, **errors(404)})`."""
    return OpenApiResponse(response=ERROR_REF, description=ERROR_DESCRIPTIONS[str(code)])


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: error(code) for code in codes}


# The query parameter that never answers 400: a bad page cursor is a 404.
PAGINATION_PARAMETERS = {"cursor"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error answers by route kind, and pagination only on
    the routes that paginate (sub-lists of a detail route answer plain arrays)."""

    def _get_paginator(self):
        action = getattr(self.view, "action", None)
        if action is not None and action != "list" and action not in getattr(self.view, "paginated_actions", ()):
            return None
        return super()._get_paginator()

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """Lists say how many items they take (drf-spectacular omits allow_empty and a nested
        list's min_length/max_length)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema and isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = _decimal_pattern(field)
        if schema and schema.get("type") == "array" and (is_list_serializer(field) or isinstance(field, serializers.ListField)):
            least = getattr(field, "min_length", None) or (0 if getattr(field, "allow_empty", True) else 1)
            if least:
                schema["minItems"] = max(schema.get("minItems", 0), least)
            if getattr(field, "max_length", None) is not None and "maxItems" not in schema:
                schema["maxItems"] = field.max_length
        return schema

    def _map_basic_serializer(self, serializer, direction):
        """`Meta.schema_optional`: fields an answer leaves out for some readers (not required)."""
        schema = super()._map_basic_serializer(serializer, direction)
        optional = getattr(getattr(serializer, "Meta", None), "schema_optional", ())
        if optional and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in optional]
        return schema

    def map_parsers(self):
        """Bodies are documented as JSON (nested inputs have no form encoding), or multipart for
        uploads; the form parsers the web app's file upload uses still accept flat forms."""
        types = super().map_parsers()
        serializer = force_instance(self.get_request_serializer())
        uploads = is_serializer(serializer) and any(
            isinstance(field, serializers.FileField) for field in getattr(serializer, "fields", {}).values())
        wanted = "multipart/form-data" if uploads else "application/json"
        return [wanted] if wanted in types else types

    def _get_filter_parameters(self):
        """Filters apply to `list` only; a detail route's sub-list (orders/{id}/bids) takes none."""
        action = getattr(self.view, "action", None)
        if action is not None and action != "list":
            return []
        return super()._get_filter_parameters()

    def _is_public(self) -> bool:
        permissions = self.view.get_permissions() if hasattr(self.view, "get_permissions") else []
        return bool(permissions) and all(isinstance(p, AllowAny) for p in permissions)

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        component = ResolvedComponent(name="Error", type=ResolvedComponent.SCHEMA, object="Error",
                                      schema=ERROR_SCHEMA)
        registry.register_on_missing(component)
        for code in self._error_codes(operation):
            operation["responses"].setdefault(code, {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {"application/json": {"schema": component.ref}},
            })
        operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        takes_query = any(p["in"] == "query" and p["name"] not in PAGINATION_PARAMETERS for p in parameters)
        has_path_ids = any(p["in"] == "path" for p in parameters)
        paginated = any(p["in"] == "query" and p["name"] == "cursor" for p in parameters)
        public = self._is_public()
        authenticates = bool(getattr(self.view, "authentication_classes", None)) or not public
        codes = []
        if "requestBody" in operation or takes_query:
            codes.append("400")
        if not public:
            codes.append("401")
        if authenticates or self.method not in SAFE_METHODS:
            codes.append("403")  # public writes: the CSRF check
        if has_path_ids or paginated or (self.method not in SAFE_METHODS and not self.path.startswith("/api/auth/")):
            codes.append("404")  # writes: the services answer 404 for an object the input names but may not be seen
        if self.method not in SAFE_METHODS and not self.path.startswith("/api/auth/"):
            codes.append("409")
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        return codes


def _decimal_pattern(field: serializers.DecimalField) -> str:
    """drf-spectacular's `^-?\\d{0,8}(?:\\.\\d{0,4})?$` admits "" and "-", which are not numbers;
    this one needs a digit, and a sign only where negatives are allowed."""
    places = field.decimal_places or 0
    whole = (field.max_digits - places) if field.max_digits is not None else None
    digits = f"[0-9]{{1,{whole}}}" if whole else ("0" if whole == 0 else "[0-9]+")
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    if not places:
        return f"^{sign}{digits}$"
    return f"^{sign}(?:{digits}(?:\\.[0-9]{{0,{places}}})?|\\.[0-9]{{1,{places}}})$"
