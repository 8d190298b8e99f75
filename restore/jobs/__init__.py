"""restore/jobs."""
