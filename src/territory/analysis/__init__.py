"""Zone indicators, the priority score and the "when" slots."""
