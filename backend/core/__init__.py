"""Cross-cutting infrastructure: the error contract, pagination, language, health,
live events (Channels) and the demo data builder."""
