"""URL map: the API under /api/, health at /healthz, admin, and the web app at the root."""
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import healthz, spa_index

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("brokers.urls")),
    path("api/", include("orders.urls")),
    path("api/", include("payments.urls")),
    # Client-side routes of the single-page app; anything under /api/ stays a real 404.
    re_path(r"^(?!api/|admin/|static/|media/|ws/|healthz).*$", spa_index, name="spa"),
]
