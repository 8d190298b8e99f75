"""A combing metric for tests and benchmarks: the share of 16x16 blocks that show interlace combing.

A pixel is combed when it differs from both its neighbours above and below in the same direction
by more than ``threshold`` grey levels (the lines of the other field), while the lines two above and
two below (its own field) agree with it: ``|(y[-2] + 4 y + y[+2]) - 3 (y[-1] + y[+1])| > 6 threshold``,
the test FFmpeg's ``fieldmatch`` uses. A block is combed when more than ``pixels`` of its pixels are
(``fieldmatch``'s ``combpel`` default: 80 of 256). Progressive film scores near 0; interlaced motion
scores a large share.
"""

from __future__ import annotations

import numpy as np

__all__ = ["combed_share", "clip_combed_share"]


def _luma(frame: np.ndarray) -> np.ndarray:
    """(H,W,3) RGB of any integer depth → (H,W) float32 luma in 0..255."""
    scale = 255.0 / (65535.0 if frame.dtype == np.uint16 else 255.0)
    rgb = frame.astype(np.float32) * scale
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def combed_share(frame: np.ndarray, threshold: float = 9.0, pixels: int = 80, block: int = 16) -> float:
    """Share (0..1) of the ``block``x``block`` blocks of one (H,W,3) frame that are combed."""
    y = _luma(frame)
    above2, above, centre, below, below2 = y[:-4], y[1:-3], y[2:-2], y[3:-1], y[4:]
    across = (centre - above) * (centre - below)
    own_field = np.abs((above2 + 4 * centre + below2) - 3 * (above + below))
    combed = (across > threshold * threshold) & (own_field > 6 * threshold)
    rows, cols = (combed.shape[0] // block) * block, (combed.shape[1] // block) * block
    if rows == 0 or cols == 0:
        return 0.0
    blocks = combed[:rows, :cols].reshape(rows // block, block, cols // block, block).sum(axis=(1, 3))
    return float((blocks > pixels).mean())


def clip_combed_share(frames: list[np.ndarray] | np.ndarray) -> float:
    """Mean :func:`combed_share` over the frames of a clip."""
    return float(np.mean([combed_share(frame) for frame in frames])) if len(frames) else 0.0
