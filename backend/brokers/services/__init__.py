"""Broker services: workforce, piecework and attendance."""
from .attendance import attendance_mark, availability_declare
from .piecework import (
    bundles_cut, dispute_open, dispute_resolve, piece_log_reverse, piece_logs_record, piece_rate_set, rates_in_force,
)
from .workforce import (
    broker_profile_update, loan_add, membership_end, profile_for, relocation_add, site_add, training_add,
    village_status_set, worker_enrol, worker_login_create, worker_register, worker_update,
)

__all__ = [
    "attendance_mark", "availability_declare", "broker_profile_update", "bundles_cut", "dispute_open",
    "dispute_resolve", "loan_add", "membership_end", "piece_log_reverse", "piece_logs_record", "piece_rate_set",
    "profile_for", "rates_in_force", "relocation_add", "site_add", "training_add", "village_status_set", "worker_enrol",
    "worker_login_create", "worker_register", "worker_update",
]
