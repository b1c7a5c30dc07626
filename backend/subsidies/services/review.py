"""Review: computed → first approval → approved → paid, or rejected / superseded; case amounts;
the budget under the fund's row lock; ledger postings; payment batches.
OWNED BY the review helper; the signatures below are the contract others code against.

Locks are always taken in one order, so concurrent reviews never deadlock: the claims (by id),
then the funds they commit to (by id), then ledger rows (ledger_post). Approving against the
budget happens only under the fund row's lock, so two auditors approving at once cannot both
spend the last of it; the Fund CHECK (committed <= budget) is the database's backstop.

Ledger (payments.services; debits positive, credits negative):
- final approval, key `subsidy:claim:<id>:approve`: POLICY_FUND (the fund owner) +amount,
  SUBSIDY_PAYABLE (the beneficiary: the broker, or the village's committee) −amount; a negative
  adjustment posts the opposite by its sign;
- a batch marked paid, key `subsidy:batch:<id>:paid`: each beneficiary's payable +its total,
  POLICY_FUND_BANK (the fund owner) −the batch total."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Jurisdiction, Organisation
from accounts.permissions import county_id_of
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.money import AMOUNT_DIGITS, AMOUNT_PLACES, AMOUNT_QUANTUM
from payments.models import Account
from payments.services import account_for, ledger_post

from ..errors import (BatchAlreadyPaid, BatchMixed, BudgetBelowCommitted, BudgetExceeded, CaseAmountRequired,
                      CaseAuthorCannotApprove, ClaimInBatch, ClaimState, NoFundOwner, NotACase, ReasonRequired,
                      SameApprover)
from ..models import AuditEvent, Claim, Fund, PaymentBatch, PolicyVersion
from . import audit

ZERO = Decimal("0.00")
S = Claim.Status
P = Account.Purpose
REVIEWABLE = (S.COMPUTED, S.FIRST_APPROVED)
MAX_AMOUNT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)
REASON_LENGTH = 500


# --- who may act, and on what ------------------------------------------------------------------

def _may_act_in(actor, county_id: int) -> None:
    """Admins act anywhere, auditors in their own county; another county's records do not exist
    for an auditor (404, as in the API), and other roles are refused outright."""
    if getattr(actor, "is_admin_role", False):
        return
    if not getattr(actor, "is_auditor", False):
        raise Forbidden()
    if county_id_of(actor) != county_id:
        raise NotFound()


def _locked_claims(actor, claim_ids) -> list[Claim]:
    """The claims, row-locked in id order (deadlock-free), all of them visible to the actor."""
    try:
        ids = sorted({int(pk) for pk in claim_ids})
    except (TypeError, ValueError):
        raise ValidationFailed(_("Claims are named by their ids."), field="claim_ids") from None
    if not ids:
        raise ValidationFailed(_("Name at least one claim."), field="claim_ids")
    claims = list(Claim.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(claims) != len(ids):
        raise NotFound()
    for claim in claims:
        _may_act_in(actor, claim.county_id)
    return claims


def _state(claim: Claim) -> dict:
    return {"status": claim.status, "amount": audit.money(claim.amount),
            "first_approved_by": claim.first_approved_by_id, "approved_by": claim.approved_by_id,
            "case_entered_by": claim.case_entered_by_id}


def _refuse_state(claim: Claim):
    return ClaimState(params={"status": S(claim.status).label})


def _amount_of(value, field: str = "amount") -> Decimal:
    """A money amount from the request: a Decimal (or its text), never a float, to the fen."""
    if isinstance(value, float) or isinstance(value, bool):
        raise ValidationFailed(_("Send amounts as text or decimals, not floating point."), field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter an amount in yuan."), field=field) from None
    if not amount.is_finite():
        raise ValidationFailed(_("Enter an amount in yuan."), field=field)
    if abs(amount) >= MAX_AMOUNT:
        raise ValidationFailed(_("The amount is too large."), field=field)
    if amount != amount.quantize(AMOUNT_QUANTUM):
        raise ValidationFailed(_("Amounts are kept to the fen: at most 2 decimal places."), field=field)
    return amount.quantize(AMOUNT_QUANTUM)


def _reason_of(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    if len(reason) > REASON_LENGTH:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": REASON_LENGTH}, field="reason")
    return reason


# --- the ledger's parties ------------------------------------------------------------------------

def fund_owner_of(claim_or_batch) -> Organisation:
    """Whose accounts hold the fund: the policy's fund owner, else the county's Women's
    Federation office (the lowest id, so always the same one)."""
    policy = claim_or_batch.policy
    if policy.fund_owner_id:
        return policy.fund_owner
    owner = (Organisation.objects.filter(kind=Organisation.Kind.FEDERATION,
                                         jurisdiction__county_id=claim_or_batch.county_id).order_by("pk").first())
    if owner is None:
        raise NoFundOwner()
    return owner


def committee_name(village: Jurisdiction) -> str:
    """E.g. 大柘村 → 大柘村委会 (the village committee, 村民委员会)."""
    return f"{village.name}委会" if village.name.endswith("村") else f"{village.name}村委会"


def village_committee(village: Jurisdiction) -> Organisation:
    """The committee organisation that receives a village's awards, created on first use. The
    village row is locked while looking, so two approvals at once make one committee."""
    found = Organisation.objects.filter(kind=Organisation.Kind.VILLAGE_COMMITTEE, jurisdiction=village).order_by("pk")
    committee = found.first()
    if committee is None:
        Jurisdiction.objects.select_for_update().filter(pk=village.pk).first()
        committee = found.first() or Organisation.objects.create(
            kind=Organisation.Kind.VILLAGE_COMMITTEE, name=committee_name(village), jurisdiction=village)
    return committee


def beneficiary_of(claim: Claim) -> Organisation:
    return claim.broker if claim.broker_id else village_committee(claim.village)


def _post_approval(actor, claim: Claim):
    if claim.amount == 0:
        return None
    owner = fund_owner_of(claim)
    payee = beneficiary_of(claim)
    return ledger_post(key=f"subsidy:claim:{claim.pk}:approve", kind="subsidy_approval",
                       memo=f"subsidy claim {claim.key}"[:300],
                       lines=[(account_for(purpose=P.POLICY_FUND, organisation=owner), claim.amount),
                              (account_for(purpose=P.SUBSIDY_PAYABLE, organisation=payee), -claim.amount)],
                       actor=actor)


# --- the fund --------------------------------------------------------------------------------------

def fund_for(version: PolicyVersion, year: int) -> Fund:
    """The version's fund for the year, created with the version's annual budget on first use
    (a concurrent creation is answered with the row the other one made)."""
    fund, _created = Fund.objects.get_or_create(version=version, year=year,
                                                defaults={"budget": version.annual_budget})
    return fund


def _locked_funds(pairs) -> dict[tuple[int, int], Fund]:
    """The funds of (version id, year) pairs, created if missing, then row-locked in id order."""
    if not pairs:
        return {}
    versions = PolicyVersion.objects.in_bulk({version_id for version_id, _year in pairs})
    ids = [fund_for(versions[version_id], year).pk for version_id, year in sorted(pairs)]
    locked = Fund.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {(fund.version_id, fund.year): fund for fund in locked}


def budget_of(version: PolicyVersion, year: int) -> dict:
    """{"year", "budget", "committed", "remaining", "pending"} (pending: computed and first-approved)."""
    fund = Fund.objects.filter(version=version, year=year).first()
    budget = fund.budget if fund else version.annual_budget
    committed = fund.committed if fund else ZERO
    pending = (Claim.objects.filter(version=version, fund_year=year, status__in=REVIEWABLE, amount__isnull=False)
               .aggregate(total=Sum("amount"))["total"]) or ZERO
    return {"year": year, "budget": budget, "committed": committed, "remaining": budget - committed,
            "pending": pending}


@transaction.atomic
def set_budget(*, actor, version_id: int, year: int, amount: Decimal) -> Fund:
    """A year's budget, never below what is already committed (approvals hold the same lock)."""
    version = PolicyVersion.objects.select_related("policy").filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    _may_act_in(actor, version.policy.jurisdiction_id)
    amount = _amount_of(amount)
    if amount < 0:
        raise ValidationFailed(_("A budget is not negative."), field="amount")
    fund = _locked_funds({(version.pk, int(year))})[(version.pk, int(year))]
    if amount < fund.committed:
        raise BudgetBelowCommitted(params={"committed": fund.committed, "year": year}, field="amount")
    before = {"budget": audit.money(fund.budget), "committed": audit.money(fund.committed)}
    fund.budget = amount
    fund.save(update_fields=["budget"])
    audit.record(actor=actor, action=AuditEvent.Action.SET_BUDGET, object_type="fund", object_id=fund.pk,
                 county_id=version.policy.jurisdiction_id, before=before | {"version": version.pk, "year": year},
                 after={"budget": audit.money(fund.budget), "committed": audit.money(fund.committed),
                        "version": version.pk, "year": year})
    return fund


