"""Dense optical flow on numpy images: OpenCV DIS (Kroeger et al. 2016) both ways, and what uses it.

The one place for flow on the host: estimating it (:func:`estimate_bidirectional_flow`), resizing it
(:func:`upsample_flow`), backward-warping an image along it (:func:`warp`), chaining two of them
(:func:`compose_flows`) and asking where it lands (:func:`lands_inside`).

Convention throughout: a flow is (H,W,2) float32 in pixels, channel 0 = dx, channel 1 = dy, defined on
the grid of the frame it starts from; "a→b" means pixel (x, y) of a sits at (x, y) + flow[y, x] in b.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "FlowSettings",
    "estimate_bidirectional_flow",
    "MIN_SIDE",
    "pixel_grid",
    "upsample_flow",
    "warp",
    "compose_flows",
    "lands_inside",
]

#: Images are padded (replicating the border) to at least this size for DIS.
MIN_SIDE = 32


@dataclass(frozen=True)
class FlowSettings:
    """Parameters of the DIS optical flow; the choices are measured in ``docs/classic.md``.

    finest_scale: pyramid level of the finest patch search and refinement (0 = full resolution).
    patch_size, patch_stride: patch side and spacing in pixels at each level.
    descent_iterations: inverse-search gradient-descent iterations per patch.
    refine_iterations: variational refinement iterations per level (0 = off).
    refine_alpha, refine_delta, refine_gamma: smoothness, colour-constancy and gradient-constancy weights.
    prefilter_sigma: Gaussian blur (pixels) of the luma before the search; keeps film grain from
        driving the flow.
    guide: settings of a first, coarser DIS pass whose flow (upsampled) starts this one, or None.
        Coarse-to-fine in two stages: larger patches on a smaller grid find motion further than
        a small object's own size, the main pass then adds the detail (its ``prefilter_sigma`` and
        ``guide`` are not used: the guide sees the main pass's blurred luma, area-downscaled).
    guide_scale: linear size of the guide pass's grid relative to the main one (0 < scale ≤ 1).
    """

    finest_scale: int = 0
    patch_size: int = 8
    patch_stride: int = 4
    descent_iterations: int = 25
    refine_iterations: int = 5
    refine_alpha: float = 20.0
    refine_delta: float = 5.0
    refine_gamma: float = 10.0
    prefilter_sigma: float = 0.7
    guide: FlowSettings | None = None
    guide_scale: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.guide_scale <= 1.0:
            raise ValueError(f"guide_scale must lie in (0, 1], got {self.guide_scale}")


def _make_dis(settings: FlowSettings) -> cv2.DISOpticalFlow:
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(settings.finest_scale)
    dis.setPatchSize(settings.patch_size)
    dis.setPatchStride(settings.patch_stride)
    dis.setGradientDescentIterations(settings.descent_iterations)
    dis.setVariationalRefinementIterations(settings.refine_iterations)
    dis.setVariationalRefinementAlpha(settings.refine_alpha)
    dis.setVariationalRefinementDelta(settings.refine_delta)
    dis.setVariationalRefinementGamma(settings.refine_gamma)
    dis.setUseMeanNormalization(True)
    dis.setUseSpatialPropagation(True)
    return dis


def estimate_bidirectional_flow(
    luma0: np.ndarray, luma1: np.ndarray, settings: FlowSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Flows luma0→luma1 and luma1→luma0.

    luma0, luma1: (H,W) uint8.
    returns: flow_0to1, flow_1to0, each (H,W,2) float32 in pixels; flow_0to1[y, x] is the
    displacement (dx, dy) of pixel (x, y) of luma0 into luma1.
    """
    if luma0.shape != luma1.shape or luma0.dtype != np.uint8 or luma1.dtype != np.uint8:
        raise ValueError("luma0/luma1 must be uint8 images of the same shape")
    if settings.prefilter_sigma > 0:
        luma0 = cv2.GaussianBlur(luma0, (0, 0), settings.prefilter_sigma)
        luma1 = cv2.GaussianBlur(luma1, (0, 0), settings.prefilter_sigma)
    height, width = luma0.shape
    pad_bottom, pad_right = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
    if pad_bottom or pad_right:  # DIS refuses images smaller than its patches: replicate the border
        luma0 = cv2.copyMakeBorder(luma0, 0, pad_bottom, 0, pad_right, cv2.BORDER_REPLICATE)
        luma1 = cv2.copyMakeBorder(luma1, 0, pad_bottom, 0, pad_right, cv2.BORDER_REPLICATE)
    init_0to1, init_1to0 = _guide_flows(luma0, luma1, settings)
    dis = _make_dis(settings)
    flow_0to1 = dis.calc(luma0, luma1, init_0to1)[:height, :width]
    flow_1to0 = dis.calc(luma1, luma0, init_1to0)[:height, :width]
    return np.ascontiguousarray(flow_0to1), np.ascontiguousarray(flow_1to0)


