"""Serializer fields shared by every app.

Months: `YYYY-MM` on the wire, the first day of that month in Python and the database.

Date-times from clients that every database can store and read back: Python parses offsets up
to ±23:59 and any year 1..9999, but PostgreSQL refuses an offset beyond ±15:59, and
0001-01-01T00:00 in Asia/Shanghai is a year-0 instant in UTC (an OverflowError on SQLite, an
unreadable row on PostgreSQL). `checked_moment` refuses both; the serializer field here and
core.filters.IsoDateTimeFilter apply it to every date-time that comes in (bodies and query
parameters)."""
from __future__ import annotations

import datetime as dt
import re
from datetime import date

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# PostgreSQL's limit; real offsets run from -12:00 to +14:00.
MAX_OFFSET = dt.timedelta(hours=15, minutes=59)

MESSAGES = {
    "offset": _("Give a UTC offset between -15:59 and +15:59."),
    "range": _("Give a date and time between the years 1 and 9999 (in UTC and in local time)."),
}


class MomentError(ValueError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = MESSAGES[reason]
        super().__init__(reason)


def checked_moment(value: dt.datetime) -> dt.datetime:
    """`value` as an aware date-time in the current time zone (a naive one is read as local),
    or MomentError when its offset is out of range or it cannot be told in UTC or local time."""
    if timezone.is_aware(value):
        offset = value.utcoffset()
        if offset > MAX_OFFSET or offset < -MAX_OFFSET:
            raise MomentError("offset")
    else:
        value = timezone.make_aware(value)
    try:
        value.astimezone(dt.timezone.utc)
        return value.astimezone(timezone.get_current_timezone())
    except OverflowError:
        raise MomentError("range") from None


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, refusing what `checked_moment` refuses (a 400 naming the field)."""

    default_error_messages = MESSAGES

    def enforce_timezone(self, value):
        # DRF calls this on every parsed value, before its own conversion to local time
        try:
            return checked_moment(value)
        except MomentError as exc:
            self.fail(exc.reason)


MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def month_text(value: date) -> str:
    """`YYYY-MM`, always zero-padded (strftime's %Y prints the year 780 as `780`)."""
    return f"{value.year:04d}-{value.month:02d}"


def month_parse(value: object) -> date | None:
    """The first day of the month `value` names, or None when it is not exactly `YYYY-MM`."""
    if not isinstance(value, str) or not _MONTH.match(value):
        return None
    year, month = int(value[:4]), int(value[5:7])
    return date(year, month, 1) if year >= 1 else None


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-11",
                      "description": "A month, YYYY-MM."})
class MonthField(serializers.Field):
    """A month: reads exactly `YYYY-MM` into the first day of that month, writes `YYYY-MM`. Which
    months make sense (not in the future, not before a payroll could start) is the services'."""

    default_error_messages = {"invalid": _("Give the month as YYYY-MM.")}

    def to_internal_value(self, data):
        month = month_parse(data)
        if month is None:
            self.fail("invalid")
        return month

    def to_representation(self, value):
        if isinstance(value, str):
            value = month_parse(value)
        return month_text(value) if value else None


class _MonthFormField(forms.CharField):
    default_error_messages = {"invalid": _("Give the month as YYYY-MM.")}

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        month = month_parse(value)
        if month is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return month


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-11"})
class MonthFilter(django_filters.Filter):
    """A `?month=YYYY-MM` filter on a month column (a date on the first of the month)."""

    field_class = _MonthFormField


def refuse_coerced_input() -> None:
    """Text and decimal inputs take JSON strings only, as the schema says: DRF would store the
    number 0 as the text "0" and read a decimal from a JSON float (0.1 is not exactly 0.1), so a
    client built from the schema and one that sends anything would not mean the same. Called once
    from CoreConfig.ready; multipart and form values are strings anyway."""
    char_to_internal = serializers.CharField.to_internal_value
    decimal_to_internal = serializers.DecimalField.to_internal_value

    def char(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return char_to_internal(self, data)

    def decimal(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return decimal_to_internal(self, data)

    serializers.CharField.to_internal_value = char
    serializers.DecimalField.to_internal_value = decimal


# The largest id any table can hold (a 64-bit integer, PostgreSQL's bigint and SQLite's INTEGER).
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """An object's id in a request body: a positive integer a database can compare, so that an id
    of 20 digits is a 400 naming the field, not an overflow in the driver."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

