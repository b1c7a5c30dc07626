"""Cursor pagination everywhere: stable under inserts and cheap on big tables (no OFFSET)."""
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import CursorPagination

from .errors import ValidationFailed


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        """`page_size` from 1 to 500, or absent for 50; anything else is a 400 (it was ignored)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise ValidationFailed(_("Give page_size as a whole number from 1 to %(max)d.") % {
                "max": self.max_page_size}, field=self.page_size_query_param)
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters
