"""restore/evaluation."""
