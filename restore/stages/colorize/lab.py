"""CIE Lab (D65, sRGB primaries and transfer curve) conversions for colourisation.

L is lightness in [0, 100]; a, b are the chroma axes (about -110..110 for sRGB colours).
Colourisation keeps the film's L and predicts (a, b).
"""

from __future__ import annotations

import cv2
import numpy as np

from restore.media.frames import to_unit_float

__all__ = ["rgb_to_lab", "lab_to_rgb", "lightness_to_uint8", "merge_lab"]


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """(H,W,3) RGB, uint8/uint16 or float in [0, 1] -> (H,W,3) float32 Lab.

    Integers are divided by their peak (:func:`restore.media.frames.to_unit_float` with ``divide=True``),
    floats clipped to [0, 1].
    """
    return cv2.cvtColor(to_unit_float(image, divide=True), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(H,W,3) float32 Lab -> (H,W,3) float32 RGB in [0, 1] (out-of-gamut values clipped)."""
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)


def merge_lab(lightness: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """lightness: (H,W) float32 L; chroma: (H,W,2) float32 (a, b) -> (H,W,3) float32 RGB in [0, 1]."""
    lab = np.concatenate([lightness[..., None], chroma], axis=-1).astype(np.float32)
    return lab_to_rgb(lab)


def lightness_to_uint8(lightness: np.ndarray) -> np.ndarray:
    """(H,W) L in [0, 100] -> (H,W) uint8 luma for optical flow and matching."""
    return np.clip(np.rint(lightness * 2.55), 0, 255).astype(np.uint8)
