"""Real files of every kind an order attachment may be, and of kinds it may not, as bytes, for
tests that upload (core/uploads.py checks content, not names)."""
from __future__ import annotations

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

WORKBOOK_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'</Types>')
WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>')


def pdf(size: int | None = None) -> bytes:
    """A small PDF; with `size`, padded by a comment to exactly that many bytes."""
    body, end = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n", b"%%EOF\n"
    if size is None:
        return body + end
    return body + b"%" + b"0" * (size - len(body) - len(end) - 2) + b"\n" + end


def image(fmt: str, size=(4, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def png() -> bytes:
    return image("PNG")


def jpeg() -> bytes:
    return image("JPEG")


def webp() -> bytes:
    return image("WEBP")


def gif() -> bytes:
    return image("GIF")


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def xlsx() -> bytes:
    return zipped({"[Content_Types].xml": WORKBOOK_TYPES, "_rels/.rels": b"<Relationships/>",
                   "xl/workbook.xml": WORKBOOK})


def csv_utf8() -> bytes:
    return "\ufeff款号,尺码,数量\nA-01,M,100\nA-01,L,\"1,200\"\n".encode()


def csv_gb18030() -> bytes:
    return "款号,颜色,数量\r\nB-02,红,50\r\n".encode("gb18030")


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