# --- review ------------------------------------------------------------------------------------------

@transaction.atomic
def enter_case_amount(*, actor, claim_id: int, amount: Decimal, reason: str) -> Claim:
    """A case decision's amount ("one strategy for one event"), set by staff on a computed claim;
    whoever sets it then approves neither step."""
    [claim] = _locked_claims(actor, [claim_id])
    if not claim.is_case:
        raise NotACase()
    if claim.status != S.COMPUTED:
        raise _refuse_state(claim)
    if claim.case_entered_by_id is not None and claim.case_entered_by_id != actor.pk:
        # one author per case amount: otherwise a colleague's re-entry would make the first author
        # (who set an amount too) free to approve it
        raise Conflict(_("Another auditor entered this case amount: only she may correct it, or reject the claim."),
                       code="case_amount_entered_by_other")
    amount = _amount_of(amount)
    if amount <= 0:
        raise ValidationFailed(_("A case amount is more than zero."), field="amount")
    reason = _reason_of(reason)
    before = _state(claim) | {"case_reason": claim.case_reason}
    claim.amount, claim.case_reason = amount, reason
    claim.case_entered_by, claim.case_entered_at = actor, timezone.now()
    claim.save(update_fields=["amount", "case_reason", "case_entered_by", "case_entered_at"])
    audit.record(actor=actor, action=AuditEvent.Action.ENTER_CASE_AMOUNT, object_type="claim", object_id=claim.pk,
                 county_id=claim.county_id, before=before, after=_state(claim) | {"case_reason": reason})
    return claim


