"""State machines and rules in memory: no database, no rendering."""
