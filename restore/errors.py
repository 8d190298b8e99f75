"""The product's user errors: each becomes one line on stderr and exit code 2 at the command line.

All derive from :class:`dain.errors.UserError`, the toolkit-wide base, so errors raised by the model
layer (unknown engine, unusable weights) reach the user the same way. Anything that is not a
``UserError`` is a bug and is reported as an internal error (exit 1, ``--debug`` for the traceback).
"""

from __future__ import annotations

from dain.errors import UserError

__all__ = ["RestoreError", "UsageError", "InputError", "OutputError", "UserError"]


class RestoreError(UserError):
    """Bad input, bad options or an unusable environment, explained in one line for the user."""


class UsageError(RestoreError):
    """Options that cannot be used (out of range, contradicting each other, unknown values)."""


class InputError(RestoreError):
    """An input the toolkit cannot read: missing, unreadable, truncated, or not a video/image."""


class OutputError(RestoreError):
    """An output that cannot be written: exists without ``--overwrite``, unwritable folder, disk full."""
