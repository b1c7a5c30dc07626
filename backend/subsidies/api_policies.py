"""/api/subsidies/…: policies and their versions and rules (read, draft, edit, activate), claim
exports for the finance bureau, and the impact report. Thin: parse, call one service, serialise.

Who: the county's auditors read and act on their county's policies (another county's are a
404), administrators on all; brokers read their own county's policies (so they can see the
rules); firms and workers are refused (403). Exports and the impact report are the auditors'
(their county) and administrators'."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import BROKER_STAFF, HasRole, county_id_of
from core.errors import NotFound, ValidationFailed
from core.filters import FilterSet, IntegerFilter
from core.schema import errors
from core.uploads import XLSX, protect_download

from . import exports, impact, rules
from . import serializers_policies as s
from .models import Claim, Policy, PolicyVersion, Rule
from .selectors import visible_claims, visible_policies, visible_versions
from .services import policies as services

READERS = (Role.AUDITOR, *BROKER_STAFF)


def _with_claims(qs: QuerySet[PolicyVersion]) -> QuerySet[PolicyVersion]:
    return qs.annotate(has_claims=Exists(Claim.objects.filter(version=OuterRef("pk"))))


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The policies the caller may see; the detail lists the versions (to brokers, not drafts)."""

    queryset = Policy.objects.none()
    serializer_class = s.PolicySerializer
    permission_classes = [HasRole.of(*READERS)]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        user = self.request.user
        qs = visible_policies(user)
        if self.action == "retrieve":
            versions = PolicyVersion.objects.order_by("number")
            if user.is_broker_staff and not user.is_admin_role:
                versions = versions.exclude(status=PolicyVersion.Status.DRAFT)
            qs = qs.prefetch_related(Prefetch("versions", _with_claims(versions)))
        return qs

    def get_serializer_class(self):
        return s.PolicyDetailSerializer if self.action == "retrieve" else s.PolicySerializer


class VersionViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A version with its rules and every parameter's value, unit, source and reading; staff
    copy it into a draft, edit a draft and activate it."""

    queryset = PolicyVersion.objects.none()
    serializer_class = s.VersionDetailSerializer
    pagination_class = None

    def get_permissions(self):
        if self.action == "retrieve":
            return [HasRole.of(*READERS)()]
        return [HasRole.of(Role.AUDITOR)()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        versions = visible_versions(self.request.user).select_related("policy__jurisdiction")
        return _with_claims(versions).prefetch_related(Prefetch("rules", Rule.objects.order_by("id")))

    def _detail(self, version_id: int, code=status.HTTP_200_OK) -> Response:
        version = self.get_queryset().get(pk=version_id)
        return Response(s.VersionDetailSerializer(version).data, status=code)

    @extend_schema(request=s.VersionEditInput, responses={200: s.VersionDetailSerializer, **errors(409)})
    def partial_update(self, request, pk=None):
        version = self.get_object()
        data = s.VersionEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.edit_draft(actor=request.user, version_id=version.pk, data=data.validated_data)
        return self._detail(version.pk)

    @extend_schema(request=None, responses={201: s.VersionDetailSerializer})
    @action(detail=True, methods=["post"])
    def draft(self, request, pk=None):
        """Copy this version (rules, parameters, budget, threshold) into a new draft."""
        version = self.get_object()
        draft = services.draft_version(actor=request.user, from_version_id=version.pk)
        return self._detail(draft.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.ActivateInput, responses={200: s.VersionDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Draft → active from `effective_from`; the version active before ends the day before."""
        version = self.get_object()
        data = s.ActivateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.activate(actor=request.user, version_id=version.pk,
                          effective_from=data.validated_data["effective_from"])
        return self._detail(version.pk)


class RuleViewSet(viewsets.GenericViewSet):
    """A draft's rule: set parameter values and whether it is enabled."""

    queryset = Rule.objects.none()
    serializer_class = s.RuleSerializer
    permission_classes = [HasRole.of(Role.AUDITOR)]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return Rule.objects.filter(version__policy__in=visible_policies(self.request.user))

    @extend_schema(request=s.RuleEditInput, responses={200: s.RuleSerializer, **errors(409)})
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = s.RuleEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.edit_rule(actor=request.user, rule_id=rule.pk, **data.validated_data)
        return Response(s.RuleSerializer(rule).data)


