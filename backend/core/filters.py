"""Filters shared by the API's filter sets."""
from __future__ import annotations

from django import forms
from django_filters import fields, filters

from .fields import MESSAGES, MomentError, checked_moment


class IsoDateTimeField(fields.IsoDateTimeField):
    default_error_messages = MESSAGES

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return checked_moment(moment)
        except MomentError as exc:
            raise forms.ValidationError(self.error_messages[exc.reason], code=exc.reason) from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time that the database can store: offsets within ±15:59, years 1..9999
    in UTC and local time (core.fields.checked_moment); otherwise a 400 naming the filter."""

    field_class = IsoDateTimeField
