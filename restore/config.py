"""The job description the CLI builds and the jobs run: a frozen dataclass, the home of the defaults.

Its field defaults are the toolkit's defaults: the command line (:mod:`restore.cli.options`) and the
Python API (:mod:`restore.api`) read them from here instead of writing them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from restore.plan.shots import ShotSettings

__all__ = ["RestoreConfig", "default_output_path"]


@dataclass(frozen=True)
class RestoreConfig:
    """Everything one ``restore`` job needs; built by the CLI (:func:`restore.cli.options.build_config`),
    by :func:`restore.restore_video`, or by hand in Python."""

    input: Path
    output: Path
    fps: Fraction | None = None
    scale: float | None = None
    size: tuple[int, int] | None = None
    fit: str = "pad"
    interp: str = "classic"
    sr: str = "lanczos"
    colorize: bool = False
    color_refs: tuple[Path, ...] = ()
    colorize_weights: Path | None = None
    colorize_engine: str = "auto"
    clean: tuple[str, ...] = ()
    clean_options: dict[str, object] = field(default_factory=dict)  # CleanupSettings fields
    codec: str = "h264"
    crf: int | None = None
    device: str = "auto"
    overwrite: bool = False
    shots: ShotSettings = field(default_factory=ShotSettings)
    max_cadence_repeats: int = 2
    interp_options: dict[str, object] = field(default_factory=dict)
    sr_options: dict[str, object] = field(default_factory=dict)
    passthrough: bool = True  # copy-only jobs move native YUV frames without an RGB round trip
    segment_seconds: float = 60.0  # long outputs are made in segments of about this length
    resume: bool = False  # continue an interrupted segmented job from its journal
    deinterlace: str = "auto"  # auto (field analysis), off, ivtc, bob (field rate) or single (frame rate)
    field_order: str = "auto"  # auto, tff or bff
    input_fps: Fraction | None = None  # rate of an image-sequence input (None: 24, said in the summary)
    allow_gaps: bool = False  # accept numbering gaps in an image-sequence input (they are interpolated)


def default_output_path(input_path: Path, codec: str = RestoreConfig.codec) -> Path:
    """``film.mp4`` -> ``film.restored.mp4`` beside it (``.mov`` for ProRes, ``.mkv`` for FFV1)."""
    suffix = {"prores": ".mov", "ffv1": ".mkv"}.get(codec, ".mp4")
    if any(char in input_path.name for char in "%*?["):  # an image-sequence pattern: named after its folder
        input_path = input_path.parent.resolve()
    return input_path.with_name(f"{input_path.stem}.restored{suffix}")
