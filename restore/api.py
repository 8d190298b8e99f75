"""The Python API: the same jobs as the CLI, for notebooks and scripts.

:func:`restore_video` builds a :class:`restore.config.RestoreConfig` and takes the CLI's path:
:func:`restore.jobs.prepare_job`, then :func:`restore.jobs.run_job` (which segments long outputs and
resumes with ``resume=True``). Defaults are :class:`RestoreConfig`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from dain.engines import create_interpolator
from restore.config import RestoreConfig, default_output_path
from restore.jobs import JobReport, prepare_job, run_job
from restore.jobs.device import resolve_device
from restore.media.frames import array_to_tensor, tensor_to_array
from restore.plan.geometry import parse_size
from restore.plan.timing import parse_frame_rate

__all__ = ["restore_video", "interpolate_pair"]


def restore_video(
    input: str | Path,
    output: str | Path | None = None,
    fps: float | str | Fraction | None = None,
    scale: float | None = None,
    size: str | tuple[int, int] | None = None,
    interp: str = RestoreConfig.interp,
    sr: str = RestoreConfig.sr,
    codec: str = RestoreConfig.codec,
    device: str = RestoreConfig.device,
    overwrite: bool = RestoreConfig.overwrite,
    **options: object,
) -> JobReport:
    """Restore one film, like ``restore INPUT ...``; returns what was done.

    options: any other :class:`RestoreConfig` field (``resume=True``, ``segment_seconds=...``,
    ``clean=("dust",)``, ...).

    >>> report = restore_video("film.mp4", fps=60, scale=2)  # doctest: +SKIP
    """
    source = Path(input)
    config = RestoreConfig(
        input=source,
        output=Path(output) if output is not None else default_output_path(source, codec),
        fps=parse_frame_rate(fps) if fps is not None else None,
        scale=scale,
        size=parse_size(size) if isinstance(size, str) else size,
        interp=interp,
        sr=sr,
        codec=codec,
        device=device,
        overwrite=overwrite,
    )
    if options:
        config = dataclasses.replace(config, **options)
    return run_job(prepare_job(config))


def interpolate_pair(
    frame0: np.ndarray,
    frame1: np.ndarray,
    phases: Sequence[float] = (0.5,),
    engine: str = RestoreConfig.interp,
    device: str = RestoreConfig.device,
    **options: object,
) -> list[np.ndarray]:
    """Frames between two (H, W, 3) uint8/uint16 RGB images, one per phase, same dtype."""
    if frame0.shape != frame1.shape or frame0.dtype != frame1.dtype:
        raise ValueError("frame0 and frame1 must have the same shape and dtype")
    torch_device = resolve_device(device)
    interpolator = create_interpolator(engine, device=torch_device, **options)
    with torch.inference_mode():
        frames = interpolator.interpolate(
            array_to_tensor(frame0, torch_device), array_to_tensor(frame1, torch_device), list(phases)
        )
    return [tensor_to_array(frame, frame0.dtype) for frame in frames]
