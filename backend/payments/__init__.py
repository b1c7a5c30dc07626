"""Payments: the double-entry ledger, invoices, payroll and payouts (the money issue builds them)."""
