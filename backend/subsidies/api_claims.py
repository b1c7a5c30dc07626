"""/api/subsidies/: claims (with their evidence), the review actions, evaluations, the budget,
payment batches and the audit trail. Thin: scope through `selectors`, parse, call one service,
serialise. Auditors act on their county's records only (another county's are a 404), admins on
all; broker staff read their own claims; anyone else is refused (403)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import BROKER_STAFF, HasRole
from core.errors import Forbidden, NotFound
from core.filters import BooleanFilter, FilterSet, IdFilter, IntegerFilter
from core.pagination import IdCursorPagination
from core.schema import errors
from core.uploads import protect_download

from . import selectors
from . import serializers_claims as s
from .models import AuditEvent, Claim, ClaimEvidence, Evaluation, PaymentBatch, RiskFlag
from .services import evaluation as evaluation_service
from .services import audit, review

STAFF = HasRole.of(Role.AUDITOR)  # and admins: every write, and what only staff read
READERS = HasRole.of(Role.AUDITOR, *BROKER_STAFF)  # the claims: broker staff their own, read-only


class NewestFirst(IdCursorPagination):
    ordering = "-id"


# --- claims ----------------------------------------------------------------------------------------

class ClaimFilter(FilterSet):
    fund_year = IntegerFilter(field_name="fund_year")
    broker = IdFilter(field_name="broker_id")
    village = IdFilter(field_name="village_id")
    version = IdFilter(field_name="version_id")
    has_flags = BooleanFilter(method="filter_has_flags", label="Has risk flags (staff only)")

    class Meta:
        model = Claim
        fields = ["status", "kind"]

    def filter_has_flags(self, queryset, name, value):
        if not _sees_flags(self.request.user):
            raise Forbidden(_("Only federation staff may filter claims by their risk flags."))
        flagged = Exists(RiskFlag.objects.filter(claim=OuterRef("pk")))
        return queryset.filter(flagged if value else ~flagged)


def _sees_flags(user) -> bool:
    """Risk flags are the auditors' notes (one may name another broker's worker): staff only."""
    return user.is_admin_role or user.is_auditor


def _flag_count():
    return Coalesce(Subquery(RiskFlag.objects.filter(claim=OuterRef("pk")).values("claim")
                             .annotate(n=Count("id")).values("n")[:1], output_field=IntegerField()), Value(0))


class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Claims, newest first, and the review actions on them (the county's auditors, admins)."""

    queryset = Claim.objects.none()
    serializer_class = s.ClaimSerializer
    filterset_class = ClaimFilter
    pagination_class = NewestFirst
    lookup_value_regex = r"\d+"
    paginated_actions = ["evidence"]
    staff_actions = {"approve", "reject", "case_amount", "approve_many"}

    def get_permissions(self):
        return [(STAFF if getattr(self, "action", None) in self.staff_actions else READERS)()]

    @property
    def paginator(self):
        """Claims newest first; a claim's evidence in the order it was recorded."""
        if not hasattr(self, "_paginator"):
            self._paginator = IdCursorPagination() if self.action == "evidence" else NewestFirst()
        return self._paginator

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self._claims(detail=self.action == "retrieve")

    def _claims(self, *, detail: bool):
        qs = selectors.visible_claims(self.request.user).select_related("broker", "village", "version")
        if detail:
            qs = qs.select_related("policy", "rule", "adjusts", "case_entered_by", "first_approved_by", "approved_by",
                                   "rejected_by").prefetch_related("corrections", "flags")
        return qs.annotate(flag_count=_flag_count()) if _sees_flags(self.request.user) else qs

    def get_serializer_class(self):
        return s.ClaimDetailSerializer if self.action == "retrieve" else s.ClaimSerializer

    def filter_queryset(self, queryset):
        # the list's filters are the list's: `evidence/?kind=` names the evidence, not the claim's kind
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "show_flags": _sees_flags(self.request.user)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = self.get_serializer(page, many=True).data
        if not _sees_flags(request.user):
            for row in data:
                row.pop("flag_count", None)
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    def _detail(self, claim: Claim) -> dict:
        context = {**self.get_serializer_context(), "evidence_counts": evidence_counts(claim)}
        body = s.ClaimDetailSerializer(claim, context=context).data
        if not _sees_flags(self.request.user):
            body.pop("flag_count", None)
        return body

    def _fresh(self, claim_id: int) -> Response:
        """The claim as it is after an action, in full."""
        return Response(self._detail(self._claims(detail=True).get(pk=claim_id)))

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=ClaimEvidence.Kind.values, required=True,
                                                description="Which records: payslip lists the payslips of the "
                                                            "claim's payout batches.")],
                   responses=s.EvidenceSerializer(many=True))
    @action(detail=True, methods=["get"])
    def evidence(self, request, pk=None):
        """The records behind the claim of one kind, each with its figure and API path."""
        claim = self.get_object()
        query = s.EvidenceQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        kind = query.validated_data["kind"]
        if kind == ClaimEvidence.Kind.PAYSLIP:
            rows = [_payslip_row(slip) for slip in self.paginate_queryset(_claim_payslips(claim))]
        else:
            rows = resolve_evidence(kind, self.paginate_queryset(claim.evidence.filter(kind=kind)))
        return self.get_paginated_response(s.EvidenceSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={200: s.ClaimDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """The approval the claim needs next: the first, or the final one (by someone else)."""
        claim = self.get_object()
        review.approve(actor=request.user, claim_id=claim.pk)
        return self._fresh(claim.pk)

    @extend_schema(request=s.RejectInput, responses={200: s.ClaimDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        claim = self.get_object()
        data = s.RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        review.reject(actor=request.user, claim_id=claim.pk, reason=data.validated_data["reason"])
        return self._fresh(claim.pk)

    @extend_schema(request=s.CaseAmountInput, responses={200: s.ClaimDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"], url_path="case-amount")
    def case_amount(self, request, pk=None):
        """A case claim's amount, set by staff with a reason (who sets it approves neither step)."""
        claim = self.get_object()
        data = s.CaseAmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        review.enter_case_amount(actor=request.user, claim_id=claim.pk, amount=data.validated_data["amount"],
                                 reason=data.validated_data["reason"])
        return self._fresh(claim.pk)

    @extend_schema(operation_id="subsidies_claims_approve_many", request=s.ClaimIdsInput,
                   responses={200: s.ClaimSerializer(many=True), **errors(409)})
    @action(detail=False, methods=["post"], url_path="approve", url_name="approve-many")
    def approve_many(self, request):
        """Approve several claims at once: all of them, or none (the first refusal answers)."""
        data = s.ClaimIdsInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["ids"]
        if selectors.visible_claims(request.user).filter(pk__in=ids).count() != len(ids):
            raise NotFound(_("A claim named is not one you may see."), field="ids")
        review.approve_many(actor=request.user, claim_ids=ids)
        claims = self._claims(detail=False).filter(pk__in=ids).order_by("-id")
        return Response(s.ClaimSerializer(claims, many=True, context=self.get_serializer_context()).data)


def evidence_counts(claim: Claim) -> dict[str, int]:
    """{kind: records} for the claim, and `payslip`: the payslips of its payout batches."""
    counts = dict.fromkeys(ClaimEvidence.Kind.values, 0)
    counts.update(claim.evidence.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    counts[ClaimEvidence.Kind.PAYSLIP] = _claim_payslips(claim).count()
    return counts


def _claim_payslips(claim: Claim):
    """The payslips paid in the claim's evidence payout batches (and any payslip named itself),
    each once, with what the batches paid on it: one query, however many."""
    from payments.models import PayoutItem, Payslip

    batches = claim.evidence.filter(kind=ClaimEvidence.Kind.PAYOUT_BATCH).values("object_id")
    named = claim.evidence.filter(kind=ClaimEvidence.Kind.PAYSLIP)
    items = PayoutItem.objects.filter(batch_id__in=batches, payslip=OuterRef("pk"))
    paid = items.filter(status=PayoutItem.Status.PAID).values("payslip").annotate(t=Sum("amount")).values("t")[:1]
    return (Payslip.objects.filter(Q(Exists(items)) | Q(pk__in=named.values("object_id")))
            .select_related("run__broker")
            .annotate(paid_in_batches=Subquery(paid),
                      named_amount=Subquery(named.filter(object_id=OuterRef("pk")).values("amount")[:1])))


def _payslip_row(slip) -> dict:
    amount = slip.paid_in_batches if slip.paid_in_batches is not None else slip.named_amount
    return {"kind": ClaimEvidence.Kind.PAYSLIP, "object_id": slip.pk, "amount": amount, "note": "",
            "name": slip.worker_name, "path": f"/api/payslips/{slip.pk}/",
            "details": {"worker": slip.worker_id, "worker_path": f"/api/workers/{slip.worker_id}/",
                        "month": f"{slip.run.month:%Y-%m}", "broker": slip.run.broker_id,
                        "broker_name": slip.run.broker.name, "run": slip.run_id, "total": str(slip.total)}}


def _text(value):
    """A date as ISO text; a date-time as the API writes them (local time, ISO 8601)."""
    if value is None:
        return None
    return serializers.DateTimeField().to_representation(value) if isinstance(value, datetime) else str(value)


def _batches(ids):
    from payments.models import PayoutBatch

    out = {}
    for batch in PayoutBatch.objects.filter(pk__in=ids).select_related("run__broker"):
        month = f"{batch.run.month:%Y-%m}"
        out[batch.pk] = (f"{batch.run.broker.name} {month} #{batch.number}", f"/api/payout-batches/{batch.pk}/",
                         {"run": batch.run_id, "month": month, "number": batch.number, "status": batch.status,
                          "paid_on": _text(batch.paid_on), "broker": batch.run.broker_id})
    return out


def _workers(ids):
    from brokers.models import Worker

    return {w.pk: (w.name, f"/api/workers/{w.pk}/",
                   {"village": w.village_id, "village_name": w.village.name, "national_id_masked": w.national_id_masked})
            for w in Worker.objects.filter(pk__in=ids).select_related("village")}


def _invoices(ids):
    from payments.models import Invoice

    return {i.pk: (i.firm.name, f"/api/invoices/{i.pk}/",
                   {"firm": i.firm_id, "broker": i.broker_id, "award": i.award_id, "created_at": _text(i.created_at)})
            for i in Invoice.objects.filter(pk__in=ids).select_related("firm")}


def _loans(ids):
    from brokers.models import Loan

    def contract(loan):
        return f"/api/brokers/{loan.broker_id}/loans/{loan.pk}/contract/" if loan.contract else None

    return {loan.pk: (loan.lender, f"/api/brokers/{loan.broker_id}/loans/{loan.pk}/",
                      {"broker": loan.broker_id, "principal": str(loan.principal), "start": _text(loan.start),
                       "end": _text(loan.end), "contract_number": loan.contract_number,
                       "contract_path": contract(loan), "registered_at": _text(loan.registered_at)})
            for loan in Loan.objects.filter(pk__in=ids)}


def _relocations(ids):
    from brokers.models import Relocation

    return {r.pk: (r.zone_name, None,
                   {"broker": r.broker_id, "zone_kind": r.zone_kind, "moved_on": _text(r.moved_on),
                    "evidence": r.evidence})
            for r in Relocation.objects.filter(pk__in=ids)}


def _village_status(ids):
    from brokers.models import ProfessionalVillageStatus

    return {v.pk: (v.village.name, f"/api/villages/{v.village_id}/status/",
                   {"village": v.village_id, "is_professional": v.is_professional,
                    "effective_from": _text(v.effective_from), "basis": v.basis, "evidence": v.evidence})
            for v in ProfessionalVillageStatus.objects.filter(pk__in=ids).select_related("village")}


def _brokers(ids):
    from accounts.models import Organisation

    return {o.pk: (o.name, f"/api/organisations/{o.pk}/", {"jurisdiction": o.jurisdiction_id})
            for o in Organisation.objects.filter(pk__in=ids)}


RESOLVERS = {
    ClaimEvidence.Kind.PAYOUT_BATCH: _batches,
    ClaimEvidence.Kind.WORKER: _workers,
    ClaimEvidence.Kind.INVOICE: _invoices,
    ClaimEvidence.Kind.LOAN: _loans,
    ClaimEvidence.Kind.RELOCATION: _relocations,
    ClaimEvidence.Kind.VILLAGE_STATUS: _village_status,
    ClaimEvidence.Kind.BROKER: _brokers,
}


def resolve_evidence(kind: str, page: list[ClaimEvidence]) -> list[dict]:
    """A page of evidence rows with their records: one query for the page's records."""
    records = RESOLVERS[kind]([row.object_id for row in page])
    rows = []
    for row in page:
        name, api_path, details = records.get(row.object_id, ("", None, {}))  # a record gone since: the row alone
        rows.append({"kind": row.kind, "object_id": row.object_id, "amount": row.amount, "note": row.note,
                     "name": name, "path": api_path, "details": details})
    return rows


# --- evaluations -------------------------------------------------------------------------------------

class EvaluationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of a version over a period, and simulations of drafts; newest first."""

    queryset = Evaluation.objects.none()
    serializer_class = s.EvaluationSerializer
    permission_classes = [STAFF]
    pagination_class = NewestFirst
    filterset_fields = ["version", "status", "simulation", "period"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_evaluations(self.request.user).select_related("version", "requested_by")

    def get_serializer_class(self):
        return s.EvaluationSerializer if self.action == "list" else s.EvaluationDetailSerializer

    @extend_schema(request=s.EvaluationInput, responses={202: s.EvaluationDetailSerializer, **errors(409)})
    def create(self, request):
        """Queue an evaluation (or a simulation of a draft); it runs as a task, and its progress
        and completion reach the county's auditors over the live events."""
        data = s.EvaluationInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = selectors.visible_versions(request.user).filter(pk=values["version"]).first()
        if version is None:
            raise NotFound(_("No such policy version."), field="version")
        evaluation = evaluation_service.request_evaluation(
            actor=request.user, version=version, period=values["period"], period_start=values["period_start"],
            simulation=values["simulation"])
        evaluation = self.get_queryset().get(pk=evaluation.pk)
        return Response(s.EvaluationDetailSerializer(evaluation).data, status=status.HTTP_202_ACCEPTED)


# --- budget ---------------------------------------------------------------------------------------------

def _visible_version(user, version_id: int):
    version = selectors.visible_versions(user).filter(pk=version_id).first()
    if version is None:
        raise NotFound(_("No such policy version."), field="version")
    return version


def _budget_body(version, year: int) -> dict:
    return s.BudgetSerializer({**review.budget_of(version, year), "version": version.pk, "year": year}).data


class BudgetView(APIView):
    """A version's fund for a year: the budget, what approved and paid claims commit, what is
    left, and what waits for review. PUT (or POST) sets the year's budget."""

    permission_classes = [STAFF]

    @extend_schema(parameters=[s.BudgetQuery], responses={200: s.BudgetSerializer, **errors(404)})
    def get(self, request):
        query = s.BudgetQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        version = _visible_version(request.user, query.validated_data["version"])
        return Response(_budget_body(version, query.validated_data["year"]))

    @extend_schema(request=s.BudgetInput, responses={200: s.BudgetSerializer, **errors(409)})
    def put(self, request):
        """Set the year's budget; never below what is committed already (409)."""
        data = s.BudgetInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = _visible_version(request.user, values["version"])
        review.set_budget(actor=request.user, version_id=version.pk, year=values["year"], amount=values["amount"])
        return Response(_budget_body(version, values["year"]))

    @extend_schema(request=s.BudgetInput, responses={200: s.BudgetSerializer, **errors(409)})
    def post(self, request):
        """As PUT."""
        return self.put(request)


# --- payment batches --------------------------------------------------------------------------------------

class PaymentBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Approved claims paid together: open a batch, export its bank file, record the payment."""

    queryset = PaymentBatch.objects.none()
    serializer_class = s.PaymentBatchSerializer
    permission_classes = [STAFF]
    pagination_class = NewestFirst
    filterset_fields = ["policy", "status"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self._batches(detail=self.action != "list")

    def _batches(self, *, detail: bool):
        qs = (selectors.visible_batches(self.request.user).select_related("created_by", "paid_by")
              .annotate(claim_count=Count("claims")))
        return qs.prefetch_related(_batch_claims()) if detail else qs

    def get_serializer_class(self):
        return s.PaymentBatchSerializer if self.action == "list" else s.PaymentBatchDetailSerializer

    def _out(self, batch_id: int, code=status.HTTP_200_OK) -> Response:
        return Response(s.PaymentBatchDetailSerializer(self._batches(detail=True).get(pk=batch_id)).data, status=code)

    @extend_schema(request=s.PaymentBatchInput, responses={201: s.PaymentBatchDetailSerializer, **errors(409)})
    def create(self, request):
        data = s.PaymentBatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["claims"]
        if selectors.visible_claims(request.user).filter(pk__in=ids).count() != len(ids):
            raise NotFound(_("A claim named is not one you may see."), field="claims")
        batch = review.open_payment_batch(actor=request.user, claim_ids=ids)
        return self._out(batch.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.BatchPaidInput, responses={200: s.PaymentBatchDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def paid(self, request, pk=None):
        """The finance bureau paid the batch: settles each claim's payable in the ledger."""
        batch = self.get_object()
        data = s.BatchPaidInput(data=request.data)
        data.is_valid(raise_exception=True)
        review.mark_batch_paid(actor=request.user, batch_id=batch.pk, **data.validated_data)
        return self._out(batch.pk)

    @extend_schema(responses={(200, "text/csv"): bytes})
    @action(detail=True, methods=["get"], url_path="bank-file")
    def bank_file(self, request, pk=None):
        """The batch's bank file (CSV), for the finance bureau."""
        batch = self.get_object()
        content = review.bank_file(batch)
        # a GET that hands the county's payees and accounts out of the system is an action of record
        # (a HEAD hands nothing out, and an event could never be taken back)
        if request.method == "GET":
            audit.record(actor=request.user, action=AuditEvent.Action.EXPORT, object_type="payment_batch",
                         object_id=batch.pk, county_id=batch.county_id,
                         after={"format": "bank_csv", "claims": batch.claims.count(), "total": str(batch.total)})
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, f"subsidies-batch-{batch.pk}.csv")
        return protect_download(response, sandbox=True)


def _batch_claims():
    return Prefetch("claims", queryset=Claim.objects.select_related("broker", "village", "version")
                    .annotate(flag_count=_flag_count()).order_by("id"))


# --- audit trail ----------------------------------------------------------------------------------------------

class AuditFilter(FilterSet):
    object_type = filters.CharFilter(field_name="object_type")
    object_id = IntegerFilter(field_name="object_id")
    actor = IdFilter(field_name="actor_id")

    class Meta:
        model = AuditEvent
        fields = ["action"]


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The append-only trail: who did what to which record, when, before and after; newest first."""

    queryset = AuditEvent.objects.none()
    serializer_class = s.AuditEventSerializer
    permission_classes = [STAFF]
    pagination_class = NewestFirst
    filterset_class = AuditFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_audit_events(self.request.user).select_related("actor")


router = SimpleRouter()
router.register("claims", ClaimViewSet, basename="subsidy-claim")
router.register("evaluations", EvaluationViewSet, basename="subsidy-evaluation")
router.register("payment-batches", PaymentBatchViewSet, basename="subsidy-payment-batch")
router.register("audit", AuditEventViewSet, basename="subsidy-audit")

urlpatterns = [
    path("budget/", BudgetView.as_view(), name="subsidy-budget"),
    *router.urls,
]
