"""Plain Django views: the health endpoint, the single-page app's index and the error pages."""
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer

from . import health
from .errors import error_body, too_large


@never_cache
@require_GET
def healthz(request):
    report = health.overall()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@never_cache
@ensure_csrf_cookie
@require_GET
def spa_index(request):
    index = settings.FRONTEND_DIST / "index.html"
    if index.exists():
        return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    return render(request, "core/frontend_missing.html", status=200)


class SwaggerView(SpectacularSwaggerSplitView):
    """The interactive API docs. The page loads its init script from `?script=` (the split view),
    so the Content-Security-Policy needs no inline script. Only its GET has a template: anything
    else (OPTIONS, a 405) answers JSON, where drf-spectacular's view crashes for want of one."""

    renderer_classes = [TemplateHTMLRenderer, JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        if request.method not in ("GET", "HEAD"):
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)


# --- Error pages: the one error shape under /api/, Django's HTML pages elsewhere --------------
# Wired in config/urls.py (handler400/403/404/500) and settings.CSRF_FAILURE_VIEW. DRF views
# answer their own errors (core.errors.api_exception_handler); these cover what happens outside
# them: an unknown /api/ path, a request refused before any view, an unhandled exception.

def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def _error(code: str, message, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})


def bad_request(request, exception=None):
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    oversized = too_large(exception) if exception is not None else None
    if oversized is not None:
        return _error(oversized.code, oversized.message, oversized.status_code)
    return _error("bad_request", _("The request is not valid."), 400)


def permission_denied(request, exception=None):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _error("permission_denied", _("You do not have permission to perform this action."), 403)


def page_not_found(request, exception=None):
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _error("not_found", _("Not found."), 404)


def server_error(request):
    """Django has logged the exception with its traceback (logger django.request); the client
    learns nothing of it but that it was not its fault."""
    if not _is_api(request):
        return defaults.server_error(request)
    return _error("server_error", _("Something went wrong on our side; it has been logged. Please try again later."),
                  500)


def csrf_failure(request, reason=""):
    if not _is_api(request):
        return django_csrf_failure(request, reason=reason)
    return _error("csrf_failed", _("The CSRF token is missing or wrong; reload the page."), 403)
