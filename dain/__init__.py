"""dain."""
