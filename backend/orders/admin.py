from django.contrib import admin

from .models import Award, Bid, Order, OrderEvent, Procedure, Material


class ProcedureInline(admin.TabularInline):
    model = Procedure
    extra = 0


class MaterialInline(admin.TabularInline):
    model = Material
    extra = 0


class EventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_status", "to_status", "actor", "reason", "data", "at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the API's services, which keep the audit trail."""

    list_display = ["id", "product", "firm", "category", "quantity", "status", "bid_deadline"]
    list_filter = ["status", "category"]
    search_fields = ["product"]
    readonly_fields = ["status", "terms_version", "published_at"]
    inlines = [ProcedureInline, MaterialInline, EventInline]


@admin.register(Bid)
class BidAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "broker", "unit_price", "quantity", "status"]
    list_filter = ["status"]
    readonly_fields = ["status"]


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "broker", "quantity", "unit_price", "status"]
    list_filter = ["status"]
    readonly_fields = ["status"]
