"""Accounts: jurisdictions, organisations, users and their roles, and the permission helpers
that say who may see or do what."""
