"""Attendance marks (in bulk per day) and workers' declared unavailability."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.bounds import check_date_within, days_from_today
from core.errors import Forbidden, ValidationFailed

from .. import limits
from ..models import Attendance, Availability, Membership
from .workforce import broker_of


@transaction.atomic
def attendance_mark(*, actor: User, day: date, marks: list[dict[str, Any]]) -> list[Attendance]:
    """Mark a day for many workers at once; marking again replaces the day's mark. All or
    nothing: every bad row is reported by index."""
    broker_id = broker_of(actor)
    if day > timezone.localdate():
        raise ValidationFailed(_("Attendance is marked for today or earlier."), field="date")
    check_date_within(day, field="date", earliest=days_from_today(-limits.ATTENDANCE_MAX_DAYS_BACK))
    members = set(Membership.objects.filter(broker_id=broker_id, worker_id__in=[m["worker"] for m in marks],
                                            started_on__lte=day).exclude(ended_on__lt=day)
                  .values_list("worker_id", flat=True))
    errors: dict[str, list[str]] = {}
    seen: set[int] = set()
    for index, mark in enumerate(marks):
        if mark["worker"] not in members:
            errors[f"marks.{index}.worker"] = [_("Not a member of your workforce on this day.")]
        elif mark["worker"] in seen:
            errors[f"marks.{index}.worker"] = [_("This worker is marked twice.")]
        if mark["mark"] == Attendance.Mark.LEAVE and not mark.get("leave_reason"):
            errors[f"marks.{index}.leave_reason"] = [_("Give the reason for the leave.")]
        if mark["mark"] != Attendance.Mark.LEAVE and mark.get("leave_reason"):
            errors[f"marks.{index}.leave_reason"] = [_("Only a leave has a reason.")]
        seen.add(mark["worker"])
    if errors:
        raise ValidationFailed(_("Some marks are not valid; nothing was recorded."), code="invalid_rows",
                               fields=errors)
    saved = []
    for mark in marks:
        row, _created = Attendance.objects.update_or_create(
            broker_id=broker_id, worker_id=mark["worker"], date=day,
            defaults={"mark": mark["mark"], "leave_reason": mark.get("leave_reason", ""),
                      "note": mark.get("note", ""), "recorded_by": actor},
        )
        saved.append(row)
    return saved


def availability_declare(*, actor: User, start_date: date, end_date: date, reason: str,
                         note: str = "") -> Availability:
    worker = getattr(actor, "worker", None)
    if not actor.is_worker or worker is None:
        raise Forbidden()
    earliest = days_from_today(-limits.AVAILABILITY_MAX_DAYS_BACK)
    latest = days_from_today(limits.AVAILABILITY_MAX_DAYS_AHEAD)
    check_date_within(start_date, field="start_date", earliest=earliest, latest=latest)
    check_date_within(end_date, field="end_date", earliest=earliest, latest=latest)
    if end_date < start_date:
        raise ValidationFailed(_("The end is before the start."), field="end_date")
    return Availability.objects.create(worker=worker, start_date=start_date, end_date=end_date, reason=reason,
                                       note=note)
