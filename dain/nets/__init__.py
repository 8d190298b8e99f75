"""dain/nets."""
