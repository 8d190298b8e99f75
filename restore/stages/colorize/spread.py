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

__all__ = ["spread_chroma", "solve_chroma_levin"]

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


def _neighbour_weights(
    guide: np.ndarray, sigma_floor: float = 0.01, sigma_cap: float = 0.03
) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Affinities to the 8 neighbours, exp(-(ΔL)² / 2σ²), σ the local lightness spread (Levin et al.)
    clipped to [sigma_floor, sigma_cap] (guide units): uncapped, a hard edge raises its own σ and colour
    leaks across it."""
    mean = cv2.blur(guide, (3, 3), borderType=cv2.BORDER_REFLECT)
    variance = np.clip(
        cv2.blur(guide * guide, (3, 3), borderType=cv2.BORDER_REFLECT) - mean**2, sigma_floor**2, sigma_cap**2
    )
    padded = np.pad(guide, 1, mode="edge")
    height, width = guide.shape
    weights = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            neighbour = padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
            weights.append(
                ((dy, dx), np.exp(-((guide - neighbour) ** 2) / (2.0 * variance)).astype(np.float32))
            )
    return weights


def _relax(
    guide: np.ndarray, data: np.ndarray, data_weight: np.ndarray, start: np.ndarray, iterations: int
) -> np.ndarray:
    """Jacobi iterations of min Σ_r Σ_s w_rs (U_r − U_s)² + Σ_r c_r (U_r − u_r)² from ``start``.

    A pixel with no data weight whose 8 affinities all underflow to 0 (an isolated speck more than about
    40 L units from every neighbour) has nothing to average: it keeps its current value instead of 0/0.
    """
    neighbours = _neighbour_weights(guide)
    total = sum(weight for _, weight in neighbours) + data_weight
    isolated = (total <= _TINY)[..., None]
    total = np.maximum(total, _TINY)
    solution = start
    height, width = guide.shape
    for _ in range(iterations):
        padded = np.pad(solution, ((1, 1), (1, 1), (0, 0)), mode="edge")
        accumulated = data * data_weight[..., None]
        for (dy, dx), weight in neighbours:
            accumulated = (
                accumulated + weight[..., None] * padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
            )
        solution = np.where(isolated, solution, accumulated / total[..., None])
    return solution


def solve_chroma_levin(
    lightness: np.ndarray,
    chroma: np.ndarray,
    confidence: np.ndarray,
    data_weight: float = 4.0,
    iterations: int = 8,
    coarse_iterations: int = 60,
    min_side: int = 12,
) -> np.ndarray:
    """Colorization by optimization (Levin et al. 2004) with a coarse-to-fine (multigrid-style) Jacobi solver.

    Minimises Σ_r Σ_s w_rs (U_r − U_s)² + data_weight · Σ_r c_r (U_r − u_r)² over 8-neighbourhoods, w_rs
    from the film's lightness. Solved on a pyramid: many iterations on the coarsest level, then upsampled as
    the start of a few iterations per finer level.
    lightness: (H,W) L; chroma: (H,W,2) u; confidence: (H,W) c in [0, 1].
    returns: (H,W,2) float32 U.
    """
    guide = (lightness / 100.0).astype(np.float32)
    weight = (data_weight * confidence).astype(np.float32)
    levels = [(guide, chroma.astype(np.float32), weight)]
    while min(levels[-1][0].shape) // 2 >= min_side:
        g, u, w = levels[-1]
        size = (g.shape[1] // 2, g.shape[0] // 2)
        w_small = cv2.resize(w, size, interpolation=cv2.INTER_AREA)
        u_small = (
            cv2.resize(u * w[..., None], size, interpolation=cv2.INTER_AREA)
            / np.maximum(w_small, 1e-6)[..., None]
        )
        levels.append((cv2.resize(g, size, interpolation=cv2.INTER_AREA), u_small, w_small))
    g, u, w = levels[-1]
    total = max(float(w.sum()), 1e-6)
    mean = (u * w[..., None]).reshape(-1, 2).sum(axis=0) / total
    solution = _relax(g, u, w, np.broadcast_to(mean, u.shape).astype(np.float32), coarse_iterations)
    for g, u, w in reversed(levels[:-1]):
        start = cv2.resize(solution, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
        solution = _relax(g, u, w, start, iterations)
    return solution.astype(np.float32)
