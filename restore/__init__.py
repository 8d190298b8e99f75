"""restore: bring old film back to life (interpolation, super-resolution, restoration).

The product layer, in folders by job: ``cli/`` (the command line), ``media/`` (probe, scan,
decode, encode), ``plan/`` (shots, timing, geometry), ``jobs/`` (prepare, run, segments, batch),
``stages/`` (cleanup, colour) and ``upscale/``; :mod:`restore.api` is the Python face of the same
jobs. Heavy modules load on first use, so ``restore --version`` stays instant.
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
