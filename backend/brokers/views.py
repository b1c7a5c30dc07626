"""Thin API views of the workforce and piecework."""
from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import FileResponse, Http404, HttpResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Jurisdiction, Organisation, Role
from accounts.permissions import BROKER_STAFF, HasRole, county_id_of, visible_workers
from core.errors import DomainError, NotFound, ValidationFailed
from core.filters import FilterSet as IdFilterSet
from core.schema import errors
from core.uploads import UNCHECKED_CONTENT_TYPE, protect_download
from orders.models import Award

from . import selectors, serializers as s, services
from .models import (
    Attendance, Availability, BrokerProfile, Bundle, Dispute, Loan, Membership, PieceLog, ProfessionalVillageStatus,
    Worker,
)
from .tickets import tickets_pdf


class WorkerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Workers the caller may see: a broker its workforce (current and former), an auditor the
    county's, a worker herself. Firms have no access to workers."""

    queryset = Worker.objects.none()  # the schema generator's model; requests use get_queryset
    serializer_class = s.WorkerSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.AUDITOR, Role.WORKER)]
    filterset_fields = ["village", "work_mode"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        user = self.request.user
        qs = visible_workers(user)
        if user.is_broker_staff:
            # whether she is (or was) ours decides the full national ID: one subquery, not one per row
            qs = qs.annotate(works_for_viewer=Exists(
                Membership.objects.filter(worker=OuterRef("pk"), broker_id=user.organisation_id)))
        return qs

    def _out(self, worker, code=status.HTTP_200_OK):
        return Response(s.WorkerSerializer(worker, context={"request": self.request}).data, status=code)

    @extend_schema(request=s.WorkerInput, responses={201: s.WorkerSerializer})
    def create(self, request):
        data = s.WorkerInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        started_on, password = values.pop("started_on", None), values.pop("password", None)
        worker = services.worker_register(actor=request.user, data=values, started_on=started_on, password=password)
        return self._out(worker, status.HTTP_201_CREATED)

    @extend_schema(request=s.WorkerUpdateInput, responses=s.WorkerSerializer)
    def partial_update(self, request, pk=None):
        worker = self.get_object()
        data = s.WorkerUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k not in ("started_on", "password", "national_id")}
        return self._out(services.worker_update(actor=request.user, worker=worker, data=values))

    @extend_schema(request=s.EnrolInput, responses={201: s.WorkerSerializer})
    @action(detail=False, methods=["post"])
    def enrol(self, request):
        data = s.EnrolInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        worker = services.worker_enrol(actor=request.user, national_id=values["national_id"].upper(),
                                       name=values["name"], started_on=values.get("started_on"))
        return self._out(worker, status.HTTP_201_CREATED)

    @extend_schema(request=s.EndMembershipInput, responses={204: None})
    @action(detail=True, methods=["post"], url_path="end-membership")
    def end_membership(self, request, pk=None):
        worker = self.get_object()
        data = s.EndMembershipInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.membership_end(actor=request.user, worker_id=worker.pk, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.LoginInput, responses={201: s.WorkerSerializer})
    @action(detail=True, methods=["post"])
    def login(self, request, pk=None):
        worker = self.get_object()
        services.workforce.broker_of(request.user)
        data = s.LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.worker_login_create(worker=worker, password=data.validated_data["password"])
        return self._out(worker, status.HTTP_201_CREATED)


@extend_schema_view(retrieve=extend_schema(parameters=[
    OpenApiParameter("organisation", int, OpenApiParameter.PATH, description="The broker organisation's id.")]))
class BrokerProfileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Broker profiles: a broker's own (read by its team, edited by its owner); auditors read
    their county's brokers (the subsidy engine's inputs); firms and workers have no access."""

    queryset = BrokerProfile.objects.none()
    serializer_class = s.BrokerProfileSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.AUDITOR)]
    lookup_field = "organisation"
    lookup_value_regex = r"\d+"
    filterset_fields = ["category"]
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        user = self.request.user
        qs = BrokerProfile.objects.select_related("organisation__jurisdiction").prefetch_related(
            "organisation__sites", "organisation__training_records", "organisation__relocations")
        if user.is_admin_role:
            return qs
        if user.is_auditor:
            return qs.filter(organisation__jurisdiction__county_id=county_id_of(user))
        return qs.filter(organisation_id=user.organisation_id)

    def _mine(self):
        profile = self.get_queryset().filter(organisation_id=self.request.user.organisation_id).first()
        if profile is None:
            raise NotFound()
        return profile

    @extend_schema(methods=["get"], responses={200: s.BrokerProfileSerializer, **errors(404)})
    @extend_schema(methods=["patch"], request=s.BrokerProfileSerializer,
                   responses={200: s.BrokerProfileSerializer, **errors(404)})
    @action(detail=False, methods=["get", "patch"])
    def me(self, request):
        if request.method == "PATCH":
            data = s.BrokerProfileSerializer(self._mine(), data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            services.broker_profile_update(actor=request.user, data=data.validated_data)
        return Response(s.BrokerProfileSerializer(self._mine()).data)

    def _add(self, request, serializer_class, service):
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(serializer_class(service(actor=request.user, data=data.validated_data)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SiteSerializer, responses={201: s.SiteSerializer})
    @action(detail=False, methods=["post"], url_path="me/sites")
    def sites(self, request):
        return self._add(request, s.SiteSerializer, services.site_add)

    @extend_schema(request=s.TrainingSerializer, responses={201: s.TrainingSerializer})
    @action(detail=False, methods=["post"], url_path="me/training")
    def training(self, request):
        return self._add(request, s.TrainingSerializer, services.training_add)

    @extend_schema(request=s.RelocationSerializer, responses={201: s.RelocationSerializer})
    @action(detail=False, methods=["post"], url_path="me/relocations")
    def relocations(self, request):
        return self._add(request, s.RelocationSerializer, services.relocation_add)

    @extend_schema(parameters=[OpenApiParameter("weeks", int, description="1 to 26 (default 4)"),
                               OpenApiParameter("start", date, description="Default: today")],
                   responses={200: s.CapacityWeekSerializer(many=True), **errors(404)})
    @action(detail=False, methods=["get"], url_path="me/capacity")
    def capacity(self, request):
        query = s.CapacityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        weeks = min(max(query.validated_data.get("weeks", 4), 1), 26)
        start = query.validated_data.get("start") or timezone.localdate()
        return Response(selectors.weekly_capacity(self._mine().organisation_id, start=start, weeks=weeks))


class VillageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Villages with their professional-processing status; county staff change the status."""

    queryset = Jurisdiction.objects.none()
    serializer_class = s.VillageSerializer
    filterset_fields = ["county", "parent"]

    def get_permissions(self):
        # reading is for every login; deciding a status is for county staff (their county: the service)
        if self.action == "status" and self.request.method == "POST":
            return [HasRole.of(Role.AUDITOR)()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        today = timezone.localdate()
        latest = ProfessionalVillageStatus.objects.filter(village=OuterRef("pk"), effective_from__lte=today) \
            .order_by("-effective_from", "-id")
        return Jurisdiction.objects.filter(level=Jurisdiction.Level.VILLAGE).annotate(
            is_professional_now=Exists(latest.filter(is_professional=True)[:1]) & Exists(latest[:1]),
        )

    @extend_schema(methods=["get"], responses=s.VillageStatusSerializer(many=True))
    @extend_schema(methods=["post"], request=s.VillageStatusSerializer, responses={201: s.VillageStatusSerializer})
    @action(detail=True, methods=["get", "post"])
    def status(self, request, pk=None):
        village = self.get_object()
        if request.method == "GET":
            return Response(s.VillageStatusSerializer(village.professional_status.select_related("decided_by"),
                                                      many=True).data)
        data = s.VillageStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.village_status_set(actor=request.user, village_id=village.pk, **data.validated_data)
        return Response(s.VillageStatusSerializer(row).data, status=status.HTTP_201_CREATED)


class BundleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Bundle.objects.none()
    serializer_class = s.BundleSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF)]
    filterset_fields = ["award"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_bundles(self.request.user)

    def _render(self, bundles, many=True):
        context = {"progress": selectors.bundle_progress([b.pk for b in bundles])}
        return s.BundleSerializer(bundles, many=many, context=context).data

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._render(page))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._render([self.get_object()])[0])

    @extend_schema(request=s.CutInput, responses={201: s.BundleSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def cut(self, request):
        data = s.CutInput(data=request.data)
        data.is_valid(raise_exception=True)
        bundles = services.bundles_cut(actor=request.user, award_id=data.validated_data["award"],
                                       size=data.validated_data["size"])
        return Response(self._render(bundles), status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("award", int, required=True)],
                   responses={(200, "application/pdf"): bytes, **errors(404)})
    @action(detail=False, methods=["get"])
    def tickets(self, request):
        """A printable A4 sheet of tickets, one QR code per bundle."""
        award_id = request.query_params.get("award", "")
        bundles = list(self.get_queryset().filter(award_id=_id_or_zero(award_id))
                       .select_related("award__order").prefetch_related("award__order__procedures"))
        if not bundles:
            raise NotFound()
        response = HttpResponse(tickets_pdf(bundles), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="tickets-award-{award_id}.pdf"'
        return protect_download(response, sandbox=False)  # inline to print; browsers render no PDF in a sandbox


def _id_or_zero(value: str) -> int:
    """A row id from a query parameter; 0 (no row) for anything else, an id beyond 64 bits too
    (the database cannot compare with it: a 500 on SQLite)."""
    number = int(value) if value.isdigit() else 0
    return number if number < 2**63 else 0


class PieceRateView(APIView):
    """GET the rate table of an award (suggested, floor, in force, margin); POST a new rate."""

    permission_classes = [HasRole.of(*BROKER_STAFF)]

    def _award(self, award_id) -> Award:
        award = Award.objects.select_related("broker__jurisdiction", "order").filter(
            pk=award_id, broker_id=self.request.user.organisation_id).first()
        if award is None and self.request.user.is_admin_role:
            award = Award.objects.select_related("broker__jurisdiction", "order").filter(pk=award_id).first()
        if award is None:
            raise NotFound()
        return award

    def _table(self, award):
        profile = services.profile_for(award.broker_id)
        return Response(s.RateTableSerializer(selectors.rate_table(award, profile.minute_rate)).data)

    @extend_schema(parameters=[OpenApiParameter("award", int, required=True)],
                   responses={200: s.RateTableSerializer, **errors(404)})
    def get(self, request):
        award_id = request.query_params.get("award", "")
        if not award_id.isdigit():
            raise ValidationFailed(field="award")
        return self._table(self._award(int(award_id)))

    @extend_schema(request=s.PieceRateInput, responses={201: s.RateTableSerializer})
    def post(self, request):
        data = s.PieceRateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        award = self._award(values["award"])
        services.piece_rate_set(actor=request.user, award_id=award.pk, procedure_id=values["procedure"],
                                rate=values["rate"], effective_from=values.get("effective_from"))
        response = self._table(award)
        response.status_code = status.HTTP_201_CREATED
        return response


class PieceLogFilter(IdFilterSet):
    work_date_from = filters.DateFilter(field_name="work_date", lookup_expr="gte")
    work_date_to = filters.DateFilter(field_name="work_date", lookup_expr="lte")

    class Meta:
        model = PieceLog
        fields = ["worker", "bundle", "procedure", "work_date", "source", "recorded_by"]


class _Undo(Exception):
    """Rolls back a trial recording of piece logs."""


class PieceLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Piece logs: a worker sees her own, a broker its workforce's, an auditor the county's."""

    queryset = PieceLog.objects.none()
    serializer_class = s.PieceLogSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.WORKER, Role.AUDITOR)]
    filterset_class = PieceLogFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_piece_logs(self.request.user)

    def _record(self, rows):
        results = services.piece_logs_record(actor=self.request.user, rows=rows)
        logs = PieceLog.objects.select_related("worker", "bundle", "procedure", "recorded_by").in_bulk(
            [r.log.pk for r in results])
        return [{"index": r.index, "duplicate": r.duplicate,
                 "log": s.PieceLogSerializer(logs[r.log.pk]).data} for r in results]

    @extend_schema(request=s.PieceLogInput, responses={201: s.PieceLogSerializer, 200: s.PieceLogSerializer})
    def create(self, request):
        """Record one log. Sending the same client_id again returns the first log (200)."""
        data = s.PieceLogInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = self._record([data.validated_data])[0]
        return Response(result["log"], status=status.HTTP_200_OK if result["duplicate"] else status.HTTP_201_CREATED)

    @extend_schema(request=s.BulkPieceLogInput)
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Up to 1,000 rows, all or nothing; every bad row is reported by index."""
        envelope = s.BulkPieceLogEnvelope(data=request.data)
        envelope.is_valid(raise_exception=True)
        shaped, shape_errors = [], {}
        for index, raw in enumerate(envelope.validated_data["rows"]):
            row = s.PieceLogInput(data=raw)
            if row.is_valid():
                shaped.append((index, row.validated_data))
            else:
                shape_errors.update({(index, name): [str(m) for m in msgs] for name, msgs in row.errors.items()})
        if shape_errors:
            raise self._every_bad_row(shaped, shape_errors)
        results = self._record([values for _, values in shaped])
        created = sum(not r["duplicate"] for r in results)
        return Response({"created": created, "duplicates": len(results) - created, "results": results},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _every_bad_row(self, shaped, shape_errors) -> ValidationFailed:
        """Some rows are badly shaped: check the well-shaped ones against the rules as well (and
        undo what that wrote), so that one answer names every bad row by its index."""
        errors = dict(shape_errors)
        if shaped:
            try:
                with transaction.atomic():
                    services.piece_logs_record(actor=self.request.user, rows=[values for _, values in shaped])
                    raise _Undo
            except _Undo:
                pass
            except DomainError as exc:
                if not exc.fields:  # about the caller (may not log at all), not about a row
                    raise
                for key, messages in exc.fields.items():
                    # several rows: "rows.<i>.<field>"; a single row: its own "<field>"
                    position, name = key.split(".", 2)[1:] if len(shaped) > 1 else (0, key)
                    errors[(shaped[int(position)][0], name)] = messages
        return ValidationFailed(
            services.piecework.rows_not_valid(len({i for i, _ in errors})),
            code="invalid_rows", fields={f"rows.{i}.{name}": errors[(i, name)] for i, name in sorted(errors)})

    @extend_schema(request=s.ReverseInput, responses={201: s.PieceLogSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        log = self.get_object()
        data = s.ReverseInput(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = services.piece_log_reverse(actor=request.user, log_id=log.pk, **data.validated_data)
        return Response(s.PieceLogSerializer(reversal).data, status=status.HTTP_201_CREATED)


class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Disputes: a worker opens one on her own log; the broker resolves; the county's auditors
    see them (unresolved ones are the ones to watch)."""

    queryset = Dispute.objects.none()
    serializer_class = s.DisputeSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.WORKER, Role.AUDITOR)]
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_disputes(self.request.user)

    @extend_schema(request=s.DisputeInput, responses={201: s.DisputeSerializer})
    def create(self, request):
        data = s.DisputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dispute = services.dispute_open(actor=request.user, log_id=values["log"], kind=values["kind"],
                                        correct_quantity=values.get("correct_quantity"), note=values["note"])
        return Response(s.DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ResolveInput, responses=s.DisputeSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        dispute = self.get_object()
        data = s.ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.dispute_resolve(actor=request.user, dispute_id=dispute.pk, **data.validated_data)
        return Response(s.DisputeSerializer(dispute).data)


class AttendanceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Attendance.objects.none()
    serializer_class = s.AttendanceSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.WORKER)]
    filterset_fields = ["date", "worker", "mark"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        user = self.request.user
        qs = Attendance.objects.select_related("worker")
        if user.is_admin_role:
            return qs
        if user.is_worker:
            return qs.filter(worker__user=user)
        return qs.filter(broker_id=user.organisation_id)

    @extend_schema(request=s.AttendanceInput, responses={201: s.AttendanceSerializer(many=True)})
    def create(self, request):
        data = s.AttendanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        rows = services.attendance_mark(actor=request.user, day=data.validated_data["date"],
                                        marks=data.validated_data["marks"])
        return Response(s.AttendanceSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class AvailabilityViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Availability.objects.none()
    serializer_class = s.AvailabilitySerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.WORKER)]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        user = self.request.user
        qs = Availability.objects.select_related("worker")
        if user.is_admin_role:
            return qs
        if user.is_worker:
            return qs.filter(worker__user=user)
        current = Membership.objects.filter(broker_id=user.organisation_id, worker=OuterRef("worker"))
        return qs.filter(Exists(current.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=timezone.localdate()))))

    @extend_schema(request=s.AvailabilitySerializer, responses={201: s.AvailabilitySerializer})
    def create(self, request):
        data = s.AvailabilitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.availability_declare(actor=request.user, **data.validated_data)
        return Response(s.AvailabilitySerializer(row).data, status=status.HTTP_201_CREATED)


# --- loans ---------------------------------------------------------------------------------------

LOAN_DOWNLOAD_TYPES = ("application/pdf", "image/jpeg", "image/png", UNCHECKED_CONTENT_TYPE)


def _contract_download(loan: Loan):
    """The contract as a download (never inline) of the type checked at upload, sandboxed."""
    if not loan.contract:
        raise Http404
    try:
        content = loan.contract.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    name = loan.contract_name or f"loan-{loan.pk}"
    return protect_download(FileResponse(content, as_attachment=True, filename=name,
                                         content_type=loan.contract_type or UNCHECKED_CONTENT_TYPE))


class MyLoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The broker's own loans (for the interest subsidy): its team reads them, its owner
    registers them. Another broker's loan is a 404."""

    queryset = Loan.objects.none()
    serializer_class = s.LoanSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF)]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return Loan.objects.filter(broker_id=self.request.user.organisation_id).select_related("registered_by")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "mine": True}

    @extend_schema(request=s.LoanInput, responses={201: s.LoanSerializer})
    def create(self, request):
        data = s.LoanInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        contract = values.pop("contract", None)
        loan = services.loan_add(actor=request.user, data=values, contract=contract)
        return Response(s.LoanSerializer(loan, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, content_type): bytes for content_type in LOAN_DOWNLOAD_TYPES})
    @action(detail=True, methods=["get"])
    def contract(self, request, pk=None):
        return _contract_download(self.get_object())


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("broker_id", int, OpenApiParameter.PATH)]),
    retrieve=extend_schema(parameters=[OpenApiParameter("broker_id", int, OpenApiParameter.PATH)]),
    contract=extend_schema(parameters=[OpenApiParameter("broker_id", int, OpenApiParameter.PATH)]),
)
class BrokerLoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A broker's loans, read-only, for the staff of its county (the interest subsidy's
    evidence); a broker of another county, or no broker, is a 404."""

    queryset = Loan.objects.none()
    serializer_class = s.LoanSerializer
    permission_classes = [HasRole.of(Role.AUDITOR)]

    def _broker_id(self) -> int:
        raw = self.kwargs.get("broker_id", "")
        brokers = Organisation.objects.filter(pk=_id_or_zero(raw), kind=Organisation.Kind.BROKER)
        user = self.request.user
        if not user.is_admin_role:
            brokers = brokers.filter(jurisdiction__county_id=county_id_of(user))
        broker_id = brokers.values_list("pk", flat=True).first()
        if broker_id is None:
            raise NotFound()
        return broker_id

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return Loan.objects.filter(broker_id=self._broker_id()).select_related("registered_by")

    @extend_schema(responses={(200, content_type): bytes for content_type in LOAN_DOWNLOAD_TYPES})
    @action(detail=True, methods=["get"])
    def contract(self, request, pk=None, broker_id=None):
        return _contract_download(self.get_object())
