"""Who is who: the jurisdiction tree, organisations (firm, broker, federation), users and their
API tokens (one per device)."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class Jurisdiction(models.Model):
    """A node of the administrative tree: province > city > county > township > village."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")
        TOWNSHIP = "township", _("Township")
        VILLAGE = "village", _("Village")

    DEPTH = {Level.PROVINCE: 0, Level.CITY: 1, Level.COUNTY: 2, Level.TOWNSHIP: 3, Level.VILLAGE: 4}

    code = models.CharField(_("code"), max_length=32, unique=True, help_text=_("Administrative division code."))
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")
    # The county this node lies in (itself for a county; empty above county level). Kept so that
    # "is this in my county?" is one indexed comparison, not a walk up the tree.
    county = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("county")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent is None and self.level != self.Level.PROVINCE:
            raise ValidationError({"parent": _("Only a province has no parent.")})
        if self.parent is not None and self.DEPTH[self.parent.level] != self.DEPTH[self.level] - 1:
            raise ValidationError({"parent": _("The parent must be one level above.")})

    def save(self, *args, **kwargs) -> None:
        if self.level == self.Level.COUNTY:
            self.county_id = self.pk  # set again after the first insert, see below
        elif self.parent_id is not None:
            self.county_id = self.parent.county_id
        else:
            self.county_id = None
        super().save(*args, **kwargs)
        if self.level == self.Level.COUNTY and self.county_id != self.pk:
            type(self).objects.filter(pk=self.pk).update(county=self.pk)
            self.county_id = self.pk


class Organisation(models.Model):
    class Kind(models.TextChoices):
        FIRM = "firm", _("Firm")
        BROKER = "broker", _("Broker")
        FEDERATION = "federation", _("Women's Federation")
        VILLAGE_COMMITTEE = "village", _("Village committee")  # receives village awards

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    # Where it is: a broker's and a federation office's county decides who audits it.
    jurisdiction = models.ForeignKey(
        Jurisdiction, models.PROTECT, related_name="organisations", verbose_name=_("jurisdiction")
    )
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="organisation_kind_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def county_id(self) -> int | None:
        return self.jurisdiction.county_id


class Role(models.TextChoices):
    FIRM_MEMBER = "firm_member", _("Firm member")
    BROKER_OWNER = "broker_owner", _("Broker (owner)")
    TEAM_HEAD = "team_head", _("Team head")
    AUDITOR = "auditor", _("Federation auditor")
    ADMIN = "admin", _("Administrator")
    WORKER = "worker", _("Worker")


# Which organisation kind each role belongs to (None: no organisation).
ROLE_ORGANISATION_KIND = {
    Role.FIRM_MEMBER: Organisation.Kind.FIRM,
    Role.BROKER_OWNER: Organisation.Kind.BROKER,
    Role.TEAM_HEAD: Organisation.Kind.BROKER,
    Role.AUDITOR: Organisation.Kind.FEDERATION,
    Role.ADMIN: None,
    Role.WORKER: None,
}


class LailiaoUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A login. Workers log in with their phone number; everyone else with a username or phone."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, null=True, blank=True, unique=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, db_index=True)
    organisation = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("organisation")
    )
    language = models.CharField(
        _("language"), max_length=10, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans"
    )

    objects = LailiaoUserManager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def clean(self) -> None:
        super().clean()
        expected = ROLE_ORGANISATION_KIND.get(self.role)
        if expected is None and self.organisation_id is not None:
            raise ValidationError({"organisation": _("This role does not belong to an organisation.")})
        if expected is not None and (self.organisation is None or self.organisation.kind != expected):
            raise ValidationError({"organisation": _("This role needs an organisation of the matching kind.")})

    # Role questions asked all over the code base, answered in one place.
    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_broker_staff(self) -> bool:
        return self.role in (Role.BROKER_OWNER, Role.TEAM_HEAD)

    @property
    def is_firm_member(self) -> bool:
        return self.role == Role.FIRM_MEMBER

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_worker(self) -> bool:
        return self.role == Role.WORKER

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_disabled = True  # a login switched off: its tokens go too (see below)


DEVICE_MAX_LENGTH = 100


class AuthToken(AbstractAuthToken):
    """An API token of one device (knox, settings.REST_KNOX): only the SHA-512 `digest` of the key
    and its first 15 characters (`token_key`, to find the row) are stored; the key is shown once.
    A token expires at `expiry`, which use pushes on (core.authentication)."""

    # knox's primary key is the digest; ours is a plain id, so the API can name a token without it
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    device = models.CharField(_("device"), max_length=DEVICE_MAX_LENGTH, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} · {self.device or self.token_key}"


@receiver(post_save, sender=User, dispatch_uid="accounts.revoke_tokens_on_password_change")
def revoke_tokens_on_password_change(sender, instance: User, created: bool = False, raw: bool = False,
                                     **kwargs) -> None:
    """A new password (set_password by any path: the API, the admin, `changepassword`) or a
    disabled one ends every API token of the user. Django marks a new password with `_password`
    until the save is done, and leaves it unset for a mere hash upgrade at login."""
    disabled = instance.__dict__.pop("_password_disabled", False)
    if created or raw or not (disabled or getattr(instance, "_password", None) is not None):
        return
    AuthToken.objects.filter(user=instance).delete()


class MinimumWage(models.Model):
    """A county's minimum monthly wage from a date on; the fair-rate floor is measured against it.
    Without a row the settings' default applies (2,000 yuan over 21.75 days × 8 hours)."""

    county = models.ForeignKey(
        Jurisdiction, models.PROTECT, related_name="minimum_wages",
        limit_choices_to={"level": Jurisdiction.Level.COUNTY}, verbose_name=_("county"),
    )
    monthly_amount = models.DecimalField(_("monthly minimum wage (CNY)"), max_digits=10, decimal_places=2)
    days_per_month = models.DecimalField(_("working days per month"), max_digits=5, decimal_places=2, default=21.75)
    hours_per_day = models.DecimalField(_("working hours per day"), max_digits=4, decimal_places=2, default=8)
    effective_from = models.DateField(_("effective from"))
    document = models.CharField(_("source document"), max_length=200, blank=True)

    class Meta:
        ordering = ["county", "-effective_from"]
        verbose_name = _("minimum wage")
        verbose_name_plural = _("minimum wages")
        constraints = [
            models.UniqueConstraint(fields=["county", "effective_from"], name="minimum_wage_once_per_date"),
            models.CheckConstraint(
                condition=models.Q(monthly_amount__gt=0, days_per_month__gt=0, hours_per_day__gt=0),
                name="minimum_wage_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.monthly_amount} ({self.effective_from})"
