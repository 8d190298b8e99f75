"""Grain-aware, motion-compensated temporal denoising.

Each neighbour (up to ±2 frames), warped onto the frame, is averaged in with a weight that falls off
where the local (5×5) mean squared difference exceeds what the noise explains,
``w = valid · exp(-max(d − 2σ², 0) / (strength · σ)² / 2)`` (non-local-means weighting in time):
where motion compensation failed the neighbour gets no say, so moving detail is not smeared.
``keep_grain`` in [0, 1] re-adds that fraction of the removed component: the natural texture of film.
``noise_floor`` leaves alone the noise every digital transfer carries (sensor and compression noise,
a grey level or so): a frame whose noise is at or under the floor is returned as it is, and above it
the fraction ``(floor / σ)²`` of the removed component is added back (at least ``keep_grain``), so the
denoiser fades in as the noise rises above the floor instead of switching on.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["estimate_noise", "temporal_denoise"]


def estimate_noise(luma_now: np.ndarray, luma_ref_warped: np.ndarray, valid: np.ndarray) -> float:
    """Noise standard deviation of one frame (intensity units) from a motion-compensated difference.

    luma_now, luma_ref_warped: (H,W) or (H,W,C) float32; valid: (H,W) float32. 1.4826·median|difference|
    / √2 over valid pixels (robust to dust and flow errors), on every ``step``-th row and column (a
    subsample is plenty for a median; ``step`` keeps it near 60 000 pixels). Returns 0.0 when no
    pixel is valid.
    """
    step = max(1, int(np.sqrt(valid.size / 60_000)))
    ok = valid[::step, ::step] > 0.5
    if ok.sum() < 16:
        return 0.0
    difference = np.abs(luma_now[::step, ::step] - luma_ref_warped[::step, ::step])[ok]
    return float(1.4826 * np.median(difference) / np.sqrt(2.0))


def temporal_denoise(
    image: np.ndarray,
    neighbours: list[tuple[np.ndarray, np.ndarray]],
    noise_sigma: float,
    strength: float = 1.0,
    keep_grain: float = 0.0,
    spatial: float = 1.0,
    noise_floor: float = 0.0,
) -> np.ndarray:
    """Denoise one frame with its motion-compensated neighbours.

    image: (H,W,3) float32; neighbours: (warped (H,W,3) float32, valid (H,W) float32) pairs;
    noise_sigma: per-pixel noise standard deviation (intensity units); strength: scales the weighting
    bandwidth (0 = off); keep_grain: fraction of the removed component added back; spatial: strength
    of the final bilateral filter on what temporal averaging left (0 = off); noise_floor: noise
    standard deviation (intensity units) that is left alone.
    Returns a new (H,W,3) float32 image.
    """
    if strength <= 0 or noise_sigma <= noise_floor or noise_sigma <= 0 or not neighbours:
        return image.copy()
    keep_grain = max(keep_grain, (noise_floor / noise_sigma) ** 2)
    total = image.copy()
    weight_sum = np.ones(image.shape[:2], np.float32)
    variance = noise_sigma * noise_sigma
    bandwidth = (strength * noise_sigma) ** 2 * 2.0
    channel_mean = np.full((1, image.shape[2]), 1.0 / image.shape[2], np.float32)
    for warped, valid in neighbours:
        difference = cv2.subtract(image, warped)
        squared = cv2.transform(cv2.multiply(difference, difference), channel_mean)  # mean over channels
        distance = cv2.boxFilter(squared.reshape(image.shape[:2]), -1, (5, 5))
        excess = cv2.max(cv2.subtract(distance, 2.0 * variance), 0.0)
        weight = cv2.multiply(valid, np.exp(excess * np.float32(-1.0 / bandwidth)))
        total += warped * weight[..., None]
        weight_sum += weight
    denoised = total / weight_sum[..., None]
    # what temporal averaging left (σ/√(1+Σw)) goes to a light edge-preserving spatial filter
    residual_sigma = noise_sigma / np.sqrt(float(np.median(weight_sum)))
    if spatial > 0 and residual_sigma > 0:
        denoised = cv2.bilateralFilter(denoised, 5, float(spatial * 3.0 * residual_sigma), 1.5)
    if keep_grain > 0:
        denoised += keep_grain * (image - denoised)
    return denoised
