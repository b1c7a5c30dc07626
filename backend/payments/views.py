"""Invoices and firm payments, receivables, payroll runs, payout batches, payslips and ledger
balances. Thin: parse, call one service, serialise."""
from datetime import datetime, time

from django.db.models import Count
from django.http import HttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import BROKER_STAFF, HasRole
from core.errors import Forbidden, NotFound, ValidationFailed
from core.fields import MONTH_PATTERN, MomentError, MonthFilter, checked_moment
from core.filters import FilterSet as IdFilterSet
from core.uploads import protect_download

from . import documents, invoicing, payouts, payroll, selectors, serializers as s
from .models import Account, Invoice, PayoutBatch, PayrollRun, Payslip


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A firm sees the invoices it owes, a broker those owed to it."""

    queryset = Invoice.objects.none()
    serializer_class = s.InvoiceSerializer
    permission_classes = [HasRole.of(Role.FIRM_MEMBER, *BROKER_STAFF)]
    filterset_fields = ["award", "firm", "broker"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        user = self.request.user
        qs = Invoice.objects.select_related("firm", "broker", "award").prefetch_related("lines", "payments")
        if user.is_admin_role:
            return qs
        if user.is_firm_member:
            return qs.filter(firm_id=user.organisation_id)
        return qs.filter(broker_id=user.organisation_id)

    @extend_schema(request=s.PaymentInput, responses={201: s.PaymentSerializer})
    @action(detail=True, methods=["post"])
    def payments(self, request, pk=None):
        """Record a payment (the firm). The same idempotency_key again returns the first (200)."""
        invoice = self.get_object()
        data = s.PaymentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        before = invoice.payments.filter(idempotency_key=values["idempotency_key"]).exists()
        payment = invoicing.payment_record(actor=request.user, invoice_id=invoice.pk, amount=values["amount"],
                                           paid_on=values["paid_on"], reference=values["reference"],
                                           key=values["idempotency_key"])
        return Response(s.PaymentSerializer(payment).data, status=status.HTTP_200_OK if before else status.HTTP_201_CREATED)


class ReceivablesView(APIView):
    """The broker's receivables per firm, aged 0-30, 31-60, 61-90 and over 90 days."""

    permission_classes = [HasRole.of(*BROKER_STAFF)]

    @extend_schema(responses=s.AgeingSerializer(many=True))
    def get(self, request):
        rows = invoicing.receivables_ageing(broker_id=request.user.organisation_id)
        return Response(s.AgeingSerializer([{"firm_id": r.firm_id, "firm_name": r.firm_name, "buckets": r.buckets,
                                             "total": r.total} for r in rows], many=True).data)


# --- payroll ------------------------------------------------------------------------------------

def _owner_only(user) -> None:
    """Payroll writes and the bank file are the broker owner's (and an administrator's): whoever
    else may read the object is refused (403) before the input is read."""
    if not (user.is_admin_role or user.role == Role.BROKER_OWNER):
        raise Forbidden(gettext("Only the broker's owner may do this."))


