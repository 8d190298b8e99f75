"""Deflicker: remove frame-to-frame brightness/contrast drift, keep slow lighting changes and fades.

Model: each frame is the unflickered picture under a screen-fixed gain and offset field,
``frame_t = G_t(x, y) * picture_t + O_t(x, y)``, with G and O smooth over the picture.

1. Between neighbours, :func:`relative_flicker` fits ``frame_t ≈ a(x,y) * warp(frame_{t-1}) + b(x,y)``
   with a, b planes (6 parameters), by trimmed least squares on blurred, reduced luma at pixels where
   motion compensation is reliable and nothing is clipped.
2. Chaining the relative fits gives each frame's path ``G_t = a_t * G_{t-1}``, ``O_t = a_t * O_{t-1} + b_t``
   on a coarse grid (:class:`FlickerPath`).
3. The target path is that path's trend over ±``radius`` frames (:func:`smooth_paths`): a locally
   linear fit where the brightness only flickers around a straight course, a running median where it
   really changes (a curved fade, a lamp switched on), so those stay exactly while flicker goes.
   :func:`correction_maps` turns the pair (actual, target) into per-pixel gain and offset.
4. :func:`shrink_correction` soft-thresholds that correction by the size of the brightness change it
   makes: changes within the fits' own noise (a fraction of a grey level) are left alone, so a clip
   that does not flicker is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "GRID",
    "FlickerPath",
    "relative_flicker",
    "chain_path",
    "smooth_paths",
    "correction_maps",
    "shrink_correction",
    "apply_maps",
]

#: Rows and columns of the coarse grid the gain/offset fields live on.
GRID = (6, 8)
#: The running median needs this many frames on each side; nearer a shot's ends the linear fit alone.
MIN_MEDIAN_HALF_WIDTH = 5


@dataclass(frozen=True)
class FlickerPath:
    """Gain and offset fields of one frame relative to its shot's first frame: (GRID) float32 each."""

    gain: np.ndarray
    offset: np.ndarray


def _plane_basis(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :] * np.ones((height, 1), np.float32)
    return xs, ys


