"""Vertical scratches: thin lines at a stable column over many frames, filled from their sides.

Detection works on a column profile: for each column, the median over rows of the line response
``L(x) - (L(x - reach) + L(x + reach)) / 2`` (a thin bright or dark line gives a large value all
down the picture; edges and texture average out). Columns standing out of the profile's robust
spread are candidates; the stage keeps a candidate only when the same column (±2 px) is also one
in a neighbouring frame: a scratch persists, a thin object moving with the picture does not stay put.
A persistent thin line can still be picture (a gap between railings filmed from a tripod); a scratch
is a translucent overlay, ``out = (1 − α)·picture + α·v`` with v near white or black, so it shows
wherever the picture leaves it room. :func:`fits_overlay` estimates α from the rows where the line
shows and rejects a span when it is missing from many rows where such an overlay would be plain.
Lines at the edge of a dark border (the film gate, pillarboxing) are the border's edge, not scratches:
:func:`picture_columns` finds where the picture starts and ends.
Filling is temporal where the picture moves: a scratch stays at its place on the screen while the
picture slides under it, so a motion-compensated neighbour shows, at the scratch, picture that was
beside the scratch in its own frame (:func:`fill_spans_from_neighbours`). Elsewhere (a still
picture, unreliable motion) each row is interpolated linearly across the scratch from two-pixel means
on either side (:func:`fill_spans`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "line_response",
    "column_profile",
    "profile_level",
    "find_scratch_spans",
    "fits_overlay",
    "picture_columns",
    "persistent_spans",
    "fill_spans",
    "clear_of_spans",
    "fill_spans_from_neighbours",
]


def column_profile(luma: np.ndarray, reach: int = 3, response: np.ndarray | None = None) -> np.ndarray:
    """(H,W) float32 luma -> (W,) float32: per column, the median over rows of :func:`line_response`.

    response: the (H,W) line response when already computed.
    """
    if response is None:
        response = line_response(luma, reach)
    return np.median(response, axis=0).astype(np.float32)


def profile_level(profile: np.ndarray, threshold: float = 6.0, min_contrast: float = 0.02) -> float:
    """The level a column must exceed: ``max(threshold · 1.4826 · median|profile|, min_contrast)``."""
    spread = 1.4826 * float(np.median(np.abs(profile))) + 1e-6
    return max(threshold * spread, min_contrast)


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
    profile: np.ndarray, threshold: float = 6.0, min_contrast: float = 0.02, max_width: int = 5
) -> list[tuple[int, int]]:
    """Column spans [x0, x1] (inclusive) whose profile stands out: |p| > max(threshold·spread, min_contrast).

    spread is the median absolute profile value (1.4826·MAD about 0). Spans wider than ``max_width``
    are not scratches (a broad band is picture content) and are dropped.
    """
    magnitude = np.abs(profile)
    level = profile_level(profile, threshold, min_contrast)
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


def fits_overlay(
    luma: np.ndarray,
    response: np.ndarray,
    span: tuple[int, int],
    level: float,
    reach: int = 3,
    max_contradiction: float = 0.35,
) -> bool:
    """Whether the line at ``span`` behaves like a translucent scratch over the whole height.

    luma, response: (H,W) float32 (``response`` from :func:`line_response` with the same ``reach``);
    span: inclusive columns; level: from :func:`profile_level`. Per row, the line's contrast c and the
    picture beside it b (mean of the columns ``reach`` px out) give α = c / (v − b) with v = 1 for a
    bright line and 0 for a dark one; with α the median over the rows where the line shows, a row
    where ``α·(v − b) > 2·level`` should show at least 30 % of that contrast. The span fits when at
    most ``max_contradiction`` of those rows do not (always when they are under 5 % of the rows).
    """
    x0, x1 = span
    width = luma.shape[1]
    columns = response[:, x0 : x1 + 1]
    sign = 1.0 if float(np.median(columns)) >= 0 else -1.0
    contrast = (columns * sign).max(axis=1)
    beside = 0.5 * (luma[:, max(0, x0 - reach)] + luma[:, min(width - 1, x1 + reach)])
    room = sign * ((1.0 if sign > 0 else 0.0) - beside)
    shows = contrast > 0.5 * level
    if not shows.any():
        return False
    alpha = float(np.median(np.clip(contrast[shows] / np.maximum(room[shows], 1e-3), 0.0, 1.0)))
    expected = alpha * room
    plain = expected > 2.0 * level
    if plain.sum() < 0.05 * len(contrast):
        return True
    missing = plain & (contrast < 0.3 * expected)
    return bool(missing.sum() <= max_contradiction * plain.sum())


def picture_columns(luma: np.ndarray, max_border: float = 0.25) -> tuple[int, int]:
    """(first, last) columns of the picture inside dark side borders (film gate, pillarbox).

    luma: (H,W) float32. A border column is one whose mean is under half the median column mean, in an
    unbroken run from the frame's side, and no run may take more than ``max_border`` of the width.
    """
    means = luma.mean(axis=0)
    dark = means < 0.5 * float(np.median(means))
    width = len(means)
    first = int(np.argmin(dark)) if not dark.all() else 0
    last = width - 1 - int(np.argmin(dark[::-1])) if not dark.all() else width - 1
    if first > max_border * width:
        first = 0
    if width - 1 - last > max_border * width:
        last = width - 1
    return first, last


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


def _span_region(height: int, width: int, spans: list[tuple[int, int]], margin: int) -> np.ndarray:
    """(H,W) bool: the columns each span covers, widened by ``margin`` as :func:`fill_spans` fills them."""
    region = np.zeros((height, width), bool)
    for x0, x1 in spans:
        region[:, max(1, x0 - margin) : min(width - 2, x1 + margin) + 1] = True
    return region


def clear_of_spans(flow_x: np.ndarray, spans: list[tuple[int, int]], clearance: float = 1.5) -> np.ndarray:
    """(H,W) bool: where sampling a neighbour along ``flow_x`` lands clear of every span's columns.

    flow_x: (H,W) float32 horizontal displacement into the neighbour; spans: the scratch columns, which
    stay put on the screen from frame to frame. ``clearance`` px are kept off each side of a span.
    """
    width = flow_x.shape[1]
    sample_x = np.arange(width, dtype=np.float32)[None, :] + flow_x
    clear = np.ones(flow_x.shape, bool)
    for x0, x1 in spans:
        clear &= (sample_x < x0 - clearance) | (sample_x > x1 + clearance)
    return clear


def fill_spans_from_neighbours(
    image: np.ndarray,
    spans: list[tuple[int, int]],
    neighbours: list[tuple[np.ndarray, np.ndarray]],
    margin: int = 1,
) -> np.ndarray:
    """Fill spans from motion-compensated neighbours where they are usable, spatially elsewhere.

    image: (H,W,3) float32; spans: inclusive column spans; neighbours: (warped (H,W,3) float32,
    usable (H,W) bool) pairs, usable where the compensation is valid and the sample is clear of the
    scratch (:func:`clear_of_spans`). Each span pixel (span widened by ``margin``) takes the mean of
    its usable neighbours, or the spatial fill of :func:`fill_spans`. Returns a new image.
    """
    out = fill_spans(image, spans, margin)
    if not spans or not neighbours:
        return out
    region = _span_region(*image.shape[:2], spans, margin)
    total = np.zeros(image.shape, np.float32)
    count = np.zeros(image.shape[:2], np.float32)
    for warped, usable in neighbours:
        use = usable & region
        total[use] += warped[use]
        count[use] += 1.0
    have = count > 0
    out[have] = total[have] / count[have][:, None]
    return out
