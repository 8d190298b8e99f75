"""Honest baselines: repeat the nearer frame, or cross-fade (what ffmpeg's ``framerate`` does)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dain.descriptor import InterpolatorDescriptor, Tiling

__all__ = ["RepeatInterpolator", "BlendInterpolator"]


class RepeatInterpolator:
    """Each phase takes the nearer source frame (t < 0.5 -> frame0): frame-rate conversion by duplication."""

    name = "repeat"
    # Frame selection: any size, any dtype; nothing to tile.
    descriptor = InterpolatorDescriptor(supports_half=True, tiling=Tiling.INTERNAL)

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor:
        """frame0, frame1: (3,H,W); returns (len(phases),3,H,W)."""
        return torch.stack([frame0 if t < 0.5 else frame1 for t in phases])


class BlendInterpolator:
    """Linear cross-fade ``(1-t)·frame0 + t·frame1``."""

    name = "blend"
    # Per-pixel arithmetic: any size, any dtype; nothing to tile.
    descriptor = InterpolatorDescriptor(supports_half=True, tiling=Tiling.INTERNAL)

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor:
        """frame0, frame1: (3,H,W); returns (len(phases),3,H,W)."""
        t = torch.tensor(list(phases), dtype=frame0.dtype, device=frame0.device).view(-1, 1, 1, 1)
        return torch.lerp(frame0.unsqueeze(0), frame1.unsqueeze(0), t)
