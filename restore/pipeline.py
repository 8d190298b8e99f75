"""One restore job: probe → scan and plan → decode → stages → encode, streaming.

Memory stays flat: besides the plan (a few numbers per output frame) only the two
source frames of the current pair and the frames in flight are held.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from dain.engines import Interpolator, available_interpolators, create_interpolator
from restore.config import RestoreConfig
from restore.decode import open_reader
from restore.encode import FrameWriter, check_container, output_color
from restore.errors import RestoreError
from restore.frames import array_to_tensor, place_on_canvas, tensor_to_array
from restore.geometry import OutputGeometry, plan_geometry
from restore.probe import MediaInfo, probe
from restore.scan import SourceTimeline, scan_video
from restore.shots import ShotAnalysis, analyse_shots
from restore.timing import FramePlan, plan_frames
from restore.upscale import Upscaler, create_upscaler

__all__ = [
    "JobReport",
    "PreparedJob",
    "check_job",
    "prepare_job",
    "run_job",
    "resolve_device",
    "check_output_path",
]

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class JobReport:
    """What a finished job did."""

    output: Path
    frames: int
    interpolated: int
    fps: Fraction
    duration: float
    seconds: float
    cuts: tuple[int, ...]
    repeats: int
    size: tuple[int, int]


@dataclass(frozen=True)
class PreparedJob:
    """A validated job with its analysis and plan, ready to run."""

    config: RestoreConfig
    media: MediaInfo
    timeline: SourceTimeline
    shots: ShotAnalysis
    plan: FramePlan
    geometry: OutputGeometry
    device: torch.device
    interpolator: Interpolator | None
    upscaler: Upscaler | None


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RestoreError("--device cuda: no CUDA GPU is available here (use --device cpu or auto)")
    if name != "cpu" and not name.startswith("cuda"):
        raise RestoreError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def check_output_path(input_path: Path, output: Path, overwrite: bool) -> None:
    """Refuse an output that would overwrite the input, an existing file, or an unwritable folder."""
    if output.resolve() == input_path.resolve():
        raise RestoreError(f"output is the input file itself: {output}")
    if output.is_dir():
        raise RestoreError(f"output is a folder, not a file: {output}")
    if output.exists() and not overwrite:
        raise RestoreError(f"output exists: {output} (pass --overwrite to replace it)")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise RestoreError(f"output folder does not exist: {folder}")
    probe_file = folder / f".restore-write-test-{os.getpid()}"
    try:
        probe_file.touch()
        probe_file.unlink()
    except OSError:
        raise RestoreError(f"output folder is not writable: {folder}") from None


def check_job(config: RestoreConfig) -> tuple[MediaInfo, torch.device]:
    """Validate the options and probe the input: every fast check, before any decoding."""
    if config.fps is not None and not 0 < config.fps <= 1000:
        raise RestoreError(f"--fps must be above 0 and at most 1000, got {float(config.fps):g}")
    if config.colorize:
        raise RestoreError(
            "--colorize needs a colourisation engine (reference frames via --color-ref or weights via "
            "--colorize-weights), which this version does not ship yet"
        )
    check_container(config.codec, config.output)
    if config.crf is not None and not 0 <= config.crf <= 51:
        raise RestoreError(f"--crf must be between 0 and 51, got {config.crf}")
    if config.interp not in available_interpolators():
        raise RestoreError(
            f"unknown interpolator {config.interp!r}; choose one of: {', '.join(available_interpolators())}"
        )
    device = resolve_device(config.device)
    media = probe(config.input)
    check_output_path(config.input, config.output, config.overwrite)
    try:
        plan_geometry(
            (media.coded_width, media.coded_height),
            scale=config.scale,
            size=config.size,
            fit=config.fit,
            sample_aspect=media.sample_aspect,
        )
    except ValueError as error:
        raise RestoreError(str(error)) from None
    return media, device


def prepare_job(
    config: RestoreConfig,
    on_scan: ProgressCallback | None = None,
    checked: tuple[MediaInfo, torch.device] | None = None,
) -> PreparedJob:
    """Validate options, probe and scan the input and plan the output (nothing is written)."""
    media, device = checked if checked is not None else check_job(config)

    def scan_progress(count: int) -> None:
        if on_scan is not None:
            on_scan(count, 0)

    timeline = scan_video(config.input, progress=scan_progress, media=media)
    if media.container_duration and timeline.end_time < 0.8 * media.container_duration - 0.5:
        raise RestoreError(
            f"{config.input} looks truncated or corrupt: frames decode only up to "
            f"{timeline.end_time:.2f} s of {media.container_duration:.2f} s"
        )
    # the decoded size is authoritative (rotation applied)
    geometry = plan_geometry(
        (timeline.width, timeline.height),
        scale=config.scale,
        size=config.size,
        fit=config.fit,
        sample_aspect=media.sample_aspect,
    )
    shots = analyse_shots(timeline.pair_difference, timeline.pair_histogram_distance, config.shots)
    fps = config.fps or timeline.frame_rate or Fraction(round(timeline.frame_count / timeline.duration))
    plan = plan_frames(
        timeline.timestamps,
        timeline.end_time,
        fps,
        cuts=shots.cuts,
        repeats=shots.repeats,
        max_cadence_repeats=config.max_cadence_repeats,
    )
    if config.interp == "repeat":
        plan = plan.nearest_copies()  # the repeat engine is pure frame selection: no pixels touched
    interpolator = upscaler = None
    try:
        if plan.interpolated_count > 0:
            interpolator = create_interpolator(config.interp, device=device, **config.interp_options)
        # any engine but plain Lanczos also runs at the source size (a 1x cleanup model, say)
        if geometry.inner != (timeline.width, timeline.height) or config.sr != "lanczos":
            upscaler = create_upscaler(config.sr, device=device, **config.sr_options)
    except ValueError as error:
        raise RestoreError(str(error)) from None
    return PreparedJob(config, media, timeline, shots, plan, geometry, device, interpolator, upscaler)


class _SourceWindow:
    """Random access to the few source frames the plan needs now, fed by a streaming reader."""

    def __init__(self, frames: Iterator[np.ndarray]) -> None:
        self._frames = frames
        self._held: dict[int, np.ndarray] = {}
        self._next_index = 0
        self._last: np.ndarray | None = None

    def get(self, index: int, keep_from: int) -> np.ndarray:
        for old in [i for i in self._held if i < keep_from]:
            del self._held[old]
        while index not in self._held:
            try:
                frame = next(self._frames)
            except StopIteration:
                if self._last is None:
                    raise RestoreError("the decoder returned no frames") from None
                return self._last  # fewer frames than the scan saw: hold the last one
            if self._next_index >= keep_from:
                self._held[self._next_index] = frame
            self._last = frame
            self._next_index += 1
        return self._held[index]


def _pair_groups(plan: FramePlan) -> Iterator[tuple[int, int, list[int]]]:
    """Consecutive output frames sharing a source pair: (source, target or -1, output indices)."""
    start = 0
    count = len(plan)
    while start < count:
        source, target = int(plan.sources[start]), int(plan.targets[start])
        stop = start + 1
        if target >= 0:
            while stop < count and plan.sources[stop] == source and plan.targets[stop] == target:
                stop += 1
        yield source, target, list(range(start, stop))
        start = stop


def run_job(job: PreparedJob, on_progress: ProgressCallback | None = None) -> JobReport:
    """Decode, process and encode ``job``; the output appears only when complete."""
    config, media, timeline, plan, geometry = job.config, job.media, job.timeline, job.plan, job.geometry
    device, interpolator, upscaler = job.device, job.interpolator, job.upscaler
    started = time.perf_counter()
    high_bit_depth = media.bit_depth > 8
    out_dtype = np.dtype(np.uint16) if high_bit_depth else np.dtype(np.uint8)
    canvas_w, canvas_h = geometry.canvas
    color = output_color(media.color_space, media.color_primaries, canvas_h)

    reader = open_reader(config.input, media, timeline)
    writer = FrameWriter(
        config.output,
        canvas_w,
        canvas_h,
        plan.fps,
        codec=config.codec,
        crf=config.crf,
        high_bit_depth=high_bit_depth,
        color=color,
        source=config.input,
        audio=media.audio,
        subtitles=media.subtitles,
        start_offset=plan.start_time,
        sample_aspect=geometry.sample_aspect,
    )
    done = 0
    with reader, writer, torch.inference_mode():
        window = _SourceWindow(iter(reader))
        for source, target, indices in _pair_groups(plan):
            first = window.get(source, keep_from=source)
            if target < 0:
                pictures: list[np.ndarray] | torch.Tensor = [first] * len(indices)
            else:
                second = window.get(target, keep_from=source)
                assert interpolator is not None
                pictures = interpolator.interpolate(
                    array_to_tensor(first, device),
                    array_to_tensor(second, device),
                    [float(plan.phases[k]) for k in indices],
                )
            for picture in _finish_frames(pictures, upscaler, geometry, device, out_dtype):
                writer.write(place_on_canvas(picture, geometry.canvas, geometry.offset))
                done += 1
                if on_progress is not None:
                    on_progress(done, len(plan))
    return JobReport(
        output=config.output,
        frames=done,
        interpolated=plan.interpolated_count,
        fps=plan.fps,
        duration=len(plan) / float(plan.fps),
        seconds=time.perf_counter() - started,
        cuts=job.shots.cuts,
        repeats=int(job.shots.repeats.sum()),
        size=geometry.canvas,
    )


def _finish_frames(
    pictures: list[np.ndarray] | torch.Tensor,
    upscaler: Upscaler | None,
    geometry: OutputGeometry,
    device: torch.device,
    out_dtype: np.dtype,
) -> Iterator[np.ndarray]:
    """Upscale (when needed) and convert a group of frames to output arrays.

    ``pictures`` is either an interpolated (N, 3, H, W) tensor or N copies of one source frame,
    which is then resized once.
    """
    size = (geometry.inner[1], geometry.inner[0])
    if not isinstance(pictures, torch.Tensor):
        frame = pictures[0]
        if upscaler is not None:
            frame = tensor_to_array(
                upscaler.upscale(array_to_tensor(frame, device).unsqueeze(0), size)[0], out_dtype
            )
        for _ in pictures:
            yield frame
        return
    if upscaler is not None:
        pictures = upscaler.upscale(pictures, size)
    for frame in pictures:
        yield tensor_to_array(frame, out_dtype)
