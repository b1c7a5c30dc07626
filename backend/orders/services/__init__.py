"""Order services: every state change of the marketplace goes through one of these."""
from .attachments import attachment_add
from .awards import award_complete, award_create, award_decline
from .bids import bid_place, bid_reconfirm, bid_revise, bid_withdraw
from .fulfilment import (
    FeeDue, delivery_record, dispatch_receive, dispatch_send, inspection_record, material_return, processing_fee_due,
)
from .orders import order_cancel, order_close_bidding, order_create, order_publish, order_update
from .orders import orders_close_due
from .subcontracts import subcontract_accept, subcontract_cancel, subcontract_decline, subcontract_propose

__all__ = [
    "FeeDue", "attachment_add", "award_complete", "award_create", "award_decline", "bid_place", "bid_reconfirm",
    "bid_revise", "bid_withdraw", "delivery_record", "dispatch_receive", "dispatch_send", "inspection_record",
    "material_return", "order_cancel", "order_close_bidding", "order_create", "order_publish", "order_update",
    "orders_close_due", "processing_fee_due", "subcontract_accept", "subcontract_cancel", "subcontract_decline",
    "subcontract_propose",
]
