"""A documented, seeded film-damage generator, to measure the cleanup steps on clips with known truth.

``degrade_clip(frames, seed)`` applies, in this order, to float RGB frames in [0, 1]:

1. **Flicker** (per frame, screen-fixed): ``out = gain(x, y) * in + offset`` with
   ``gain(x, y) = g_t * (1 + sx_t * (x/W - 0.5) + sy_t * (y/H - 0.5))``, ``g_t ~ 1 + N(0, flicker_gain)``,
   ``offset ~ N(0, flicker_offset)``, ``sx_t, sy_t ~ N(0, flicker_tilt)`` (a slowly varying, not only
   global, brightness drift).
2. **Scratches**: each frame starts a new vertical scratch with probability ``scratch_rate``; it lasts
   10–30 frames at a stable column (a random walk of 0.15 px per frame), is 1–2.5 px wide with soft
   edges, bright (emulsion gone) or dark, blended with opacity 0.35–0.7 over the full height.
3. **Dust and dirt**: ``dust_per_mpx`` one-frame events per megapixel and frame (Poisson); 70 % small
   specks (soft discs of radius 0.8–2.5 px), 30 % blobs (unions of 3–6 discs, up to 7 px across);
   70 % dark dirt (value 0.0–0.15), 30 % bright sparkle (0.85–1.0).
4. **Grain**: Gaussian noise blurred with sigma 0.7 px (film-like clumps), 70 % shared by the three
   channels and 30 % per channel, of standard deviation ``grain``; then clipped to [0, 1].

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives the same damage.
The returned :class:`Damage` keeps the truth: the speck label maps, the scratch columns, the gains.
A speck counts as *injected* (``Damage.visible_specks``) when it changes its pixels by at least 0.08
on average: dark dirt on a black background is no damage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from restore.media.frames import from_unit_float, to_unit_float

__all__ = ["DegradationSettings", "Damage", "degrade_clip"]


@dataclass(frozen=True)
class DegradationSettings:
    """Strength of each kind of damage; 0 turns a kind off. Values are in [0, 1] intensity units."""

    flicker_gain: float = 0.06
    flicker_offset: float = 0.02
    flicker_tilt: float = 0.05
    scratch_rate: float = 0.08
    dust_per_mpx: float = 100.0
    grain: float = 0.03


@dataclass
class Damage:
    """The truth of one degradation.

    speck_labels: per frame, (H,W) int32, 0 = untouched, k = pixels of the k-th speck of that frame.
    visible_specks: per frame, the labels of specks that changed their pixels by >= 0.08 on average.
    scratch_columns: per frame, the centre columns (float pixels) of the scratches on it.
    gains, offsets: per frame, the global flicker gain g_t and offset.
    """

    speck_labels: list[np.ndarray] = field(default_factory=list)
    visible_specks: list[list[int]] = field(default_factory=list)
    scratch_columns: list[list[float]] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)


def _disc_alpha(
    height: int, width: int, cx: float, cy: float, radius: float
) -> tuple[slice, slice, np.ndarray]:
    """Soft disc coverage (1 inside, 1-px linear edge) on a bounding box."""
    x0 = min(width, max(0, int(cx - radius - 2)))
    x1 = max(x0, min(width, int(cx + radius + 3)))
    y0 = min(height, max(0, int(cy - radius - 2)))
    y1 = max(y0, min(height, int(cy + radius + 3)))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    distance = np.hypot(xx - cx, yy - cy)
    return slice(y0, y1), slice(x0, x1), np.clip(radius + 0.5 - distance, 0.0, 1.0)


def degrade_clip(
    frames: list[np.ndarray], seed: int = 0, settings: DegradationSettings = DegradationSettings()
) -> tuple[list[np.ndarray], Damage]:
    """Damage a clip like old film.

    frames: (H,W,3) uint8 RGB (or float32 in [0,1]). Returns the damaged frames (uint8) and the truth.
    """
    rng = np.random.default_rng(seed)
    damage = Damage()
    scratches: list[dict[str, float]] = []
    damaged: list[np.ndarray] = []
    for frame in frames:
        image = to_unit_float(frame, divide=True) if frame.dtype == np.uint8 else frame.astype(np.float32)
        height, width = image.shape[:2]
        # 1. flicker
        gain = 1.0 + rng.normal(0.0, settings.flicker_gain) if settings.flicker_gain else 1.0
        offset = rng.normal(0.0, settings.flicker_offset) if settings.flicker_offset else 0.0
        tilt_x, tilt_y = (
            rng.normal(0.0, settings.flicker_tilt, size=2) if settings.flicker_tilt else (0.0, 0.0)
        )
        xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
        ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
        gain_map = gain * (1.0 + tilt_x * xs + tilt_y * ys)
        image = image * gain_map[..., None] + offset
        damage.gains.append(float(gain))
        damage.offsets.append(float(offset))
        # 2. scratches
        if settings.scratch_rate and rng.random() < settings.scratch_rate:
            scratches.append(
                {
                    "x": float(rng.uniform(8, width - 8)),
                    "left": float(rng.integers(10, 31)),
                    "width": float(rng.uniform(1.0, 2.5)),
                    "value": float(rng.choice([0.95, 0.08])),
                    "opacity": float(rng.uniform(0.35, 0.7)),
                }
            )
        columns = []
        column_x = np.arange(width, dtype=np.float32)
        for scratch in scratches:
            scratch["x"] = float(np.clip(scratch["x"] + rng.normal(0.0, 0.15), 4, width - 5))
            profile = np.clip(scratch["width"] / 2 + 0.5 - np.abs(column_x - scratch["x"]), 0.0, 1.0)
            alpha = (scratch["opacity"] * profile)[None, :, None]
            image = image * (1 - alpha) + scratch["value"] * alpha
            columns.append(scratch["x"])
            scratch["left"] -= 1
        scratches = [s for s in scratches if s["left"] > 0]
        damage.scratch_columns.append(columns)
        # 3. dust
        labels = np.zeros((height, width), dtype=np.int32)
        visible = []
        count = rng.poisson(settings.dust_per_mpx * height * width / 1e6) if settings.dust_per_mpx else 0
        for label in range(1, count + 1):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            if rng.random() < 0.7:
                discs = [(cx, cy, rng.uniform(0.8, 2.5))]
            else:
                discs = [
                    (cx + rng.normal(0, 2.0), cy + rng.normal(0, 2.0), rng.uniform(1.0, 2.5))
                    for _ in range(rng.integers(3, 7))
                ]
            value = rng.uniform(0.0, 0.15) if rng.random() < 0.7 else rng.uniform(0.85, 1.0)
            coverage = np.zeros((height, width), dtype=np.float32)
            for dx, dy, radius in discs:
                rows, cols, alpha = _disc_alpha(height, width, dx, dy, radius)
                coverage[rows, cols] = np.maximum(coverage[rows, cols], alpha)
            inside = coverage > 0.5
            if not inside.any():
                continue
            before = image[inside].copy()
            image = image * (1 - coverage[..., None]) + value * coverage[..., None]
            labels[inside] = label
            if float(np.abs(image[inside] - before).mean()) >= 0.08:
                visible.append(label)
        damage.speck_labels.append(labels)
        damage.visible_specks.append(visible)
        # 4. grain
        if settings.grain:
            shared = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 0.7)
            own = cv2.GaussianBlur(rng.standard_normal((height, width, 3)).astype(np.float32), (0, 0), 0.7)
            noise = 0.7 * shared[..., None] + 0.3 * own
            image = image + noise * (settings.grain / float(noise.std() + 1e-8))
        damaged.append(from_unit_float(image, np.uint8))
    return damaged, damage
