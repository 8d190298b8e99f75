"""Building blocks of the weight-free ``classic`` interpolation engine.

flow (DIS optical flow both ways) → visibility (weight-free inverse depth) → ops (depth-aware
projection, warping) → blending (occlusion-aware, falls back to the cross-fade).
"""

from dain.engines.classic.blending import blend_weights, compose
from dain.engines.classic.visibility import PairAnalysis, VisibilitySettings, analyse_pair
from dain.flow import FlowSettings, estimate_bidirectional_flow

__all__ = [
    "FlowSettings",
    "PairAnalysis",
    "VisibilitySettings",
    "analyse_pair",
    "blend_weights",
    "compose",
    "estimate_bidirectional_flow",
]