def relative_flicker(luma_now: np.ndarray, luma_before_warped: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fit ``luma_now ≈ a * luma_before_warped + b`` with a, b planes over the picture.

    All inputs (H,W) float32 (luma in [0,1], valid in {0,1}). Returns (GRID[0], GRID[1], 2) float32:
    the fields a and b sampled on the coarse grid. Falls back to the identity when too few pixels agree.
    """
    step = 4
    now = cv2.GaussianBlur(luma_now, (0, 0), 2.0)[step // 2 :: step, step // 2 :: step]
    before = cv2.GaussianBlur(luma_before_warped, (0, 0), 2.0)[step // 2 :: step, step // 2 :: step]
    ok = cv2.erode(valid, np.ones((3, 3), np.uint8))[step // 2 :: step, step // 2 :: step] > 0.5
    ok &= (now > 0.02) & (now < 0.98) & (before > 0.02) & (before < 0.98)
    xs, ys = _plane_basis(*now.shape)
    identity = np.stack([np.ones(GRID, np.float32), np.zeros(GRID, np.float32)], axis=-1)
    if ok.sum() < 50:
        return identity
    x, y, b, n = xs[ok], ys[ok], before[ok], now[ok]
    design = np.stack([b, b * x, b * y, np.ones_like(b), x, y], axis=1).astype(np.float64)
    target = n.astype(np.float64)
    keep = np.ones(len(target), dtype=bool)
    params = np.zeros(6)
    for _ in range(3):  # trimmed least squares: dust, occlusions and flow errors are outliers
        if keep.sum() < 50:
            return identity
        params, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
        residual = target - design @ params
        spread = 1.4826 * np.median(np.abs(residual[keep])) + 1e-4
        keep = np.abs(residual) < 2.5 * spread
    grid_x, grid_y = _plane_basis(*GRID)
    gain = params[0] + params[1] * grid_x + params[2] * grid_y
    offset = params[3] + params[4] * grid_x + params[5] * grid_y
    return np.stack([gain, offset], axis=-1).astype(np.float32)


def chain_path(previous: FlickerPath | None, relative: np.ndarray | None) -> FlickerPath:
    """The path of frame t from frame t-1's path and the relative fit (None: a shot starts here)."""
    if previous is None or relative is None:
        return FlickerPath(np.ones(GRID, np.float32), np.zeros(GRID, np.float32))
    gain = relative[..., 0] * previous.gain
    offset = relative[..., 0] * previous.offset + relative[..., 1]
    return FlickerPath(gain.astype(np.float32), offset.astype(np.float32))


def smooth_paths(paths: list[FlickerPath], times: np.ndarray, centre_time: float) -> FlickerPath:
    """The brightness trend at ``centre_time`` from the paths of a window of frames around it.

    paths: the window's frames' paths; times: their frame numbers (float). Two estimates per grid
    cell, gain and offset alike:

    - a Gaussian-weighted locally linear fit (σ = half the window's half-width): averages flicker
      away best, keeps a straight fade exactly, but smears a step (a lamp switched on) and bends a
      curved fade;
    - a running median over the widest window centred on the frame: keeps any monotone trend and
      any persistent step exactly, averages a little worse. Near a shot's ends that window is
      narrow (at the first and last frame, the frame alone), so there it trusts the frame.

    The fit is used where the two agree to within half the flicker's own spread (robustly, from the
    path's frame-to-frame differences) and the median where they part by more than that spread: there
    the brightness really changed.
    """
    t = np.asarray(times, dtype=np.float64) - centre_time
    sigma = max(1.0, 0.5 * float(np.abs(t).max()))
    weights = np.exp(-0.5 * (t / sigma) ** 2)
    s0, s1, s2 = weights.sum(), (weights * t).sum(), (weights * t * t).sum()
    determinant = s0 * s2 - s1 * s1
    order = np.argsort(t)

    def fit(values: np.ndarray) -> np.ndarray:
        m0 = np.tensordot(weights, values, axes=1)
        if determinant < 1e-9:  # one frame, or all weight on one frame
            return m0 / s0
        m1 = np.tensordot(weights * t, values, axes=1)
        return (s2 * m0 - s1 * m1) / determinant  # intercept of the weighted line at t = 0

    before, half = int((t < 0).sum()), min(int((t < 0).sum()), int((t > 0).sum()))
    centred = np.abs(t) <= t[order][before + half] + 1e-9  # the widest window centred on the frame

    def trend(values: np.ndarray) -> np.ndarray:
        linear = fit(values)
        if half < MIN_MEDIAN_HALF_WIDTH:
            return linear
        robust = np.median(values[centred], axis=0)
        spread = 1.4826 * np.median(np.abs(np.diff(values[order], axis=0)), axis=0) / np.sqrt(2.0)
        share = np.clip((np.abs(linear - robust) - spread) / (spread + 1e-6), 0.0, 1.0)
        return (1.0 - share) * linear + share * robust

    gains = np.stack([p.gain for p in paths]).astype(np.float64)
    offsets = np.stack([p.offset for p in paths]).astype(np.float64)
    return FlickerPath(trend(gains).astype(np.float32), trend(offsets).astype(np.float32))


def correction_maps(
    actual: FlickerPath, target: FlickerPath, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (H,W) float32 gain and offset that move a frame from its actual path to the target one.

    ``corrected = gain * frame + offset`` with ``gain = G_target / G_actual`` and
    ``offset = O_target - O_actual * gain``.
    """
    gain = target.gain / np.maximum(actual.gain, 1e-3)
    offset = target.offset - actual.offset * gain
    return _upsample_grid(gain, height, width), _upsample_grid(offset, height, width)


def _upsample_grid(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear, corner-aligned (grid corners sit on the image's corner pixels): (H,W) float32."""
    map_x = np.broadcast_to(
        np.linspace(0, grid.shape[1] - 1, width, dtype=np.float32)[None, :], (height, width)
    )
    map_y = np.broadcast_to(
        np.linspace(0, grid.shape[0] - 1, height, dtype=np.float32)[:, None], (height, width)
    )
    return cv2.remap(
        grid.astype(np.float32),
        np.ascontiguousarray(map_x),
        np.ascontiguousarray(map_y),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def shrink_correction(
    luma: np.ndarray, gain: np.ndarray, offset: np.ndarray, deadband: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Soft-threshold a correction by the mean brightness change m it makes on ``luma``.

    luma, gain, offset: (H,W) float32. The correction is scaled by ``max(0, 1 − deadband / m)``.
    Returns the new (gain, offset) and m after shrinking.
    """
    change = float(np.abs((gain - 1.0) * luma + offset).mean())
    if change <= deadband:
        return np.ones_like(gain), np.zeros_like(offset), 0.0
    scale = 1.0 - deadband / change
    return 1.0 + scale * (gain - 1.0), scale * offset, change - deadband


def apply_maps(image: np.ndarray, gain: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(H,W,3) float32 image -> gain * image + offset, same channels."""
    return image * gain[..., None] + offset[..., None]
