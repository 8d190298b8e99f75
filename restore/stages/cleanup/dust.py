"""Dust, dirt and sparkle: one-frame events, found against two motion-compensated references.

A pixel is dust when it differs from *both* references in the *same* direction by more than the noise
allows, while the references agree with each other (so motion compensation is reliable there; real
fast motion, where the references disagree, is left alone). This is the spike-detection index of
Kokaram's archive restoration work, with a hysteresis grow over the soft edges of specks. Detected
pixels are filled from the mean of the references, or by edge-aware spatial inpainting (OpenCV
Telea) where the references disagree.
"""

from __future__ import annotations

import cv2
import numpy as np

from restore.media.frames import from_unit_float, to_unit_float

__all__ = [
    "dust_candidates",
    "detect_dust",
    "confirm_dust",
    "well_compensated",
    "drop_large",
    "dust_mask",
    "fill_dust",
]


def dust_candidates(
    luma_now: np.ndarray, luma_ref_a: np.ndarray, luma_ref_b: np.ndarray, level: float
) -> np.ndarray:
    """(H,W) bool: pixels beyond both references in the same direction by more than ``level``.

    No agreement test: these are the places whose flow may have been misled by the defect itself.
    """
    above = np.minimum(luma_now - luma_ref_a, luma_now - luma_ref_b)
    below = np.minimum(luma_ref_a - luma_now, luma_ref_b - luma_now)
    return np.maximum(above, below) > level


def detect_dust(
    luma_now: np.ndarray,
    luma_ref_a: np.ndarray,
    luma_ref_b: np.ndarray,
    noise_sigma: float,
    threshold: float = 2.5,
    min_contrast: float = 0.1,
) -> np.ndarray:
    """Mask of one-frame defects.

    luma_now, luma_ref_a, luma_ref_b: (H,W) float32 luma of the frame and of two references motion-
    compensated onto it. noise_sigma: the noise standard deviation of a temporal difference's
    component (intensity units). Returns (H,W) bool.
    """
    strong = max(threshold * noise_sigma * np.sqrt(2.0), min_contrast)
    kernel = np.ones((3, 3), np.uint8)
    # distance of the pixel outside each reference's 3x3 range: robust to a pixel of misregistration
    above = np.minimum(luma_now - cv2.dilate(luma_ref_a, kernel), luma_now - cv2.dilate(luma_ref_b, kernel))
    below = np.minimum(cv2.erode(luma_ref_a, kernel) - luma_now, cv2.erode(luma_ref_b, kernel) - luma_now)
    smaller = np.maximum(above, below)
    same_sign = smaller > 0
    # the references agree when their 3x3 ranges overlap or nearly do (misregistration tolerated)
    gap = np.maximum(
        cv2.erode(luma_ref_a, kernel) - cv2.dilate(luma_ref_b, kernel),
        cv2.erode(luma_ref_b, kernel) - cv2.dilate(luma_ref_a, kernel),
    )
    agree = gap < np.maximum(0.25 * smaller, 0.5 * strong)
    seeds = same_sign & agree & (smaller > strong)
    if not seeds.any():
        return seeds
    weak = same_sign & agree & (smaller > 0.5 * strong)
    grown = seeds.copy()
    for _ in range(3):  # hysteresis: grow the seeds over their soft, weaker edges
        grown = (cv2.dilate(grown.astype(np.uint8), kernel) > 0) & (weak | grown)
    return grown