def _finalises(claim: Claim) -> bool:
    """Whether approving now is the final approval (the one that commits the fund)."""
    return claim.status == S.FIRST_APPROVED or (claim.status == S.COMPUTED and not claim.needs_second_approval)


def _approve_locked(actor, claim: Claim, funds: dict) -> Claim:
    if claim.status not in REVIEWABLE:
        raise _refuse_state(claim)
    if claim.amount is None:
        raise CaseAmountRequired()
    if claim.case_entered_by_id is not None and claim.case_entered_by_id == actor.pk:
        raise CaseAuthorCannotApprove()
    if claim.status == S.FIRST_APPROVED and claim.first_approved_by_id == actor.pk:
        raise SameApprover()
    before = _state(claim)
    now = timezone.now()
    if not _finalises(claim):
        claim.status, claim.first_approved_by, claim.first_approved_at = S.FIRST_APPROVED, actor, now
        claim.save(update_fields=["status", "first_approved_by", "first_approved_at"])
        action = AuditEvent.Action.FIRST_APPROVE
        after = _state(claim)
    else:
        fund = funds[(claim.version_id, claim.fund_year)]
        remaining = fund.budget - fund.committed
        if claim.amount > remaining:
            raise BudgetExceeded(year=claim.fund_year, remaining=remaining, amount=claim.amount)
        fund.committed += claim.amount
        fund.save(update_fields=["committed"])
        claim.status, claim.approved_by, claim.approved_at = S.APPROVED, actor, now
        claim.approval_ledger = _post_approval(actor, claim)
        claim.save(update_fields=["status", "approved_by", "approved_at", "approval_ledger"])
        action = AuditEvent.Action.APPROVE
        after = _state(claim) | {"fund": fund.pk, "committed": audit.money(fund.committed),
                                 "ledger": claim.approval_ledger_id}
    audit.record(actor=actor, action=action, object_type="claim", object_id=claim.pk, county_id=claim.county_id,
                 before=before, after=after)
    return claim


def _approve_all(actor, claim_ids) -> list[Claim]:
    claims = _locked_claims(actor, claim_ids)
    funds = _locked_funds({(c.version_id, c.fund_year) for c in claims if c.status in REVIEWABLE and _finalises(c)})
    return [_approve_locked(actor, claim, funds) for claim in claims]


