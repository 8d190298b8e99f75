"""Scene cuts and repeated frames, found from the analysis pass's pair differences.

Both tests compare a pair's difference with the *local* level of motion (the median
of its neighbours), so they adapt to quiet and busy passages alike:

- a **cut** lies between frames i and i+1 when their difference stands far above
  its neighbours' (``cut_ratio``), above an absolute floor and well above both
  adjacent pairs (``cut_isolation``: fast motion raises several pairs, a cut one),
  or when the colour histograms change a lot;
- frame i+1 **repeats** frame i (telecine duplicate, animation on twos, hand-cranked
  hold) when their difference is at the compression-noise level: far below its
  neighbours' (``duplicate_ratio``) and under ``duplicate_max``, or under ``duplicate_floor``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ShotSettings", "ShotAnalysis", "analyse_shots"]


@dataclass(frozen=True)
class ShotSettings:
    """Thresholds of cut and repeat detection (differences on 0..255 thumbnails)."""

    detect_cuts: bool = True
    detect_duplicates: bool = True
    window: int = 6
    cut_ratio: float = 3.0
    cut_min_difference: float = 12.0
    cut_histogram_distance: float = 0.4
    cut_isolation: float = 1.8
    duplicate_ratio: float = 0.3
    duplicate_max: float = 2.0
    duplicate_floor: float = 0.15


@dataclass(frozen=True)
class ShotAnalysis:
    """cuts: sorted i with a cut between frames i and i+1. repeats: (N,) bool, frame i repeats i-1."""

    cuts: tuple[int, ...]
    repeats: np.ndarray

    @property
    def distinct_count(self) -> int:
        return int((~self.repeats).sum())


def _neighbour_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of values[i-window .. i+window] without values[i] itself, for every i."""
    medians = np.empty_like(values)
    for i in range(values.shape[0]):
        lo, hi = max(0, i - window), min(values.shape[0], i + window + 1)
        neighbours = np.concatenate([values[lo:i], values[i + 1 : hi]])
        medians[i] = np.median(neighbours) if neighbours.size else values[i]
    return medians


def _adjacent_motion(difference: np.ndarray, is_repeat: np.ndarray, step: int) -> np.ndarray:
    """For each pair, the difference of the nearest non-repeat pair in direction ``step`` (0 if none)."""
    result = np.zeros_like(difference)
    last = 0.0
    order = range(difference.shape[0]) if step < 0 else range(difference.shape[0] - 1, -1, -1)
    for i in order:
        result[i] = last
        if not is_repeat[i]:
            last = difference[i]
    return result


def analyse_shots(
    pair_difference: np.ndarray,
    pair_histogram_distance: np.ndarray,
    settings: ShotSettings | None = None,
) -> ShotAnalysis:
    """Find cuts and repeated frames from the (N-1,) pair measures of N frames."""
    settings = settings or ShotSettings()
    difference = np.asarray(pair_difference, dtype=np.float64)
    histogram = np.asarray(pair_histogram_distance, dtype=np.float64)
    pairs = difference.shape[0]
    repeats = np.zeros(pairs + 1, dtype=bool)
    if pairs == 0:
        return ShotAnalysis(cuts=(), repeats=repeats)
    local = _neighbour_median(difference, settings.window)

    is_repeat = np.zeros(pairs, dtype=bool)
    if settings.detect_duplicates:
        is_repeat = (difference <= settings.duplicate_floor) | (
            (difference <= settings.duplicate_ratio * local) & (difference <= settings.duplicate_max)
        )
    repeats[1:] = is_repeat

    cuts: tuple[int, ...] = ()
    if settings.detect_cuts:
        # Repeats would drag the local level down and make ordinary motion look like a cut.
        moving = np.where(is_repeat, np.nan, difference)
        filled = np.where(np.isnan(moving), np.nanmedian(moving) if np.any(~is_repeat) else 0.0, moving)
        local_motion = _neighbour_median(filled, settings.window)
        adjacent = np.maximum(
            _adjacent_motion(difference, is_repeat, -1), _adjacent_motion(difference, is_repeat, 1)
        )
        is_cut = (
            (difference >= settings.cut_ratio * local_motion)
            & (difference >= settings.cut_min_difference)
            & (difference >= settings.cut_isolation * adjacent)
        ) | (histogram >= settings.cut_histogram_distance)
        is_cut &= ~is_repeat
        cuts = tuple(int(i) for i in np.flatnonzero(is_cut))
    return ShotAnalysis(cuts=cuts, repeats=repeats)
