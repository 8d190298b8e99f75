"""One restore job: probe → scan and plan → decode → stages → encode, streaming.

Memory stays flat: besides the plan (a few numbers per output frame) only the two
source frames of the current pair and the frames in flight are held.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dain.engines import available_interpolators, create_interpolator
from restore.config import RestoreConfig
from restore.errors import RestoreError
from restore.jobs.memory import pin_large_allocations_to_mmap
from restore.media.decode import PASSTHROUGH_FORMATS, open_reader
from restore.media.encode import CODECS, FrameWriter, check_container, output_color
from restore.media.probe import MediaInfo, probe
from restore.media.scan import SourceTimeline, scan_video
from restore.plan.geometry import OutputGeometry, plan_geometry
from restore.plan.shots import ShotAnalysis, analyse_shots
from restore.plan.timing import FramePlan, plan_frames
from restore.stages import SourceStage, apply_stages, create_source_stages
from restore.upscale import create_upscaler

if TYPE_CHECKING:  # torch loads only when a job touches pixels
    import torch

    from dain.engines import Interpolator
    from restore.upscale import Upscaler

__all__ = [
    "JobReport",
    "PreparedJob",
    "build_engines",
    "without_engines",
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
    stage_reports: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreparedJob:
    """A validated job with its analysis and plan, ready to run."""

    config: RestoreConfig
    media: MediaInfo
    timeline: SourceTimeline
    shots: ShotAnalysis
    plan: FramePlan
    geometry: OutputGeometry
    device: torch.device | None
    interpolator: Interpolator | None
    upscaler: Upscaler | None
    stages: tuple[SourceStage, ...] = ()

    @property
    def needs_upscaler(self) -> bool:
        """Resizing, or an engine that is not plain Lanczos (a 1x cleanup model runs at the same size)."""
        return (
            self.geometry.inner != (self.timeline.width, self.timeline.height) or self.config.sr != "lanczos"
        )

    @property
    def copies_only(self) -> bool:
        """True when no pixel is changed: frames go from decoder to encoder untouched."""
        return (
            self.plan.interpolated_count == 0
            and not self.needs_upscaler
            and not (self.config.clean or self.config.colorize)
            and self.geometry.canvas == (self.timeline.width, self.timeline.height)
            and self.geometry.offset == (0, 0)
        )

    @property
    def has_engines(self) -> bool:
        """Whether the engines this job needs are built (they are dropped to ship a job to a worker)."""
        return self.copies_only or self.device is not None


def check_device_name(name: str) -> None:
    """Refuse a ``--device`` value that is not auto, cpu, cuda or cuda:N."""
    if name not in ("auto", "cpu") and not name.startswith("cuda"):
        raise RestoreError(f"--device must be auto, cpu or cuda, got {name!r}")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RestoreError("--device cuda: no CUDA GPU is available here (use --device cpu or auto)")
    return torch.device(name)


def check_output_path(input_path: Path, output: Path, overwrite: bool, resume: bool = False) -> None:
    """Refuse an output that would overwrite the input, an existing file, or an unwritable folder."""
    if output.resolve() == input_path.resolve():
        raise RestoreError(f"output is the input file itself: {output}")
    if output.is_dir():
        raise RestoreError(f"output is a folder, not a file: {output}")
    # a segmented job killed after its final rename but before tidying its journal: --resume tidies it
    finishing = resume and output.with_name(f"{output.name}.journal.json").exists()
    if output.exists() and not overwrite and not finishing:
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


def check_job(config: RestoreConfig) -> MediaInfo:
    """Validate the options and probe the input: every fast check, before any decoding."""
    if config.fps is not None and not 0 < config.fps <= 1000:
        raise RestoreError(f"--fps must be above 0 and at most 1000, got {float(config.fps):g}")
    check_container(config.codec, config.output)
    if config.crf is not None and not 0 <= config.crf <= 51:
        raise RestoreError(f"--crf must be between 0 and 51, got {config.crf}")
    if config.interp not in available_interpolators():
        raise RestoreError(
            f"unknown interpolator {config.interp!r}; choose one of: {', '.join(available_interpolators())}"
        )
    check_device_name(config.device)
    media = probe(config.input)
    check_output_path(config.input, config.output, config.overwrite, config.resume)
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
    return media


def prepare_job(
    config: RestoreConfig,
    on_scan: ProgressCallback | None = None,
    checked: MediaInfo | None = None,
) -> PreparedJob:
    """Validate options, probe and scan the input and plan the output (nothing is written)."""
    media = checked if checked is not None else check_job(config)

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
    job = PreparedJob(config, media, timeline, shots, plan, geometry, None, None, None)
    return build_engines(job)


def build_engines(job: PreparedJob) -> PreparedJob:
    """The job with the engines it needs built on its device (nothing for a copy-only job)."""
    if job.has_engines:
        return job
    config = job.config
    device = resolve_device(config.device)
    interpolator = upscaler = None
    try:
        stages = create_source_stages(config, device)
        if job.plan.interpolated_count > 0:
            interpolator = create_interpolator(config.interp, device=device, **config.interp_options)
        if job.needs_upscaler:
            upscaler = create_upscaler(config.sr, device=device, **config.sr_options)
    except ValueError as error:
        raise RestoreError(str(error)) from None
    return dataclasses.replace(
        job, device=device, interpolator=interpolator, upscaler=upscaler, stages=tuple(stages)
    )


def without_engines(job: PreparedJob) -> PreparedJob:
    """The job as plain data (analysis and plan), to ship to another process or machine."""
    return dataclasses.replace(job, device=None, interpolator=None, upscaler=None, stages=())


class _SourceWindow:
    """Random access to the few source frames the plan needs now, fed by a streaming reader."""

    def __init__(self, frames: Iterator[np.ndarray], first_index: int = 0) -> None:
        self._frames = frames
        self._held: dict[int, np.ndarray] = {}
        self._next_index = first_index
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


def _native_passthrough(job: PreparedJob) -> str | None:
    """The source's pixel format when a copy-only job can skip RGB altogether, else None."""
    pix_fmt = job.timeline.pix_fmt
    if (
        job.config.passthrough
        and job.copies_only
        and pix_fmt in PASSTHROUGH_FORMATS
        and job.media.color_range != "pc"
        and not CODECS[job.config.codec].rgb
    ):
        return pix_fmt
    return None