# --- exports -------------------------------------------------------------------------------------

class ClaimExportFilter(FilterSet):
    status = filters.ChoiceFilter(choices=Claim.Status.choices)
    kind = filters.ChoiceFilter(choices=[(kind, kind) for kind in rules.RULE_KINDS])
    fund_year = IntegerFilter()

    class Meta:
        model = Claim
        fields = ["status", "kind", "fund_year", "version", "county"]


EXPORT_TYPES = {"xlsx": XLSX.content_type, "csv": "text/csv; charset=utf-8"}
EXPORT_FILTERS = ("status", "kind", "fund_year", "version", "county")
EXPORT_PARAMETERS = [
    OpenApiParameter("status", str, enum=list(Claim.Status.values)),
    OpenApiParameter("kind", str, enum=list(rules.RULE_KINDS)),
    OpenApiParameter("fund_year", int),
    OpenApiParameter("version", int, description="A policy version's id."),
    OpenApiParameter("county", int, description="A county's id (administrators; auditors see their own only)."),
]


class _ClaimExport(GenericAPIView):
    """The claims the auditor may see (administrators: all, or one `county`), filtered, as a
    file download; the export is recorded in the audit trail."""

    queryset = Claim.objects.none()
    permission_classes = [HasRole.of(Role.AUDITOR)]
    filterset_class = ClaimExportFilter
    pagination_class = None
    fmt = ""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return visible_claims(self.request.user)

    def get(self, request):
        claims = self.filter_queryset(self.get_queryset())
        used = {name: request.query_params[name] for name in EXPORT_FILTERS if name in request.query_params}
        county = None if request.user.is_admin_role else county_id_of(request.user)
        content = exports.export_claims(actor=request.user, queryset=claims, fmt=self.fmt, filters=used,
                                        county_id=county, record=request.method == "GET")
        response = HttpResponse(content, content_type=EXPORT_TYPES[self.fmt])
        filename = f"claims-{timezone.localdate().isoformat()}.{self.fmt}"
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return protect_download(response)


class ClaimsXlsxView(_ClaimExport):
    fmt = "xlsx"

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, XLSX.content_type): bytes, **errors(400)})
    def get(self, request):
        """The claims (sheet "claims") and the records behind them (sheet "evidence")."""
        return super().get(request)


class ClaimsCsvView(_ClaimExport):
    fmt = "csv"

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={(200, "text/csv"): bytes, **errors(400)})
    def get(self, request):
        """The claims sheet as CSV (UTF-8 with a byte-order mark)."""
        return super().get(request)


# --- impact --------------------------------------------------------------------------------------

class ImpactView(APIView):
    permission_classes = [HasRole.of(Role.AUDITOR)]

    @extend_schema(parameters=[OpenApiParameter("year", int, required=True),
                               OpenApiParameter("village", int, description="One village of the county."),
                               OpenApiParameter("county", int, description="Administrators: the county (required). "
                                                                           "Auditors: their own, or leave it out.")],
                   responses={200: s.ImpactSerializer, **errors(404)})
    def get(self, request):
        """The county's processing-fee income, wages, workers by household tag, poor households
        with an earner and average monthly earnings for a year, and each village's."""
        query = s.ImpactQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        if request.user.is_admin_role:
            county = values.get("county")
            if county is None:
                raise ValidationFailed(field="county")
        else:
            county = county_id_of(request.user)
            if county is None or values.get("county", county) != county:
                raise NotFound()
        data = impact.report(county, values["year"], values.get("village"))
        return Response(s.ImpactSerializer(data).data)


router = SimpleRouter()
router.register("policies", PolicyViewSet, basename="subsidy-policy")
router.register("versions", VersionViewSet, basename="subsidy-version")
router.register("rules", RuleViewSet, basename="subsidy-rule")

urlpatterns = [
    path("exports/claims.xlsx", ClaimsXlsxView.as_view(), name="subsidy-claims-xlsx"),
    path("exports/claims.csv", ClaimsCsvView.as_view(), name="subsidy-claims-csv"),
    path("impact/", ImpactView.as_view(), name="subsidy-impact"),
    *router.urls,
]
