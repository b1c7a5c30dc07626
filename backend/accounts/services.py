"""Account actions: logging in (session or token) and out, API tokens per device, changing
one's password."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, ValidationFailed

from .models import DEVICE_MAX_LENGTH, AuthToken, User
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


def token_issue(*, request, username: str, password: str, device: str = "") -> tuple[AuthToken, str]:
    """A new token for the device named (by default its User-Agent): the row and the key, which
    exists only in this answer."""
    user = credentials_check(request=request, username=username, password=password)
    device = device.strip() or request.META.get("HTTP_USER_AGENT", "").strip()[:DEVICE_MAX_LENGTH].strip()
    return token_create(user=user, device=device)


def token_create(*, user: User, device: str = "") -> tuple[AuthToken, str]:
    """At most settings.API_TOKENS_PER_USER live tokens: the expired ones go, then the oldest
    beyond the limit."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).exists()  # one issue at a time: the limit holds
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        keep = max(settings.API_TOKENS_PER_USER - 1, 0)
        oldest = list(AuthToken.objects.filter(user=user).order_by("-created", "-id").values_list("pk", flat=True)[keep:])
        if oldest:
            AuthToken.objects.filter(pk__in=oldest).delete()
        return AuthToken.objects.create(user=user, device=device[:DEVICE_MAX_LENGTH])


def token_revoke(*, user: User, token_id: int | None) -> None:
    """Revoke one of the user's tokens; another's, or none, is a 404."""
    deleted, _rows = AuthToken.objects.filter(user=user, pk=token_id).delete() if token_id else (0, {})
    if not deleted:
        raise NotFound(_("No such token of yours."), code="token_not_found")


def token_revoke_all(*, user: User) -> int:
    """Revoke every token of the user; how many there were."""
    deleted, _rows = AuthToken.objects.filter(user=user).delete()
    return deleted


def password_change(*, request, user: User, old_password: str, new_password: str) -> int:
    """Set a new password (Django's validators): every API token of the user is revoked (the User
    signal in models.py) and every other session ends; a session making the change stays logged
    in. How many tokens were revoked."""
    if not user.check_password(old_password):
        raise ValidationFailed(_("The current password is not correct."), code="wrong_password",
                               field="old_password")
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        raise ValidationFailed(_("The new password is not accepted."), code="invalid_password",
                               fields={"new_password": list(error.messages)}) from None
    with transaction.atomic():
        revoked = AuthToken.objects.filter(user=user).count()
        user.set_password(new_password)
        user.save(update_fields=["password"])
    if request.auth is None:  # a session: keep it (its auth hash follows the password); others die
        update_session_auth_hash(request, user)
    return revoked