@transaction.atomic
def approve(*, actor, claim_id: int) -> Claim:
    """First approval or final approval, whichever the claim needs next."""
    return _approve_all(actor, [claim_id])[0]


@transaction.atomic
def approve_many(*, actor, claim_ids: list[int]) -> list[Claim]:
    """All or nothing: one refusal (state, four eyes, budget) approves none of them. In id order."""
    return _approve_all(actor, claim_ids)


@transaction.atomic
def reject(*, actor, claim_id: int, reason: str) -> Claim:
    [claim] = _locked_claims(actor, [claim_id])
    if claim.status not in REVIEWABLE:
        raise _refuse_state(claim)
    reason = _reason_of(reason)
    before = _state(claim)
    claim.status, claim.rejected_by, claim.rejected_at, claim.reject_reason = S.REJECTED, actor, timezone.now(), reason
    claim.save(update_fields=["status", "rejected_by", "rejected_at", "reject_reason"])
    audit.record(actor=actor, action=AuditEvent.Action.REJECT, object_type="claim", object_id=claim.pk,
                 county_id=claim.county_id, before=before, after=_state(claim) | {"reason": reason})
    return claim


# --- payment ---------------------------------------------------------------------------------------

@transaction.atomic
def open_payment_batch(*, actor, claim_ids: list[int]) -> PaymentBatch:
    """Approved claims of one policy and county, in no other batch, put together for the bank."""
    claims = _locked_claims(actor, claim_ids)
    for claim in claims:
        if claim.status != S.APPROVED:
            raise _refuse_state(claim)
        if claim.payment_batch_id is not None:
            raise ClaimInBatch(params={"key": claim.key, "batch": claim.payment_batch_id})
    if len({(c.policy_id, c.county_id) for c in claims}) != 1:
        raise BatchMixed()
    total = sum((c.amount for c in claims), ZERO)
    if total <= 0:
        raise ValidationFailed(_("A payment batch pays more than zero in total."), field="claim_ids")
    batch = PaymentBatch.objects.create(policy_id=claims[0].policy_id, county_id=claims[0].county_id, total=total,
                                        created_by=actor)
    Claim.objects.filter(pk__in=[c.pk for c in claims]).update(payment_batch=batch)
    audit.record(actor=actor, action=AuditEvent.Action.EXPORT, object_type="payment_batch", object_id=batch.pk,
                 county_id=batch.county_id, before={},
                 after={"status": batch.status, "total": audit.money(total), "claims": [c.pk for c in claims]})
    return batch


def _payables(claims: list[Claim]) -> dict[int, Organisation]:
    """claim id → the beneficiary organisation, in two queries whatever the number of claims."""
    village_ids = {c.village_id for c in claims if not c.broker_id}
    committees: dict[int, Organisation] = {}
    for committee in Organisation.objects.filter(kind=Organisation.Kind.VILLAGE_COMMITTEE,
                                                 jurisdiction_id__in=village_ids).order_by("-pk"):
        committees[committee.jurisdiction_id] = committee  # the lowest id wins, as in village_committee
    brokers = Organisation.objects.in_bulk({c.broker_id for c in claims if c.broker_id})
    out = {}
    for claim in claims:
        if claim.broker_id:
            out[claim.pk] = brokers[claim.broker_id]
        else:
            out[claim.pk] = committees.get(claim.village_id) or village_committee(claim.village)
    return out


def _accounts(purpose: str, organisations) -> dict[int, Account]:
    """organisation id → its account for the purpose: the existing ones in one query."""
    organisations = {org.pk: org for org in organisations}
    codes = {f"{purpose}:org{pk}": pk for pk in organisations}
    found = {codes[a.code]: a for a in Account.objects.filter(code__in=codes)}
    for pk, org in organisations.items():
        if pk not in found:
            found[pk] = account_for(purpose=purpose, organisation=org)
    return found