def _file(content: bytes, content_type: str, filename: str, *, attachment: bool = False) -> HttpResponse:
    """A generated file: PDFs inline (to print; browsers show no PDF in a sandbox), the bank file
    as a download in a sandbox; the type as sent, never sniffed (core.uploads.protect_download)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    return protect_download(response, sandbox=attachment)


class PayrollRunFilter(IdFilterSet):
    month = MonthFilter(field_name="month")

    class Meta:
        model = PayrollRun
        fields = ["broker", "status"]


class PayrollRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A broker's monthly payroll: POST a month to preview it (again to recompute), then close,
    export the bank file and record the payment. Broker staff read; the owner acts."""

    queryset = PayrollRun.objects.none()
    serializer_class = s.PayrollRunSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.AUDITOR)]
    filterset_class = PayrollRunFilter
    paginated_actions = ["payslips"]  # for the schema: this sub-list is a page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return (selectors.visible_runs(self.request.user).annotate(payslip_count=Count("payslips"))
                .prefetch_related("batches"))

    def _out(self, run, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data, status=code)

    @extend_schema(request=s.PayrollRunInput, responses={201: s.PayrollRunSerializer, 200: s.PayrollRunSerializer})
    def create(self, request):
        """Preview the month's payroll (201), or recompute the preview there is (200)."""
        _owner_only(request.user)
        data = s.PayrollRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        run, created = payroll.payroll_preview(actor=request.user, month=data.validated_data["month"],
                                               broker_id=data.validated_data.get("broker"))
        return self._out(run, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=None, responses=s.PayrollRunSerializer)
    @action(detail=True, methods=["post"])
    def recompute(self, request, pk=None):
        run = self.get_object()
        _owner_only(request.user)
        return self._out(payroll.payroll_recompute(actor=request.user, run_id=run.pk))

    @extend_schema(request=None, responses=s.PayrollRunSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Freeze the payslips, post them to the ledger and make the payout batch. A second close
        is a 409 (run_closed)."""
        run = self.get_object()
        _owner_only(request.user)
        return self._out(payroll.payroll_close(actor=request.user, run_id=run.pk))

    @extend_schema(request=s.MarkPaidInput, responses={201: s.PayoutBatchSerializer, 200: s.PayoutBatchSerializer})
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        """Record the bank's answer for the run's newest batch (see payout-batches/{id}/paid); an
        answer resent is matched by its bank reference to the batch it was recorded for."""
        run = self.get_object()
        _owner_only(request.user)
        values = _bank_answer(request)
        batch = payouts.open_batch(actor=request.user, run_id=run.pk, bank_reference=values["bank_reference"])
        return _mark_paid(request, batch.pk, values)

    @extend_schema(responses=s.PayslipSerializer(many=True))
    @action(detail=True, methods=["get"])
    def payslips(self, request, pk=None):
        run = self.get_object()
        page = self.paginate_queryset(_payslips(Payslip.objects.filter(run=run)))
        return self.get_paginated_response(s.PayslipSerializer(page, many=True).data)


def _payslips(qs):
    return qs.select_related("run__broker").prefetch_related("lines__procedure", "payout_items__batch")


def _bank_answer(request) -> dict:
    data = s.MarkPaidInput(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _mark_paid(request, batch_id: int, values: dict) -> Response:
    batch, recorded = payouts.batch_mark_paid(actor=request.user, batch_id=batch_id,
                                              bank_reference=values["bank_reference"], paid_on=values["paid_on"],
                                              failures=[dict(f) for f in values["failures"]])
    batch = PayoutBatch.objects.select_related("run").prefetch_related("items__batch").get(pk=batch.pk)
    return Response(s.PayoutBatchSerializer(batch).data,
                    status=status.HTTP_201_CREATED if recorded else status.HTTP_200_OK)


class PayoutBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Payout batches of closed runs: the bank file, the summary to sign off, the bank's answer,
    and a retry batch for failed payments."""

    queryset = PayoutBatch.objects.none()
    serializer_class = s.PayoutBatchSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.AUDITOR)]
    filterset_fields = ["run", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_batches(self.request.user).prefetch_related("items__batch")

    @extend_schema(responses={(200, "text/csv"): bytes})
    @action(detail=True, methods=["get"], url_path="bank-file")
    def bank_file(self, request, pk=None):
        """The bank batch file (CSV: worker, bank, account, amount, reference). The owner only."""
        batch = self.get_object()  # first: who may not see the batch gets 404, not 403
        _owner_only(request.user)
        return _file(payouts.bank_file(batch), "text/csv; charset=utf-8",
                     f"payroll-{batch.run.month:%Y-%m}-batch-{batch.number}.csv", attachment=True)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def summary(self, request, pk=None):
        """The batch summary to print and sign off (PDF), with the bank file's SHA-256."""
        batch = self.get_object()
        return _file(documents.batch_summary_pdf(batch), "application/pdf",
                     f"payroll-{batch.run.month:%Y-%m}-batch-{batch.number}.pdf")

    @extend_schema(request=s.MarkPaidInput, responses={201: s.PayoutBatchSerializer, 200: s.PayoutBatchSerializer})
    @action(detail=True, methods=["post"])
    def paid(self, request, pk=None):
        """Record the bank's answer once: every payment paid except the listed failures. The same
        answer again returns the batch (200); a different one is a 409."""
        batch = self.get_object()
        _owner_only(request.user)
        return _mark_paid(request, batch.pk, _bank_answer(request))

    @extend_schema(request=None, responses={201: s.PayoutBatchSerializer, 200: s.PayoutBatchSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """A new batch for the failed payments (201); asked again, the same batch (200)."""
        original = self.get_object()
        _owner_only(request.user)
        batch, created = payouts.batch_retry(actor=request.user, batch_id=original.pk)
        batch = PayoutBatch.objects.select_related("run").prefetch_related("items__batch").get(pk=batch.pk)
        return Response(s.PayoutBatchSerializer(batch).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PayslipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Payslips: a worker her own (closed runs), broker staff their runs', an auditor the county's."""

    queryset = Payslip.objects.none()
    serializer_class = s.PayslipSerializer
    permission_classes = [HasRole.of(*BROKER_STAFF, Role.AUDITOR, Role.WORKER)]
    filterset_fields = ["run", "worker"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return _payslips(selectors.visible_payslips(self.request.user))

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The payslip to print (A4 PDF)."""
        slip = self.get_object()
        return _file(documents.payslip_pdf(slip), "application/pdf", f"payslip-{slip.run.month:%Y-%m}-{slip.pk}.pdf")

    @extend_schema(responses=s.ReconciliationSerializer)
    @action(detail=True, methods=["get"])
    def reconciliation(self, request, pk=None):
        """The month's provisional earnings against the payslip's piece lines, line by line."""
        return Response(s.ReconciliationSerializer(payroll.reconciliation(self.get_object())).data)


class AccountViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Ledger accounts the caller may see, with their balances (now, or `as_of` a moment)."""

    queryset = Account.objects.none()
    serializer_class = s.AccountSerializer
    permission_classes = [HasRole.of(Role.FIRM_MEMBER, *BROKER_STAFF, Role.AUDITOR, Role.WORKER)]
    filterset_fields = ["purpose", "worker"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_accounts(self.request.user)

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.DATETIME, description="Balances as of")])
    def list(self, request):
        as_of = None
        if "as_of" in request.query_params:  # given empty, it is refused, not ignored
            as_of = _as_of(request.query_params["as_of"])
            if as_of is None:
                raise ValidationFailed(gettext("Give as_of as a date or a date and time."), field="as_of")
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {"balances": selectors.balances(page, as_of=as_of)}
        return self.get_paginated_response(s.AccountSerializer(page, many=True, context=context).data)


def _as_of(value: str):
    """A date is the end of that day (parse_datetime would read it as its first moment); a date
    and time is that moment, local unless it gives an offset. None when it is neither."""
    try:
        day = parse_date(value)
        moment = datetime.combine(day, time.max) if day else parse_datetime(value)
    except ValueError:  # well formed but no such day or time: 2026-02-30, 25:00
        return None
    if moment is None:
        return None
    try:
        return checked_moment(moment)  # an offset PostgreSQL refuses, a year-0 instant in UTC: 400s
    except MomentError as exc:
        raise ValidationFailed(exc.message, field="as_of") from None


class MyEarningsView(APIView):
    """The worker's phone: her pay for a month (this one by default), line by line as the
    payslip pays it, her logs unrounded, and each broker's payroll of the month: open, or closed
    with the payslip's total. Here rather than in brokers because it reads payslips (payments
    sits above brokers); the provisional figures are brokers' `worker_earnings`."""

    permission_classes = [HasRole.of(Role.WORKER)]

    @extend_schema(
        parameters=[OpenApiParameter(
            "month", OpenApiTypes.STR, pattern=MONTH_PATTERN, required=False,
            description="YYYY-MM, zero padded: this month (the default) or an earlier one since she first "
                        "joined a broker; anything else is a 400 naming `month`.")],
        responses={200: s.MyEarningsSerializer})
    def get(self, request):
        from brokers import selectors as brokers

        worker = getattr(request.user, "worker", None)
        if worker is None:
            raise NotFound()
        query = s.EarningsQuery(data=request.query_params.dict())  # a plain dict: `?month=` is no default
        query.is_valid(raise_exception=True)
        month = brokers.earnings_month(worker, query.validated_data.get("month"))
        earnings = brokers.worker_earnings(worker, month=month)
        body = s.MyEarningsSerializer({**vars(earnings),
                                       "payroll": selectors.worker_month_payroll(worker, earnings)}).data
        return Response(body)
