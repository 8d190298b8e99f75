"""restore/plan."""
