"""The real URL map plus views that fail on purpose, for tests/core/test_errors_pages.py."""
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_protect
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500, urlpatterns as real  # noqa: F401


class Crash(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret detail: database password is hunter2")


def plain_crash(request):
    raise RuntimeError("secret detail: database password is hunter2")


@csrf_protect
def protected(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/test-crash/", Crash.as_view()),
    path("api/test-plain-crash/", plain_crash),
    path("api/test-csrf/", protected),
    path("test-crash/", plain_crash),
    path("test-csrf/", protected),
    *real,
]
