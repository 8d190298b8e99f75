"""Where downloaded and user-supplied model files live."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_DIR_ENV", "cache_root", "model_cache_dir"]

CACHE_DIR_ENV = "RESTORE_CACHE_DIR"


def cache_root() -> Path:
    """The toolkit's cache folder: ``$RESTORE_CACHE_DIR`` if set, else ``~/.cache/dain-restore``."""
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "dain-restore"


def model_cache_dir() -> Path:
    """The folder of super-resolution model files: ``<cache_root()>/models`` (not created here)."""
    return cache_root() / "models"
