"""Claims exported for the finance bureau: the XLSX and the CSV open, hold exactly the claims
(amounts as the Decimals stored, written as exact number text), the workbook's evidence sheet
holds the records behind them, text that a spreadsheet would run as a formula stays text, and the
export is audited with what it held."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation
from openpyxl import load_workbook

from subsidies import exports, rules
from subsidies.models import AuditEvent, Claim, ClaimEvidence

from .factories import active_version, make_claim, policy_for

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)
D = Decimal
APPROVED_AT = dt.datetime(2026, 3, 2, 9, 30, 15, tzinfo=SHANGHAI)
INJECTION = "=HYPERLINK(\"http://example.invalid\",\"点我\")"


def said(claim: Claim, *, zh: str, en: str) -> Claim:
    """The claim with these sentences (the factory writes "测试"/"test"): a claim as made, before
    any review trigger could freeze it."""
    Claim.objects.filter(pk=claim.pk).update(sentence_zh=zh, sentence_en=en)
    claim.refresh_from_db()
    return claim


@pytest.fixture
def claims(personas):
    """Five claims of the home county in different states, one of another county."""
    with time_machine.travel(NOW, tick=False):
        version = active_version(policy_for(personas.home["county"]))
        other = active_version(policy_for(personas.away["county"]))
        approved = said(make_claim(version, broker=personas.broker_org, amount=D("2000.00"),
                                   status=Claim.Status.APPROVED, approved_by=personas.auditor, approved_at=APPROVED_AT),
                        zh="工资发放 523,400.00 元 > 500,000 且 加工人员 312 人 > 300 → 5,000 元",
                        en="wages issued 523,400.00 yuan > 500,000 and 312 workers > 300 → 5,000 yuan")
        computed = make_claim(version, broker=personas.rival_org, kind=rules.LOAN_INTEREST, amount=D("1234.56"))
        adjustment = said(make_claim(version, broker=personas.broker_org, kind=rules.FREIGHT, amount=D("-500.00"),
                                     adjusts=approved, is_adjustment=True),
                          zh="−500.00 元", en="-500.00 yuan: a late reversal")
        case = make_claim(version, broker=personas.broker_org, kind=rules.BROKER_REWARD_MACHINERY, amount=None,
                          is_case=True)
        rejected = make_claim(version, village=personas.home["village"], kind=rules.TOP_VILLAGES, amount=D("10000.00"),
                              status=Claim.Status.REJECTED, rejected_by=personas.admin, rejected_at=APPROVED_AT,
                              reject_reason=INJECTION)
        make_claim(other, broker=personas.rival_org, amount=D("2000.00"))
        ClaimEvidence.objects.bulk_create([
            ClaimEvidence(claim=approved, kind=ClaimEvidence.Kind.PAYSLIP, object_id=41, amount=D("261700.00")),
            ClaimEvidence(claim=approved, kind=ClaimEvidence.Kind.PAYSLIP, object_id=40, amount=D("261700.00")),
            ClaimEvidence(claim=approved, kind=ClaimEvidence.Kind.WORKER, object_id=7, note="+ counted"),
            ClaimEvidence(claim=computed, kind=ClaimEvidence.Kind.LOAN, object_id=3, amount=D("0.01"), note="2026-03"),
        ])
    return {"approved": approved, "computed": computed, "adjustment": adjustment, "case": case,
            "rejected": rejected, "county": personas.home["county"]}


def home(claims):
    return Claim.objects.filter(county=claims["county"])


def xlsx(queryset):
    with translation.override("en"):
        content = exports.claims_xlsx(queryset)
    return content, load_workbook(io.BytesIO(content))


def test_the_workbook_has_the_claims_and_their_evidence(claims, personas):
    content, book = xlsx(home(claims))

    assert book.sheetnames == ["claims", "evidence"]
    sheet = book["claims"]
    rows = list(sheet.iter_rows(values_only=True))
    header = [key for key, _ in exports.CLAIM_COLUMNS]
    assert rows[0][:3] == ("Claim ID", "Claim key", "County") and len(rows[0]) == len(header)
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    expected = home(claims).order_by("id")
    assert list(by_id) == [c.pk for c in expected]  # the home county's only, by id
    for claim in expected:
        row = by_id[claim.pk]
        amount = None if row["amount"] is None else Decimal(str(row["amount"])).quantize(D("0.01"))
        assert amount == claim.amount
        assert (row["key"], row["county"], row["policy"], row["version"], row["kind"], row["status"]) == (
            claim.key, "遂昌县", claim.policy.code, 1, claim.kind, claim.status)
        assert (row["fund_year"], row["sentence_zh"], row["sentence_en"]) == (2025, claim.sentence_zh,
                                                                              claim.sentence_en)
        assert (row["period_start"].date(), row["period_end"].date()) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))

    approved = by_id[claims["approved"].pk]
    assert (approved["beneficiary_type"], approved["beneficiary_id"], approved["beneficiary"]) == (
        "broker", personas.broker_org.pk, "建明服装厂")
    # a spreadsheet has no time zones: local wall time
    assert (approved["approved_by"], approved["approved_at"]) == (str(personas.auditor),
                                                                 dt.datetime(2026, 3, 2, 9, 30, 15))
    assert approved["first_approved_by"] is None
    village = by_id[claims["rejected"].pk]
    assert (village["beneficiary_type"], village["beneficiary"], village["rejected_by"]) == (
        "village", personas.home["village"].name, str(personas.admin))
    assert by_id[claims["adjustment"].pk]["adjusts"] == claims["approved"].pk
    assert by_id[claims["case"].pk]["is_case"] is True and by_id[claims["case"].pk]["amount"] is None

    evidence = list(book["evidence"].iter_rows(values_only=True))
    assert evidence[0] == ("Claim ID", "Record kind", "Record ID", "Amount (yuan)", "Note")
    a, c = claims["approved"].pk, claims["computed"].pk
    assert [(r[0], r[1], r[2], None if r[3] is None else Decimal(str(r[3])), r[4]) for r in evidence[1:]] == [
        (a, "payslip", 40, D("261700"), None), (a, "payslip", 41, D("261700"), None),
        (a, "worker", 7, None, "+ counted"), (c, "loan", 3, D("0.01"), "2026-03")]


def test_amounts_are_written_as_exact_numbers_with_two_decimals(claims):
    content, book = xlsx(home(claims))
    column = 1 + [key for key, _ in exports.CLAIM_COLUMNS].index("amount")
    cells = [row[column - 1] for row in book["claims"].iter_rows(min_row=2)]
    assert {cell.number_format for cell in cells if cell.value is not None} == {"#,##0.00"}
    assert all(cell.data_type == "n" for cell in cells if cell.value is not None)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    # the number's exact text (Excel keeps numbers as doubles; 16 significant digits hold every
    # 14-digit amount exactly), shown with two decimals by the cell's format
    for text in ("<v>2000</v>", "<v>1234.56</v>", "<v>-500</v>", "<v>10000</v>"):
        assert text in xml


def test_the_largest_amount_survives_the_workbook(personas):
    with time_machine.travel(NOW, tick=False):
        version = active_version(policy_for(personas.home["county"]))
        top = make_claim(version, broker=personas.broker_org, amount=D("999999999999.99"))
    content, book = xlsx(Claim.objects.filter(pk=top.pk))
    column = [key for key, _ in exports.CLAIM_COLUMNS].index("amount")
    [row] = book["claims"].iter_rows(min_row=2, values_only=True)
    assert Decimal(repr(row[column])) == D("999999999999.99")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "<v>999999999999.99</v>" in archive.read("xl/worksheets/sheet1.xml").decode()


def test_formula_text_stays_text_in_the_workbook(claims):
    _content, book = xlsx(home(claims))
    column = [key for key, _ in exports.CLAIM_COLUMNS].index("reject_reason")
    [cell] = [row[column] for row in book["claims"].iter_rows(min_row=2) if row[column].value]
    assert (cell.value, cell.data_type) == (INJECTION, "s")


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 by its byte-order mark
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_the_csv_has_the_claims_sheets_columns_and_rows(claims, personas):
    with translation.override("en"):
        rows = read_csv(exports.claims_csv(home(claims)))
        assert rows[0] == [str(label) for _, label in exports.CLAIM_COLUMNS]
    header = [key for key, _ in exports.CLAIM_COLUMNS]
    by_id = {int(row[0]): dict(zip(header, row)) for row in rows[1:]}
    assert list(by_id) == list(home(claims).order_by("id").values_list("pk", flat=True))
    for claim in home(claims):
        row = by_id[claim.pk]
        assert (D(row["amount"]) if row["amount"] else None) == claim.amount
        assert (row["key"], row["kind"], row["status"], row["sentence_zh"]) == (
            claim.key, claim.kind, claim.status, claim.sentence_zh)
        assert (row["period_start"], row["period_end"], row["fund_year"]) == ("2025-01-01", "2025-12-31", "2025")
    approved = by_id[claims["approved"].pk]
    assert (approved["amount"], approved["approved_by"], approved["approved_at"]) == (
        "2000.00", str(personas.auditor), "2026-03-02 09:30:15")
    assert by_id[claims["adjustment"].pk]["amount"] == "-500.00"  # a number: not prefixed
    assert by_id[claims["case"].pk]["amount"] == "" and by_id[claims["case"].pk]["is_case"] == "true"


def test_csv_cells_that_could_start_a_formula_are_prefixed(claims):
    rows = read_csv(exports.claims_csv(home(claims)))
    column = [key for key, _ in exports.CLAIM_COLUMNS].index("reject_reason")
    [reason] = [row[column] for row in rows[1:] if row[column]]
    assert reason == "'" + INJECTION
    assert [exports.csv_cell(v) for v in ("=1+1", "+86", "-x", "@SUM(A1)", "\tx", "\rx", "a=b", D("-1.50"), -3)] == [
        "'=1+1", "'+86", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "a=b", "-1.50", "-3"]


def test_an_empty_export_has_the_headers_only(claims):
    nothing = Claim.objects.none()
    _content, book = xlsx(nothing)
    assert [len(list(book[name].iter_rows())) for name in ("claims", "evidence")] == [1, 1]
    assert len(read_csv(exports.claims_csv(nothing))) == 1


def test_the_export_reads_a_fixed_number_of_queries(claims, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        exports.claims_xlsx(home(claims))
    with django_assert_max_num_queries(1):
        exports.claims_csv(home(claims))


def test_the_export_is_audited_with_what_it_held(claims, personas):
    content = exports.export_claims(actor=personas.auditor, queryset=home(claims).filter(status="computed"),
                                    fmt="csv", filters={"status": "computed"}, county_id=claims["county"].pk)
    [event] = AuditEvent.objects.filter(action="export")
    computed = sorted([claims["computed"].pk, claims["adjustment"].pk, claims["case"].pk])
    assert (event.actor, event.object_type, event.object_id, event.county_id) == (
        personas.auditor, "claims", 0, claims["county"].pk)
    assert event.after == {"format": "csv", "filters": {"status": "computed"}, "count": 3, "claims": computed,
                           "total": "734.56"}
    assert len(read_csv(content)) == 4
