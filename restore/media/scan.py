"""The analysis pass: exact timestamps of every frame and cheap pair differences.

One FFmpeg decode of the video stream, scaled down to a thumbnail, with the
``showinfo`` filter (after the scaler, so its checksums cost nothing) reporting each
frame's ``pts``, exact in the stream's time base. The decoded size comes from the
probe, with rotation metadata applied the way FFmpeg's decoder applies it. Only the
previous thumbnail is kept, so memory does not grow with the film's length beyond a few
numbers per frame.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from restore.errors import RestoreError
from restore.media.ffmpeg import ffmpeg_exe
from restore.media.probe import MediaInfo, probe
from restore.media.sequence import SequenceInfo, ffmpeg_input

__all__ = ["SourceTimeline", "scan_video", "snap_to_frame_grid", "THUMBNAIL_SIZE"]

THUMBNAIL_SIZE = (96, 54)  # (width, height) of the analysis thumbnails
_HIST_BINS = 16

_CONFIG_RE = re.compile(r"config in time_base: (\d+)/(\d+), frame_rate: (\d+)/(\d+)")
_FRAME_RE = re.compile(r"\bn:\s*(\d+) pts:\s*(-?\d+) pts_time:\S+\s+duration:\s*(-?\d+)")


@dataclass(frozen=True)
class SourceTimeline:
    """Facts of the decoded video stream, frame by frame.

    timestamps: (N,) float64 seconds, presentation time of each decoded frame, increasing.
    end_time: seconds at which the last frame stops being shown.
    pair_difference: (N-1,) mean absolute difference of consecutive thumbnails, 0..255.
    pair_histogram_distance: (N-1,) half L1 distance of their colour histograms, 0..1.
    width, height: decoded frame size in pixels, rotation applied.
    """

    timestamps: np.ndarray
    end_time: float
    pair_difference: np.ndarray
    pair_histogram_distance: np.ndarray
    width: int
    height: int
    pix_fmt: str
    frame_rate: Fraction | None
    source_filter: str = ""  # FFmpeg filters before everything else (field analysis: IVTC, bwdif)

    @property
    def frame_count(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def duration(self) -> float:
        return float(self.end_time - self.timestamps[0]) if self.frame_count else 0.0


def snap_to_frame_grid(
    timestamps: np.ndarray, rate: Fraction | None, tolerance: float = 0.0015
) -> np.ndarray:
    """Put timestamps that sit within ``tolerance`` s of the nominal frame grid exactly on it.

    Containers round time (Matroska to 1 ms), so a 24 fps film stored there has frames at
    41 or 42 ms steps; planning on those would ask for needless tiny interpolation phases.
    Frames far from the grid (true variable frame rate) keep their own times.
    """
    if rate is None or rate <= 0 or timestamps.size == 0:
        return timestamps
    period = float(1 / rate)
    t0 = float(timestamps[0])
    slots = np.round((timestamps - t0) / period)
    grid = t0 + slots * period
    on_grid = np.abs(grid - timestamps) <= tolerance
    snapped = np.where(on_grid, grid, timestamps)
    if np.all(np.diff(snapped) > 0):
        return snapped
    return timestamps


def _normalised(thumbnail: np.ndarray) -> tuple[np.ndarray, float]:
    """(standardised (h,w,3) float32, its scale): each channel to zero mean and unit spread.

    Flicker, exposure drift and fades change a frame's gain and offset, not its picture; a pair
    measure is the smaller of the plain one and the one on standardised thumbnails, so a flickering
    frame is not taken for a cut (a bedroom clip under the damage generator's flicker: 16 false cuts
    in 200 frames before, none after) while every other decision stays as it was. The scale (mean
    spread of the channels, at least 4 grey levels) brings differences back to 0..255 units.
    """
    pixels = thumbnail.reshape(-1, 3).astype(np.float32)
    mean, spread = pixels.mean(axis=0), np.maximum(pixels.std(axis=0), 4.0)
    return ((pixels - mean) / spread).reshape(thumbnail.shape), float(spread.mean())


def _channel_histograms(bins: np.ndarray) -> np.ndarray:
    """(P,3) bin indices in [0, _HIST_BINS) -> the three channels' histograms, each summing to 1."""
    counts = [np.bincount(bins[:, c], minlength=_HIST_BINS) for c in range(3)]
    return np.concatenate(counts).astype(np.float64) / bins.shape[0]


def _histogram(thumbnail: np.ndarray) -> np.ndarray:
    """Per-channel histograms of a uint8 thumbnail."""
    return _channel_histograms(thumbnail.reshape(-1, 3) // (256 // _HIST_BINS))


def _standardised_histogram(standardised: np.ndarray) -> np.ndarray:
    """Per-channel histograms of a standardised thumbnail over ±2.5 spreads."""
    clipped = np.clip(standardised.reshape(-1, 3), -2.5, 2.4999)
    return _channel_histograms(((clipped + 2.5) * (_HIST_BINS / 5.0)).astype(np.int64))


def _pair_measures(
    now: tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray],
    before: tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray],
) -> tuple[float, float]:
    """(difference 0..255, histogram distance 0..1) of two frames' (thumbnail, standardised, scale,
    histogram, standardised histogram): each the smaller of its plain and standardised form."""
    thumbnail, standardised, scale, hist, standard_hist = now
    thumbnail_b, standardised_b, scale_b, hist_b, standard_hist_b = before
    plain = float(np.abs(thumbnail.astype(np.int16) - thumbnail_b.astype(np.int16)).mean())
    steady = float(np.abs(standardised - standardised_b).mean()) * 0.5 * (scale + scale_b)
    plain_hist = 0.5 * float(np.abs(hist - hist_b).sum()) / 3.0
    steady_hist = 0.5 * float(np.abs(standard_hist - standard_hist_b).sum()) / 3.0
    return min(plain, steady), min(plain_hist, steady_hist)


