"""Thin API views for accounts: parse, call a service or selector, serialise."""
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from core.errors import enforce_csrf
from core.filters import FilterSet as IdFilterSet
from core.schema import errors

from . import services
from .models import AuthToken, Jurisdiction, Organisation
from .permissions import visible_organisations
from .serializers import (
    JurisdictionSerializer,
    LoginSerializer,
    MeSerializer,
    OrganisationSerializer,
    PasswordChangeSerializer,
    TokenDeviceSerializer,
    TokenLoginSerializer,
    TokenSerializer,
    TokensRevokedSerializer,
)
from .throttles import LoginAddressThrottle


def me_payload(user) -> dict:
    from .models import User

    user = User.objects.select_related("organisation__jurisdiction", "worker__village").get(pk=user.pk)
    return MeSerializer(user).data


class CsrfView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses=inline_serializer("Csrf", {"csrfToken": serializers.CharField()}))
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return Response({"csrfToken": get_token(request)})


class LoginView(APIView):
    """Session login for the web app (send the CSRF token)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle]

    @extend_schema(request=LoginSerializer, responses=MeSerializer)
    def post(self, request):
        enforce_csrf(request)  # login CSRF: DRF only checks it for logged-in sessions
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.session_login(request=request, **data.validated_data)
        return Response(me_payload(user))


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.session_logout(request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(me_payload(request.user))

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        data = MeSerializer(request.user, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        data.save()
        return Response(me_payload(request.user))


def _current_token_id(request) -> int | None:
    return request.auth.pk if isinstance(request.auth, AuthToken) else None


class TokenView(APIView):
    """Tokens for API clients: POST credentials (and a device name) to get one, DELETE to revoke
    the one you send."""

    throttle_classes = [LoginAddressThrottle]

    def get_permissions(self):
        # revoking needs a login; any other method (POST, or one not allowed: 405) does not
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_authenticators(self):
        # Getting a token needs no session, so no CSRF check; revoking one needs a login.
        if self.request is not None and self.request.method != "DELETE":
            return []
        return super().get_authenticators()

    @extend_schema(request=TokenLoginSerializer, responses=TokenSerializer)
    def post(self, request):
        data = TokenLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.token_issue(request=request, **data.validated_data)
        # through the serializer: the expiry in local time, as the list of devices shows it
        return Response(TokenSerializer({"token": key, "id": token.pk, "device": token.device,
                                         "expiry": token.expiry}).data)

    @extend_schema(request=None, responses={204: None, **errors(404)},
                   description="Revokes the token this request is made with (404 for a session: "
                               "revoke by id at /api/auth/tokens/{id}/).")
    def delete(self, request):
        services.token_revoke(user=request.user, token_id=_current_token_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListView(APIView):
    """My API tokens, one per device, newest first (a plain list: a person has few)."""

    @extend_schema(responses=TokenDeviceSerializer(many=True))
    def get(self, request):
        tokens = AuthToken.objects.filter(user=request.user).order_by("-created", "-id")
        context = {"current_token_id": _current_token_id(request)}
        return Response(TokenDeviceSerializer(tokens, many=True, context=context).data)

    @extend_schema(request=None, responses={200: TokensRevokedSerializer}, operation_id="auth_tokens_revoke_all",
                   description="Revokes every token of yours, the one this request is made with too.")
    def delete(self, request):
        return Response({"revoked": services.token_revoke_all(user=request.user)})


class TokenDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        services.token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeThrottle(UserRateThrottle):
    """Per user: whoever holds a stolen token or session cannot guess the old password at will."""

    scope = "password_change"

    def get_rate(self):
        from django.conf import settings

        return settings.PASSWORD_CHANGE_RATE


class PasswordView(APIView):
    """Change my password: every API token of mine is revoked, every other session ends."""

    throttle_classes = [PasswordChangeThrottle]

    @extend_schema(request=PasswordChangeSerializer, responses=TokensRevokedSerializer)
    def post(self, request):
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = services.password_change(request=request, user=request.user, **data.validated_data)
        return Response({"revoked": revoked})


class JurisdictionFilter(IdFilterSet):
    class Meta:
        model = Jurisdiction
        fields = ["level", "parent", "county"]


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet):
    """The administrative tree. Public reference data for every logged-in user."""

    queryset = Jurisdiction.objects.all()
    serializer_class = JurisdictionSerializer
    filterset_class = JurisdictionFilter


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Organisation.objects.none()  # the schema generator's model; requests use get_queryset
    serializer_class = OrganisationSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return visible_organisations(self.request.user)


