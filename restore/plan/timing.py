"""The frame-rate planner: source timestamps + target rate -> output timeline.

Pure data in, pure data out. Each output frame ``k`` sits at ``t0 + k / fps`` and is
either a copy of a source frame or the pair (i, j) of *distinct* source frames at a
phase ``t`` in (0, 1).

Timing model
------------
Each distinct image gets a *motion time* ``m`` (when its content is "true"):

- normally its own timestamp, so variable-frame-rate sources keep their timing;
- within a run of frames with cadence repeats (telecine duplicates, animation on
  twos or threes: at most ``max_cadence_repeats`` repeats in a row) the distinct
  images are spread evenly over the run, in spans of at most ``regularise_span``
  images, so motion advances evenly instead of stalling on every duplicate;
- a longer repeat is a real **hold**: the image stays still until its last repeat
  and only then moves on to the next image.

Between two consecutive distinct images the phase runs linearly from 0 to 1. A
scene cut is never interpolated across: the nearer image is used. Output duration
is ``round(duration * fps)`` frames, so it matches the input within one output frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

__all__ = [
    "PlannedFrame",
    "FramePlan",
    "plan_frames",
    "parse_frame_rate",
    "source_frame_rate",
    "STANDARD_RATES",
]

#: The rates a variable-frame-rate source's average is snapped to when within 1 %.
STANDARD_RATES = tuple(
    Fraction(n, d)
    for n, d in ((24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1), (50, 1), (60000, 1001), (60, 1))
)

PHASE_EPSILON = 1e-3  # phases closer than this to 0 or 1 are copies


def parse_frame_rate(value: str | float | Fraction) -> Fraction:
    """``"60"``, ``"59.94"``, ``"30000/1001"`` -> an exact rate (NTSC decimals become /1001)."""
    if isinstance(value, Fraction):
        rate = value
    else:
        text = str(value).strip()
        try:
            if "/" in text:
                numerator, denominator = text.split("/", 1)
                rate = Fraction(int(numerator), int(denominator))
            else:
                rate = Fraction(text).limit_denominator(1001)
        except (ValueError, ZeroDivisionError) as error:
            raise ValueError(f"--fps: not a frame rate: {value!r}") from error
        for nominal in (24, 30, 48, 60, 120, 240):
            ntsc = Fraction(nominal * 1000, 1001)
            if abs(float(rate) - float(ntsc)) < 0.006 and rate != nominal:
                rate = ntsc
    if rate <= 0 or rate > 1000:
        raise ValueError(f"--fps must be above 0 and at most 1000, got {value}")
    return rate


@dataclass(frozen=True)
class PlannedFrame:
    """One output frame: copy ``source`` (``target`` is None) or interpolate source→target at ``phase``."""

    index: int
    time: float
    source: int
    target: int | None
    phase: float

    @property
    def is_copy(self) -> bool:
        return self.target is None


@dataclass(frozen=True)
class FramePlan:
    """The output timeline as arrays (compact for feature-length films).

    times: (M,) float64 seconds from the first source timestamp.
    sources: (M,) int64 source frame index. targets: (M,) int64, -1 for copies.
    phases: (M,) float64 in [0, 1), 0 for copies.
    motion_times: (K,) float64 motion time of each distinct source frame.
    distinct: (K,) int64 indices of the distinct source frames.
    """

    fps: Fraction
    start_time: float
    duration: float
    times: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    phases: np.ndarray
    distinct: np.ndarray
    motion_times: np.ndarray

    def __len__(self) -> int:
        return int(self.sources.shape[0])

    def __iter__(self) -> Iterator[PlannedFrame]:
        for k in range(len(self)):
            yield self[k]

    def __getitem__(self, k: int) -> PlannedFrame:
        target = int(self.targets[k])
        return PlannedFrame(
            index=k,
            time=float(self.times[k]),
            source=int(self.sources[k]),
            target=None if target < 0 else target,
            phase=float(self.phases[k]),
        )

    @property
    def interpolated_count(self) -> int:
        return int((self.targets >= 0).sum())

    def window(self, start: int, stop: int) -> FramePlan:
        """Output frames [start, stop) only (for one segment of a long job)."""
        return replace(
            self,
            times=self.times[start:stop],
            sources=self.sources[start:stop],
            targets=self.targets[start:stop],
            phases=self.phases[start:stop],
        )

    def nearest_copies(self) -> FramePlan:
        """The same timeline with every interpolated frame replaced by the nearer source frame."""
        pairs = self.targets >= 0
        nearer = np.where(pairs & (self.phases >= 0.5), self.targets, self.sources)
        return replace(
            self,
            sources=nearer,
            targets=np.full_like(self.targets, -1),
            phases=np.zeros_like(self.phases),
        )


def _cadence_runs(
    distinct: np.ndarray, repeat_counts: np.ndarray, cut_after: np.ndarray, max_cadence_repeats: int
) -> list[tuple[int, int]]:
    """Split distinct images into runs [a, b] ended by cuts, holds or the end."""
    runs, start = [], 0
    for k in range(distinct.shape[0]):
        if k == distinct.shape[0] - 1 or cut_after[k] or repeat_counts[k] > max_cadence_repeats:
            runs.append((start, k))
            start = k + 1
    return runs


def plan_frames(
    timestamps: Sequence[float] | np.ndarray,
    end_time: float,
    fps: Fraction | float | str,
    cuts: Sequence[int] = (),
    repeats: Sequence[bool] | np.ndarray | None = None,
    max_cadence_repeats: int = 2,
    regularise_span: int = 48,
) -> FramePlan:
    """Plan the output frames.

    timestamps: (N,) presentation times of the source frames in seconds, increasing.
    end_time: when the last source frame stops being shown.
    fps: the output frame rate.
    cuts: frame indices i with a scene cut between source frames i and i+1.
    repeats: (N,) flags, frame i repeats frame i-1 (the first flag is ignored).
    """
    rate = parse_frame_rate(fps) if not isinstance(fps, Fraction) else fps
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    ts = np.asarray(timestamps, dtype=np.float64)
    count = ts.shape[0]
    if count == 0:
        raise ValueError("timestamps: no source frames")
    if np.any(np.diff(ts) <= 0):
        raise ValueError("timestamps must increase strictly")
    if end_time <= ts[-1]:
        raise ValueError("end_time must lie after the last timestamp")
    flags = np.zeros(count, dtype=bool) if repeats is None else np.asarray(repeats, dtype=bool).copy()
    if flags.shape[0] != count:
        raise ValueError("repeats: one flag per source frame expected")
    flags[0] = False

    distinct = np.flatnonzero(~flags)
    next_first = np.append(distinct[1:], count)
    repeat_counts = next_first - distinct - 1
    starts = ts[distinct]
    display_ends = np.append(ts[distinct[1:]], end_time)
    cut_frames = np.zeros(count, dtype=bool)
    for c in cuts:
        if 0 <= c < count - 1:
            cut_frames[c] = True
    # a cut lies between distinct k and k+1 when it falls anywhere in frames d_k .. d_{k+1}-1
    cut_counts = np.concatenate([[0], np.cumsum(cut_frames)])
    cut_after = (cut_counts[next_first] - cut_counts[distinct]) > 0

    motion = starts.copy()
    hold_end = starts.copy()
    is_hold = repeat_counts > max_cadence_repeats
    hold_end[is_hold] = ts[distinct[is_hold] + repeat_counts[is_hold]]
    for a, b in _cadence_runs(distinct, repeat_counts, cut_after, max_cadence_repeats):
        cadence = (repeat_counts[a : b + 1] > 0) & (repeat_counts[a : b + 1] <= max_cadence_repeats)
        if not cadence.any():
            continue
        # where the run's motion ends: the next image's start, or the first repeat of a final hold
        run_end = ts[distinct[b] + 1] if is_hold[b] else display_ends[b]
        chunk_start = a
        while chunk_start <= b:
            chunk_stop = min(b, chunk_start + regularise_span - 1)
            anchor_end = run_end if chunk_stop == b else starts[chunk_stop + 1]
            span = chunk_stop + 1 - chunk_start
            step = (anchor_end - starts[chunk_start]) / span
            motion[chunk_start : chunk_stop + 1] = starts[chunk_start] + step * np.arange(span)
            chunk_start = chunk_stop + 1
        hold_end[a : b + 1] = np.where(is_hold[a : b + 1], hold_end[a : b + 1], motion[a : b + 1])

    t0 = float(ts[0])
    duration = float(end_time - t0)
    frame_count = max(1, round(Fraction(duration).limit_denominator(10**9) * rate))
    ks = np.arange(frame_count, dtype=np.float64)
    out_times = ks * (rate.denominator / rate.numerator)
    absolute = t0 + out_times

    k_index = np.clip(np.searchsorted(motion, absolute + 1e-9, side="right") - 1, 0, distinct.shape[0] - 1)
    sources = distinct[k_index].astype(np.int64)
    targets = np.full(frame_count, -1, dtype=np.int64)
    phases = np.zeros(frame_count, dtype=np.float64)
    has_next = k_index < distinct.shape[0] - 1
    next_index = np.minimum(k_index + 1, distinct.shape[0] - 1)
    moving = has_next & (absolute > hold_end[k_index])
    span = np.where(moving, motion[next_index] - hold_end[k_index], 1.0)
    raw_phase = np.where(moving, (absolute - hold_end[k_index]) / np.maximum(span, 1e-12), 0.0)
    raw_phase = np.clip(raw_phase, 0.0, 1.0)
    across_cut = moving & cut_after[k_index]
    to_next = moving & ((across_cut & (raw_phase >= 0.5)) | (~across_cut & (raw_phase > 1 - PHASE_EPSILON)))
    interpolate = moving & ~across_cut & (raw_phase >= PHASE_EPSILON) & (raw_phase <= 1 - PHASE_EPSILON)
    sources = np.where(to_next, distinct[next_index], sources)
    targets[interpolate] = distinct[next_index][interpolate]
    phases[interpolate] = raw_phase[interpolate]

    return FramePlan(
        fps=rate,
        start_time=t0,
        duration=duration,
        times=out_times,
        sources=sources,
        targets=targets,
        phases=phases,
        distinct=distinct.astype(np.int64),
        motion_times=motion - t0,
    )


def expected_frame_count(duration: float, fps: Fraction) -> int:
    """Output frames for a source of ``duration`` seconds at ``fps``: ``round(duration * fps)``."""
    return max(1, math.floor(duration * float(fps) + 0.5))


def source_frame_rate(
    timestamps: np.ndarray, end_time: float, stream_rate: Fraction | None
) -> tuple[Fraction, str | None]:
    """The output rate when none is asked for, and a note when the source's rate is variable.

    A source whose frame steps are (nine in ten or more) one period of its stream's nominal rate
    keeps that rate. Otherwise (variable frame rate, or no nominal rate) the rate is the average,
    frames over duration, snapped to the nearest of :data:`STANDARD_RATES` when within 1 %, never
    the container's guess (``r_frame_rate``: often 120 or 1000 for a variable-rate MP4).
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if stream_rate is not None and stream_rate > 0:
        steps = np.diff(ts) * float(stream_rate)
        if steps.size == 0 or float(np.mean(np.abs(steps - 1.0) < 0.01)) >= 0.9:
            return stream_rate, None
    duration = float(end_time - ts[0]) if ts.shape[0] else 0.0
    if duration <= 0:
        return Fraction(25), "no usable timestamps: 25 fps assumed"
    average = ts.shape[0] / duration
    nearest = min(STANDARD_RATES, key=lambda rate: abs(float(rate) - average))
    if abs(float(nearest) - average) <= 0.01 * float(nearest):
        rate = nearest
    else:
        rate = Fraction(average).limit_denominator(1001)
    shown = f"{float(rate):.3f}".rstrip("0").rstrip(".")
    return rate, f"variable frame rate: average {average:.3f} fps → {shown} fps"
