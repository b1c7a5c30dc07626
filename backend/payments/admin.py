from django.contrib import admin

from .models import Account, Entry, Transaction


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["code", "purpose", "name"]
    list_filter = ["purpose"]
    search_fields = ["code", "name"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    """Read-only: the ledger is written by services, and the database refuses edits."""

    list_display = ["id", "kind", "memo", "posted_at", "reverses"]
    list_filter = ["kind"]
    inlines = [EntryInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
