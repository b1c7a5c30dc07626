"""Thin API views of the marketplace: parse with an input serializer, call one service or
selector, render with an output serializer."""
from __future__ import annotations

from django.db.models import Prefetch, Sum
from django.http import FileResponse, Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.models import Role
from accounts.permissions import BROKER_STAFF, HasRole
from core.filters import BooleanFilter, FilterSet as IdFilterSet, IntegerFilter, IsoDateTimeFilter
from core.parsers import JSONParser
from core.uploads import DOCUMENT_KINDS, UNCHECKED_CONTENT_TYPE, protect_download

from . import selectors, serializers as s, services
from .errors import NotYours
from .models import Award, Bid, Delivery, Dispatch, Order, Procedure, Subcontract
from .services.common import floor_for

MARKET_ROLES = (Role.FIRM_MEMBER, *BROKER_STAFF, Role.AUDITOR)
FIRM = (Role.FIRM_MEMBER,)
BROKER_OWNER = (Role.BROKER_OWNER,)
# what an attachment download may be: an order document's checked type, or a file from before the check
DOWNLOAD_TYPES = [kind.content_type for kind in DOCUMENT_KINDS] + [UNCHECKED_CONTENT_TYPE]


class WriteRoles:
    """Each write names the roles that may ever do it (admins pass, the services decide for them).
    Checked before the object is looked up: a role that may not write gets 403 on an object it
    can see, as on one it cannot; a write on an object its role could touch but it cannot see is
    404. The services check again."""

    write_roles: dict[str, tuple[str, ...]] = {}

    def get_permissions(self):
        roles = self.write_roles.get(getattr(self, "action", None))
        request = getattr(self, "request", None)
        if roles is not None and request is not None and request.method not in SAFE_METHODS:
            return [HasRole.of(*roles)()]
        return super().get_permissions()


class OrderFilter(IdFilterSet):
    quantity_min = IntegerFilter(field_name="quantity", lookup_expr="gte")
    quantity_max = IntegerFilter(field_name="quantity", lookup_expr="lte")
    deadline_after = IsoDateTimeFilter(field_name="bid_deadline", lookup_expr="gte")
    deadline_before = IsoDateTimeFilter(field_name="bid_deadline", lookup_expr="lte")
    due_after = filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = filters.DateFilter(field_name="due_date", lookup_expr="lte")
    mode = filters.CharFilter(method="filter_mode")
    open = BooleanFilter(method="filter_open", label="Open for bids now")

    class Meta:
        model = Order
        fields = ["category", "status"]

    def filter_mode(self, queryset, name, value):
        # modes is a JSON list; match the quoted value so "home" does not match "homework"
        return queryset.filter(modes__icontains=f'"{value}"')

    def filter_open(self, queryset, name, value):
        board = selectors.board_orders()
        return queryset.filter(pk__in=board.values("pk")) if value else queryset.exclude(pk__in=board.values("pk"))


def _standard_minutes(order_ids) -> dict[int, object]:
    return dict(
        Procedure.objects.filter(order_id__in=order_ids).values("order_id").annotate(m=Sum("standard_minutes"))
        .values_list("order_id", "m")
    )


