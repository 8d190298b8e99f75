"""Dense classical optical flow in both directions: OpenCV DIS (Kroeger et al. 2016) on luma."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["FlowSettings", "estimate_bidirectional_flow", "MIN_SIDE"]

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
    dis = _make_dis(settings)
    flow_0to1 = dis.calc(luma0, luma1, None)[:height, :width]
    flow_1to0 = dis.calc(luma1, luma0, None)[:height, :width]
    return np.ascontiguousarray(flow_0to1), np.ascontiguousarray(flow_1to0)
