"""Uploaded files, checked by what their bytes are (never by their name or the client's
Content-Type) against an allow-list, and served back so that none can run script in our origin.

`check_upload` is the one content check: each app passes the kinds it accepts (order documents:
`DOCUMENT_KINDS`) and stores the returned MIME type and extension; the file is stored under a
server-chosen name (`stored_name`) and the client's name, cleaned (`download_name`), is kept only
for the download's filename. `protect_download` gives a file response the headers every download
needs (docs/security.md § Uploads)."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
import warnings
import zipfile
from dataclasses import dataclass

from django.http import HttpResponseBase
from django.utils.translation import gettext as _

from .errors import ValidationFailed


@dataclass(frozen=True)
class Kind:
    name: str           # shown to the user in the list of allowed kinds
    content_type: str   # served as this
    extension: str      # stored and downloaded with this


PDF = Kind("PDF", "application/pdf", "pdf")
JPEG = Kind("JPEG", "image/jpeg", "jpg")
PNG = Kind("PNG", "image/png", "png")
WEBP = Kind("WebP", "image/webp", "webp")
XLSX = Kind("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
CSV = Kind("CSV", "text/csv", "csv")
KINDS = (PDF, JPEG, PNG, WEBP, XLSX, CSV)
# What an order may carry: drawings and specifications, photos of samples, size and material tables.
DOCUMENT_KINDS = KINDS
# Served for a file with no checked type (uploaded before the check existed): a download, never rendered.
UNCHECKED_CONTENT_TYPE = "application/octet-stream"
# The policy of every downloaded file: it may load nothing and runs, if ever rendered, sandboxed.
DOWNLOAD_CSP = "default-src 'none'; sandbox"

# An XLSX is a zip: refuse one that would unpack to more than this, or has more entries, whatever
# its size on disk (a zip bomb). The sizes are the ones the zip declares; nothing is unpacked
# here but [Content_Types].xml, read at most up to CONTENT_TYPES_MAX_BYTES.
XLSX_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
XLSX_MAX_ENTRIES = 10_000
CONTENT_TYPES_MAX_BYTES = 1024 * 1024
WORKBOOK_CONTENT_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
# Images with more pixels than this are refused (a decompression bomb for whoever opens them).
IMAGE_MAX_PIXELS = 100_000_000

_PILLOW_FORMATS = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP}
# An HTML, SVG or XML tag, comment, doctype or processing instruction anywhere in a text file.
_MARKUP = re.compile(rb"<\s*/?\s*[A-Za-z][A-Za-z0-9:_-]*[\s/>]|<[!?]")
# Control characters no spreadsheet text contains (tab, newline, carriage return and form feed may).
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_UTF8_BOM = b"\xef\xbb\xbf"


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def check_upload(file, *, kinds: tuple[Kind, ...] = DOCUMENT_KINDS, max_bytes: int, field: str = "file") -> Kind:
    """The kind of `file` (an uploaded file: seekable, with .size), from its bytes, if it is one of
    `kinds` and at most `max_bytes`; otherwise a 400 naming `field` (`file_too_large`,
    `file_type_not_allowed`). The file is left at its start."""
    if file.size > max_bytes:
        raise ValidationFailed(_("A file may be at most %(mb)s MB; this one has %(size)s bytes.") % {
            "mb": megabytes(max_bytes), "size": file.size}, code="file_too_large", field=field)
    try:
        kind = _detect(file)
    finally:
        file.seek(0)
    if kind is None or kind not in kinds:
        raise ValidationFailed(
            _("This kind of file is not accepted. Upload one of: %(kinds)s.") % {
                "kinds": ", ".join(k.name for k in kinds)},
            code="file_type_not_allowed", field=field)
    return kind


def _detect(file) -> Kind | None:
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head.startswith(b"%PDF-") and head[5:6].isdigit():
        # served as application/pdf, as a download: whatever follows the header is the PDF reader's
        return PDF
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return _image(file)
    if head.startswith(b"PK\x03\x04"):
        return XLSX if _is_workbook(file) else None
    return CSV if _is_csv(file.read()) else None


def _image(file) -> Kind | None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                kind = _PILLOW_FORMATS.get(image.format)
                if kind is None or image.width * image.height > IMAGE_MAX_PIXELS:
                    return None
                image.verify()
    except Exception:  # Pillow raises many kinds for a broken or hostile image; all mean "not one"
        return None
    return kind


def _is_workbook(file) -> bool:
    """A zip that really is an OOXML workbook (not a macro-enabled one), within the bomb limits."""
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            if len(entries) > XLSX_MAX_ENTRIES:
                return False
            if sum(entry.file_size for entry in entries) > XLSX_MAX_UNCOMPRESSED_BYTES:
                return False
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                return False
            with archive.open("[Content_Types].xml") as types:
                declared = types.read(CONTENT_TYPES_MAX_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
            ValueError):
        return False
    return len(declared) <= CONTENT_TYPES_MAX_BYTES and WORKBOOK_CONTENT_TYPE in declared


def _is_csv(data: bytes) -> bool:
    """UTF-8 or GB18030 text, with no NUL or other control bytes and no markup (nothing a browser
    could take for HTML, SVG or XML), that parses as a table: at least two columns, the same
    number in every row."""
    data = data.removeprefix(_UTF8_BOM)
    if not data.strip() or b"\x00" in data:  # UTF-16 text has NULs too: not accepted
        return False
    if data.lstrip().startswith(b"<") or _MARKUP.search(data):
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    if _CONTROL.search(text):
        return False
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if any(cell.strip() for cell in row)]
    except csv.Error:
        return False
    if not rows or len(rows[0]) < 2:
        return False
    return all(len(row) == len(rows[0]) for row in rows)


# --- names -------------------------------------------------------------------------------------

def stored_name(kind: Kind) -> str:
    """The name a file is stored under: chosen by the server, never the client's."""
    return f"{uuid.uuid4().hex}.{kind.extension}"


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"*:<>?|\\/]+')
_EXTENSIONS = {JPEG: ("jpg", "jpeg")}


def download_name(original: str, kind: Kind, *, max_length: int = 200) -> str:
    """The client's file name, cleaned to serve as a download's filename: no path, no control or
    reserved characters, NFC, at most `max_length` characters, and ending in the checked kind's
    extension (a PDF uploaded as `x.html` downloads as `x.html.pdf`)."""
    name = unicodedata.normalize("NFC", str(original or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if extension.lower() not in _EXTENSIONS.get(kind, (kind.extension,)):
        stem, extension = name, kind.extension
    stem = stem.strip(" ._") or "file"
    return f"{stem[:max_length - len(extension) - 1]}.{extension}"


# --- downloads ---------------------------------------------------------------------------------

def protect_download(response: HttpResponseBase, *, sandbox: bool = True) -> HttpResponseBase:
    """The headers of every file download: the browser must not guess another type than the one
    sent and, with `sandbox`, the file may load nothing and would run sandboxed if ever rendered
    (generated PDFs shown inline for printing pass sandbox=False: browsers will not render a PDF
    in a sandbox)."""
    response["X-Content-Type-Options"] = "nosniff"
    # bank accounts, wages, the codes workers scan: kept by no shared cache, nor by the browser
    response["Cache-Control"] = "private, no-store"
    if sandbox:
        response["Content-Security-Policy"] = DOWNLOAD_CSP
    return response
