"""Printable payroll documents (A4 PDF, in the reader's language): a worker's payslip, and the
payout batch summary the broker signs off before the bank file goes to the bank."""
from __future__ import annotations

from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .models import PayoutBatch, Payslip, PayoutItem
from .payouts import bank_file_digest, bank_rows, batch_totals
from .payroll import adjustment_note, describe

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese text without embedding a font
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
WIDTH, HEIGHT = A4
LEFT, RIGHT = 18 * mm, WIDTH - 18 * mm


class _Page:
    """A canvas that writes rows downwards and turns the page when it runs out of room."""

    def __init__(self, title: str):
        self.buffer = BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=A4)
        self.pdf.setTitle(title)
        self.y = HEIGHT - 20 * mm

    def text(self, value: str, *, size: float = 10, x: float = LEFT, gap: float = 6):
        if self.y < 25 * mm:
            self.pdf.showPage()
            self.y = HEIGHT - 20 * mm
        self.pdf.setFont(FONT, size)
        self.pdf.drawString(x, self.y, value)
        self.y -= gap * mm

    def row(self, cells: list[tuple[float, str]], *, size: float = 9, amount: str | None = None, gap: float = 5.5):
        if self.y < 25 * mm:
            self.pdf.showPage()
            self.y = HEIGHT - 20 * mm
        self.pdf.setFont(FONT, size)
        for x, value in cells:
            self.pdf.drawString(x, self.y, value)
        if amount is not None:
            self.pdf.drawRightString(RIGHT, self.y, amount)
        self.y -= gap * mm

    def rule(self):
        self.pdf.line(LEFT, self.y + 3 * mm, RIGHT, self.y + 3 * mm)
        self.y -= 2 * mm

    def done(self) -> bytes:
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def payslip_pdf(slip: Payslip) -> bytes:
    run = slip.run
    page = _Page(f"Lailiao payslip {run.month:%Y-%m} {slip.worker_name}")
    page.text(_("Payslip"), size=16, gap=9)
    page.text(f"{run.broker.name}", size=11)
    page.text(_("Worker: %(name)s   Month: %(month)s   Status: %(status)s") % {
        "name": slip.worker_name, "month": f"{run.month:%Y-%m}", "status": run.get_status_display()})
    page.text(_("Days present: %(present)s   Days late: %(late)s") % {
        "present": slip.days_present, "late": slip.days_late}, gap=9)
    page.row([(LEFT, _("Line")), (LEFT + 75 * mm, _("How it is worked out"))], size=10, amount=_("Amount (yuan)"))
    page.rule()
    for line in slip.lines.all():
        # who made a late adjustment and why, on rows of its own: never cut off with the explanation
        label, explanation = describe(line, with_note=False)
        note = adjustment_note(line)
        page.row([(LEFT, label[:36])], size=10, amount=f"{line.amount:.2f}", gap=5)
        page.row([(LEFT + 4 * mm, explanation[:90])], size=8, gap=5 if note else 6)
        for start in range(0, len(note), 90):
            page.row([(LEFT + 4 * mm, note[start:start + 90])], size=8, gap=5 if start + 90 < len(note) else 6)
    page.rule()
    page.row([(LEFT, _("Total"))], size=12, amount=f"{slip.total:.2f}", gap=10)
    items = list(slip.payout_items.filter(status=PayoutItem.Status.PAID))
    for item in items:
        page.text(_("Paid %(amount)s yuan on %(date)s, reference %(ref)s") % {
            "amount": f"{item.amount:.2f}", "date": item.paid_on, "ref": item.reference}, size=9)
    page.text(_("Printed %(at)s. Lines are pieces × rate, each rounded half up to the fen; the total is their sum.")
              % {"at": timezone.localtime().strftime("%Y-%m-%d %H:%M")}, size=8)
    return page.done()


def batch_summary_pdf(batch: PayoutBatch) -> bytes:
    run = batch.run
    totals = batch_totals(batch)
    page = _Page(f"Lailiao payout {run.month:%Y-%m} #{batch.number}")
    page.text(_("Payout batch summary"), size=16, gap=9)
    page.text(f"{run.broker.name}", size=11)
    page.text(_("Payroll month %(month)s, batch %(number)s, status: %(status)s") % {
        "month": f"{run.month:%Y-%m}", "number": batch.number, "status": batch.get_status_display()})
    page.text(_("%(n)s payments, %(amount)s yuan in total") % {"n": totals["payments"],
                                                               "amount": f"{totals['amount']:.2f}"})
    if totals["held"]:
        page.text(_("%(n)s workers held back: no bank details on file") % {"n": totals["held"]})
    page.text(_("Bank file SHA-256: %(digest)s") % {"digest": bank_file_digest(batch)}, size=8, gap=9)
    page.row([(LEFT, _("Worker")), (LEFT + 40 * mm, _("Bank")), (LEFT + 85 * mm, _("Account")),
              (LEFT + 125 * mm, _("Reference"))], size=9, amount=_("Amount"))
    page.rule()
    for item in bank_rows(batch):
        account = item.bank_account
        masked = account[:4] + "*" * max(len(account) - 8, 0) + account[-4:] if len(account) > 8 else account
        page.row([(LEFT, item.account_holder[:12]), (LEFT + 40 * mm, item.bank_name[:14]),
                  (LEFT + 85 * mm, masked), (LEFT + 125 * mm, item.reference)], size=8, amount=f"{item.amount:.2f}")
    page.rule()
    page.row([(LEFT, _("Total"))], size=11, amount=f"{totals['amount']:.2f}", gap=14)
    if batch.status == PayoutBatch.Status.PAID:
        page.text(_("Recorded paid on %(date)s, bank reference %(ref)s") % {
            "date": batch.paid_on, "ref": batch.bank_reference}, gap=10)
    for role in (_("Prepared by"), _("Checked by"), _("Approved by (broker)")):
        page.text(f"{role}: ______________________   {_('Date')}: ____________", gap=12)
    return page.done()
