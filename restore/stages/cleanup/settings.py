"""What the cleanup does: its steps and settings (no image code, so the command line loads it cheaply)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dain.errors import EngineOptionError

__all__ = ["STEPS", "CleanupSettings", "parse_steps"]

#: The steps, in the order they run.
STEPS = ("deflicker", "dust", "scratches", "denoise")


def parse_steps(requested: Iterable[str]) -> tuple[str, ...]:
    """``("all",)`` or any subset of :data:`STEPS` -> the steps in running order (else EngineOptionError)."""
    names = [name.strip().lower() for name in requested if name.strip()]
    if "all" in names:
        return STEPS
    unknown = [name for name in names if name not in STEPS]
    if unknown:
        choices = ", ".join(STEPS)
        raise EngineOptionError(f"--clean: unknown step {unknown[0]!r}; choose from {choices} or all")
    return tuple(step for step in STEPS if step in names)


@dataclass(frozen=True)
class CleanupSettings:
    """What the cleanup does.

    steps: subset of :data:`STEPS`. flicker_window: frames each side of a frame from which its
    brightness trend is taken (:func:`restore.stages.cleanup.deflicker.smooth_paths`);
    flicker_deadband: mean brightness change (intensity units) below which a frame is left as it is.
    dust_threshold: detection threshold in noise standard deviations; dust_min_contrast: and at least this
    (intensity units); dust_max_size: the largest spot taken for dust, as a fraction of the picture's
    long side (never below 16 px); dust_confirm: also ask every spot to fit its surroundings once
    filled (as is always done at a shot's ends). denoise_strength: 0 = off,
    1 = default, higher smooths more. keep_grain: fraction of the removed grain added back (0–1).
    denoise_radius: neighbours each side used by the denoiser (1 or 2); denoise_spatial: strength of
    its final bilateral pass (0 = off); denoise_floor: noise standard deviation (intensity units) left
    alone, the sensor and compression noise of any digital transfer. flow_max_side: long side (px)
    of the images the flow is computed on.
    """

    steps: tuple[str, ...] = STEPS
    flicker_window: int = 20
    flicker_deadband: float = 0.002
    dust_threshold: float = 2.5
    dust_min_contrast: float = 0.1
    dust_confirm: bool = False
    dust_max_size: float = 0.025
    denoise_strength: float = 1.0
    keep_grain: float = 0.0
    denoise_radius: int = 2
    denoise_spatial: float = 1.5
    denoise_floor: float = 1.5 / 255.0
    flow_max_side: int = 480

    def __post_init__(self) -> None:
        parse_steps(self.steps)
        if not 0.0 <= self.keep_grain <= 1.0:
            raise EngineOptionError("keep_grain must lie in [0, 1]")
        if self.denoise_radius not in (1, 2):
            raise EngineOptionError("denoise_radius must be 1 or 2")
        if self.denoise_strength < 0:
            raise EngineOptionError("denoise_strength must be >= 0")
