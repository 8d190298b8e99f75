"""Scoring colourisation on colour clips made grey: chroma error, flicker, and the two baselines.

- chroma error: Euclidean distance in the (a, b) plane of CIE Lab per pixel, averaged over all frames
  of a shot after its first (the first is the reference);
- flicker: mean |Δa| + |Δb| between consecutive frames over the pixels where the *original's* colour
  does not change (|Δa| + |Δb| of the original below ``STILL_CHROMA`` and |ΔL| below ``STILL_LIGHTNESS``);
  the same pixels scored on the original give its own flicker, the bar;
- still-region flicker: the same on the pixels where the original's colour does not change at all
  (both below ``STEADY`` = 0.5, mostly areas the codec copied): there the original's own flicker is about
  0.01–0.03 and anything above it is the colouriser's;
- shot start: the chroma error of a shot's first coloured frames against that of its tenth or so, the
  reference taken ``gap`` frames *before* the coloured part (so no coloured frame is the reference and the
  later frames are the farther ones): above 1 the shot starts worse than it goes on (a flash that settles);
- baselines: *static copy* (the reference's a, b at the same pixel) and *naive propagation* (a, b carried
  frame to frame along OpenCV DIS flow, never re-anchored).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dain.flow import FlowSettings, estimate_bidirectional_flow, warp
from restore.media.ffmpeg import ffmpeg_exe
from restore.stages.colorize.lab import lightness_to_uint8, rgb_to_lab
from restore.stages.colorize.reference import ColorReference, ReferenceColorizer, ReferenceSettings

__all__ = [
    "STILL_CHROMA",
    "STILL_LIGHTNESS",
    "ClipScore",
    "load_clip",
    "split_shots",
    "chroma_error",
    "flicker",
    "still_flicker",
    "STEADY",
    "shot_start_errors",
    "shot_start_change",
    "static_copy",
    "naive_propagation",
    "reference_colorize",
    "score_clip",
]

STILL_CHROMA = 2.0
STILL_LIGHTNESS = 2.0
STEADY = 0.5
ShotColorizer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def load_clip(path: Path, width: int, height: int, seconds: float | None = None) -> np.ndarray:
    """Decode ``path`` resized to width×height as (N,H,W,3) uint8 RGB (small clips only)."""
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path)]
    if seconds is not None:
        command += ["-t", f"{seconds}"]
    command += ["-vf", f"scale={width}:{height}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3).copy()


def split_shots(lab: np.ndarray, ratio: float = 4.0, floor: float = 10.0) -> list[tuple[int, int]]:
    """[start, stop) frame ranges of the shots of (N,H,W,3) Lab frames: a cut where the mean |ΔL|
    between neighbours exceeds ``floor`` and ``ratio`` × the clip's median."""
    differences = np.abs(np.diff(lab[..., 0], axis=0)).mean(axis=(1, 2))
    level = float(np.median(differences)) if differences.size else 0.0
    cuts = [i + 1 for i, value in enumerate(differences) if value > floor and value > ratio * level]
    bounds = [0, *cuts, lab.shape[0]]
    return [(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True) if stop > start]


