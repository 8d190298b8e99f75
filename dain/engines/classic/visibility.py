"""Weight-free visibility: the per-pixel ordering that plays the role of DAIN's inverse depth.

A pixel of frame0 whose flow is confirmed by the backward flow (forward–backward consistency) and whose
colour is found again in frame1 (small photometric error) is visible in both frames. Where a moving
object covers the background, the covered background pixels fail both tests (they have no match in
frame1), so when several source pixels land on one target pixel during the projection, the visible
ones, in front, carry the weight, as nearer pixels do in DAIN.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dain.engines.classic.ops import warp_planes

__all__ = ["VisibilitySettings", "PairAnalysis", "analyse_pair"]


@dataclass(frozen=True)
class VisibilitySettings:
    """Scales of the visibility tests (measured choices in ``docs/classic.md``).

    consistency_px: forward–backward mismatch (pixels) that divides the inverse depth by e.
    depth_photometric: mean absolute RGB error (intensity in [0,1]) that divides the inverse depth by e.
    blend_photometric: the same scale for the blending visibility, which only uses colour.
    error_window: side of the box filter applied to the photometric error (film grain makes the raw
        per-pixel error noisy; a noisy visibility would make the blend weights, and so the grain, flicker).
    """

    consistency_px: float = 4.0
    depth_photometric: float = 0.1
    blend_photometric: float = 0.2
    error_window: int = 3


@dataclass(frozen=True)
class PairAnalysis:
    """Per-pair work, shared by all phases; every map is on the analysis grid (h,w).

    flow_0to1, flow_1to0: (1,2,h,w) float32 pixels.
    inverse_depth0, inverse_depth1: (1,1,h,w) in (0,1], projection weights of each frame's pixels.
    visibility0, visibility1: (1,1,h,w) in (0,1], how well each pixel is found in the other frame.
    """

    flow_0to1: torch.Tensor
    flow_1to0: torch.Tensor
    inverse_depth0: torch.Tensor
    inverse_depth1: torch.Tensor
    visibility0: torch.Tensor
    visibility1: torch.Tensor


def _direction(
    source: torch.Tensor,
    target: torch.Tensor,
    flow_forward: torch.Tensor,
    flow_backward: torch.Tensor,
    settings: VisibilitySettings,
    backend: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse depth and visibility (1,1,h,w) of ``source`` (3,h,w) seen from ``target``."""
    warped = warp_planes(torch.cat((target, flow_backward[0])), flow_forward, cubic=False, backend=backend)
    round_trip = flow_forward[0] + warped[3:]
    mismatch = torch.hypot(round_trip[0:1], round_trip[1:2])
    photometric = (source - warped[:3]).abs().mean(dim=0, keepdim=True)
    if settings.error_window > 1:
        photometric = F.avg_pool2d(
            photometric.unsqueeze(0),
            settings.error_window,
            stride=1,
            padding=settings.error_window // 2,
            count_include_pad=False,
        )[0]
    score = mismatch / settings.consistency_px + photometric / settings.depth_photometric
    inverse_depth = torch.exp(-score.clamp(max=30.0)) + 1e-6
    visibility = torch.exp(-(photometric / settings.blend_photometric).clamp(max=30.0))
    return inverse_depth.unsqueeze(0), visibility.unsqueeze(0)


def analyse_pair(
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    flow_0to1: torch.Tensor,
    flow_1to0: torch.Tensor,
    settings: VisibilitySettings,
    backend: str = "auto",
) -> PairAnalysis:
    """Visibility of both frames from their flows.

    frame0, frame1: (3,h,w) float32 in [0,1]; flow_0to1, flow_1to0: (1,2,h,w) float32 pixels.
    backend: sampler backend of :func:`dain.engines.classic.ops.warp_planes`.
    """
    inverse_depth0, visibility0 = _direction(frame0, frame1, flow_0to1, flow_1to0, settings, backend)
    inverse_depth1, visibility1 = _direction(frame1, frame0, flow_1to0, flow_0to1, settings, backend)
    return PairAnalysis(flow_0to1, flow_1to0, inverse_depth0, inverse_depth1, visibility0, visibility1)
