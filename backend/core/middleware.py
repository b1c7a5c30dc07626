"""Language of the response: `Accept-Language` when the client sends one, otherwise the
logged-in user's preference, otherwise the site default (zh-hans)."""
from __future__ import annotations

from django.conf import settings
from django.utils import translation


def _token_user_language(request) -> str | None:
    if not request.META.get("HTTP_AUTHORIZATION"):
        return None
    from .authentication import token_user  # the API's check, kept on the request for the view

    user = token_user(request)
    return user.language if user is not None else None


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        if not request.META.get("HTTP_ACCEPT_LANGUAGE"):
            user = getattr(request, "user", None)
            language = getattr(user, "language", None) if user is not None and user.is_authenticated else None
            language = language or _token_user_language(request)
            if language in self.supported:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
