"""Query filters shared by every list: a filter on a related object takes its id and, for an id
that names nothing (or nothing the caller may see), answers an empty list rather than a 400
"not one of the available choices" (which also told whether the id exists); date-times are
ones the database can store (core.fields.checked_moment)."""
from __future__ import annotations

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from .fields import MESSAGES, MomentError, checked_moment

ID_MAX = 2**63 - 1  # a bigint primary key


class _IdFormField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": ID_MAX})
class IdFilter(filters.NumberFilter):
    """`?order=<id>`: the rows of that related object."""

    field_class = _IdFormField


@extend_schema_field({"type": "integer"})
class IntegerFilter(filters.NumberFilter):
    """A whole number (django-filter's NumberFilter also takes 0.5 for an integer column)."""

    field_class = forms.IntegerField


class _BooleanFormField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        if str(value).lower() not in ("true", "false"):
            raise forms.ValidationError(_("Give true or false."), code="invalid")
        return str(value).lower() == "true"


class BooleanFilter(filters.BooleanFilter):
    """`true` or `false` (django-filter would read `null` or `maybe` as no filter at all)."""

    field_class = _BooleanFormField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)  # django-filter's BooleanWidget reads "null" as None
        super().__init__(*args, **kwargs)


class FilterSet(filters.FilterSet):
    """django-filter's FilterSet with related objects filtered by id (see the module), and an
    empty value refused where the parameter is not free text (`?status=` is neither a status
    nor the absence of one)."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.OneToOneRel: {"filter_class": IdFilter},
        models.BooleanField: {"filter_class": BooleanFilter},
    }

    def is_valid(self) -> bool:
        valid = super().is_valid()
        empty = [name for name, f in self.filters.items()
                 if self.data.get(name, None) == "" and not _free_text(f)]
        for name in empty:
            self.form.add_error(name, _("Give a value, or leave the parameter out."))
        return valid and not empty


def _free_text(f: filters.Filter) -> bool:
    return type(f) is filters.CharFilter


class FilterBackend(filters.DjangoFilterBackend):
    """The default filter backend: `filterset_fields` build on the FilterSet above."""

    filterset_base = FilterSet



class IsoDateTimeField(filter_fields.IsoDateTimeField):
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
