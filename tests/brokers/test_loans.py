"""Brokers register loans for the interest subsidy (lender, principal, start and repayment day,
the contract as evidence): the owner registers, the team reads; the contract is a PDF, JPEG or PNG
by its bytes and is served as a protected download; the county's auditors read a broker's loans
and contracts; everyone else is refused (403) or sees nothing of another's (404)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from brokers.models import Loan

from .. import upload_files as f
from ..api_checks import english_client, refused

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MINE = "/api/brokers/me/loans/"
NOT_ALLOWED = "This kind of file is not accepted. Upload one of: PDF, JPEG, PNG."
ALL = ["firm", "broker", "team_head", "rival_broker", "worker", "other_worker", "auditor", "other_auditor", "admin",
       "anonymous"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


def client(user):
    return english_client(user) if user is not None else APIClient(HTTP_ACCEPT_LANGUAGE="en")


def body(**overrides):
    data = {"lender": "遂昌农商银行", "principal": "150000.00", "start": "2026-03-01", "end": "2027-03-01",
            "contract_number": "SC-2026-031"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def register(user, *, contract=None, fmt="multipart", **overrides):
    data = body(**overrides)
    if contract is not None:
        data["contract"] = f.upload(*contract)
    return client(user).post(MINE, data, format=fmt)


# --- registering ------------------------------------------------------------------------------------

def test_the_owner_registers_a_loan_with_its_contract(personas, clock):
    response = register(personas.broker, contract=("借款合同.pdf", f.pdf(), "application/pdf"))

    assert response.status_code == 201, response.content
    data = response.json()
    loan = Loan.objects.get()
    assert (loan.broker, loan.lender, loan.principal, loan.start, loan.end, loan.contract_number) == (
        personas.broker_org, "遂昌农商银行", Decimal("150000.00"), dt.date(2026, 3, 1), dt.date(2027, 3, 1),
        "SC-2026-031")
    assert (loan.registered_by, loan.contract_name, loan.contract_type) == (
        personas.broker, "借款合同.pdf", "application/pdf")
    assert loan.contract.name.startswith("loans/2026/06/") and "借款" not in loan.contract.name  # the server's name
    assert data["principal"] == "150000.00" and data["end"] == "2027-03-01"
    assert data["contract"] == {"name": "借款合同.pdf", "content_type": "application/pdf",
                                "url": f"/api/brokers/me/loans/{loan.pk}/contract/"}
    assert data["registered_by_name"] == str(personas.broker)

    download = client(personas.broker).get(data["contract"]["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == f.pdf()
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert download["Cache-Control"] == "private, no-store"


def test_a_loan_without_a_contract_or_an_end_as_json(personas, clock):
    response = register(personas.broker, fmt="json", end=None)
    assert response.status_code == 201, response.content
    assert response.json()["contract"] is None and response.json()["end"] is None
    loan = Loan.objects.get()
    assert (loan.end, bool(loan.contract)) == (None, False)
    assert client(personas.broker).get(f"{MINE}{loan.pk}/contract/").status_code == 404


def test_a_multipart_loan_with_an_empty_end_is_outstanding(personas, clock):
    response = register(personas.broker, end="")
    assert response.status_code == 201, response.content
    assert Loan.objects.get().end is None


@pytest.mark.parametrize("name, content, content_type, extension", [
    ("scan.jpg", f.jpeg(), "image/jpeg", "jpg"), ("photo.png", f.png(), "image/png", "png")])
def test_a_photo_of_the_contract_is_accepted(personas, clock, name, content, content_type, extension):
    response = register(personas.broker, contract=(name, content, content_type))
    assert response.status_code == 201, response.content
    loan = Loan.objects.get()
    assert (loan.contract_type, loan.contract.name.rsplit(".", 1)[1]) == (content_type, extension)


@pytest.mark.parametrize("name, content, content_type", [
    ("合同.docx", f.zipped({"word/document.xml": b"<w/>"}), "application/pdf"),
    ("合同.xlsx", f.xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("合同.csv", f.csv_utf8(), "text/csv"),
    ("合同.webp", f.webp(), "image/webp"),
    ("合同.gif", f.gif(), "image/gif"),
    ("合同.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
])
def test_a_contract_that_is_not_a_pdf_or_a_photo_is_refused(personas, clock, name, content, content_type):
    response = register(personas.broker, contract=(name, content, content_type))
    refused(response, "contract", NOT_ALLOWED, code="file_type_not_allowed")
    assert not Loan.objects.exists()


def test_a_contract_over_the_size_limit_is_refused(personas, clock, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    body = refused(register(personas.broker, contract=("big.pdf", f.pdf(1001), "application/pdf")), "contract",
                   code="file_too_large")
    assert "1001 bytes" in body["fields"]["contract"][0]
    assert register(personas.broker, contract=("ok.pdf", f.pdf(1000), "application/pdf")).status_code == 201


@pytest.mark.parametrize("field, value", [
    ("principal", "0"), ("principal", "-100.00"), ("principal", "100.001"), ("principal", "1000000000.01"),
    ("principal", "lots"), ("end", "2026-03-01"), ("end", "2026-02-28"), ("start", "2006-05-30"),
    ("start", "2027-06-17"), ("end", "2056-07-08"), ("lender", ""), ("lender", "x" * 201),
    ("contract_number", "x" * 101),
])
def test_what_a_loan_must_be(personas, clock, field, value):
    refused(register(personas.broker, **{field: value}), field)
    assert not Loan.objects.exists()


def test_the_date_bounds_are_inclusive(personas, clock):
    # today 2026-06-15: starts from 7,320 days back (2006-05-31) to 366 ahead (2027-06-16); repaid by
    # 10,980 days ahead (2056-07-07)
    assert register(personas.broker, start="2006-05-31", end="2006-06-01").status_code == 201
    assert register(personas.broker, start="2027-06-16", end="2056-07-07", contract_number="SC-2027-001").status_code == 201


def test_a_json_principal_must_be_text(personas, clock):
    refused(client(personas.broker).post(MINE, {**body(), "principal": 150000.5}, format="json"), "principal")


def test_the_service_checks_the_principal_itself(personas, clock):
    from brokers import services
    from core.errors import ValidationFailed

    for bad in (Decimal("0"), Decimal("1.005"), Decimal("NaN"), 5):
        with pytest.raises(ValidationFailed) as refused_:
            services.loan_add(actor=personas.broker, data={"lender": "银行", "principal": bad,
                                                           "start": dt.date(2026, 1, 1)})
        assert list(refused_.value.fields) == ["principal"]


# --- who may --------------------------------------------------------------------------------------------

@pytest.fixture
def loans(personas, clock):
    """The broker's loan with a contract, the rival's without."""
    mine = register(personas.broker, contract=("合同.pdf", f.pdf(), "application/pdf")).json()["id"]
    theirs = register(personas.rival_broker, fmt="json", lender="丽水银行").json()["id"]
    return mine, theirs


@pytest.mark.parametrize("name, status, expected", [
    ("firm", 403, None), ("broker", 201, "mine"), ("team_head", 403, None), ("rival_broker", 201, "theirs"),
    ("worker", 403, None), ("other_worker", 403, None), ("auditor", 403, None), ("other_auditor", 403, None),
    ("admin", 403, None), ("anonymous", 403, None)])
def test_who_registers(personas, clock, name, status, expected):
    user = personas.users()[name]
    response = register(user, fmt="json")
    assert response.status_code == status, response.content
    if expected:
        org = personas.broker_org if expected == "mine" else personas.rival_org
        assert Loan.objects.get().broker == org
    else:
        assert not Loan.objects.exists()


@pytest.mark.parametrize("name, status, sees", [
    ("firm", 403, None), ("broker", 200, "mine"), ("team_head", 200, "mine"), ("rival_broker", 200, "theirs"),
    ("worker", 403, None), ("other_worker", 403, None), ("auditor", 403, None), ("other_auditor", 403, None),
    ("admin", 200, "none"), ("anonymous", 403, None)])
def test_who_reads_their_own_loans(personas, loans, name, status, sees):
    mine, theirs = loans
    response = client(personas.users()[name]).get(MINE)
    assert response.status_code == status
    if sees:
        assert [row["id"] for row in response.json()["results"]] == {"mine": [mine], "theirs": [theirs],
                                                                     "none": []}[sees]


@pytest.mark.parametrize("name, status", [
    ("firm", 403), ("broker", 200), ("team_head", 200), ("rival_broker", 404), ("worker", 403),
    ("other_worker", 403), ("auditor", 403), ("other_auditor", 403), ("admin", 404), ("anonymous", 403)])
def test_who_downloads_a_contract_of_their_own(personas, loans, name, status):
    mine, _theirs = loans
    assert client(personas.users()[name]).get(f"{MINE}{mine}/contract/").status_code == status


@pytest.mark.parametrize("name, status", [
    ("firm", 403), ("broker", 403), ("team_head", 403), ("rival_broker", 403), ("worker", 403),
    ("other_worker", 403), ("auditor", 200), ("other_auditor", 404), ("admin", 200), ("anonymous", 403)])
def test_who_reads_a_brokers_loans(personas, loans, name, status):
    mine, _theirs = loans
    user = personas.users()[name]
    listing = client(user).get(f"/api/brokers/{personas.broker_org.pk}/loans/")
    assert listing.status_code == status
    detail = client(user).get(f"/api/brokers/{personas.broker_org.pk}/loans/{mine}/")
    assert detail.status_code == status
    download = client(user).get(f"/api/brokers/{personas.broker_org.pk}/loans/{mine}/contract/")
    assert download.status_code == status
    if status == 200:
        [row] = listing.json()["results"]
        assert row["id"] == mine
        assert row["contract"]["url"] == f"/api/brokers/{personas.broker_org.pk}/loans/{mine}/contract/"
        assert b"".join(download.streaming_content) == f.pdf()
        assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_loan_is_found_only_under_its_own_broker(personas, loans):
    mine, theirs = loans
    auditor = client(personas.auditor)
    assert auditor.get(f"/api/brokers/{personas.broker_org.pk}/loans/{theirs}/").status_code == 404
    assert auditor.get(f"/api/brokers/{personas.rival_org.pk}/loans/{theirs}/").status_code == 200
    # not a broker, or no such organisation
    assert auditor.get(f"/api/brokers/{personas.federation_org.pk}/loans/").status_code == 404
    assert auditor.get("/api/brokers/99999999/loans/").status_code == 404
    assert auditor.get(f"/api/brokers/{2**63}/loans/").status_code == 404


def test_the_lists_read_a_fixed_number_of_queries(personas, loans, django_assert_max_num_queries):
    for n in range(5):
        register(personas.broker, fmt="json", lender=f"银行{n}", contract_number=f"SC-2026-{n:03d}")
    with django_assert_max_num_queries(4):
        assert len(client(personas.broker).get(MINE).json()["results"]) == 6
    with django_assert_max_num_queries(6):
        assert len(client(personas.auditor).get(f"/api/brokers/{personas.broker_org.pk}/loans/").json()["results"]) == 6


def test_a_loan_is_registered_once(personas, clock):
    """A resend, or the same contract entered again, would earn its interest subsidy twice: the
    same contract number, or without one the same lender, principal and start, is a 409."""
    assert register(personas.broker, fmt="json").status_code == 201
    again = register(personas.broker, fmt="json")
    assert again.status_code == 409 and again.json()["code"] == "loan_already_registered"
    assert register(personas.broker, fmt="json", lender="中国农业银行遂昌支行").json()["code"] == \
        "loan_already_registered"  # the same contract number
    other = register(personas.broker, fmt="json", contract_number="", start="2026-06-01")
    assert other.status_code == 201, other.content
    assert register(personas.broker, fmt="json", contract_number="", start="2026-06-01").json()["code"] == \
        "loan_already_registered"  # no number: the same lender, principal and start
    assert register(personas.rival_broker, fmt="json").status_code == 201  # another broker's own loan
    assert Loan.objects.count() == 3
