"""CIE Lab (D65, sRGB primaries and transfer curve) conversions for colourisation.

L is lightness in [0, 100]; a, b are the chroma axes (about -110..110 for sRGB colours).
Colourisation keeps the film's L and predicts (a, b).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["to_unit_float", "from_unit_float", "rgb_to_lab", "lab_to_rgb", "lightness_to_uint8", "merge_lab"]


def to_unit_float(image: np.ndarray) -> np.ndarray:
    """(H,W,3) uint8/uint16/float RGB -> float32 in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def from_unit_float(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float RGB in [0, 1] -> ``dtype`` (uint8 or uint16), rounded and clipped."""
    peak = 65535.0 if np.dtype(dtype) == np.uint16 else 255.0
    return np.clip(np.rint(image * peak), 0, peak).astype(dtype)


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """(H,W,3) RGB (any dtype accepted by :func:`to_unit_float`) -> (H,W,3) float32 Lab."""
    return cv2.cvtColor(to_unit_float(image), cv2.COLOR_RGB2Lab)


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