def chroma_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean Euclidean (a, b) distance; predicted, truth: (..., 2)."""
    return float(np.sqrt(((predicted - truth) ** 2).sum(axis=-1)).mean())


def flicker(
    chroma: np.ndarray,
    truth_lab: np.ndarray,
    still_chroma: float = STILL_CHROMA,
    still_lightness: float = STILL_LIGHTNESS,
) -> tuple[float, float]:
    """(ours, original's) mean |Δa|+|Δb| between consecutive frames where the original's colour is still.

    chroma: (N,H,W,2) predicted; truth_lab: (N,H,W,3) original Lab; a pixel pair is still where the
    original's |Δa|+|Δb| < ``still_chroma`` and |ΔL| < ``still_lightness``.
    """
    truth_change = np.abs(np.diff(truth_lab[..., 1:], axis=0)).sum(axis=-1)
    still = (truth_change < still_chroma) & (np.abs(np.diff(truth_lab[..., 0], axis=0)) < still_lightness)
    if not still.any():
        return 0.0, 0.0
    ours = np.abs(np.diff(chroma, axis=0)).sum(axis=-1)
    return float(ours[still].mean()), float(truth_change[still].mean())


def still_flicker(chroma: np.ndarray, truth_lab: np.ndarray) -> tuple[float, float]:
    """(ours, original's) :func:`flicker` where the original's colour does not change (|Δa|+|Δb| and |ΔL|
    of the original below :data:`STEADY`). chroma: (N,H,W,2) predicted; truth_lab: (N,H,W,3) original Lab."""
    return flicker(chroma, truth_lab, STEADY, STEADY)


def shot_start_errors(
    lab: np.ndarray,
    shots: Sequence[tuple[int, int]],
    settings: ReferenceSettings | None = None,
    gap: int = 30,
    head: int = 5,
    later: tuple[int, int] = (8, 13),
) -> tuple[float, float, int]:
    """(head error, later error, shots used) of the reference engine at shot starts.

    For every shot of (N,H,W,3) Lab frames with at least ``gap + later[1]`` frames, its first frame is the
    reference and frames ``gap`` on are coloured as a new shot; the mean chroma error of coloured frames
    ``[0, head)`` and of ``[later[0], later[1])`` is pooled over those shots (0, 0, 0 when none is long
    enough). The later frames are farther from the reference, so without a start-up flash head ≤ later.
    """
    heads, laters = [], []
    for start, stop in shots:
        if stop - start < gap + later[1]:
            continue
        reference = ColorReference(np.ascontiguousarray(lab[start, ..., 0]), lab[start, ..., 1:])
        colorizer = ReferenceColorizer([reference], settings)
        frames = lab[start + gap : start + gap + later[1]]
        chroma = np.stack([colorizer.colorize(np.ascontiguousarray(frame[..., 0])) for frame in frames])
        heads.append(chroma_error(chroma[:head], frames[:head, ..., 1:]))
        laters.append(chroma_error(chroma[later[0] :], frames[later[0] :, ..., 1:]))
    if not heads:
        return 0.0, 0.0, 0
    return float(np.mean(heads)), float(np.mean(laters)), len(heads)


def shot_start_change(chroma: np.ndarray, later: tuple[int, int] = (8, 13)) -> tuple[float, float]:
    """(first, later) mean |Δa|+|Δb| of a shot's output between frames 0 and 1, and between consecutive
    frames from ``later[0]`` to ``later[1]``: a truth-free view of a start-up flash (a first frame that the
    next ones repaint). chroma: (N,H,W,2), N ≥ later[1]."""
    change = np.abs(np.diff(chroma, axis=0)).sum(axis=-1).mean(axis=(1, 2))
    return float(change[0]), float(change[later[0] : later[1] - 1].mean())


def static_copy(lightness: np.ndarray, reference_chroma: np.ndarray) -> np.ndarray:
    """Baseline: the reference's (a, b) at every frame. lightness: (N,H,W) -> (N,H,W,2)."""
    return np.broadcast_to(reference_chroma, (*lightness.shape, 2)).copy()


def naive_propagation(lightness: np.ndarray, reference_chroma: np.ndarray) -> np.ndarray:
    """Baseline: (a, b) carried frame to frame along DIS flow (frame → previous), never re-anchored."""
    settings = FlowSettings()
    out = np.empty((*lightness.shape, 2), np.float32)
    out[0] = reference_chroma
    previous_luma = lightness_to_uint8(lightness[0])
    for index in range(1, lightness.shape[0]):
        luma = lightness_to_uint8(lightness[index])
        flow_to_previous, _ = estimate_bidirectional_flow(luma, previous_luma, settings)
        out[index] = warp(out[index - 1], flow_to_previous)
        previous_luma = luma
    return out


def reference_colorize(settings: ReferenceSettings | None = None) -> ShotColorizer:
    """Ours, as a shot colouriser: the first frame's true colour is the only reference."""

    def run(lightness: np.ndarray, reference_chroma: np.ndarray) -> np.ndarray:
        colorizer = ReferenceColorizer([ColorReference(lightness[0], reference_chroma)], settings)
        return np.stack([colorizer.colorize(frame) for frame in lightness])

    return run


@dataclass(frozen=True)
class ClipScore:
    """Chroma errors and flicker of one clip for each method (name -> value)."""

    frames: int
    shots: int
    error: dict[str, float]
    flicker: dict[str, float]
    original_flicker: float
    still_flicker: dict[str, float]
    original_still_flicker: float


def score_clip(
    rgb: np.ndarray, methods: dict[str, ShotColorizer], shots: Sequence[tuple[int, int]] | None = None
) -> ClipScore:
    """Make (N,H,W,3) RGB grey, colourise every shot from its first frame with each method, and score."""
    lab = np.stack([rgb_to_lab(frame) for frame in rgb])
    shots = list(shots) if shots is not None else split_shots(lab)
    errors: dict[str, list[float]] = {name: [] for name in methods}
    weights: list[int] = []
    flick: dict[str, list[float]] = {name: [] for name in methods}
    steady: dict[str, list[float]] = {name: [] for name in methods}
    original: list[float] = []
    original_steady: list[float] = []
    for start, stop in shots:
        if stop - start < 2:
            continue
        truth = lab[start:stop]
        weights.append(stop - start - 1)
        for name, method in methods.items():
            chroma = method(truth[..., 0], truth[0, ..., 1:])
            errors[name].append(chroma_error(chroma[1:], truth[1:, ..., 1:]))
            ours, theirs = flicker(chroma, truth)
            flick[name].append(ours)
            ours_steady, theirs_steady = still_flicker(chroma, truth)
            steady[name].append(ours_steady)
        original.append(theirs)
        original_steady.append(theirs_steady)
    w = np.asarray(weights, np.float64)
    return ClipScore(
        frames=int(rgb.shape[0]),
        shots=len(weights),
        error={name: float(np.average(values, weights=w)) for name, values in errors.items()},
        flicker={name: float(np.average(values, weights=w)) for name, values in flick.items()},
        original_flicker=float(np.average(original, weights=w)),
        still_flicker={name: float(np.average(values, weights=w)) for name, values in steady.items()},
        original_still_flicker=float(np.average(original_steady, weights=w)),
    )