def run_job(
    job: PreparedJob,
    on_progress: ProgressCallback | None = None,
    frame_range: tuple[int, int] | None = None,
    output: Path | None = None,
) -> JobReport:
    """Decode, process and encode ``job``; the output appears only when complete.

    Copy-only jobs (frame-rate change by duplication or decimation, codec change) move the
    source's own YUV planes from decoder to encoder; all others work in RGB.
    ``frame_range`` (start, stop) encodes only those output frames, video only, to ``output``:
    one segment of a long job (see :mod:`restore.jobs.resumable`).
    """
    job = build_engines(job)
    config, media, timeline, plan, geometry = job.config, job.media, job.timeline, job.plan, job.geometry
    segment = frame_range is not None
    if frame_range is not None:
        plan = plan.window(*frame_range)
    first_frame = int(plan.sources[0]) if segment else 0
    started = time.perf_counter()
    pin_large_allocations_to_mmap()
    high_bit_depth = media.bit_depth > 8
    canvas_w, canvas_h = geometry.canvas
    color = output_color(media.color_space, media.color_primaries, canvas_h)
    native = _native_passthrough(job)

    reader = open_reader(config.input, media, timeline, native=native is not None, first_frame=first_frame)
    writer = FrameWriter(
        output or config.output,
        canvas_w,
        canvas_h,
        plan.fps,
        codec=config.codec,
        crf=config.crf,
        high_bit_depth=high_bit_depth,
        color=color,
        source=None if segment else config.input,
        audio=() if segment else media.audio,
        subtitles=() if segment else media.subtitles,
        start_offset=0.0 if segment else plan.start_time,
        sample_aspect=geometry.sample_aspect,
        native_pix_fmt=native,
    )
    with reader, writer:
        images: Iterator[np.ndarray] = iter(reader)
        if job.stages:
            starts = {c + 1 - first_frame for c in job.shots.cuts}
            images = apply_stages(images, starts, list(job.stages))
        window = _SourceWindow(images, first_index=first_frame)
        if job.copies_only:
            done = _copy_frames(plan, window, writer, on_progress)
        else:
            done = _process_frames(job, plan, window, writer, on_progress)
    return JobReport(
        output=output or config.output,
        frames=done,
        interpolated=plan.interpolated_count,
        fps=plan.fps,
        duration=len(plan) / float(plan.fps),
        seconds=time.perf_counter() - started,
        cuts=job.shots.cuts,
        repeats=int(job.shots.repeats.sum()),
        size=geometry.canvas,
        stage_reports=tuple(f"{stage.name}: {stage.report()}" for stage in job.stages),
    )


def _copy_frames(
    plan: FramePlan, window: _SourceWindow, writer: FrameWriter, on_progress: ProgressCallback | None
) -> int:
    """Write the planned source frames as they are."""
    for k in range(len(plan)):
        source = int(plan.sources[k])
        writer.write(window.get(source, keep_from=source))
        if on_progress is not None:
            on_progress(k + 1, len(plan))
    return len(plan)


def _process_frames(
    job: PreparedJob,
    plan: FramePlan,
    window: _SourceWindow,
    writer: FrameWriter,
    on_progress: ProgressCallback | None,
) -> int:
    """Interpolate, upscale and place every planned frame, pair by pair."""
    import torch

    from restore.media.frames import array_to_tensor, place_on_canvas

    geometry, device = job.geometry, job.device
    interpolator, upscaler = job.interpolator, job.upscaler
    out_dtype = np.dtype(np.uint16) if job.media.bit_depth > 8 else np.dtype(np.uint8)
    if device is None:
        device = resolve_device(job.config.device)
    done = 0
    with torch.inference_mode():
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
    return done


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
    import torch

    from restore.media.frames import array_to_tensor, tensor_to_array

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
