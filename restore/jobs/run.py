"""Rendering a prepared job: the frame window and the render loop, decode → stages → engines → encode.

Memory stays flat: besides the plan (a few numbers per output frame) only the two source frames
of the current pair and the frames in flight are held. What to render comes from
:mod:`restore.jobs.prepare`; whether to render it whole or in segments is decided by
:func:`restore.jobs.run_job`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from restore.errors import InputError
from restore.jobs.prepare import PreparedJob, ProgressCallback, build_engines
from restore.media.decode import PASSTHROUGH_FORMATS, open_reader
from restore.media.encode import CODECS, FrameWriter, OutputTags, output_tags
from restore.media.sequence_out import SequenceWriter, is_sequence_output
from restore.plan.geometry import OutputGeometry
from restore.plan.timing import FramePlan
from restore.stages import apply_stages

if TYPE_CHECKING:  # torch loads only when a job touches pixels
    import torch

    from restore.upscale import Upscaler

__all__ = ["JobReport", "render_job", "job_output_tags"]

Frame = TypeVar("Frame")  # a decoded integer array (copy-only jobs) or a unit-float tensor


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


class _SourceWindow(Generic[Frame]):
    """Random access to the few source frames the plan needs now, fed by a streaming reader."""

    def __init__(self, frames: Iterator[Frame], first_index: int = 0) -> None:
        self._frames = frames
        self._held: dict[int, Frame] = {}
        self._next_index = first_index
        self._last: Frame | None = None

    def get(self, index: int, keep_from: int) -> Frame:
        for old in [i for i in self._held if i < keep_from]:
            del self._held[old]
        while index not in self._held:
            try:
                frame = next(self._frames)
            except StopIteration:
                if self._last is None:
                    raise InputError("the decoder returned no frames") from None
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
        and not is_sequence_output(job.config.output)
    ):
        return pix_fmt
    return None


def resize_in_encoder(job: PreparedJob) -> bool:
    """Whether the job's resize is a plain Lanczos-3 that the encoder's swscale does instead.

    Then the frames travel to the encoder at the source's size and one swscale pass resizes them and
    converts them to YUV there: no output-size frame exists in this process (at 4K that saves a
    float32 resize, a rounding and a transpose of 100 MB per frame, and 9/10 of the pipe), and the
    pictures differ from the PyTorch resize by rounding only (58 dB between the two, see
    ``benchmarks/RESULTS.md``). Not for picture-filling geometry (borders, crops), image-sequence
    output or another upscaler.
    """
    from restore.upscale.lanczos import LanczosUpscaler

    geometry = job.geometry
    return (
        isinstance(job.upscaler, LanczosUpscaler)
        and geometry.inner == geometry.canvas
        and geometry.offset == (0, 0)
        and not is_sequence_output(job.config.output)
    )


def job_output_tags(job: PreparedJob) -> OutputTags:
    """The colour tags, start timecode and stream summary of ``job``'s output (whole or joined).

    The source's timecode counts at its stream's rate (before any inverse telecine).
    """
    from restore.media.fields import stream_rate

    tags = output_tags(
        job.config.codec,
        job.config.output,
        job.media,
        source_height=job.timeline.height,
        source_rate=stream_rate(job.media) or job.timeline.frame_rate,
        output_rate=job.plan.fps,
        out_height=job.geometry.canvas[1],
    )
    if is_sequence_output(job.config.output):  # image files: no audio, no timecode to speak of
        return OutputTags(tags.color, None, ())
    return tags


def render_job(
    job: PreparedJob,
    on_progress: ProgressCallback | None = None,
    frame_range: tuple[int, int] | None = None,
    output: Path | None = None,
) -> JobReport:
    """Decode, process and encode ``job`` in one piece; the output appears only when complete.

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
    high_bit_depth = media.bit_depth > 8
    canvas_w, canvas_h = geometry.canvas
    tags = job_output_tags(job)
    native = _native_passthrough(job)
    encoder_resizes = resize_in_encoder(job)

    reader = open_reader(config.input, media, timeline, native=native is not None, first_frame=first_frame)
    to_frames = is_sequence_output(config.output)  # image files; a segment of them is lossless FFV1
    writer: FrameWriter | SequenceWriter
    if to_frames and not segment:
        writer = SequenceWriter(config.output, canvas_w, canvas_h, high_bit_depth, overwrite=config.overwrite)
    else:
        writer = FrameWriter(
            output or config.output,
            canvas_w,
            canvas_h,
            plan.fps,
            codec="ffv1" if to_frames else config.codec,
            crf=config.crf,
            high_bit_depth=high_bit_depth,
            color=tags.color,
            timecode=None if segment else tags.timecode,
            source=None if segment else config.input,
            audio=() if segment else media.audio,
            subtitles=() if segment else media.subtitles,
            start_offset=0.0 if segment else plan.start_time,
            sample_aspect=geometry.sample_aspect,
            native_pix_fmt=native,
            frame_size=(timeline.width, timeline.height) if encoder_resizes else None,
        )
    with reader, writer:
        if job.copies_only:  # frames go from decoder to encoder untouched
            done = _copy_frames(plan, _SourceWindow(iter(reader), first_frame), writer, on_progress)
        else:
            done = _process_frames(
                job,
                plan,
                _unit_float_frames(job, iter(reader), first_frame),
                writer,
                on_progress,
                upscaler=None if encoder_resizes else job.upscaler,
            )
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


