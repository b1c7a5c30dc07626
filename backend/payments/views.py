"""Invoices, firm payments and the broker's receivables."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.decorators import action

from accounts.models import Role
from accounts.permissions import BROKER_STAFF, HasRole

from . import invoicing, serializers as s
from .models import Invoice


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
