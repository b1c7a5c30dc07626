from django.contrib import admin

from .models import Membership, Worker


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["broker"]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["name", "village", "work_mode"]
    list_filter = ["work_mode"]
    search_fields = ["name", "phone"]
    raw_id_fields = ["village", "user"]
    inlines = [MembershipInline]
