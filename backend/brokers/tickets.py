"""Printable bundle tickets: an A4 PDF with one ticket per bundle, each with a QR code that
carries the bundle's code (what a worker's phone scans), the order, the bundle number and size,
and the procedures to tick off."""
from __future__ import annotations

from io import BytesIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .models import Bundle

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese text without embedding a font
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

COLUMNS, ROWS = 2, 4
TICKET_W, TICKET_H = 95 * mm, 65 * mm
MARGIN_X, MARGIN_Y = 10 * mm, 12 * mm
QR_SIZE = 38 * mm


def qr_payload(bundle: Bundle) -> str:
    return f"lailiao:bundle:{bundle.code}"


def _ticket(pdf: canvas.Canvas, bundle: Bundle, x: float, y: float) -> None:
    pdf.setDash(3, 3)
    pdf.rect(x, y, TICKET_W, TICKET_H)
    pdf.setDash()
    widget = QrCodeWidget(qr_payload(bundle))
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x + 3 * mm, y + TICKET_H - QR_SIZE - 4 * mm)

    order = bundle.award.order
    text_x = x + QR_SIZE + 6 * mm
    pdf.setFont(FONT, 13)
    pdf.drawString(text_x, y + TICKET_H - 10 * mm, f"扎号 {bundle.award_id}-{bundle.number}")
    pdf.setFont(FONT, 9)
    lines = [order.product[:18], f"订单 #{order.pk}  数量 {bundle.size} {order.unit}", f"码 {bundle.code}"]
    for i, line in enumerate(lines):
        pdf.drawString(text_x, y + TICKET_H - (17 + 5 * i) * mm, line)
    pdf.setFont(FONT, 8)
    procedures = list(order.procedures.all())
    for i, procedure in enumerate(procedures[:6]):
        pdf.drawString(x + 4 * mm, y + TICKET_H - QR_SIZE - (9 + 4 * i) * mm, f"□ {procedure.sequence}. {procedure.name}")


def tickets_pdf(bundles: list[Bundle]) -> bytes:
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("来料 Lailiao tickets")
    per_page = COLUMNS * ROWS
    for index, bundle in enumerate(bundles):
        if index and index % per_page == 0:
            pdf.showPage()
        slot = index % per_page
        col, row = slot % COLUMNS, slot // COLUMNS
        x = MARGIN_X + col * TICKET_W
        y = A4[1] - MARGIN_Y - (row + 1) * TICKET_H
        _ticket(pdf, bundle, x, y)
    pdf.save()
    return buffer.getvalue()
