"""Subsidies: county policies, rules, computed claims and their review (the subsidy issue)."""
