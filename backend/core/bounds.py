"""Range checks for dates and months given as input. Each app keeps its own ranges (named
constants in its `limits.py`, documented in docs/api.md § Limits); this module only checks a
value against a range and refuses it in the one error shape: a 400 naming the field and the range.

"Today" is the local date (Asia/Shanghai): services pass `timezone.localdate()` based bounds."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import ValidationFailed


def local_date(value: date | datetime) -> date:
    """The calendar day of a date, or of an aware datetime in local time."""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def days_from_today(days: int) -> date:
    """Today (local) plus `days` (negative: before today), never beyond the calendar's ends."""
    today = timezone.localdate()
    try:
        return today + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def check_date_within(value: date | datetime | None, *, field: str, earliest: date | None = None,
                      latest: date | None = None, error: type[ValidationFailed] = ValidationFailed) -> None:
    """Refuse `value` (a date, or a datetime compared by its local day) outside [earliest, latest]
    with a 400 naming `field` and the range. None passes (the field was not given)."""
    problem = date_out_of_range(value, field=field, earliest=earliest, latest=latest, error=error)
    if problem is not None:
        raise problem


def date_out_of_range(value: date | datetime | None, *, field: str, earliest: date | None = None,
                      latest: date | None = None,
                      error: type[ValidationFailed] = ValidationFailed) -> ValidationFailed | None:
    """The error check_date_within would raise, or None: for checks that collect errors by row."""
    if value is None:
        return None
    day = local_date(value)
    if (earliest is None or day >= earliest) and (latest is None or day <= latest):
        return None
    if earliest is not None and latest is not None:
        message = _("Choose a date from %(earliest)s to %(latest)s.") % {
            "earliest": earliest.isoformat(), "latest": latest.isoformat()}
    elif earliest is not None:
        message = _("Choose a date on or after %(earliest)s.") % {"earliest": earliest.isoformat()}
    else:
        message = _("Choose a date on or before %(latest)s.") % {"latest": latest.isoformat()}
    return error(message, field=field)


def check_month_within(value: date, *, field: str, earliest: date, latest: date,
                       error: type[ValidationFailed] = ValidationFailed) -> None:
    """The same for a month (a date on the 1st): the range is printed as YYYY-MM."""
    if earliest <= value.replace(day=1) <= latest:
        return
    raise error(_("Choose a month from %(earliest)s to %(latest)s.") % {
        "earliest": month_text(earliest), "latest": month_text(latest)}, field=field)


def month_text(month: date) -> str:
    """YYYY-MM, zero-padded whatever the year (strftime's %Y is not, for years before 1000)."""
    return f"{month.year:04d}-{month.month:02d}"
