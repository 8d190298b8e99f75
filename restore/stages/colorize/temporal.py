"""Motion for colour: dense flow between lightness images, backward warping, and match confidence.

Flow, warping and composition are :mod:`dain.flow`'s (the classic interpolator's OpenCV DIS); this
module only adds what colour propagation needs on top: flow on shrunken lightness, a per-pixel
confidence that the warped value belongs to the pixel (lightness agrees and the flow is
forward-backward consistent), and the blend with a per-frame prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dain.flow import (
    FlowSettings,
    compose_flows,
    estimate_bidirectional_flow,
    lands_inside,
    upsample_flow,
    warp,
)

__all__ = [
    "MatchSettings",
    "Match",
    "match",
    "lightness_confidence",
    "blend_with_prediction",
]


@dataclass(frozen=True)
class MatchSettings:
    """How a warped value is trusted.

    lightness_sigma: lightness residual (L units, 0..100) at which confidence falls to 1/e.
    consistency_sigma: forward-backward flow mismatch (pixels) at which confidence falls to 1/e.
    residual_blur: side (pixels) of the box filter that smooths the residual before scoring.
    max_flow_side: flow is estimated on lightness shrunk to at most this many pixels on the longer side and
        scaled back up (colour is smooth; flow on large frames is slow and no better for it).
    flow: DIS parameters.
    """

    lightness_sigma: float = 5.0
    consistency_sigma: float = 1.0
    residual_blur: int = 5
    max_flow_side: int = 640
    flow: FlowSettings = FlowSettings()


@dataclass(frozen=True)
class Match:
    """Dense correspondence from a target frame into a source frame.

    flow: (H,W,2) float32 pixels, target→source (target pixel (x, y) sits at (x, y) + flow in source).
    confidence: (H,W) float32 in [0, 1].
    """

    flow: np.ndarray
    confidence: np.ndarray


def match(
    target_lightness: np.ndarray,
    source_lightness: np.ndarray,
    target_luma: np.ndarray,
    source_luma: np.ndarray,
    settings: MatchSettings,
) -> Match:
    """Correspondence target→source with confidence.

    *_lightness: (H,W) float32 L in [0, 100]; *_luma: the same as (H,W) uint8 for the flow.
    """
    flow_t2s, flow_s2t = _flow_both_ways(target_luma, source_luma, settings)
    round_trip = compose_flows(flow_t2s, flow_s2t)
    mismatch = np.sqrt((round_trip**2).sum(axis=-1))
    consistency = np.exp(-((mismatch / settings.consistency_sigma) ** 2))
    confidence = lightness_confidence(target_lightness, source_lightness, flow_t2s, settings) * consistency
    return Match(flow_t2s, confidence.astype(np.float32))


def _flow_both_ways(
    target_luma: np.ndarray, source_luma: np.ndarray, settings: MatchSettings
) -> tuple[np.ndarray, np.ndarray]:
    height, width = target_luma.shape
    factor = max(height, width) / settings.max_flow_side
    if factor <= 1.0:
        return estimate_bidirectional_flow(target_luma, source_luma, settings.flow)
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small_target = cv2.resize(target_luma, size, interpolation=cv2.INTER_AREA)
    small_source = cv2.resize(source_luma, size, interpolation=cv2.INTER_AREA)
    flow_t2s, flow_s2t = estimate_bidirectional_flow(small_target, small_source, settings.flow)
    return upsample_flow(flow_t2s, height, width), upsample_flow(flow_s2t, height, width)


def lightness_confidence(
    target_lightness: np.ndarray, source_lightness: np.ndarray, flow: np.ndarray, settings: MatchSettings
) -> np.ndarray:
    """(H,W) float32 in [0, 1]: how well the source, warped along ``flow`` (target→source), explains the
    target's lightness (smoothed residual against ``settings.lightness_sigma``); 0 where it points outside."""
    residual = np.abs(target_lightness - warp(source_lightness, flow))
    if settings.residual_blur > 1:
        side = settings.residual_blur
        residual = cv2.blur(residual, (side, side), borderType=cv2.BORDER_REFLECT)
    inside = lands_inside(flow, margin=-0.5)
    confidence = np.exp(-((residual / settings.lightness_sigma) ** 2))
    return np.where(inside, confidence, 0.0).astype(np.float32)


def blend_with_prediction(
    propagated: np.ndarray, propagated_confidence: np.ndarray, predicted: np.ndarray, prediction_weight: float
) -> np.ndarray:
    """Temporal stabilisation of a per-frame predictor: chroma carried along flow, blended with it.

    propagated: (H,W,2) chroma warped from the previous output; propagated_confidence: (H,W) in [0, 1];
    predicted: (H,W,2) this frame's own prediction; prediction_weight: share of the prediction where the
    propagation is fully trusted (1 = no stabilisation). Where propagation is untrusted the prediction wins.
    """
    keep = (1.0 - prediction_weight) * propagated_confidence[..., None]
    return (keep * propagated + (1.0 - keep) * predicted).astype(np.float32)
