"""Building blocks of the weight-free ``classic`` interpolation engine.

flow (DIS optical flow both ways) → visibility (weight-free inverse depth) → ops (depth-aware
projection, warping) → blending (occlusion-aware, falls back to the cross-fade).
"""

from dain.classic.blending import blend_weights, compose
from dain.classic.flow import FlowSettings, estimate_bidirectional_flow
from dain.classic.visibility import PairAnalysis, VisibilitySettings, analyse_pair

__all__ = [
    "FlowSettings",
    "PairAnalysis",
    "VisibilitySettings",
    "analyse_pair",
    "blend_weights",
    "compose",
    "estimate_bidirectional_flow",
]
