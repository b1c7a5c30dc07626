"""Reads about accounts that are more than one line."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from .models import MinimumWage


@dataclass(frozen=True)
class WageBasis:
    monthly_amount: Decimal
    days_per_month: Decimal
    hours_per_day: Decimal
    source: str

    @property
    def per_minute(self) -> Decimal:
        # not rounded: it only ever feeds a floor, which is rounded once, upwards
        return self.monthly_amount / (self.days_per_month * self.hours_per_day * 60)


def minimum_wage_for(*, county_id: int | None, on: date) -> WageBasis:
    row = (
        MinimumWage.objects.filter(county_id=county_id, effective_from__lte=on).order_by("-effective_from").first()
        if county_id
        else None
    )
    if row is not None:
        return WageBasis(row.monthly_amount, row.days_per_month, row.hours_per_day, row.document or str(row))
    default = settings.DEFAULT_MINIMUM_WAGE
    return WageBasis(Decimal(default["monthly"]), Decimal(default["days"]), Decimal(default["hours"]), "default")
