"""restore: bring old film back to life (interpolation, super-resolution, restoration).

The product layer: CLI, video I/O, timing, pipeline. Heavy modules load on first use,
so ``restore --version`` stays instant.
"""

from __future__ import annotations

from typing import Any

__all__ = ["restore_video", "interpolate_pair", "plan_frames", "RestoreConfig", "RestoreError"]

_LAZY = {
    "restore_video": "restore.api",
    "interpolate_pair": "restore.api",
    "plan_frames": "restore.plan.timing",
    "RestoreConfig": "restore.config",
    "RestoreError": "restore.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'restore' has no attribute {name!r}")