@transaction.atomic
def mark_batch_paid(*, actor, batch_id: int, bank_reference: str, paid_on: date) -> PaymentBatch:
    """The finance bureau paid the batch: each claim is paid and its payable settled. Asked again
    with the same bank reference and date it answers with the batch (nothing posted twice);
    with different ones it refuses."""
    batch = PaymentBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound()
    _may_act_in(actor, batch.county_id)
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise ValidationFailed(_("Enter the bank's reference for the payment."), field="bank_reference")
    if len(bank_reference) > 100:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": 100}, field="bank_reference")
    if not isinstance(paid_on, date) or isinstance(paid_on, datetime):
        raise ValidationFailed(_("Enter the day the bank paid."), field="paid_on")
    if batch.status == PaymentBatch.Status.PAID:
        if (batch.bank_reference, batch.paid_on) == (bank_reference, paid_on):
            return batch
        raise BatchAlreadyPaid(params={"reference": batch.bank_reference, "paid_on": batch.paid_on})
    if paid_on > timezone.localdate():
        raise ValidationFailed(_("The payment day cannot be in the future."), field="paid_on")
    if paid_on < timezone.localdate(batch.created_at):
        raise ValidationFailed(_("The payment day cannot be before the batch was made."), field="paid_on")
    claims = list(Claim.objects.select_for_update(of=("self",)).filter(payment_batch=batch).select_related("village")
                  .order_by("pk"))
    for claim in claims:
        if claim.status != S.APPROVED:
            raise _refuse_state(claim)
    payees = _payables(claims)
    accounts = _accounts(P.SUBSIDY_PAYABLE, payees.values())
    owed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for claim in claims:
        owed[payees[claim.pk].pk] += claim.amount
    lines = [(accounts[org_id], amount) for org_id, amount in sorted(owed.items()) if amount != 0]
    lines.append((account_for(purpose=P.POLICY_FUND_BANK, organisation=fund_owner_of(batch)), -batch.total))
    ledger = ledger_post(key=f"subsidy:batch:{batch.pk}:paid", kind="subsidy_payment",
                         memo=f"subsidy batch {batch.pk} {bank_reference}"[:300], lines=lines, actor=actor)
    now = timezone.now()
    Claim.objects.filter(pk__in=[c.pk for c in claims]).update(status=S.PAID, paid_at=now, payment_ledger=ledger)
    batch.status, batch.bank_reference, batch.paid_on, batch.paid_by, batch.paid_at = (
        PaymentBatch.Status.PAID, bank_reference, paid_on, actor, now)
    batch.save(update_fields=["status", "bank_reference", "paid_on", "paid_by", "paid_at"])
    events = [AuditEvent(actor=actor, action=AuditEvent.Action.PAY, object_type="claim", object_id=claim.pk,
                         county_id=claim.county_id, at=now, before=audit._plain(_state(claim)),
                         after=audit._plain(_state(claim) | {"status": S.PAID, "batch": batch.pk,
                                                            "ledger": ledger.pk}))
              for claim in claims]
    events.append(AuditEvent(actor=actor, action=AuditEvent.Action.PAY, object_type="payment_batch",
                             object_id=batch.pk, county_id=batch.county_id, at=now, before={"status": "open"},
                             after=audit._plain({"status": batch.status, "bank_reference": bank_reference,
                                                 "paid_on": paid_on, "total": audit.money(batch.total),
                                                 "ledger": ledger.pk})))
    AuditEvent.objects.bulk_create(events)
    return batch


BANK_FILE_HEADER = ["beneficiary", "account_holder", "bank", "account", "amount", "claim"]


def _cell(value: str) -> str:
    # a spreadsheet must not run a name as a formula
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def bank_file(batch: PaymentBatch) -> bytes:
    """The batch for the finance bureau: UTF-8 CSV with a byte-order mark (spreadsheets then read
    the Chinese names), one row per claim, amounts to the fen. Brokers' bank details come from
    their profile; villages' committees have none on record (empty columns)."""
    claims = list(batch.claims.select_related("broker__broker_profile", "village").order_by("pk"))
    payees = _payables(claims)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BANK_FILE_HEADER)
    for claim in claims:
        profile = getattr(claim.broker, "broker_profile", None) if claim.broker_id else None
        writer.writerow([_cell(payees[claim.pk].name), _cell(getattr(profile, "account_holder", "")),
                         _cell(getattr(profile, "bank_name", "")), _cell(getattr(profile, "bank_account", "")),
                         f"{claim.amount:.2f}", claim.key])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
