"""Vertical scratches: thin lines at a stable column over many frames, filled from their sides.

Detection works on a column profile: for each column, the median over rows of the line response
``L(x) - (L(x - reach) + L(x + reach)) / 2`` (a thin bright or dark line gives a large value all
down the picture; edges and texture average out). Columns standing out of the profile's robust
spread are candidates; the stage keeps a candidate only when the same column (±2 px) is also one
in a neighbouring frame: a scratch persists, a thin object moving with the picture does not stay put.
Filling interpolates each row linearly across the scratch from two-pixel means on either side.
"""

from __future__ import annotations

import numpy as np

__all__ = ["line_response", "column_profile", "find_scratch_spans", "persistent_spans", "fill_spans"]


def column_profile(luma: np.ndarray, reach: int = 3) -> np.ndarray:
    """(H,W) float32 luma -> (W,) float32: per column, the median over rows of :func:`line_response`."""
    return np.median(line_response(luma, reach), axis=0).astype(np.float32)


def line_response(luma: np.ndarray, reach: int = 3) -> np.ndarray:
    """(H,W) float32: how far a pixel stands above (>0) or below (<0) *both* pixels ``reach`` columns away.

    A thin line answers with its contrast; an edge or the flank of a line answers 0.
    """
    padded = np.pad(luma, ((0, 0), (reach, reach)), mode="edge")
    to_left, to_right = luma - padded[:, : -2 * reach], luma - padded[:, 2 * reach :]
    above = np.minimum(to_left, to_right)
    below = np.maximum(to_left, to_right)
    return np.where(above > 0, above, np.where(below < 0, below, 0.0)).astype(np.float32)


def find_scratch_spans(
    profile: np.ndarray, threshold: float = 6.0, min_contrast: float = 0.03, max_width: int = 5
) -> list[tuple[int, int]]:
    """Column spans [x0, x1] (inclusive) whose profile stands out: |p| > max(threshold·spread, min_contrast).

    spread is the median absolute profile value (1.4826·MAD about 0). Spans wider than ``max_width``
    are not scratches (a broad band is picture content) and are dropped.
    """
    magnitude = np.abs(profile)
    spread = 1.4826 * float(np.median(magnitude)) + 1e-6
    level = max(threshold * spread, min_contrast)
    spans = []
    width = len(profile)
    x = 0
    while x < width:
        if magnitude[x] > level:
            peak_sign = np.sign(profile[x])
            x0 = x
            while x + 1 < width and magnitude[x + 1] > 0.5 * level and np.sign(profile[x + 1]) == peak_sign:
                x += 1
            x1 = x
            while x0 - 1 >= 0 and magnitude[x0 - 1] > 0.5 * level and np.sign(profile[x0 - 1]) == peak_sign:
                x0 -= 1
            if x1 - x0 + 1 <= max_width and x0 >= 2 and x1 <= width - 3:
                spans.append((x0, x1))
        x += 1
    return spans


def persistent_spans(
    spans: list[tuple[int, int]], neighbour_spans: list[list[tuple[int, int]]], tolerance: int = 2
) -> list[tuple[int, int]]:
    """The spans that overlap (±tolerance columns) a span of at least one neighbouring frame."""
    kept = []
    for x0, x1 in spans:
        for others in neighbour_spans:
            if any(o0 - tolerance <= x1 and x0 <= o1 + tolerance for o0, o1 in others):
                kept.append((x0, x1))
                break
    return kept


def fill_spans(image: np.ndarray, spans: list[tuple[int, int]], margin: int = 1) -> np.ndarray:
    """Fill each span (widened by ``margin``) row by row, interpolating linearly between its sides.

    image: (H,W,3) float32. Returns a new image.
    """
    out = image.copy()
    width = image.shape[1]
    for x0, x1 in spans:
        left, right = max(1, x0 - margin), min(width - 2, x1 + margin)
        side_left = 0.5 * (image[:, left - 1] + image[:, max(0, left - 2)])
        side_right = 0.5 * (image[:, right + 1] + image[:, min(width - 1, right + 2)])
        count = right - left + 2
        for k, x in enumerate(range(left, right + 1), start=1):
            t = k / count
            out[:, x] = (1 - t) * side_left + t * side_right
    return out
