"""Where super-resolution model files live: the ``models`` folder of the toolkit's cache.

The cache root is the one the DAIN weight registry uses (:func:`dain.hub.cache_dir`:
``$RESTORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/dain-restore``, else ``~/.cache/dain-restore``).
"""

from __future__ import annotations

from pathlib import Path

from dain.hub import CACHE_ENV, cache_dir

__all__ = ["CACHE_DIR_ENV", "model_cache_dir"]

CACHE_DIR_ENV = CACHE_ENV


def model_cache_dir() -> Path:
    """The folder of super-resolution model files: ``<cache root>/models`` (not created here)."""
    return cache_dir() / "models"
