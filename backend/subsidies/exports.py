"""Claims for the finance bureau, as XLSX (openpyxl) and CSV: one row per claim (who, what, for
which period, how much, its state, who approved it when, and its sentence in both languages),
and in the workbook a second sheet with the records behind each claim.

Amounts are written as the Decimals the database holds, never as floats computed here: the XLSX
cell is a number shown as `#,##0.00` (openpyxl writes 16 significant digits, and Excel keeps a
double, which holds every amount of a 14-digit column exactly), the CSV the text `1234.50`. Text that a
spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
return) is neutralised: in the CSV it is prefixed with `'`; in the XLSX it is stored as a string
cell, never as a formula. Numbers are numbers in both, so a negative adjustment stays `-500.00`."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import AMOUNT_QUANTUM

from .models import AuditEvent, Claim, ClaimEvidence
from .services import audit

AMOUNT_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"

# (key, header): the claims sheet and the CSV, in this order
CLAIM_COLUMNS: list[tuple[str, Any]] = [
    ("id", _("Claim ID")),
    ("key", _("Claim key")),
    ("county", _("County")),
    ("policy", _("Policy")),
    ("version", _("Version")),
    ("kind", _("Rule kind")),
    ("beneficiary_type", _("Beneficiary type")),
    ("beneficiary_id", _("Beneficiary ID")),
    ("beneficiary", _("Beneficiary")),
    ("period_start", _("Period start")),
    ("period_end", _("Period end")),
    ("fund_year", _("Fund year")),
    ("amount", _("Amount (yuan)")),
    ("is_case", _("Case decision")),
    ("adjusts", _("Corrects claim ID")),
    ("status", _("Status")),
    ("case_entered_by", _("Case amount entered by")),
    ("case_entered_at", _("Case amount entered at")),
    ("first_approved_by", _("First approver")),
    ("first_approved_at", _("First approved at")),
    ("approved_by", _("Approver")),
    ("approved_at", _("Approved at")),
    ("rejected_by", _("Rejected by")),
    ("rejected_at", _("Rejected at")),
    ("reject_reason", _("Rejection reason")),
    ("paid_at", _("Paid at")),
    ("sentence_zh", _("Sentence (Chinese)")),
    ("sentence_en", _("Sentence (English)")),
]
EVIDENCE_COLUMNS: list[tuple[str, Any]] = [
    ("claim_id", _("Claim ID")),
    ("kind", _("Record kind")),
    ("object_id", _("Record ID")),
    ("amount", _("Amount (yuan)")),
    ("note", _("Note")),
]
AMOUNT_KEYS = {"amount"}


def _person(user) -> str:
    return str(user) if user is not None else ""


def _local(moment: datetime | None) -> datetime | None:
    """A spreadsheet has no time zones: the local (Asia/Shanghai) wall time, naive."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment is not None else None


