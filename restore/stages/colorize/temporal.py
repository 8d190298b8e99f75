"""Motion for colour: dense flow between lightness images, backward warping, and match confidence.

Flow, warping and composition are :mod:`dain.flow`'s (the classic interpolator's OpenCV DIS); this
module only adds what colour propagation needs on top: flow on shrunken lightness, a per-pixel
confidence that the warped value belongs to the pixel (lightness agrees and the flow is
forward-backward consistent), the blend with a per-frame prediction, and the temporal filter of
still regions (where the picture does not change, the colour is held instead of re-estimated).
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
    "StillSettings",
    "stillness",
    "unmoved",
    "hold_still",
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


@dataclass(frozen=True)
class StillSettings:
    """The temporal filter of still regions: where the picture does not change, colour is not re-estimated.

    Per-frame re-estimation (matching, fusion, spread) moves the colour of pixels whose picture did not
    change; that movement is flicker, not information. Two filters, both driven by the lightness change:

    carry: share of the previous colour, carried along the flow, kept where the carried lightness agrees
        with the frame's; it is what later frames inherit (0 = off).
    hold: share of the previous *output* at the same pixel kept where the lightness there has not changed
        and the pixel did not move (no resampling, so a still region keeps exactly its colour); output
        only, later frames start from the carried estimate, so an error held here is not handed on (0 = off).
    lightness_sigma: per-pixel |ΔL| (L units) at which stillness falls to 1/e; codecs copy unchanged areas
        exactly (ΔL = 0), moving or changing picture differs by several units.
    moved_sigma: how much better (L units, 5×5 mean |ΔL|) the flow-carried previous frame must explain the
        frame than the previous frame in place for the pixel to count as moved (:func:`unmoved`).
    regain_margin: the carry gives way where the reference is matched with more trust than the carried
        colour inherited; fully once the excess reaches this margin (colour coming back into view returns).

    A kept share k lets a real change of colour through in about 1 / (1 − k) frames.
    """

    carry: float = 0.95
    hold: float = 0.93
    lightness_sigma: float = 1.0
    moved_sigma: float = 2.0
    regain_margin: float = 0.15

    def __post_init__(self) -> None:
        if not (0.0 <= self.carry < 1.0 and 0.0 <= self.hold < 1.0):
            raise ValueError("StillSettings: carry and hold must be in [0, 1)")
        if min(self.lightness_sigma, self.moved_sigma, self.regain_margin) <= 0:
            raise ValueError("StillSettings: lightness_sigma, moved_sigma and regain_margin must be positive")


def stillness(lightness: np.ndarray, previous_lightness: np.ndarray, sigma: float) -> np.ndarray:
    """(H,W) float32 in [0, 1], exp(−(|ΔL| / sigma)²) per pixel: how surely a pixel shows what it showed.

    lightness, previous_lightness: (H,W) float32 L, the latter at the same pixel or carried along a flow.
    """
    change = (lightness - previous_lightness).astype(np.float32) / sigma
    return np.exp(-(change**2)).astype(np.float32)


def unmoved(
    lightness: np.ndarray,
    previous_lightness: np.ndarray,
    carried_lightness: np.ndarray,
    sigma: float,
    blur: int = 5,
) -> np.ndarray:
    """(H,W) float32 in [0, 1]: 1 where the previous frame in place explains the frame as well as the previous
    frame carried along the flow does, falling as the carried one explains it better (the pixel moved).

    Residuals |ΔL| are box-filtered over ``blur`` pixels; their excess is scored against ``sigma`` (L units).
    Flat regions, where the flow is noise, are explained equally well either way and count as unmoved; a
    pixel of moving texture whose own lightness happens to repeat does not.
    """
    side = (blur, blur)
    in_place = np.abs(lightness - previous_lightness).astype(np.float32)
    along_flow = np.abs(lightness - carried_lightness).astype(np.float32)
    excess = cv2.blur(in_place, side, borderType=cv2.BORDER_REFLECT) - cv2.blur(
        along_flow, side, borderType=cv2.BORDER_REFLECT
    )
    return np.exp(-((np.maximum(excess, 0.0) / sigma) ** 2)).astype(np.float32)


def hold_still(chroma: np.ndarray, previous_chroma: np.ndarray, still: np.ndarray, keep: float) -> np.ndarray:
    """``k·previous + (1 − k)·chroma`` with ``k = keep·still`` per pixel.

    chroma: (H,W,2) this frame's estimate; previous_chroma: (H,W,2) the previous colour on this frame's grid;
    still: (H,W) from :func:`stillness`; keep: the share kept at a fully still pixel.
    """
    share = (keep * still)[..., None]
    return (share * previous_chroma + (1.0 - share) * chroma).astype(np.float32)
