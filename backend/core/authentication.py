"""API token authentication: django-rest-knox's hashed, expiring tokens (settings.REST_KNOX, the
model is accounts.AuthToken), sent as `Authorization: Token <key>`.

One check for the API, the language middleware and websockets. Use pushes the expiry on and
records `last_used`, each at most once per MIN_REFRESH_INTERVAL, so most requests write nothing.
An expired token is deleted when it is presented (and the user's other expired ones with it).
The outcome is kept on the Django request, so a request is looked up once however many layers ask."""
from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth as knox_auth
from knox.settings import knox_settings
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

_KEPT = "_lailiao_token_auth"
# knox keys are 64 hex characters (with TOKEN_PREFIX at most 74): anything much longer is not one
MAX_KEY_LENGTH = 100


class TokenAuthentication(knox_auth.TokenAuthentication):
    def authenticate(self, request):
        django_request = getattr(request, "_request", request)
        header = get_authorization_header(request)
        kept = getattr(django_request, _KEPT, None)
        if kept is not None and kept[0] == header:
            outcome = kept[1]
        else:
            try:
                outcome = self._authenticate(header)
            except exceptions.AuthenticationFailed as refused:
                outcome = refused
            setattr(django_request, _KEPT, (header, outcome))
        if isinstance(outcome, exceptions.AuthenticationFailed):
            raise outcome
        return outcome

    def _authenticate(self, header: bytes):
        parts = header.split()
        if not parts or parts[0].lower() != knox_settings.AUTH_HEADER_PREFIX.lower().encode():
            return None  # no token: another scheme (the session) may still authenticate
        if len(parts) != 2 or len(parts[1]) > MAX_KEY_LENGTH:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            parts[1].decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return self.authenticate_credentials(parts[1])

    def authenticate_header(self, request):
        # A refused token is a 401 with the challenge; a request without one keeps the 403 of
        # "not logged in" (docs/api.md), as DRF answers when the first scheme has no challenge.
        header = get_authorization_header(request).split()
        if header and header[0].lower() == knox_settings.AUTH_HEADER_PREFIX.lower().encode():
            return knox_settings.AUTH_HEADER_PREFIX
        return None

    def renew_token(self, auth_token) -> None:
        now = timezone.now()
        interval = knox_settings.MIN_REFRESH_INTERVAL
        expiry = now + knox_settings.TOKEN_TTL
        if knox_settings.AUTO_REFRESH_MAX_TTL is not None:
            expiry = min(expiry, auth_token.created + knox_settings.AUTO_REFRESH_MAX_TTL)
        changed = []
        if (expiry - auth_token.expiry).total_seconds() > interval:
            auth_token.expiry = expiry
            changed.append("expiry")
        if auth_token.last_used is None or (now - auth_token.last_used).total_seconds() > interval:
            auth_token.last_used = now
            changed.append("last_used")
        if changed:
            auth_token.save(update_fields=changed)


def token_user(request):
    """The active user of the request's token, or None (no token, or one refused): for code outside
    DRF's views (the language middleware). Refusing is left to the view."""
    try:
        outcome = TokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    return outcome[0] if outcome else None


def user_for_key(key: str):
    """The active user of a token key, or None: for websockets (no request)."""
    try:
        key.encode("utf-8")
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        return TokenAuthentication().authenticate_credentials(key.encode("utf-8"))[0]
    except (exceptions.AuthenticationFailed, UnicodeError):
        return None


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization",
                                                   token_prefix=knox_settings.AUTH_HEADER_PREFIX)
