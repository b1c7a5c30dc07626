"""Orders: orders, procedures, materials, bids, awards, deliveries and inspections (the orders
issue builds them)."""
