"""Occlusion-aware blending of the two warped frames, with a smooth fallback to the cross-fade."""

from __future__ import annotations

import torch

__all__ = ["blend_weights", "compose"]


def blend_weights(
    visibility0: torch.Tensor,
    visibility1: torch.Tensor,
    phase: float,
    floor: float,
    fallback_power: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight of warped frame0 and trust in the warps, per pixel of the frame at ``phase``.

    visibility0, visibility1: (1,1,h,w) in [0,1], visibility of the source pixel each warp reads.
    Each frame's weight is its phase weight ((1-t) for frame0, t for frame1) times (floor + its
    visibility), so a pixel leans on the frame where it is visible and on the nearer frame otherwise.
    reliability = max(visibility0, visibility1) ** fallback_power: where neither frame explains the
    pixel (flash, dissolve, motion beyond the flow) the result slides towards the plain cross-fade.
    returns: weight0 (1,1,h,w) in [0,1], reliability (1,1,h,w) in [0,1].
    """
    a0 = (1.0 - phase) * (floor + visibility0)
    a1 = phase * (floor + visibility1)
    weight0 = a0 / (a0 + a1)
    reliability = torch.maximum(visibility0, visibility1).pow(fallback_power)
    return weight0, reliability


def compose(
    warped0: torch.Tensor,
    warped1: torch.Tensor,
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    weight0: torch.Tensor,
    reliability: torch.Tensor,
    phase: float,
) -> torch.Tensor:
    """reliability · (weight0·warped0 + (1-weight0)·warped1) + (1-reliability) · cross-fade.

    warped0, warped1, frame0, frame1: (3,H,W); weight0, reliability: (1,H,W) on the same grid.
    returns: (3,H,W) clamped to [0,1].
    """
    out = torch.sub(warped0, warped1).mul_(weight0).add_(warped1)
    crossfade = torch.sub(frame0, frame1).mul_(1.0 - phase).add_(frame1)
    out.sub_(crossfade).mul_(reliability).add_(crossfade)
    return out.clamp_(0.0, 1.0)
