"""Edge-aware spreading of sparse, weighted chroma guided by the film's lightness.

Within a small window chroma is close to an affine function of lightness (the assumption behind
colorization by optimization, Levin et al. 2004, and the guided filter, He et al. 2010). Fitting that
model by *weighted* least squares in every window, with the match confidence as weights, fills pixels
whose colour is unknown from neighbours of similar lightness and follows the film's edges. Windows with
no trusted pixel are filled from coarser scales (a pyramid of window radii), so holes of any size close.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["spread_chroma"]

_TINY = 1e-6


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    side = 2 * radius + 1
    return cv2.boxFilter(image, -1, (side, side), normalize=True, borderType=cv2.BORDER_REFLECT)


def _weighted_affine_fit(
    guide: np.ndarray, chroma: np.ndarray, weight: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel affine model chroma ≈ slope·guide + offset fitted in (2r+1)² windows: (fit, support).

    guide: (H,W) float32 in [0, 1]; chroma: (H,W,2); weight: (H,W) >= 0.
    fit: (H,W,2) the model averaged over the windows covering each pixel; support: (H,W) mean weight.
    """
    w = _box(weight, radius)
    safe = np.maximum(w, _TINY)
    mean_guide = _box(weight * guide, radius) / safe
    var_guide = _box(weight * guide * guide, radius) / safe - mean_guide**2
    weighted_chroma = chroma * weight[..., None]
    mean_chroma = _box(weighted_chroma, radius) / safe[..., None]
    cov = (
        _box(weighted_chroma * guide[..., None], radius) / safe[..., None]
        - mean_guide[..., None] * mean_chroma
    )
    slope = cov / (np.maximum(var_guide, 0.0)[..., None] + eps)
    offset = mean_chroma - slope * mean_guide[..., None]
    # average the models of all windows covering a pixel, each by its own support
    norm = np.maximum(_box(w, radius), _TINY)[..., None]
    slope_avg = _box(slope * w[..., None], radius) / norm
    offset_avg = _box(offset * w[..., None], radius) / norm
    fit = slope_avg * guide[..., None] + offset_avg
    return fit.astype(np.float32), _box(w, radius).astype(np.float32)


def spread_chroma(
    lightness: np.ndarray,
    chroma: np.ndarray,
    confidence: np.ndarray,
    radius: int = 4,
    eps: float = 1e-3,
    levels: int = 4,
    keep_confident: float = 0.0,
) -> np.ndarray:
    """Edge-aware fill and clean-up of a chroma map.

    lightness: (H,W) float32 L in [0, 100] (the film's); chroma: (H,W,2) float32 (a, b);
    confidence: (H,W) in [0, 1], how much each chroma value is trusted;
    radius: window radius (pixels) at the finest level, doubled per level; eps: regulariser of the
    affine fit (guide in [0, 1] units², larger = smoother, less edge-following);
    keep_confident: 0..1, how much confidently known pixels keep their own value instead of the fit.
    returns: (H,W,2) float32 chroma.
    """
    guide = (lightness / 100.0).astype(np.float32)
    weight = confidence.astype(np.float32)
    result, support = _weighted_affine_fit(guide, chroma, weight, radius, eps)
    for level in range(1, levels):
        coarse_radius = radius << level
        if np.all(support > 0.05):
            break
        coarse, coarse_support = _weighted_affine_fit(guide, chroma, weight, coarse_radius, eps * 4**level)
        take = np.clip(support / 0.05, 0.0, 1.0)[..., None]
        result = take * result + (1.0 - take) * coarse
        support = np.maximum(support, coarse_support)
    if np.any(support <= _TINY):  # nothing trusted anywhere near: the weighted mean of the whole frame
        total = max(float(weight.sum()), _TINY)
        mean = (chroma * weight[..., None]).reshape(-1, 2).sum(axis=0) / total
        result = np.where((support <= _TINY)[..., None], mean.astype(np.float32), result)
    if keep_confident > 0:
        keep = (keep_confident * confidence)[..., None]
        result = keep * chroma + (1.0 - keep) * result
    return result.astype(np.float32)
