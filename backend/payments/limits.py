"""The money app's input limits, in one place (listed in docs/api.md § Limits and docs/money.md).
Serializers use the maxima; the services check the ranges that depend on today
(`timezone.localdate()`, Asia/Shanghai) or on the data (payroll.payroll_months)."""
from __future__ import annotations

from decimal import Decimal

# --- dates ---------------------------------------------------------------------------------------
PAID_ON_MAX_DAYS_BACK = 366           # a firm's payment was made within the last year, not in the future
# a payout batch's paid_on: from the day the batch was made to today (payouts.batch_mark_paid)
# a payroll month: from the broker's first member's (or its creation's) month to this month

# --- money (yuan) --------------------------------------------------------------------------------
MIN_PAYMENT = Decimal("0.01")
MAX_PAYMENT = Decimal("100000000")    # one firm payment; it may never exceed what is outstanding either

# --- text (characters) ---------------------------------------------------------------------------
REFERENCE_MAX_LENGTH = 100            # a payment's or a batch's bank reference
FAILURE_REASON_MAX_LENGTH = 200       # why the bank refused a payment
MAX_FAILURES = 5000                   # failures recorded with one bank answer
