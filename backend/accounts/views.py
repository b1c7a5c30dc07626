"""Thin API views for accounts: parse, call a service or selector, serialise."""
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import enforce_csrf
from core.filters import FilterSet as IdFilterSet

from . import services
from .models import Jurisdiction, Organisation
from .permissions import visible_organisations
from .serializers import (
    JurisdictionSerializer,
    LoginSerializer,
    MeSerializer,
    OrganisationSerializer,
    TokenSerializer,
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


class TokenView(APIView):
    """Token for API clients: POST credentials to get one, DELETE to revoke yours."""

    throttle_classes = [LoginAddressThrottle]

    def get_permissions(self):
        # revoking needs a login; any other method (POST, or one not allowed: 405) does not
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_authenticators(self):
        # Getting a token needs no session, so no CSRF check; revoking one needs a login.
        from rest_framework.authentication import TokenAuthentication

        if self.request is not None and self.request.method != "DELETE":
            return []
        return [TokenAuthentication(), *super().get_authenticators()]

    @extend_schema(request=LoginSerializer, responses=TokenSerializer)
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_issue(request=request, **data.validated_data)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


