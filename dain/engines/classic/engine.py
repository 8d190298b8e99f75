"""``classic``: the weight-free, depth-aware interpolation engine (the CLI default).

DAIN's pipeline with its learned parts replaced by classical estimates (see ``docs/classic.md``):

1. per pair, on an analysis grid of at most ``max_analysis_pixels``: DIS optical flow both ways,
   and a weight-free visibility map per frame that stands in for DAIN's inverse depth;
2. per phase t: ``cuda_kernels.depth_flow_projection`` of ``t·flow_0to1`` and ``(1-t)·flow_1to0``
   weighted by that visibility (the visible pixel wins where several land on one target),
   bicubic backward warping of both full-resolution frames, occlusion-aware blending that falls back
   smoothly to the cross-fade where neither frame explains a pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from dain.descriptor import InterpolatorDescriptor, Tiling
from dain.engines.classic.blending import blend_weights, compose
from dain.engines.classic.ops import project_flow, resize_planes, warp_planes
from dain.engines.classic.visibility import PairAnalysis, VisibilitySettings, analyse_pair
from dain.flow import FlowSettings, estimate_bidirectional_flow

__all__ = [
    "ClassicSettings",
    "ClassicInterpolator",
    "DEFAULT_FLOW",
    "FAST_SETTINGS",
    "create_fast_classic_interpolator",
]


#: The default flow (issue 13): 8×8 DIS patches, started from a guide pass with 12×12 patches and
#: 40 descent iterations on a grid of 0.55× the size; see ``docs/classic.md``.
DEFAULT_FLOW = FlowSettings(
    patch_size=8, guide=FlowSettings(patch_size=12, descent_iterations=40), guide_scale=0.55
)


@dataclass(frozen=True)
class ClassicSettings:
    """All parameters of the engine; the defaults are the measured choices of ``docs/classic.md``.

    flow: DIS optical-flow parameters.
    visibility: scales of the visibility tests.
    max_analysis_pixels: flow, visibility and projection run on a copy scaled down to at most this
        many pixels (0 = always full resolution); warping and blending are always full resolution.
    visibility_floor: added to each frame's visibility before weighting (keeps both frames in play).
    fallback_power: exponent of the reliability that mixes in the cross-fade (0 = never).
    cubic: bicubic warping (True) or bilinear.
    backend: resampling backend, "auto" (OpenCV on CPU, ``cuda_kernels.adaptive_warp`` and torch on
        other devices), "opencv" or "torch" (the GPU code path, also runnable on CPU).
    """

    flow: FlowSettings = field(default_factory=lambda: DEFAULT_FLOW)
    visibility: VisibilitySettings = field(default_factory=VisibilitySettings)
    max_analysis_pixels: int = 200_000
    visibility_floor: float = 1e-3
    fallback_power: float = 0.75
    cubic: bool = True
    backend: str = "auto"


#: ``classic-fast``: the engine's earlier defaults (8×8 DIS patches on a 0.12 MP analysis grid),
#: about 1.5× faster at 720p; see ``docs/classic.md`` for what it costs in quality.
FAST_SETTINGS = ClassicSettings(
    flow=FlowSettings(patch_size=8), max_analysis_pixels=120_000, fallback_power=0.3
)


def _luma_u8(frame: torch.Tensor) -> np.ndarray:
    """(3,h,w) float RGB in [0,1] -> (h,w) uint8 BT.601 luma."""
    r, g, b = frame.detach().to("cpu", torch.float32).unbind(0)
    luma = (0.299 * r + 0.587 * g + 0.114 * b).clamp(0.0, 1.0).mul(255.0).round()
    return luma.to(torch.uint8).numpy()


def _check_frame(name: str, frame: object) -> torch.Tensor:
    if not isinstance(frame, torch.Tensor) or frame.dim() != 3 or frame.shape[0] != 3:
        shape = tuple(frame.shape) if isinstance(frame, torch.Tensor) else type(frame).__name__
        raise ValueError(f"{name} must be a (3,H,W) tensor, got {shape}")
    if not frame.is_floating_point():
        raise ValueError(f"{name} must be a float tensor in [0,1], got {frame.dtype}")
    return frame


class ClassicInterpolator:
    """Weight-free depth-aware interpolator; see the module docstring.

    device: where the frames live and the projection/warping ops run (flow is always on CPU).
    settings: engine parameters (defaults: the measured choices).
    """

    name = "classic"
    # Flow runs on a reduced analysis grid (max_analysis_pixels), so large frames need no tiling, and
    # tiles would cut the flow field; float32 throughout (OpenCV flow, float ops).
    descriptor = InterpolatorDescriptor(supports_half=False, tiling=Tiling.INTERNAL)

    def __init__(
        self, device: torch.device | str | None = None, settings: ClassicSettings | None = None
    ) -> None:
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.settings = settings or ClassicSettings()

    def analysis_size(self, height: int, width: int) -> tuple[int, int]:
        """(h,w) of the analysis grid for (height,width) frames: same aspect, at most max_analysis_pixels."""
        limit = self.settings.max_analysis_pixels
        if not limit or height * width <= limit:
            return height, width
        scale = math.sqrt(limit / (height * width))
        return max(16, math.floor(height * scale)), max(16, math.floor(width * scale))

    def analyse(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PairAnalysis:
        """Per-pair work: flows both ways and visibility on the analysis grid. frames: (3,H,W)."""
        small_h, small_w = self.analysis_size(*frame0.shape[-2:])
        small0 = resize_planes(frame0.float(), small_h, small_w, self.settings.backend)
        small1 = resize_planes(frame1.float(), small_h, small_w, self.settings.backend)
        flow_0to1, flow_1to0 = estimate_bidirectional_flow(
            _luma_u8(small0), _luma_u8(small1), self.settings.flow
        )
        flow_0to1 = torch.from_numpy(flow_0to1).permute(2, 0, 1).unsqueeze(0).contiguous().to(frame0.device)
        flow_1to0 = torch.from_numpy(flow_1to0).permute(2, 0, 1).unsqueeze(0).contiguous().to(frame0.device)
        return analyse_pair(
            small0, small1, flow_0to1, flow_1to0, self.settings.visibility, self.settings.backend
        )

    def flows_at(self, analysis: PairAnalysis, phase: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected flows from the frame at ``phase`` to frame0 and frame1: (1,2,h,w) each, analysis grid."""
        flow_t0 = project_flow(phase * analysis.flow_0to1, analysis.inverse_depth0)
        flow_t1 = project_flow((1.0 - phase) * analysis.flow_1to0, analysis.inverse_depth1)
        return flow_t0, flow_t1

    def synthesize(
        self, frame0: torch.Tensor, frame1: torch.Tensor, analysis: PairAnalysis, phase: float
    ) -> torch.Tensor:
        """The frame at ``phase`` in (0,1) from the pair and its analysis: (3,H,W)."""
        s = self.settings
        height, width = frame0.shape[-2:]
        flow_t0, flow_t1 = self.flows_at(analysis, phase)
        visibility0 = warp_planes(analysis.visibility0[0], flow_t0, cubic=False, backend=s.backend)
        visibility1 = warp_planes(analysis.visibility1[0], flow_t1, cubic=False, backend=s.backend)
        weight0, reliability = blend_weights(
            visibility0, visibility1, phase, s.visibility_floor, s.fallback_power
        )
        small_h, small_w = flow_t0.shape[-2:]
        if (small_h, small_w) != (height, width):
            flows = resize_planes(torch.cat((flow_t0[0], flow_t1[0])), height, width, s.backend)
            flows[0::2] *= width / small_w
            flows[1::2] *= height / small_h
            flow_t0, flow_t1 = flows[:2].unsqueeze(0), flows[2:].unsqueeze(0)
            maps = resize_planes(torch.cat((weight0, reliability)), height, width, s.backend)
            weight0, reliability = maps[:1], maps[1:]
        warped0 = warp_planes(frame0.float(), flow_t0, cubic=s.cubic, backend=s.backend)
        warped1 = warp_planes(frame1.float(), flow_t1, cubic=s.cubic, backend=s.backend)
        return compose(warped0, warped1, frame0.float(), frame1.float(), weight0, reliability, phase)

    @torch.no_grad()
    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor:
        """frame0, frame1: (3,H,W) float in [0,1]; phases in [0,1]; returns (len(phases),3,H,W) float32."""
        _check_frame("frame0", frame0)
        _check_frame("frame1", frame1)
        if frame0.shape != frame1.shape:
            raise ValueError(
                f"frame1 shape {tuple(frame1.shape)} differs from frame0 shape {tuple(frame0.shape)}"
            )
        phases = [float(t) for t in phases]
        for t in phases:
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"phases must lie in [0, 1], got {t}")
        if not phases:
            return frame0.new_zeros((0, *frame0.shape), dtype=torch.float32)
        frame0, frame1 = frame0.float().contiguous(), frame1.float().contiguous()
        needs_analysis = any(0.0 < t < 1.0 for t in phases) and not torch.equal(frame0, frame1)
        analysis = self.analyse(frame0, frame1) if needs_analysis else None
        results = []
        for t in phases:
            if t == 0.0 or (analysis is None and t < 1.0):
                results.append(frame0.clone())
            elif t == 1.0:
                results.append(frame1.clone())
            else:
                results.append(self.synthesize(frame0, frame1, analysis, t))
        return torch.stack(results)


def create_fast_classic_interpolator(
    device: torch.device | str | None = None, settings: ClassicSettings | None = None
) -> ClassicInterpolator:
    """The ``classic-fast`` engine: :class:`ClassicInterpolator` with :data:`FAST_SETTINGS`."""
    engine = ClassicInterpolator(device, settings or FAST_SETTINGS)
    engine.name = "classic-fast"
    return engine
