from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Jurisdiction, MinimumWage, Organisation, User


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["name", "name_en", "code"]
    raw_id_fields = ["parent"]
    readonly_fields = ["county"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "jurisdiction"]
    list_filter = ["kind"]
    search_fields = ["name"]
    raw_id_fields = ["jurisdiction"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "role", "organisation", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "display_name", "phone"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("Lailiao"), {"fields": ("display_name", "phone", "role", "organisation", "language")}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (_("Lailiao"), {"fields": ("display_name", "phone", "role", "organisation")}),
    )


@admin.register(MinimumWage)
class MinimumWageAdmin(admin.ModelAdmin):
    list_display = ["county", "monthly_amount", "days_per_month", "hours_per_day", "effective_from"]
    raw_id_fields = ["county"]
