"""Cursor pagination everywhere: stable under inserts and cheap on big tables (no OFFSET)."""
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
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

    def decode_cursor(self, request):
        """A cursor is only ever one of our `next`/`previous` links. Anything else (not base64, or a
        position that is not an id: `p=abc` once reached the database as a 500) is a 400 naming
        `cursor`, never a 404 or a server error."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = False
        position = getattr(cursor, "position", None)
        if cursor is False or (position is not None and not (position.lstrip("-").isascii()
                                                              and position.lstrip("-").isdigit()
                                                              and len(position) <= 20)):
            raise ValidationFailed(_("This page link is not valid: start again from the first page."),
                                   field=self.cursor_query_param, code="invalid_cursor")
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters
