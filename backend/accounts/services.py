"""Account actions: logging in (session or token) and logging out."""
from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from core.errors import ValidationFailed

from .models import User
from .throttles import login_succeeded


def credentials_check(*, request, username: str, password: str) -> User:
    """The user these credentials name, or 400 `invalid_credentials` (the same for an unknown
    name, a wrong password and an inactive user). The login limits (accounts/throttles.py) run
    inside authenticate(); a locked-out client's answer becomes a 429 in axes's middleware."""
    # the Django request, not DRF's wrapper: axes marks it, and its middleware reads the mark
    http_request = getattr(request, "_request", request)
    user = authenticate(http_request, username=username, password=password)
    if user is None:
        raise ValidationFailed(
            _("The username/phone or password is not correct."), code="invalid_credentials"
        )
    login_succeeded(request=http_request, user=user)
    return user


def session_login(*, request, username: str, password: str) -> User:
    user = credentials_check(request=request, username=username, password=password)
    login(request, user)
    return user


def session_logout(*, request) -> None:
    logout(request)


def token_issue(*, request, username: str, password: str) -> Token:
    user = credentials_check(request=request, username=username, password=password)
    token, _created = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()
