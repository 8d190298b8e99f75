"""The user-error base of the whole toolkit.

A :class:`UserError` is a problem the user can fix (a bad option value, an unknown engine name,
a missing, unsafe or mismatched weights file, weights that cannot be downloaded here); its message
is one line that says what to do. The command line prints it as ``restore: error: ...`` and exits
with 2. Any other exception is a bug in the toolkit and is reported as an internal error.

``restore.errors.RestoreError`` (the product's own errors) derives from it.
"""

from __future__ import annotations

__all__ = ["UserError", "EngineOptionError", "EngineUnavailableError", "UnknownNameError"]


class UserError(Exception):
    """Bad input, options, weights or environment, explained in one line for the user."""


class UnknownNameError(UserError, KeyError, ValueError):
    """A name (engine, model, stage) that no registry knows; the message lists the known ones.

    Also a ``ValueError``: callers and tests written before this hierarchy catch unknown names so.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EngineOptionError(UserError, ValueError):
    """An engine option the user gave that the engine cannot use (a tile too small, fp16 on a CPU...)."""


class EngineUnavailableError(UserError, ValueError):
    """A registered engine or stage whose module is not part of this installation."""