def _unit_float_frames(
    job: PreparedJob, images: Iterator[np.ndarray], first_frame: int
) -> _SourceWindow[torch.Tensor]:
    """Decoded pictures converted once to (3,H,W) unit-float tensors on the job's device, through the
    job's stages, behind a window; they stay tensors until :func:`_finish_frames` rounds them."""
    from restore.media.frames import array_to_tensor

    device = job.device
    assert device is not None, "build_engines gives a pixel-processing job its device"
    frames: Iterator[torch.Tensor] = (array_to_tensor(image, device) for image in images)
    if job.stages:
        starts = {c + 1 - first_frame for c in job.shots.cuts}
        frames = apply_stages(frames, starts, list(job.stages))
    return _SourceWindow(frames, first_index=first_frame)


def _copy_frames(
    plan: FramePlan,
    window: _SourceWindow[np.ndarray],
    writer: FrameWriter | SequenceWriter,
    on_progress: ProgressCallback | None,
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
    window: _SourceWindow[torch.Tensor],
    writer: FrameWriter | SequenceWriter,
    on_progress: ProgressCallback | None,
    upscaler: Upscaler | None,
) -> int:
    """Interpolate every planned frame, pair by pair, here; upscale (with ``upscaler``; none: the
    writer takes source-size frames), round, place and write them in a :class:`_Finisher` beside."""
    import torch

    interpolator = job.interpolator
    finisher = _Finisher(job, writer, upscaler, on_progress, total=len(plan))
    with torch.inference_mode(), finisher:
        for source, target, indices in _pair_groups(plan):
            first = window.get(source, keep_from=source)
            if target < 0:
                finisher.submit(first.unsqueeze(0), copies=len(indices))
            else:
                second = window.get(target, keep_from=source)
                assert interpolator is not None
                phases = [float(plan.phases[k]) for k in indices]
                finisher.submit(interpolator.interpolate(first, second, phases))
    return finisher.done


class _Finisher:
    """Upscaling, rounding, placing and writing in a thread of their own, in order, beside the
    interpolation: PyTorch, OpenCV and the pipe release the GIL, so a model upscaler (or the
    rounding and hand-over to the encoder) runs while the next pair is interpolated.

    ``submit(frames, copies)`` queues (N,3,h,w) frames (or one frame written ``copies`` times); at most
    ``depth`` groups wait, after which it blocks. An error of the thread comes back from a later
    ``submit`` or at the end of the ``with`` block; leaving the block on an error drops what waits.
    """

    def __init__(
        self,
        job: PreparedJob,
        writer: FrameWriter | SequenceWriter,
        upscaler: Upscaler | None,
        on_progress: ProgressCallback | None,
        total: int,
        depth: int = 2,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.done = 0
        self._job, self._writer, self._upscaler = job, writer, upscaler
        self._on_progress, self._total, self._depth = on_progress, total, depth
        # placed on the canvas here, unless the frames are final or the writer resizes them
        self._placed = upscaler is not None or job.geometry.resizes
        self._out_dtype = np.dtype(np.uint16) if job.media.bit_depth > 8 else np.dtype(np.uint8)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore-finish")
        self._pending: deque[Future[None]] = deque()

    def submit(self, frames: torch.Tensor, copies: int = 0) -> None:
        self._pending.append(self._pool.submit(self._finish, frames, copies))
        while len(self._pending) > self._depth:
            self._pending.popleft().result()

    def _finish(self, frames: torch.Tensor, copies: int) -> None:
        import torch

        from restore.media.frames import place_on_canvas

        geometry = self._job.geometry
        with torch.inference_mode():  # per thread
            if copies:
                pictures = _finish_copies(frames[0], copies, self._upscaler, geometry, self._out_dtype)
            else:
                pictures = _finish_frames(frames, self._upscaler, geometry, self._out_dtype)
            for picture in pictures:
                if self._placed:
                    picture = place_on_canvas(picture, geometry.canvas, geometry.offset)
                self._writer.write(picture)
                self.done += 1
                if self._on_progress is not None:
                    self._on_progress(self.done, self._total)

    def __enter__(self) -> _Finisher:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        try:
            if exc_type is None:
                while self._pending:
                    self._pending.popleft().result()
        finally:
            for waiting in self._pending:
                waiting.cancel()
            self._pool.shutdown(wait=True)


def _upscale(frames: torch.Tensor, upscaler: Upscaler | None, geometry: OutputGeometry) -> torch.Tensor:
    """(N,3,h,w) -> (N,3,H,W) at the picture's output size (unchanged without an upscaler)."""
    if upscaler is None:
        return frames
    return upscaler.upscale(frames, (geometry.inner[1], geometry.inner[0]))


def _finish_frames(
    frames: torch.Tensor, upscaler: Upscaler | None, geometry: OutputGeometry, out_dtype: np.dtype
) -> Iterator[np.ndarray]:
    """Upscale a group of (N,3,h,w) frames and round each to an output array (the one rounding)."""
    from restore.media.frames import tensor_to_array

    for frame in _upscale(frames, upscaler, geometry):
        yield tensor_to_array(frame, out_dtype)


def _finish_copies(
    frame: torch.Tensor, count: int, upscaler: Upscaler | None, geometry: OutputGeometry, out_dtype: np.dtype
) -> Iterator[np.ndarray]:
    """``count`` copies of one (3,h,w) source frame: upscaled and rounded once, written ``count`` times."""
    from restore.media.frames import tensor_to_array

    picture = tensor_to_array(_upscale(frame.unsqueeze(0), upscaler, geometry)[0], out_dtype)
    for _ in range(count):
        yield picture
