"""Date-times from clients that every database can store and read back.

Python parses offsets up to ±23:59 and any year 1..9999, but PostgreSQL refuses an offset
beyond ±15:59, and 0001-01-01T00:00 in Asia/Shanghai is a year-0 instant in UTC (an
OverflowError on SQLite, an unreadable row on PostgreSQL). `checked_moment` refuses both;
the serializer field here and core.filters.IsoDateTimeFilter apply it to every date-time
that comes in (bodies and query parameters)."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
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
