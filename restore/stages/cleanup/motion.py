"""Motion compensation for the cleanup steps: DIS flow between neighbouring frames, warping, validity.

The flow itself is the classic interpolator's (:func:`dain.flow.estimate_bidirectional_flow`),
run on a flicker- and dust-robust luma: median-filtered (dust specks vanish), normalised to the
frame's own mean and spread (global flicker cancels), and reduced so that the long side is at most
``max_side`` pixels (speed). Flows are returned at full resolution.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from dain.flow import FlowSettings, estimate_bidirectional_flow

__all__ = [
    "luma",
    "flow_luma",
    "reduced_flows",
    "upsample_flow",
    "warp",
    "flow_validity",
    "compose_flows",
    "repair_flow",
    "lands_inside",
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


def upsample_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """A flow estimated on reduced images, (h,w,2) float32, as a (height,width,2) flow in full-size pixels."""
    if flow.shape[:2] == (height, width):
        return flow
    scale_x, scale_y = width / flow.shape[1], height / flow.shape[0]
    full = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    full[..., 0] *= scale_x
    full[..., 1] *= scale_y
    return full


def reduced_flows(
    luma0: np.ndarray, luma1: np.ndarray, settings: FlowSettings = CLEANUP_FLOW_SETTINGS
) -> tuple[np.ndarray, np.ndarray]:
    """Flows frame0→frame1 and frame1→frame0 at the reduced size of ``luma0``, ``luma1``.

    luma0, luma1: (h,w) uint8 from :func:`flow_luma`. Returns two (h,w,2) float32 flows in reduced
    pixels; :func:`upsample_flow` brings them to full size.
    """
    return estimate_bidirectional_flow(luma0, luma1, settings)


@functools.lru_cache(maxsize=8)
def _base_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return grid_x, grid_y


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out[y, x] = image[y + flow_y, x + flow_x]`` (bilinear, border replicated).

    image: (H,W) or (H,W,C) float32; flow: (H,W,2) float32 pixels, from the output frame into ``image``.
    """
    grid_x, grid_y = _base_grid(*flow.shape[:2])
    return cv2.remap(
        image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def flow_validity(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """Where ``flow_ab`` (a→b) is trustworthy: forward–backward consistent and landing inside b.

    Returns (H,W) float32 in {0, 1}.
    """
    height, width = flow_ab.shape[:2]
    back = warp(flow_ba, flow_ab)
    error = np.hypot(flow_ab[..., 0] + back[..., 0], flow_ab[..., 1] + back[..., 1])
    speed = np.hypot(flow_ab[..., 0], flow_ab[..., 1])
    grid_x, grid_y = _base_grid(height, width)
    target_x, target_y = grid_x + flow_ab[..., 0], grid_y + flow_ab[..., 1]
    inside = (target_x >= -0.5) & (target_x <= width - 0.5) & (target_y >= -0.5) & (target_y <= height - 0.5)
    return ((error < 1.0 + 0.05 * speed) & inside).astype(np.float32)


def compose_flows(flow_ab: np.ndarray, flow_bc: np.ndarray) -> np.ndarray:
    """a→c from a→b and b→c: ``flow_ac(x) = flow_ab(x) + flow_bc(x + flow_ab(x))``; (H,W,2) float32."""
    return flow_ab + warp(flow_bc, flow_ab)


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


def lands_inside(flow: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(H,W) bool: where ``flow`` lands at least ``margin`` px inside the frame (not on replicated border)."""
    height, width = flow.shape[:2]
    grid_x, grid_y = _base_grid(height, width)
    target_x, target_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    return (
        (target_x >= margin)
        & (target_x <= width - 1 - margin)
        & (target_y >= margin)
        & (target_y <= height - 1 - margin)
    )
