"""The one exception type the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations

__all__ = ["RestoreError"]


class RestoreError(Exception):
    """Bad input, bad options or an unusable environment, explained in one line for the user."""
