"""The one error contract of the API: every error is `{"code", "message", "fields"}`.

Domain code raises `DomainError` subclasses with a stable `code`; `api_exception_handler` turns
those and DRF's own exceptions into the shape above, with a translated message and the right
status. The frontend switches on `code`, never on `message`."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A business rule said no. Subclasses fix the HTTP status and a default code/message."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_message = _("The request is not valid.")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        params: dict[str, Any] | None = None,
        field: str | None = None,
    ) -> None:
        """`field` names the one input the message is about (it then also appears in `fields`)."""
        self.code = code or self.code
        self.message = str(message or self.default_message)
        if params:
            self.message = self.message % params
        self.fields = fields or ({field: [self.message]} if field else {})
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = _("Not found.")


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = _("You do not have permission to perform this action.")


class Conflict(DomainError):
    """An illegal state change: the object is not in a state that allows this move."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = _("This action is not allowed in the object's current state.")


class BodyNotParsed(ValidationFailed):
    """The JSON body is not one object nested at most core.parsers.MAX_DEPTH deep."""

    code = "parse_error"
    default_message = _("The request body could not be parsed.")


class TooLarge(DomainError):
    """The request is over the size limits of settings.DATA_UPLOAD_* (docs/api.md)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "request_too_large"
    default_message = _("The request is too large.")


def too_large(exc: Exception) -> TooLarge | None:
    """Django's refusal of an oversized request as a 413, or None for any other exception."""
    if isinstance(exc, RequestDataTooBig):
        return TooLarge(_("The request body is larger than the limit of %(bytes)d bytes."),
                        params={"bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    if isinstance(exc, TooManyFieldsSent):
        return TooLarge(_("The request has more than %(count)d fields."), code="too_many_fields",
                        params={"count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})
    if isinstance(exc, TooManyFilesSent):
        return TooLarge(_("The request has more than %(count)d files."), code="too_many_files",
                        params={"count": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
    return None


def enforce_csrf(request) -> None:
    """Check the CSRF token even for an anonymous session (DRF skips it then)."""
    from rest_framework.authentication import CSRFCheck

    def no_response(request):
        return None

    check = CSRFCheck(no_response)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise Forbidden(_("The CSRF token is missing or wrong; reload the page."), code="csrf_failed")


_DRF_CODES: dict[type[Exception], tuple[str, Any]] = {
    drf_exceptions.NotAuthenticated: ("not_authenticated", _("Please log in first.")),
    drf_exceptions.AuthenticationFailed: ("authentication_failed", _("Your credentials were not accepted.")),
    drf_exceptions.PermissionDenied: ("permission_denied", _("You do not have permission to perform this action.")),
    drf_exceptions.NotFound: ("not_found", _("Not found.")),
    drf_exceptions.MethodNotAllowed: ("method_not_allowed", _("This method is not allowed here.")),
    drf_exceptions.NotAcceptable: ("not_acceptable", _("The requested format is not available.")),
    drf_exceptions.UnsupportedMediaType: ("unsupported_media_type", _("Unsupported content type.")),
    drf_exceptions.ParseError: ("parse_error", _("The request body could not be parsed.")),
}


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail → {"field": ["message", ...]}; nested fields join with '.'."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and not all(isinstance(v, (str, drf_exceptions.ErrorDetail)) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        elif isinstance(value, list):
            fields.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
        else:
            fields.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return fields


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "fields": fields or {}}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler. What it returns None for is a bug: Django logs it with its
    traceback and answers with config.urls' handler500 (core.views.server_error)."""
    exc = too_large(exc) or exc
    if isinstance(exc, OverflowError):
        # a number no column can hold reached the database driver (SQLite binds 64-bit integers
        # only); the fields that take ids refuse them first (core.fields.IdField), this is the net
        return Response(error_body("invalid", _("A number in the request is too large.")), status=400)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, drf_exceptions.ValidationError):
        body = error_body("invalid", _("Some fields are not valid."), _flatten(exc.detail))
    elif isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 0)
        body = error_body("throttled", _("Too many attempts. Try again in %(seconds)d seconds.") % {"seconds": wait})
    else:
        code, message = next(
            ((c, m) for cls, (c, m) in _DRF_CODES.items() if isinstance(exc, cls)),
            (getattr(exc, "default_code", "error"), getattr(exc, "detail", "")),
        )
        body = error_body(code, message)
    response.data = body
    return response
