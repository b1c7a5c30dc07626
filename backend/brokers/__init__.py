"""Brokers' workforce: workers, their memberships of brokers (later: bundles, piece logs,
attendance)."""
