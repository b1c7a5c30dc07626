"""Read-only admin views of the subsidy tables: policies are drafted and activated, and claims
reviewed, through the API's services (audited, four-eyes, budget-locked), never by editing rows."""
from django.contrib import admin

from .models import AuditEvent, Claim, Evaluation, Policy, PolicyVersion, Rule


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = ["kind", "enabled", "parameters"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Policy)
class PolicyAdmin(ReadOnly):
    list_display = ["code", "title", "jurisdiction", "issuing_body"]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnly):
    list_display = ["policy", "number", "status", "effective_from", "effective_to", "annual_budget"]
    list_filter = ["status"]
    inlines = [RuleInline]


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnly):
    list_display = ["id", "version", "period", "period_start", "simulation", "status", "requested_at"]
    list_filter = ["status", "period", "simulation"]


@admin.register(Claim)
class ClaimAdmin(ReadOnly):
    list_display = ["key", "kind", "amount", "status", "fund_year", "county"]
    list_filter = ["status", "kind", "fund_year"]
    search_fields = ["key"]
    list_select_related = ["county"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ["at", "action", "object_type", "object_id", "actor"]
    list_filter = ["action", "object_type"]
    list_select_related = ["actor"]
