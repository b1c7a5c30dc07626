"""Order attachments: a firm's documents of its order, checked by content and within limits."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ValidationFailed
from core.uploads import DOCUMENT_KINDS, check_upload, download_name, megabytes, stored_name

from ..models import Attachment, Order
from .common import illegal, lock_order, record_event, require_firm_member


def check_order_room(order: Order, size: int) -> None:
    """The order may take one more file of `size` bytes (settings ATTACHMENTS_PER_ORDER_MAX and
    ATTACHMENTS_PER_ORDER_MAX_BYTES). Called with the order's row locked, so two uploads at once
    cannot both take the last place."""
    used = Attachment.objects.filter(order=order).aggregate(count=Count("pk"), total=Sum("size"))
    count, total = used["count"], used["total"] or 0
    if count >= settings.ATTACHMENTS_PER_ORDER_MAX:
        raise ValidationFailed(_("An order may have at most %(count)s attachments.") % {
            "count": settings.ATTACHMENTS_PER_ORDER_MAX}, code="too_many_attachments", field="file")
    limit = settings.ATTACHMENTS_PER_ORDER_MAX_BYTES
    if total + size > limit:
        raise ValidationFailed(
            _("An order's attachments may total at most %(mb)s MB; %(used)s MB are used and this file has "
              "%(size)s bytes.") % {"mb": megabytes(limit), "used": megabytes(total), "size": size},
            code="attachments_too_large", field="file")


@transaction.atomic
def attachment_add(*, actor: User, order_id: int, file, caption: str = "") -> Attachment:
    """Attach `file` to the order (its firm, while the order is not completed or cancelled). The
    file's kind comes from its bytes (core.uploads.check_upload, order documents); it is stored
    under a name of the server's, and the client's name, cleaned, is kept for downloads."""
    order = lock_order(order_id)
    require_firm_member(actor, order)
    if order.status in (Order.Status.COMPLETED, Order.Status.CANCELLED):
        raise illegal(order)
    kind = check_upload(file, kinds=DOCUMENT_KINDS, max_bytes=settings.ATTACHMENT_MAX_BYTES)
    check_order_room(order, file.size)
    original = download_name(file.name, kind)
    file.name = stored_name(kind)
    attachment = Attachment.objects.create(order=order, file=file, content_type=kind.content_type,
                                           original_name=original, size=file.size, caption=caption,
                                           uploaded_by=actor)
    record_event(order, action="attachment_added", actor=actor,
                 data={"attachment": attachment.pk, "name": original, "content_type": kind.content_type})
    return attachment
