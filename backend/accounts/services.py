"""Account actions: logging in (session or token) and logging out."""
from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from core.errors import ValidationFailed

from .models import User


def credentials_check(*, request, username: str, password: str) -> User:
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise ValidationFailed(
            _("The username/phone or password is not correct."), code="invalid_credentials"
        )
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
