"""The broker's workforce: profile, sites, training, relocation, loans, workers and memberships,
and the villages' professional-processing status."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Jurisdiction, Organisation, Role, User
from core.bounds import check_date_within, days_from_today
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.uploads import JPEG, PDF, PNG, check_upload, download_name, stored_name

from .. import limits
from ..errors import DuplicateNationalId
from ..models import (
    BrokerProfile, Loan, Membership, ProcessingSite, ProfessionalVillageStatus, Relocation, TrainingRecord, Worker,
)

PROFILE_FIELDS = ["category", "minute_rate", "bank_name", "bank_account", "account_holder", "attendance_bonus",
                  "attendance_bonus_enabled", "late_days_allowed"]
WORKER_FIELDS = ["name", "phone", "village", "work_mode", "household_tags", "bank_name", "bank_account",
                 "full_time_roster"]


def broker_of(actor: User, *, owner_only: bool = False) -> int:
    """The broker organisation the actor works for; refuses anyone else."""
    roles = (Role.BROKER_OWNER,) if owner_only else (Role.BROKER_OWNER, Role.TEAM_HEAD)
    if actor.role not in roles or actor.organisation_id is None:
        raise Forbidden(_("Only the broker's owner may do this.") if owner_only else None)
    return actor.organisation_id


def profile_for(broker_id: int) -> BrokerProfile:
    profile, _created = BrokerProfile.objects.get_or_create(organisation_id=broker_id)
    return profile


@transaction.atomic
def broker_profile_update(*, actor: User, data: dict[str, Any]) -> BrokerProfile:
    broker_id = broker_of(actor, owner_only=True)
    profile = BrokerProfile.objects.select_for_update().filter(organisation_id=broker_id).first() \
        or profile_for(broker_id)
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(profile, field, data[field])
    profile.save()
    return profile


def site_add(*, actor: User, data: dict[str, Any]) -> ProcessingSite:
    return ProcessingSite.objects.create(broker_id=broker_of(actor, owner_only=True), **data)


def _check_record_date(value: date, field: str) -> None:
    check_date_within(value, field=field, earliest=days_from_today(-limits.RECORD_MAX_DAYS_BACK),
                      latest=timezone.localdate())


def _check_membership_date(value: date | None, field: str) -> None:
    check_date_within(value, field=field, earliest=days_from_today(-limits.MEMBERSHIP_MAX_DAYS_BACK),
                      latest=days_from_today(limits.MEMBERSHIP_MAX_DAYS_AHEAD))


def training_add(*, actor: User, data: dict[str, Any]) -> TrainingRecord:
    _check_record_date(data["completed_on"], "completed_on")
    return TrainingRecord.objects.create(broker_id=broker_of(actor, owner_only=True), **data)


def relocation_add(*, actor: User, data: dict[str, Any]) -> Relocation:
    if data["moved_on"] > timezone.localdate():
        raise ValidationFailed(_("A relocation is recorded once it has happened."), field="moved_on")
    _check_record_date(data["moved_on"], "moved_on")
    return Relocation.objects.create(broker_id=broker_of(actor, owner_only=True), **data)


# A loan contract is a scan or a photo of the signed contract.
LOAN_CONTRACT_KINDS = (PDF, JPEG, PNG)
# A loan starts within twenty years back (as other records) or a year ahead (registered when the
# contract is signed, before the money arrives), and is repaid within thirty years of today.
LOAN_START_MAX_DAYS_AHEAD = 366
LOAN_END_MAX_DAYS_AHEAD = 30 * 366
LOAN_MAX_PRINCIPAL = Decimal("1000000000.00")
LOAN_FIELDS = ["lender", "principal", "start", "end", "contract_number"]


def _check_principal(value: Any) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValidationFailed(_("The principal must be more than 0."), field="principal")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(_("At most 2 decimal places."), field="principal")
    if value > LOAN_MAX_PRINCIPAL:
        raise ValidationFailed(_("The principal may be at most %(max)s yuan.") % {"max": f"{LOAN_MAX_PRINCIPAL:,}"},
                               field="principal")
    return value


@transaction.atomic
def loan_add(*, actor: User, data: dict[str, Any], contract=None) -> Loan:
    """Register a loan of the actor's broker (its owner) for the interest subsidy: lender,
    principal (more than 0, to the fen), start, repayment day (after the start, or none while
    outstanding), contract number, and the contract as evidence: a PDF, JPEG or PNG checked by
    its bytes (400 `file_type_not_allowed` / `file_too_large` naming `contract`), stored under a
    server-chosen name. `registered_at` is now: a loan registered after its start is flagged."""
    broker_id = broker_of(actor, owner_only=True)
    if not str(data.get("lender") or "").strip():
        raise ValidationFailed(_("Name the lender."), field="lender")
    principal = _check_principal(data.get("principal"))
    start, end = data["start"], data.get("end")
    check_date_within(start, field="start", earliest=days_from_today(-limits.RECORD_MAX_DAYS_BACK),
                      latest=days_from_today(LOAN_START_MAX_DAYS_AHEAD))
    if end is not None:
        if end <= start:
            raise ValidationFailed(_("The repayment day must be after the start."), field="end")
        check_date_within(end, field="end", latest=days_from_today(LOAN_END_MAX_DAYS_AHEAD))
    values = {field: data[field] for field in LOAN_FIELDS if field in data}
    values.update(lender=str(data["lender"]).strip(), principal=principal)
    # One loan, one registration: a resend or a second entry of the same contract would earn its
    # interest subsidy twice. Under the broker's row lock, so two concurrent posts cannot both pass.
    Organisation.objects.select_for_update().filter(pk=broker_id).first()
    number = str(values.get("contract_number") or "").strip()
    same = Loan.objects.filter(broker_id=broker_id)
    same = same.filter(contract_number=number) if number else \
        same.filter(lender=values["lender"], principal=principal, start=start)
    existing = same.order_by("id").first()
    if existing is not None:
        raise Conflict(_("This loan is registered already (loan %(id)s): a loan is registered once."),
                       params={"id": existing.pk}, code="loan_already_registered")
    loan = Loan(broker_id=broker_id, registered_by=actor, registered_at=timezone.now(), **values)
    if contract is not None:
        kind = check_upload(contract, kinds=LOAN_CONTRACT_KINDS, max_bytes=settings.ATTACHMENT_MAX_BYTES,
                            field="contract")
        loan.contract_name = download_name(contract.name, kind)
        loan.contract_type = kind.content_type
        contract.name = stored_name(kind)
        loan.contract = contract
    loan.save()
    return loan


def normalise_national_id(value: str | None) -> str | None:
    """One spelling per ID, so a duplicate cannot hide behind a lower-case check letter or a
    space; blank is no ID (many workers can have none, and the column is unique)."""
    value = (value or "").strip().upper()
    return value or None


def _check_village(village: Jurisdiction) -> None:
    if village.level != Jurisdiction.Level.VILLAGE:
        raise ValidationFailed(_("Choose a village."), field="village")


@transaction.atomic
def worker_register(*, actor: User, data: dict[str, Any], started_on: date | None = None,
                    password: str | None = None) -> Worker:
    """Register a new worker and make her a member of the actor's workforce. A national ID that
    is already registered is refused: the broker enrols the existing worker instead."""
    broker_id = broker_of(actor)
    _check_village(data["village"])
    _check_membership_date(started_on, "started_on")
    national_id = normalise_national_id(data.get("national_id"))
    if national_id and Worker.objects.filter(national_id=national_id).exists():
        raise DuplicateNationalId(field="national_id")
    try:
        with transaction.atomic():
            worker = Worker.objects.create(national_id=national_id,
                                           **{f: data[f] for f in WORKER_FIELDS if f in data})
    except IntegrityError as exc:  # a concurrent registration of the same ID
        raise DuplicateNationalId(field="national_id") from exc
    Membership.objects.create(broker_id=broker_id, worker=worker, started_on=started_on or timezone.localdate())
    if password:
        worker_login_create(worker=worker, password=password)
    return worker


def worker_login_create(*, worker: Worker, password: str) -> User:
    """Give a worker a login: her phone number and a password. Once: a broker can never replace
    the login a worker already has (that would take her account over)."""
    if worker.user_id is not None:
        raise Conflict(_("She already has a login; she can change her password herself."), code="login_exists")
    if not worker.phone:
        raise ValidationFailed(_("A login needs the worker's phone number."), field="phone")
    if User.objects.filter(phone=worker.phone).exists() or User.objects.filter(username=worker.phone).exists():
        raise Conflict(_("This phone number already has a login."), code="phone_taken", field="phone")
    user = User(username=worker.phone, phone=worker.phone, role=Role.WORKER, display_name=worker.name)
    user.set_password(password)
    user.save()
    worker.user = user
    worker.save(update_fields=["user"])
    return user


@transaction.atomic
def worker_enrol(*, actor: User, national_id: str, name: str, started_on: date | None = None) -> Worker:
    """Add an already registered worker (found by national ID, confirmed by name) to the
    actor's workforce: a worker may work for several brokers."""
    broker_id = broker_of(actor)
    _check_membership_date(started_on, "started_on")
    national_id = normalise_national_id(national_id)
    worker = Worker.objects.filter(national_id=national_id).first() if national_id else None
    if worker is None or worker.name != name:
        raise NotFound(_("No registered worker has this national ID and name."))
    if Membership.objects.filter(broker_id=broker_id, worker=worker, ended_on__isnull=True).exists():
        raise Conflict(_("She is already in your workforce."), code="already_member")
    Membership.objects.create(broker_id=broker_id, worker=worker, started_on=started_on or timezone.localdate())
    return worker


