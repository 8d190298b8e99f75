"""restore/media."""
