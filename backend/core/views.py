"""Plain Django views: the health endpoint and the single-page app's index."""
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from . import health


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