def scan_video(
    path: str | Path,
    progress: Callable[[int], None] | None = None,
    media: MediaInfo | None = None,
    source_filter: str = "",
) -> SourceTimeline:
    """Decode ``path`` once at thumbnail size and return its :class:`SourceTimeline`.

    media: the file's probe result; a job passes the one it made (``restore.jobs.prepare``), so the
    file is probed once. Without it (a quick look from a script or test) the file is probed here.
    source_filter: FFmpeg filters applied first (:mod:`restore.media.fields`); the timeline is then
    that of the filtered frames (their count, timestamps and rate), and the decoder applies the same.
    """
    media = media or probe(path)
    width, height = THUMBNAIL_SIZE
    frame_bytes = width * height * 3
    first = f"{source_filter}," if source_filter else ""
    command = [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "info",
        *ffmpeg_input(media, path), "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"{first}scale={width}:{height}:flags=area,showinfo",
        "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    frame_lines: list[tuple[int, int]] = []
    config: list[tuple[int, int, int, int]] = []
    errors: list[str] = []

    def read_report() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace")
            if "Parsed_showinfo" in line:
                if match := _FRAME_RE.search(line):
                    _, pts, duration = match.groups()
                    frame_lines.append((int(pts), int(duration)))
                elif match := _CONFIG_RE.search(line):
                    base_num, base_den, rate_num, rate_den = (int(g) for g in match.groups())
                    config.append((base_num, base_den, rate_num, rate_den))
            elif "rror" in line or "nvalid" in line or "partial" in line:
                errors.append(line.strip())

    reader = threading.Thread(target=read_report, daemon=True)
    reader.start()
    differences: list[float] = []
    histogram_distances: list[float] = []
    previous: tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray] | None = None
    count = 0
    assert process.stdout is not None
    while True:
        data = process.stdout.read(frame_bytes)
        if len(data) < frame_bytes:
            break
        thumbnail = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        standardised, scale = _normalised(thumbnail)
        measures = (
            thumbnail,
            standardised,
            scale,
            _histogram(thumbnail),
            _standardised_histogram(standardised),
        )
        if previous is not None:
            difference, distance = _pair_measures(measures, previous)
            differences.append(difference)
            histogram_distances.append(distance)
        previous = measures
        count += 1
        if progress is not None:
            progress(count)
    process.wait()
    reader.join()

    if count == 0 or not frame_lines:
        detail = f" ({errors[-1]})" if errors else ""
        raise RestoreError(f"no video frame could be decoded from {path}{detail}")
    if isinstance(media, SequenceInfo) and count < len(media.files):
        detail = f" ({errors[-1]})" if errors else ""
        raise RestoreError(f"cannot decode {media.files[count]}{detail}")
    count = min(count, len(frame_lines))
    frame_lines = frame_lines[:count]
    tb_num, tb_den, rate_num, rate_den = config[0] if config else (1, 1000, 0, 1)
    time_base = Fraction(tb_num, tb_den)
    timestamps = np.array([float(pts * time_base) for pts, *_ in frame_lines], dtype=np.float64)
    # Decoders can emit equal or slightly decreasing pts on broken files: keep time moving forward.
    for i in range(1, count):
        if timestamps[i] <= timestamps[i - 1]:
            timestamps[i] = timestamps[i - 1] + 1e-6
    frame_rate = Fraction(rate_num, rate_den) if rate_num > 0 and rate_den > 0 else None
    timestamps = snap_to_frame_grid(timestamps, frame_rate)
    if isinstance(media, SequenceInfo) and count == len(media.numbers):  # a gap keeps its time
        numbers = np.asarray(media.numbers, dtype=np.float64)
        timestamps = (numbers - numbers[0]) / float(media.rate)
        frame_rate = media.rate
    last_duration = float(frame_lines[-1][1] * time_base)
    if last_duration <= 0:
        if count > 1:
            last_duration = float(np.median(np.diff(timestamps)))
        elif frame_rate:
            last_duration = float(1 / frame_rate)
        else:
            last_duration = 1 / 25
    if frame_rate is not None and abs(last_duration - float(1 / frame_rate)) <= 0.0015:
        last_duration = float(1 / frame_rate)
    frame_width, frame_height = media.coded_width, media.coded_height
    if round(abs(media.rotation)) % 180 == 90:
        frame_width, frame_height = frame_height, frame_width
    return SourceTimeline(
        timestamps=timestamps,
        end_time=float(timestamps[-1] + last_duration),
        pair_difference=np.asarray(differences[: count - 1], dtype=np.float64),
        pair_histogram_distance=np.asarray(histogram_distances[: count - 1], dtype=np.float64),
        width=frame_width,
        height=frame_height,
        pix_fmt=media.pix_fmt,
        frame_rate=frame_rate,
        source_filter=source_filter,
    )
