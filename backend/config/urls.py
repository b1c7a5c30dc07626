"""URL map: the API under /api/, health at /healthz, admin, and the web app at the root."""
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from core.views import SwaggerView, healthz, spa_index

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("brokers.urls")),
    path("api/", include("orders.urls")),
    path("api/", include("payments.urls")),
    path("api/", include("subsidies.urls")),
    # Client-side routes of the single-page app; anything under /api/ stays a real 404.
    re_path(r"^(?!api/|admin/|static/|media/|ws/|healthz).*$", spa_index, name="spa"),
]

# Errors outside DRF's views (an unknown /api/ path, an oversized body, a crash): JSON in the
# one error shape under /api/, Django's pages elsewhere.
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