def _guide_flows(
    luma0: np.ndarray, luma1: np.ndarray, settings: FlowSettings
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Initial flows both ways from the guide pass (None, None without one), on the lumas' grid.

    luma0, luma1: (H,W) uint8, already blurred and padded. The guide runs DIS with
    ``settings.guide`` on an area-downscaled copy (at least MIN_SIDE a side) and its flow is
    upsampled with :func:`upsample_flow`. OpenCV's DIS resizes an initial flow to each pyramid
    level and, patch by patch, keeps it wherever it matches better than the estimate carried up
    from the coarser level (its "temporal candidates").
    """
    if settings.guide is None:
        return None, None
    height, width = luma0.shape
    small_h = max(MIN_SIDE, round(height * settings.guide_scale))
    small_w = max(MIN_SIDE, round(width * settings.guide_scale))
    small0 = cv2.resize(luma0, (small_w, small_h), interpolation=cv2.INTER_AREA)
    small1 = cv2.resize(luma1, (small_w, small_h), interpolation=cv2.INTER_AREA)
    dis = _make_dis(settings.guide)
    guide_0to1 = upsample_flow(dis.calc(small0, small1, None), height, width)
    guide_1to0 = upsample_flow(dis.calc(small1, small0, None), height, width)
    return np.ascontiguousarray(guide_0to1), np.ascontiguousarray(guide_1to0)


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pixel coordinates, each (H,W) float32, read-only and cached per shape."""
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid_x.setflags(write=False)
    grid_y.setflags(write=False)
    return grid_x, grid_y


def upsample_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """A flow estimated on a reduced grid as a flow on the (height, width) grid, in full-size pixels.

    flow: (h,w,2) float32 pixels of the reduced grid. Returns (height,width,2) float32: bilinear
    (``cv2.INTER_LINEAR``) resize, dx scaled by width / w and dy by height / h; ``flow`` itself when
    the sizes already agree.
    """
    if flow.shape[:2] == (height, width):
        return flow
    scale_x, scale_y = width / flow.shape[1], height / flow.shape[0]
    full = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    full[..., 0] *= scale_x
    full[..., 1] *= scale_y
    return full


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out[y, x] = image[y + flow_y, x + flow_x]``.

    image: (H,W) or (H,W,C) float32 on the source grid; flow: (H,W,2) float32 pixels, target→source
    (from the output frame into ``image``). Bilinear (``cv2.INTER_LINEAR``), border replicated
    (``cv2.BORDER_REPLICATE``). Returns the image on the target grid, same dtype and channels.
    """
    grid_x, grid_y = pixel_grid(*flow.shape[:2])
    return cv2.remap(
        image,
        grid_x + flow[..., 0],
        grid_y + flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def compose_flows(flow_ab: np.ndarray, flow_bc: np.ndarray) -> np.ndarray:
    """Chain a→b then b→c into a→c: ``flow_ac(p) = flow_ab(p) + flow_bc(p + flow_ab(p))``.

    flow_ab: (H,W,2) float32 pixels on a's grid; flow_bc: (H,W,2) float32 pixels on b's grid, sampled
    with :func:`warp`. Returns (H,W,2) float32 on a's grid. With c = a (``flow_bc`` the reverse flow)
    the result is the round-trip error of the pair, zero where the two flows agree.
    """
    return (flow_ab + warp(flow_bc, flow_ab)).astype(np.float32, copy=False)


def lands_inside(flow: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(H,W) bool: where ``p + flow(p)`` lies in ``[margin, W-1-margin] × [margin, H-1-margin]``.

    flow: (H,W,2) float32 pixels. ``margin=0`` is "on a real pixel of the target, not on the
    replicated border"; ``margin=-0.5`` is "inside the target frame's area".
    """
    height, width = flow.shape[:2]
    grid_x, grid_y = pixel_grid(height, width)
    target_x, target_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    return (
        (target_x >= margin)
        & (target_x <= width - 1 - margin)
        & (target_y >= margin)
        & (target_y <= height - 1 - margin)
    )