class OrderViewSet(WriteRoles, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders. Firms post and manage their own; brokers see the board (published, open for
    bids) and the orders they take part in; auditors the orders awarded in their county."""

    queryset = Order.objects.none()
    permission_classes = [HasRole.of(*MARKET_ROLES)]
    write_roles = {"create": FIRM, "partial_update": FIRM, "publish": FIRM, "cancel": FIRM, "attachments": FIRM,
                   "awards": FIRM, "bids": BROKER_OWNER}
    filterset_class = OrderFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        qs = selectors.visible_orders(self.request.user)
        if self.action == "retrieve":
            qs = qs.prefetch_related("procedures", "materials", "attachments")
        return qs

    def get_serializer_class(self):
        return s.OrderDetailSerializer if self.action != "list" else s.OrderListSerializer

    def _detail(self, order: Order, status_code=status.HTTP_200_OK) -> Response:
        order = Order.objects.select_related("firm").prefetch_related("procedures", "materials", "attachments") \
            .get(pk=order.pk)
        user = self.request.user
        order.bid_count = selectors.live_bid_count(order) if (user.is_admin_role or user.is_firm_member) else None
        if user.is_broker_staff and order.status != Order.Status.DRAFT:
            order.fair_rate_floor, _ = floor_for(order=order, broker=user.organisation)
        else:
            order.fair_rate_floor = None
        return Response(s.OrderDetailSerializer(order, context={"request": self.request}).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=s.OrderInput, responses={201: s.OrderDetailSerializer})
    def create(self, request):
        data = s.OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_create(actor=request.user, data=data.validated_data)
        return self._detail(order, status.HTTP_201_CREATED)

    @extend_schema(request=s.OrderUpdateInput, responses=s.OrderDetailSerializer)
    def partial_update(self, request, pk=None):
        order = self.get_object()
        data = s.OrderUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_update(actor=request.user, order_id=order.pk, data=data.validated_data)
        return self._detail(order)

    @extend_schema(request=None, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._detail(services.order_publish(actor=request.user, order_id=self.get_object().pk))

    @extend_schema(request=s.ReasonInput, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(services.order_cancel(actor=request.user, order_id=order.pk, **data.validated_data))

    @extend_schema(responses=s.OrderEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        order = self.get_object()
        user = request.user
        events = list(selectors.visible_events(user, order))
        rows = s.OrderEventSerializer(events, many=True).data
        for event, row in zip(events, rows):
            if user.is_admin_role:
                continue
            if user.is_firm_member:  # its own order (get_object)
                if event.action.startswith("bid_"):
                    row["actor"] = row["actor_name"] = None  # sealed: a bid exists, not whose
                continue
            row["data"] = {}  # bid counts, other brokers' awards and fees (which tell a unit price)
            if event.actor is None or event.actor.organisation_id not in (order.firm_id, user.organisation_id):
                row["actor"] = row["actor_name"] = None  # who delivered or declined says who won
        return Response(rows)

    @extend_schema(methods=["get"], responses=s.AttachmentSerializer(many=True))
    @extend_schema(methods=["post"], request=s.AttachmentInput, responses={201: s.AttachmentSerializer})
    @action(detail=True, methods=["get", "post"])
    def attachments(self, request, pk=None):
        order = self.get_object()
        if request.method == "GET":
            return Response(s.AttachmentSerializer(order.attachments.all(), many=True).data)
        data = s.AttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = services.attachment_add(actor=request.user, order_id=order.pk, **data.validated_data)
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, content_type): bytes for content_type in DOWNLOAD_TYPES})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)/file")
    def attachment_file(self, request, pk=None, attachment_id=None):
        """Download an attachment: anyone who may see the order may read its files. Always a
        download (never shown inline) of the type checked at upload, application/octet-stream
        for files from before the check."""
        attachment = self.get_object().attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise Http404
        try:
            content = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        return protect_download(FileResponse(content, as_attachment=True, filename=attachment.download_name,
                                             content_type=attachment.served_content_type))

    @extend_schema(methods=["get"], responses=s.BidSerializer(many=True))
    @extend_schema(methods=["post"], request=s.BidInput, responses={201: s.BidSerializer})
    @action(detail=True, methods=["get", "post"])
    def bids(self, request, pk=None):
        order = self.get_object()
        if request.method == "POST":
            data = s.BidInput(data=request.data)
            data.is_valid(raise_exception=True)
            bid = services.bid_place(actor=request.user, order_id=order.pk, **data.validated_data)
            return Response(bid_payload([bid], request)[0], status=status.HTTP_201_CREATED)
        bids = selectors.visible_bids(request.user).filter(order=order).order_by("unit_price", "id")
        return Response(bid_payload(list(bids), request))

    @extend_schema(methods=["get"], responses=s.AwardSerializer(many=True))
    @extend_schema(methods=["post"], request=s.AwardInput, responses={201: s.AwardSerializer})
    @action(detail=True, methods=["get", "post"])
    def awards(self, request, pk=None):
        order = self.get_object()
        if request.method == "POST":
            data = s.AwardInput(data=request.data)
            data.is_valid(raise_exception=True)
            award = services.award_create(actor=request.user, order_id=order.pk, bid_id=data.validated_data["bid"],
                                          quantity=data.validated_data["quantity"])
            return Response(award_payload([award], request)[0], status=status.HTTP_201_CREATED)
        awards = selectors.visible_awards(request.user).filter(order=order)
        return Response(award_payload(list(awards), request))


def bid_payload(bids: list[Bid], request) -> list[dict]:
    """Bids with their broker's track record and implied hourly pay, in a fixed number of
    queries however many bids there are."""
    context = {
        "request": request,
        "standard_minutes": _standard_minutes({b.order_id for b in bids}),
        "track_records": selectors.track_records([b.broker_id for b in bids]),
    }
    return s.BidSerializer(bids, many=True, context=context).data


def award_payload(awards: list[Award], request, serializer=s.AwardSerializer) -> list[dict]:
    context = {"request": request, "progress": selectors.award_progress([a.pk for a in awards])}
    return serializer(awards, many=True, context=context).data


class BidViewSet(WriteRoles, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A broker's own bids (and, after the deadline, a firm's received bids)."""

    queryset = Bid.objects.none()
    permission_classes = [HasRole.of(Role.FIRM_MEMBER, *BROKER_STAFF)]
    write_roles = {"partial_update": BROKER_OWNER, "withdraw": BROKER_OWNER, "reconfirm": BROKER_OWNER}
    serializer_class = s.BidSerializer
    filterset_fields = ["order", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_bids(self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(bid_payload(page, request))

    def retrieve(self, request, *args, **kwargs):
        return Response(bid_payload([self.get_object()], request)[0])

    @extend_schema(request=s.BidReviseInput, responses=s.BidSerializer)
    def partial_update(self, request, pk=None):
        bid = self.get_object()
        data = s.BidReviseInput(data=request.data)
        data.is_valid(raise_exception=True)
        bid = services.bid_revise(actor=request.user, bid_id=bid.pk, **data.validated_data)
        return Response(bid_payload([bid], request)[0])

    @extend_schema(request=None, responses=s.BidSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        bid = services.bid_withdraw(actor=request.user, bid_id=self.get_object().pk)
        return Response(bid_payload([bid], request)[0])

    @extend_schema(request=None, responses=s.BidSerializer)
    @action(detail=True, methods=["post"])
    def reconfirm(self, request, pk=None):
        bid = services.bid_reconfirm(actor=request.user, bid_id=self.get_object().pk)
        return Response(bid_payload([bid], request)[0])


class AwardViewSet(WriteRoles, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Awards and their fulfilment: materials, deliveries, inspections, reconciliation."""

    queryset = Award.objects.none()
    permission_classes = [HasRole.of(*MARKET_ROLES)]
    write_roles = {"decline": BROKER_OWNER, "complete": FIRM, "dispatches": FIRM, "returns": BROKER_STAFF,
                   "deliveries": BROKER_STAFF, "subcontracts": BROKER_OWNER}
    serializer_class = s.AwardSerializer
    filterset_fields = ["order", "status", "broker"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        qs = selectors.visible_awards(self.request.user)
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch("dispatches", queryset=Dispatch.objects.prefetch_related("lines__material")),
                "returns", Prefetch("deliveries", queryset=Delivery.objects.select_related("inspection__award")),
                "reconciliation__material",
                Prefetch("subcontracts", queryset=Subcontract.objects.select_related("from_broker", "to_broker")),
            )
        return qs

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(award_payload(page, request))

    def _detail(self, award_id: int, status_code=status.HTTP_200_OK) -> Response:
        award = self.get_queryset().get(pk=award_id) if self.action == "retrieve" else \
            selectors.visible_awards(self.request.user).get(pk=award_id)
        return Response(award_payload([award], self.request, s.AwardDetailSerializer)[0], status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object().pk)

    @extend_schema(request=s.ReasonInput, responses=s.AwardDetailSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        award = self.get_object()
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        award = services.award_decline(actor=request.user, award_id=award.pk, **data.validated_data)
        return self._detail(award.pk)

    @extend_schema(request=None, responses=s.AwardDetailSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._detail(services.award_complete(actor=request.user, award_id=self.get_object().pk).pk)

    @extend_schema(request=s.DispatchInput, responses={201: s.DispatchSerializer})
    @action(detail=True, methods=["post"])
    def dispatches(self, request, pk=None):
        award = self.get_object()
        data = s.DispatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispatch = services.dispatch_send(actor=request.user, award_id=award.pk, **data.validated_data)
        return Response(s.DispatchSerializer(dispatch).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReturnInput, responses={201: s.MaterialReturnSerializer})
    @action(detail=True, methods=["post"])
    def returns(self, request, pk=None):
        award = self.get_object()
        data = s.ReturnInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.material_return(actor=request.user, award_id=award.pk,
                                        material_id=data.validated_data["material"],
                                        quantity=data.validated_data["quantity"])
        return Response(s.MaterialReturnSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DeliveryInput, responses={201: s.DeliverySerializer})
    @action(detail=True, methods=["post"])
    def deliveries(self, request, pk=None):
        award = self.get_object()
        data = s.DeliveryInput(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = services.delivery_record(actor=request.user, award_id=award.pk, **data.validated_data)
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SubcontractInput, responses={201: s.SubcontractSerializer})
    @action(detail=True, methods=["post"])
    def subcontracts(self, request, pk=None):
        award = self.get_object()
        data = s.SubcontractInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sub = services.subcontract_propose(actor=request.user, award_id=award.pk,
                                           to_broker_id=values["to_broker"], quantity=values["quantity"],
                                           unit_price=values["unit_price"], note=values["note"])
        return Response(s.SubcontractSerializer(sub).data, status=status.HTTP_201_CREATED)


class DispatchViewSet(viewsets.GenericViewSet):
    queryset = Dispatch.objects.none()
    serializer_class = s.ReceiveInput  # what OPTIONS describes (DRF's metadata needs one)
    permission_classes = [HasRole.of(*BROKER_STAFF)]

    @extend_schema(request=s.ReceiveInput, responses=s.DispatchSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        user = request.user
        # the awarded broker's dispatches; an admin's request goes on to the service, which decides
        mine = Dispatch.objects.all() if user.is_admin_role else Dispatch.objects.filter(
            award__broker_id=user.organisation_id)
        dispatch = get_object_or_404(mine, pk=pk)
        data = s.ReceiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispatch = services.dispatch_receive(actor=request.user, dispatch_id=dispatch.pk,
                                             lines=data.validated_data.get("lines"))
        return Response(s.DispatchSerializer(dispatch).data)


class DeliveryViewSet(viewsets.GenericViewSet):
    queryset = Delivery.objects.none()
    serializer_class = s.InspectionInput  # what OPTIONS describes (DRF's metadata needs one)
    permission_classes = [HasRole.of(Role.FIRM_MEMBER)]

    @extend_schema(request=s.InspectionInput, responses=s.InspectionSerializer)
    @action(detail=True, methods=["post"])
    def inspect(self, request, pk=None):
        user = request.user
        # deliveries on the firm's own orders; an admin acts for any firm, as the services allow
        theirs = Delivery.objects.all() if user.is_admin_role else Delivery.objects.filter(
            award__order__firm_id=user.organisation_id)
        delivery = get_object_or_404(theirs, pk=pk)
        data = s.InspectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        inspection = services.inspection_record(actor=request.user, delivery_id=delivery.pk, **data.validated_data)
        return Response(s.InspectionSerializer(inspection).data, status=status.HTTP_201_CREATED)


class SubcontractViewSet(WriteRoles, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Subcontract.objects.none()
    permission_classes = [HasRole.of(Role.FIRM_MEMBER, *BROKER_STAFF)]
    write_roles = {"accept": BROKER_OWNER, "decline": BROKER_OWNER, "cancel": BROKER_OWNER}
    filterset_fields = ["status", "award"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.visible_subcontracts(self.request.user)

    def get_serializer_class(self):
        user = getattr(self.request, "user", None)
        firm = user is not None and user.is_authenticated and user.is_firm_member
        return s.FirmSubcontractSerializer if firm else s.SubcontractSerializer

    def _decide(self, service, *, party: str) -> Response:
        sub = self.get_object()
        if getattr(sub, f"{party}_id") != self.request.user.organisation_id:
            # both brokers see the subcontract; only `party` decides this step (403, not 404)
            raise NotYours()
        sub = service(actor=self.request.user, subcontract_id=sub.pk)
        return Response(s.SubcontractSerializer(sub).data)

    @extend_schema(request=None, responses=s.SubcontractSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._decide(services.subcontract_accept, party="to_broker")

    @extend_schema(request=None, responses=s.SubcontractSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._decide(services.subcontract_decline, party="to_broker")

    @extend_schema(request=None, responses=s.SubcontractSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._decide(services.subcontract_cancel, party="from_broker")
