"""The marketplace's input limits, in one place (listed in docs/api.md § Limits and docs/orders.md).
Serializers use the maxima as `max_value`/`max_length`; the services check the date ranges, which
depend on today (`timezone.localdate()`, Asia/Shanghai)."""
from __future__ import annotations

from decimal import Decimal

# --- dates (days from today) ---------------------------------------------------------------------
# A draft may keep a deadline or due date that has just passed (publishing needs a future
# deadline); nothing is planned further ahead than these.
DATE_GRACE_DAYS = 31
BID_DEADLINE_MAX_DAYS_AHEAD = 366           # bidding closes within a year
DUE_DATE_MAX_DAYS_AHEAD = 3 * 366           # work is due within three years
PROMISED_DATE_MAX_DAYS_AHEAD = DUE_DATE_MAX_DAYS_AHEAD  # and never after the order's due date

# --- money (yuan) --------------------------------------------------------------------------------
MAX_UNIT_PRICE = Decimal("100000")          # ceiling, bid and subcontract unit prices, per piece
MAX_MATERIAL_UNIT_VALUE = Decimal("100000")  # a material's value per unit
MIN_UNIT_PRICE = Decimal("0.0001")

# --- quantities ----------------------------------------------------------------------------------
MAX_QUANTITY = 10_000_000                   # pieces of an order, a bid, an award, a delivery
MAX_STANDARD_MINUTES = Decimal("10000")     # per piece and procedure
MAX_QUANTITY_PER_PIECE = Decimal("100000")  # material per piece
MAX_MATERIAL_QUANTITY = Decimal("1000000000")  # material dispatched, received or returned at once
MAX_PROCEDURES = 50
MAX_MATERIALS = 50

# --- text (characters) ---------------------------------------------------------------------------
DESCRIPTION_MAX_LENGTH = 5000               # an order's description (a TextField)
NOTE_MAX_LENGTH = 1000                      # a bid's note (a TextField)
REASON_MAX_LENGTH = 1000                    # a cancellation, decline or rejection reason

# --- uploads -------------------------------------------------------------------------------------
# the per-file size is the setting ATTACHMENT_MAX_BYTES (config/settings/base.py § Limits)
