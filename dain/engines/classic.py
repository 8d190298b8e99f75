"""``classic``: the weight-free, depth-aware interpolation engine (the CLI default)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from dain.classic.flow import FlowSettings, estimate_bidirectional_flow
from dain.classic.ops import backward_warp, project_flow, splat_coverage

__all__ = ["ClassicSettings", "ClassicInterpolator"]


@dataclass(frozen=True)
class ClassicSettings:
    flow: FlowSettings = field(default_factory=FlowSettings)
    sigma_consistency: float = 1.0
    sigma_photometric: float = 0.05
    depth_sharpness: float = 4.0
    use_coverage: bool = True
    use_visibility: bool = True
    flow_at_t: str = 'project'
    vis_sigma_consistency: float = 1.0
    vis_sigma_photometric: float = 0.05


class ClassicInterpolator:
    name = "classic"

    def __init__(self, device: torch.device | None = None, settings: ClassicSettings | None = None) -> None:
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.settings = settings or ClassicSettings()

    def _pair_state(self, frame0: torch.Tensor, frame1: torch.Tensor) -> dict:
        s = self.settings
        flow_0to1, flow_1to0 = estimate_bidirectional_flow(frame0, frame1, s.flow)
        f0, f1 = frame0.unsqueeze(0), frame1.unsqueeze(0)
        out = {"flow_0to1": flow_0to1, "flow_1to0": flow_1to0}
        for name, src, dst, fwd, bwd in (("0", f0, f1, flow_0to1, flow_1to0), ("1", f1, f0, flow_1to0, flow_0to1)):
            fb = (fwd + backward_warp(bwd, fwd)).norm(dim=1, keepdim=True)
            photo = (src - backward_warp(dst, fwd)).abs().mean(dim=1, keepdim=True)
            score = fb / s.sigma_consistency + photo / s.sigma_photometric
            out["inverse_depth" + name] = torch.exp(-s.depth_sharpness * score.clamp(max=20)) + 1e-6
            vscore = fb / s.vis_sigma_consistency + photo / s.vis_sigma_photometric
            out["visibility" + name] = torch.exp(-vscore.clamp(max=20))
        return out

    @torch.no_grad()
    def interpolate(self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]) -> torch.Tensor:
        st = self._pair_state(frame0, frame1)
        f0, f1 = frame0.unsqueeze(0), frame1.unsqueeze(0)
        results = []
        for t in phases:
            t = float(t)
            if self.settings.flow_at_t == 'project':
                ft0 = project_flow(t * st["flow_0to1"], st["inverse_depth0"])
                ft1 = project_flow((1 - t) * st["flow_1to0"], st["inverse_depth1"])
            elif self.settings.flow_at_t == 'project1':
                ft0 = project_flow(t * st["flow_0to1"], torch.ones_like(st["inverse_depth0"]))
                ft1 = project_flow((1 - t) * st["flow_1to0"], torch.ones_like(st["inverse_depth1"]))
            else:
                ft0 = -(1 - t) * t * st["flow_0to1"] + t * t * st["flow_1to0"]
                ft1 = (1 - t) * (1 - t) * st["flow_0to1"] - t * (1 - t) * st["flow_1to0"]
            w0 = backward_warp(f0, ft0)
            w1 = backward_warp(f1, ft1)
            a0 = torch.full_like(w0[:, :1], 1 - t)
            a1 = torch.full_like(w1[:, :1], t)
            if self.settings.use_visibility:
                a0 = a0 * (1e-3 + backward_warp(st["visibility0"], ft0))
                a1 = a1 * (1e-3 + backward_warp(st["visibility1"], ft1))
            if self.settings.use_coverage:
                a0 = a0 * splat_coverage(t * st["flow_0to1"], torch.ones_like(a0)).clamp(1e-3, 1)
                a1 = a1 * splat_coverage((1 - t) * st["flow_1to0"], torch.ones_like(a1)).clamp(1e-3, 1)
            results.append(((a0 * w0 + a1 * w1) / (a0 + a1)).clamp(0, 1))
        return torch.cat(results)
