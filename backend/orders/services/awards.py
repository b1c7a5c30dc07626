"""Awards: the firm gives bids (whole or split) after the deadline; a broker may decline; the
firm completes an award when every piece is accepted, which freezes the material reconciliation."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, ValidationFailed
from core.money import cny

from ..calculations import reconcile_material
from ..errors import AwardQuantityExceeded, BidNotAwardable, DeadlineNotPassed, IllegalTransition
from ..models import Award, Bid, Dispatch, DispatchLine, Inspection, MaterialReturn, Order, ReconciliationLine
from .common import illegal, lock_award, lock_order, move, notify_broker, notify_firm, record_event
from .common import require_broker, require_firm_member
from .orders import close_bidding

# Awards that hold quantity of the order: declined and cancelled ones give it back.
HOLDING = (Award.Status.ACTIVE, Award.Status.COMPLETED)


def awarded_quantity(order: Order) -> int:
    return Award.objects.filter(order=order, status__in=HOLDING).aggregate(n=Sum("quantity"))["n"] or 0


@transaction.atomic
def award_create(*, actor: User, order_id: int, bid_id: int, quantity: int) -> Award:
    # The order row lock serialises concurrent awards: the sum below cannot go stale.
    order = lock_order(order_id)
    require_firm_member(actor, order)
    if order.status == Order.Status.PUBLISHED and not order.deadline_passed():
        raise DeadlineNotPassed()
    if not order.can_award():
        raise illegal(order)
    bid = Bid.objects.select_for_update().filter(pk=bid_id, order=order).first()
    if bid is None:
        raise NotFound()
    if bid.status != Bid.Status.ACTIVE or bid.terms_version != order.terms_version:
        raise BidNotAwardable(params={"reason": bid.get_status_display()})
    if Award.objects.filter(bid=bid).exclude(status=Award.Status.CANCELLED).exists():
        raise BidNotAwardable(params={"reason": _("already awarded or declined")})
    if quantity > bid.quantity:
        raise ValidationFailed(
            _("The bid offers only %(quantity)s pieces.") % {"quantity": bid.quantity}, field="quantity"
        )
    remaining = order.quantity - awarded_quantity(order)
    if quantity > remaining:
        raise AwardQuantityExceeded(params={"remaining": remaining}, field="quantity")

    if order.status == Order.Status.PUBLISHED:
        # no scheduler has closed bidding yet: awarding never waits for beat. In this transaction,
        # so a refused award (or a stranger's request) closes nothing.
        close_bidding(order, actor=actor)
    award = Award.objects.create(order=order, bid=bid, broker_id=bid.broker_id, quantity=quantity,
                                 unit_price=bid.unit_price, awarded_by=actor, promised_date=bid.promised_date)
    data = {"award": award.pk, "broker": bid.broker_id, "quantity": quantity}
    if order.status == Order.Status.BIDDING_CLOSED:
        move(order, Order.Status.AWARDED, action="awarded", actor=actor, data=data)
    else:
        record_event(order, action="awarded", actor=actor, data=data)
    notify_broker(bid.broker_id, "award.created", {"order": order.pk, "award": award.pk, "quantity": quantity})
    return award


@transaction.atomic
def award_decline(*, actor: User, award_id: int, reason: str) -> Award:
    award = Award.objects.filter(pk=award_id).values("order_id", "broker_id").first()
    if award is None:
        raise NotFound()
    require_broker(actor, award["broker_id"], owner_only=True)
    order = lock_order(award["order_id"])
    award = lock_award(award_id)
    if award.status != Award.Status.ACTIVE:
        raise IllegalTransition(_("Only an active award can be declined."), code="award_not_active")
    if award.dispatches.exists() or award.deliveries.exists():
        raise IllegalTransition(_("Work on this award has started; it can no longer be declined."),
                                code="award_started")
    if not reason.strip():
        raise ValidationFailed(_("Say why you decline."), field="reason")
    award.status = Award.Status.DECLINED
    award.save(update_fields=["status"])
    data = {"award": award.pk, "quantity": award.quantity}
    holding = Award.objects.filter(order=order, status__in=HOLDING)
    if not holding.exists() and order.status == Order.Status.AWARDED:
        # nothing left awarded: the firm awards the next bid from the closed bidding
        move(order, Order.Status.BIDDING_CLOSED, action="award_declined", actor=actor, reason=reason, data=data)
    elif holding.exists() and not holding.filter(status=Award.Status.ACTIVE).exists():
        # the other awards are all done: the order is complete with what was made
        move(order, Order.Status.COMPLETED, action="award_declined", actor=actor, reason=reason, data=data)
    else:
        record_event(order, action="award_declined", actor=actor, reason=reason, data=data)
    notify_firm(order, "award.declined", {"award": award.pk, "reason": reason})
    return award


def accepted_pieces(award: Award) -> int:
    return Inspection.objects.filter(award=award).aggregate(n=Sum("accepted"))["n"] or 0


@transaction.atomic
def award_complete(*, actor: User, award_id: int) -> Award:
    award = Award.objects.filter(pk=award_id).values("order_id").first()
    if award is None:
        raise NotFound()
    order = lock_order(award["order_id"])
    require_firm_member(actor, order)
    award = lock_award(award_id)
    if award.status != Award.Status.ACTIVE:
        raise IllegalTransition(_("Only an active award can be completed."), code="award_not_active")
    accepted = accepted_pieces(award)
    if accepted != award.quantity:
        raise IllegalTransition(
            _("%(accepted)s of %(quantity)s pieces are accepted; all must be before completion.")
            % {"accepted": accepted, "quantity": award.quantity}, code="award_incomplete",
        )
    if award.dispatches.filter(status=Dispatch.Status.SENT).exists():
        raise IllegalTransition(_("A material dispatch is not yet confirmed as received."),
                                code="dispatch_unconfirmed")

    lines, discrepancies = [], {}
    for material in order.materials.all():
        sent = DispatchLine.objects.filter(dispatch__award=award, material=material)
        totals = sent.aggregate(d=Sum("quantity"), r=Sum("received_quantity"))
        returned = MaterialReturn.objects.filter(award=award, material=material).aggregate(q=Sum("quantity"))["q"]
        balance = reconcile_material(
            dispatched=totals["d"] or 0, received=totals["r"] or 0, returned=returned or 0,
            accepted_pieces=accepted, quantity_per_piece=material.quantity_per_piece,
            loss_allowance_pct=material.loss_allowance_pct, unit_value=material.unit_value.amount,
        )
        lines.append(ReconciliationLine(
            award=award, material=material, dispatched=balance.dispatched, received=balance.received,
            consumed=balance.consumed, returned=balance.returned,
            lost_within_allowance=balance.lost_within_allowance, excess_loss=balance.excess_loss,
            excess_charge=cny(balance.excess_charge),
        ))
        if balance.discrepancy:
            discrepancies[str(material.pk)] = str(balance.discrepancy)
    ReconciliationLine.objects.bulk_create(lines)
    from payments.invoicing import invoice_add_material_charges

    invoice_add_material_charges(award=award)  # excess loss is deducted from the invoice
    award.status = Award.Status.COMPLETED
    award.completed_at = timezone.now()
    award.save(update_fields=["status", "completed_at"])
    charges = sum((line.excess_charge.amount for line in lines), Decimal("0.00"))
    data = {"order": order.pk, "award": award.pk, "excess_charge": str(charges)}
    if discrepancies:  # more used and returned than received: the firm sees it on the award and here
        data["material_discrepancies"] = discrepancies
    if not Award.objects.filter(order=order, status=Award.Status.ACTIVE).exists():
        move(order, Order.Status.COMPLETED, action="award_completed", actor=actor, data=data)
    else:
        record_event(order, action="award_completed", actor=actor, data=data)
    notify_broker(award.broker_id, "award.completed", data)
    return award
