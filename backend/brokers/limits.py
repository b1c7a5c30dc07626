"""The workforce and piecework input limits, in one place (listed in docs/api.md § Limits and
docs/piecework.md). Serializers use the maxima; the services check the date ranges, which depend
on today (`timezone.localdate()`, Asia/Shanghai)."""
from __future__ import annotations

from decimal import Decimal

# --- dates (days from today) ---------------------------------------------------------------------
PIECE_LOG_MAX_AGE_DAYS = 731          # a piece log's work date: the last two years, never the future
RATE_MAX_DAYS_AHEAD = 366             # a piece rate starts now or within a year
AVAILABILITY_MAX_DAYS_BACK = 31       # a declared absence: from a month back ...
AVAILABILITY_MAX_DAYS_AHEAD = 366     # ... to a year ahead (both ends)
ATTENDANCE_MAX_DAYS_BACK = 366        # attendance is marked for the last year, never the future
MEMBERSHIP_MAX_DAYS_BACK = 5 * 366    # a membership starts or ends within five years back ...
MEMBERSHIP_MAX_DAYS_AHEAD = 31        # ... or a month ahead
RECORD_MAX_DAYS_BACK = 20 * 366       # training completed and relocations: twenty years back, not ahead
VILLAGE_STATUS_MAX_DAYS_BACK = 20 * 366  # a village's status takes effect within twenty years back ...
VILLAGE_STATUS_MAX_DAYS_AHEAD = 366      # ... or a year ahead

# --- money (yuan) --------------------------------------------------------------------------------
MIN_PIECE_RATE = Decimal("0.0001")
MAX_PIECE_RATE = Decimal("1000")      # per piece and procedure
MAX_MINUTE_RATE = Decimal("100")      # the broker's yuan per standard minute
MAX_ATTENDANCE_BONUS = Decimal("10000")  # a month's attendance bonus

# --- quantities ----------------------------------------------------------------------------------
MAX_PIECES_PER_LOG = 100_000          # pieces in one piece log (and in one bundle)
MAX_LATE_DAYS_ALLOWED = 31
MAX_TRAINING_DAYS = Decimal("365")

# --- text (characters) ---------------------------------------------------------------------------
EVIDENCE_MAX_LENGTH = 2000            # a relocation's or a village decision's evidence (TextFields)

# --- piece logs' client_id -----------------------------------------------------------------------
# Made by the client (a UUID or any unique token): 8 to 64 characters of A-Z a-z 0-9 . _ : -
CLIENT_ID_MIN_LENGTH = 8
CLIENT_ID_MAX_LENGTH = 64
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{8,64}$"
