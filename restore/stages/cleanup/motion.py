"""Motion compensation for the cleanup steps: the flow luma, DIS flow between neighbours, validity.

The flow itself is the classic interpolator's (:func:`dain.flow.estimate_bidirectional_flow`),
run on a flicker- and dust-robust luma: median-filtered (dust specks vanish), normalised to the
frame's own mean and spread (global flicker cancels), and reduced so that the long side is at most
``max_side`` pixels (speed); :func:`dain.flow.upsample_flow` brings flows back to full resolution.
Warping, composing and the landing test are :mod:`dain.flow`'s.
"""

from __future__ import annotations

import cv2
import numpy as np

from dain.flow import FlowSettings, compose_flows, estimate_bidirectional_flow, lands_inside

__all__ = [
    "luma",
    "flow_luma",
    "reduced_flows",
    "flow_validity",
    "repair_flow",
    "CLEANUP_FLOW_SETTINGS",
]

#: DIS settings for cleanup: coarser patches and a stronger prefilter than interpolation needs.
CLEANUP_FLOW_SETTINGS = FlowSettings(
    finest_scale=0, patch_size=8, patch_stride=4, refine_iterations=5, prefilter_sigma=1.0
)

_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(image: np.ndarray) -> np.ndarray:
    """(H,W,3) float32 RGB in [0,1] -> (H,W) float32 BT.601 luma."""
    return cv2.transform(image, _LUMA_WEIGHTS.reshape(1, 3)).reshape(image.shape[:2])


def flow_luma(image: np.ndarray, max_side: int = 480) -> np.ndarray:
    """The uint8 luma the flow is computed on: median-filtered, self-normalised, reduced.

    image: (H,W,3) float32 RGB in [0,1]. Returns (h,w) uint8 with h,w <= max_side on the long side.
    """
    y = luma(image)
    height, width = y.shape
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        y = cv2.resize(y, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    y = cv2.medianBlur(y, 5)
    mean, std = float(y.mean()), float(y.std()) + 1e-3
    return np.clip((y - mean) * (48.0 / std) + 128.0, 0, 255).astype(np.uint8)


def reduced_flows(
    luma0: np.ndarray, luma1: np.ndarray, settings: FlowSettings = CLEANUP_FLOW_SETTINGS
) -> tuple[np.ndarray, np.ndarray]:
    """Flows frame0→frame1 and frame1→frame0 at the reduced size of ``luma0``, ``luma1``.

    luma0, luma1: (h,w) uint8 from :func:`flow_luma`. Returns two (h,w,2) float32 flows in reduced
    pixels; :func:`dain.flow.upsample_flow` brings them to full size.
    """
    return estimate_bidirectional_flow(luma0, luma1, settings)


def flow_validity(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """Where ``flow_ab`` (a→b) is trustworthy: forward–backward consistent and landing inside b.

    flow_ab, flow_ba: (H,W,2) float32 pixels. Consistent: the round trip a→b→a misses by less than
    1 px + 5 % of the speed. Returns (H,W) float32 in {0, 1}.
    """
    round_trip = compose_flows(flow_ab, flow_ba)
    error = np.hypot(round_trip[..., 0], round_trip[..., 1])
    speed = np.hypot(flow_ab[..., 0], flow_ab[..., 1])
    inside = lands_inside(flow_ab, margin=-0.5)
    return ((error < 1.0 + 0.05 * speed) & inside).astype(np.float32)


def repair_flow(flow: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replace the flow inside ``mask`` by the flow around it (normalised Gaussian convolution).

    flow: (H,W,2) float32; mask: (H,W) bool, e.g. suspected dust whose own texture misled the flow.
    Holes are filled from the nearest known flow at growing scales (σ = 3, 9, 27 px).
    """
    if not mask.any():
        return flow
    known = (~mask).astype(np.float32)
    out = flow.copy()
    todo = mask.copy()
    for sigma in (3.0, 9.0, 27.0):
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        summed = cv2.GaussianBlur(flow * known[..., None], (0, 0), sigma)
        reached = todo & (weight > 1e-3)
        out[reached] = summed[reached] / weight[reached][:, None]
        todo &= ~reached
        if not todo.any():
            break
    return out
