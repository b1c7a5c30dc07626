"""Writing subsidies: evaluation (claims from the figures), review (approval against the budget,
payment), policies (drafting and activating versions) and the audit trail. Each module's
functions are transactions; views call them and nothing else writes these tables."""
