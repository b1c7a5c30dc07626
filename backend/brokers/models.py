"""Workers and the brokers they work for."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Jurisdiction, Organisation


class WorkMode(models.TextChoices):
    FACTORY = "factory", _("Factory")
    CENTRE = "centre", _("Processing centre")
    HOME = "home", _("Home work")


class HouseholdTag(models.TextChoices):
    POOR_HOUSEHOLD = "poor_household", _("Registered poor household")
    RESERVOIR_MIGRANT = "reservoir_migrant", _("Reservoir migrant")
    RELOCATED = "relocated", _("Relocated from the mountains")
    DISABLED = "disabled", _("Disabled")
    ELDERLY = "elderly", _("Elderly")
    LEFT_BEHIND_WOMAN = "left_behind_woman", _("Left-behind woman")


class Worker(models.Model):
    """A person who does piecework. May have a login (phone number + password) or not."""

    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    national_id = models.CharField(_("national ID"), max_length=18, null=True, blank=True, unique=True)
    village = models.ForeignKey(
        Jurisdiction,
        models.PROTECT,
        related_name="workers",
        limit_choices_to={"level": Jurisdiction.Level.VILLAGE},
        verbose_name=_("village"),
    )
    work_mode = models.CharField(_("work mode"), max_length=16, choices=WorkMode.choices, default=WorkMode.HOME)
    household_tags = models.JSONField(_("household tags"), default=list, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="worker"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        indexes = [models.Index(fields=["village"])]

    def __str__(self) -> str:
        return self.name

    @property
    def national_id_masked(self) -> str:
        value = self.national_id or ""
        return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "*" * len(value)


class Membership(models.Model):
    """A worker works for a broker from `started_on` until `ended_on` (open while empty)."""

    broker = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="memberships",
        limit_choices_to={"kind": Organisation.Kind.BROKER},
        verbose_name=_("broker"),
    )
    worker = models.ForeignKey(Worker, models.CASCADE, related_name="memberships", verbose_name=_("worker"))
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["broker", "worker"], condition=Q(ended_on__isnull=True), name="membership_one_open"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="membership_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["broker", "worker"])]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.broker}"