@transaction.atomic
def worker_update(*, actor: User, worker: Worker, data: dict[str, Any]) -> Worker:
    broker_of(actor)
    if "village" in data:
        _check_village(data["village"])
    for field in WORKER_FIELDS:
        if field in data:
            setattr(worker, field, data[field])
    worker.save()
    return worker


@transaction.atomic
def membership_end(*, actor: User, worker_id: int, ended_on: date | None = None) -> Membership:
    broker_id = broker_of(actor)
    membership = Membership.objects.select_for_update().filter(
        broker_id=broker_id, worker_id=worker_id, ended_on__isnull=True).first()
    if membership is None:
        raise NotFound()
    ended_on = ended_on or timezone.localdate()
    _check_membership_date(ended_on, "ended_on")
    if ended_on < membership.started_on:
        raise ValidationFailed(_("The end cannot be before the start."), field="ended_on")
    membership.ended_on = ended_on
    membership.save(update_fields=["ended_on"])
    return membership


@transaction.atomic
def village_status_set(*, actor: User, village_id: int, is_professional: bool, basis: str, evidence: str,
                       effective_from: date) -> ProfessionalVillageStatus:
    """County staff record (or revoke) a village's professional-processing status, with evidence."""
    village = Jurisdiction.objects.filter(pk=village_id, level=Jurisdiction.Level.VILLAGE).first()
    if village is None:
        raise NotFound()
    if not actor.is_admin_role:
        if not actor.is_auditor or actor.organisation.jurisdiction.county_id != village.county_id:
            # villages are reference data everyone sees; deciding is for the village's county
            raise Forbidden(_("Only the staff of the village's county decide its status."))
    if not evidence.strip():
        raise ValidationFailed(_("Record the evidence for the decision."), field="evidence")
    check_date_within(effective_from, field="effective_from",
                      earliest=days_from_today(-limits.VILLAGE_STATUS_MAX_DAYS_BACK),
                      latest=days_from_today(limits.VILLAGE_STATUS_MAX_DAYS_AHEAD))
    return ProfessionalVillageStatus.objects.create(
        village=village, is_professional=is_professional, basis=basis, evidence=evidence,
        effective_from=effective_from, decided_by=actor,
    )