def _amount(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(AMOUNT_QUANTUM)


def claim_row(claim: Claim) -> dict[str, Any]:
    """One claim as the export's cells, typed: ints, Decimals, dates, local datetimes, text."""
    if claim.broker_id:
        kind, who, name = "broker", claim.broker_id, claim.broker.name
    else:
        kind, who, name = "village", claim.village_id, claim.village.name if claim.village_id else ""
    return {
        "id": claim.pk, "key": claim.key, "county": claim.county.name, "policy": claim.policy.code,
        "version": claim.version.number, "kind": claim.kind, "beneficiary_type": kind, "beneficiary_id": who,
        "beneficiary": name, "period_start": claim.period_start, "period_end": claim.period_end,
        "fund_year": claim.fund_year, "amount": _amount(claim.amount), "is_case": claim.is_case,
        "adjusts": claim.adjusts_id, "status": claim.status,
        "case_entered_by": _person(claim.case_entered_by), "case_entered_at": _local(claim.case_entered_at),
        "first_approved_by": _person(claim.first_approved_by), "first_approved_at": _local(claim.first_approved_at),
        "approved_by": _person(claim.approved_by), "approved_at": _local(claim.approved_at),
        "rejected_by": _person(claim.rejected_by), "rejected_at": _local(claim.rejected_at),
        "reject_reason": claim.reject_reason, "paid_at": _local(claim.paid_at),
        "sentence_zh": claim.sentence_zh, "sentence_en": claim.sentence_en,
    }


def _claims(queryset: QuerySet[Claim]) -> list[Claim]:
    return list(queryset.select_related(
        "county", "policy", "version", "broker", "village", "case_entered_by", "first_approved_by", "approved_by",
        "rejected_by").order_by("id"))


def _evidence(claims: list[Claim], queryset: QuerySet[Claim]) -> list[dict[str, Any]]:
    """The records behind the claims, one query (the claims' filter as a subquery), kept to the
    claims already read so that a claim made in between cannot add rows."""
    ids = {claim.pk for claim in claims}
    rows = (ClaimEvidence.objects.filter(claim_id__in=queryset.order_by().values("pk"))
            .order_by("claim_id", "kind", "object_id", "id").values("claim_id", "kind", "object_id", "amount", "note"))
    return [{**row, "amount": _amount(row["amount"])} for row in rows if row["claim_id"] in ids]


# --- XLSX ------------------------------------------------------------------------------------------

def _sheet(sheet, columns, rows: Iterable[dict[str, Any]]) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    sheet.append([str(header) for _key, header in columns])
    for r, row in enumerate(rows, start=2):
        for c, (key, _header) in enumerate(columns, start=1):
            value = row[key]
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str) and cell.data_type == "f":
                cell.data_type = "s"  # text that looks like a formula stays text
            elif key in AMOUNT_KEYS and value is not None:
                cell.number_format = AMOUNT_FORMAT
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"


def _xlsx(claims: list[Claim], evidence: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    claims_sheet = book.active
    claims_sheet.title = "claims"
    _sheet(claims_sheet, CLAIM_COLUMNS, (claim_row(claim) for claim in claims))
    _sheet(book.create_sheet("evidence"), EVIDENCE_COLUMNS, evidence)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def claims_xlsx(queryset: QuerySet[Claim]) -> bytes:
    """A workbook with the sheets "claims" (CLAIM_COLUMNS) and "evidence" (EVIDENCE_COLUMNS)."""
    claims = _claims(queryset)
    return _xlsx(claims, _evidence(claims, queryset))


# --- CSV -------------------------------------------------------------------------------------------

def csv_cell(value: Any) -> str:
    """A value as CSV text: numbers and dates as themselves, booleans `true`/`false`, text that
    could start a formula prefixed with `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(claims: list[Claim]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(str(header)) for _key, header in CLAIM_COLUMNS])
    for claim in claims:
        row = claim_row(claim)
        writer.writerow([csv_cell(row[key]) for key, _header in CLAIM_COLUMNS])
    return (CSV_BOM + out.getvalue()).encode("utf-8")


def claims_csv(queryset: QuerySet[Claim]) -> bytes:
    """The claims sheet as CSV: UTF-8 with a byte-order mark (so Excel reads the Chinese), CRLF."""
    return _csv(_claims(queryset))


# --- the action ------------------------------------------------------------------------------------

FORMATS = {"xlsx", "csv"}


@transaction.atomic
def export_claims(*, actor, queryset: QuerySet[Claim], fmt: str, filters: dict[str, Any],
                  county_id: int | None, record: bool = True) -> bytes:
    """Build the file and record the export (action `export`, object "claims" 0: a set, whose
    ids, filters and format are in `after`), in one transaction: what the event lists is
    exactly what the file holds. `record=False` for a HEAD request, which hands nothing out (the
    trail is append-only: an event for it could never be taken back)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    claims = _claims(queryset)
    content = _xlsx(claims, _evidence(claims, queryset)) if fmt == "xlsx" else _csv(claims)
    if not record:
        return content
    audit.record(actor=actor, action=AuditEvent.Action.EXPORT, object_type="claims", object_id=0, county_id=county_id,
                 after={"format": fmt, "filters": filters, "count": len(claims),
                        "claims": [claim.pk for claim in claims],
                        "total": audit.money(sum((c.amount for c in claims if c.amount is not None), Decimal("0")))})
    return content
