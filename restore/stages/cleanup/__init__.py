"""Archival cleanup before anything else: deflicker, dust, scratches and grain-aware denoising.

``restore film.mp4 --clean all`` runs :class:`CleanupStage`; in Python, :func:`clean_frames` or one
step at a time with :func:`deflicker_frames`, :func:`remove_dust`, :func:`remove_scratches`,
:func:`denoise_frames`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from restore.stages.cleanup.settings import STEPS, CleanupSettings, parse_steps

if TYPE_CHECKING:
    import torch

    from restore.config import RestoreConfig
    from restore.stages.cleanup.stage import CleanupStage, clean_frames

_IMAGE_CODE = ("CleanupStage", "clean_frames")  # OpenCV loads with these, not with the settings


def __getattr__(name: str) -> object:
    if name in _IMAGE_CODE:
        from restore.stages.cleanup import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'restore.stages.cleanup' has no attribute {name!r}")


__all__ = [
    "STEPS",
    "CleanupSettings",
    "CleanupStage",
    "clean_frames",
    "create_cleanup_stage",
    "deflicker_frames",
    "denoise_frames",
    "parse_steps",
    "remove_dust",
    "remove_scratches",
]


def create_cleanup_stage(config: RestoreConfig, device: torch.device) -> CleanupStage:
    """The pipeline's factory: the steps of ``config.clean`` with ``config.clean_options``; on the CPU."""
    from restore.stages.cleanup.stage import CleanupStage

    del device  # OpenCV work on the host; frames come back to the job's device
    return CleanupStage(replace(CleanupSettings(steps=parse_steps(config.clean)), **config.clean_options))


def _one_step(step: str, frames: list[np.ndarray], settings: CleanupSettings | None) -> list[np.ndarray]:
    from restore.stages.cleanup.stage import clean_frames

    return clean_frames(frames, replace(settings or CleanupSettings(), steps=(step,)))


def deflicker_frames(frames: list[np.ndarray], settings: CleanupSettings | None = None) -> list[np.ndarray]:
    """Deflicker a list of (H,W,3) uint8/uint16 RGB frames of one shot."""
    return _one_step("deflicker", frames, settings)


def remove_dust(frames: list[np.ndarray], settings: CleanupSettings | None = None) -> list[np.ndarray]:
    """Remove one-frame dust, dirt and sparkle from (H,W,3) uint8/uint16 RGB frames of one shot."""
    return _one_step("dust", frames, settings)


def remove_scratches(frames: list[np.ndarray], settings: CleanupSettings | None = None) -> list[np.ndarray]:
    """Fill persistent vertical scratches in (H,W,3) uint8/uint16 RGB frames of one shot."""
    return _one_step("scratches", frames, settings)


def denoise_frames(frames: list[np.ndarray], settings: CleanupSettings | None = None) -> list[np.ndarray]:
    """Motion-compensated temporal denoising of (H,W,3) uint8/uint16 RGB frames of one shot."""
    return _one_step("denoise", frames, settings)