def _component_means(values: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """(count,) float64: the mean of ``values`` over each label >= 1 of ``labels`` (0 where a label is
    empty, and for label 0, the background, which is skipped: spots are sparse)."""
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    chosen = flat[where]
    sums = np.bincount(chosen, weights=values.ravel()[where].astype(np.float64), minlength=count)
    return sums / np.maximum(np.bincount(chosen, minlength=count), 1)


def confirm_dust(
    luma_now: np.ndarray, luma_fill: np.ndarray, mask: np.ndarray, ratio: float = 0.5
) -> np.ndarray:
    """Keep the detected spots that the fill makes fit their surroundings.

    A speck stands out from the ring of pixels around it and its fill blends in; a piece of a moving
    object that motion compensation missed continues into its ring, so the fill stands out instead.
    A connected spot is kept when ``|mean fill − mean ring| < ratio · |mean now − mean ring|``.
    luma_now, luma_fill: (H,W) float32; mask: (H,W) bool. Returns the (H,W) bool mask of kept spots.
    """
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    spread = cv2.dilate(labels.astype(np.float32), np.ones((5, 5), np.uint8)).astype(np.int32)
    ring = (spread > 0) & (cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    ring_mean = _component_means(luma_now, np.where(ring, spread, 0), count)
    now_mean = _component_means(luma_now, labels, count)
    fill_mean = _component_means(luma_fill, labels, count)
    keep = np.abs(fill_mean - ring_mean) < ratio * np.abs(now_mean - ring_mean)
    keep[0] = False
    return keep[labels]


def well_compensated(
    luma_now: np.ndarray,
    luma_ref_a: np.ndarray,
    luma_ref_b: np.ndarray,
    mask: np.ndarray,
    noise_sigma: float,
    contrast_share: float = 0.1,
    noise_share: float = 2.0,
    reach: int = 5,
) -> np.ndarray:
    """Keep the detected spots around which motion compensation is reliable.

    For each connected spot, the ring of pixels 2..``reach`` px around it must match the references
    closely: ``mean |now − ref|`` over the ring (both references) below
    ``contrast_share · |spot contrast| + noise_share · noise_sigma``. Dust sits on picture that the
    references reproduce; a false detection at a misregistered edge or on a fast-moving, blurred
    object has a poorly compensated neighbourhood. luma_*: (H,W) float32; mask: (H,W) bool.
    Returns the (H,W) bool mask of kept spots.
    """
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    size = 2 * reach + 1
    spread = cv2.dilate(labels.astype(np.float32), np.ones((size, size), np.uint8)).astype(np.int32)
    ring = (spread > 0) & (cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    ring_labels = np.where(ring, spread, 0)
    error = 0.5 * (np.abs(luma_now - luma_ref_a) + np.abs(luma_now - luma_ref_b))
    ring_error = _component_means(error, ring_labels, count)
    contrast = np.abs(_component_means(luma_now - 0.5 * (luma_ref_a + luma_ref_b), labels, count))
    keep = ring_error < contrast_share * contrast + noise_share * noise_sigma
    keep[0] = False
    return keep[labels]


def drop_large(mask: np.ndarray, max_extent: float) -> np.ndarray:
    """Drop connected spots whose bounding box is longer than ``max_extent`` px on either side.

    mask: (H,W) bool. Returns the (H,W) bool mask of the spots kept.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    keep = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) <= max_extent
    keep[0] = False
    return keep[labels]


def dust_mask(
    luma_now: np.ndarray,
    luma_ref_a: np.ndarray,
    luma_ref_b: np.ndarray,
    noise_sigma: float,
    inside: np.ndarray | None,
    threshold: float = 2.5,
    min_contrast: float = 0.1,
    max_extent: float = 16.0,
    confirm_all: bool = False,
) -> np.ndarray:
    """The dust to fill: :func:`detect_dust`, then every check that keeps real picture out of it.

    luma_*: (H,W) float32, the references motion-compensated onto the frame; noise_sigma as for
    :func:`detect_dust`. inside: (H,W) bool, where both references land inside their frames, or None
    when both references lie on one side (a shot's first or last frames): there motion alone can make
    a pixel differ from both alike, so more contrast is asked for and every spot must fit its
    surroundings once filled (:func:`confirm_dust`), as it must where a reference lands outside its
    frame. Then the ring around a spot must be well compensated (:func:`well_compensated`: within 1σ
    outright, within 2σ if the spot also fits once filled) and the spot dust-sized
    (:func:`drop_large`, ``max_extent`` px). Returns (H,W) bool.
    """
    one_sided = inside is None
    mask = detect_dust(
        luma_now, luma_ref_a, luma_ref_b, noise_sigma, threshold, min_contrast * (1.2 if one_sided else 1.0)
    )
    fill = 0.5 * (luma_ref_a + luma_ref_b)
    if inside is None or confirm_all:
        mask = confirm_dust(luma_now, fill, mask)
    else:
        mask = (mask & inside) | confirm_dust(luma_now, fill, mask & ~inside)
    sure = well_compensated(luma_now, luma_ref_a, luma_ref_b, mask, noise_sigma, noise_share=1.0)
    fair = well_compensated(luma_now, luma_ref_a, luma_ref_b, mask & ~sure, noise_sigma, noise_share=2.0)
    return drop_large(sure | confirm_dust(luma_now, fill, fair), max_extent)


def fill_dust(
    image: np.ndarray, ref_a: np.ndarray, ref_b: np.ndarray, mask: np.ndarray, disagreement: float = 0.1
) -> np.ndarray:
    """Fill ``mask`` (grown by one pixel) from the references' mean; inpaint where they disagree.

    image, ref_a, ref_b: (H,W,3) float32 RGB; mask: (H,W) bool. Returns a new (H,W,3) float32 image.
    """
    out = image.copy()
    if not mask.any():
        return out
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # and the speck's soft rim
    mean = 0.5 * (ref_a + ref_b)
    out[mask] = mean[mask]
    unreliable = mask & (np.abs(ref_a - ref_b).max(axis=2) > disagreement)
    if unreliable.any():
        as_bytes = from_unit_float(out, np.uint8)
        painted = cv2.inpaint(as_bytes, unreliable.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        out[unreliable] = to_unit_float(painted[unreliable], divide=True)
    return out
