"""Preparing a job, in one direction: check the options → probe once → scan → plan → build engines.

Nothing is written and no output frame is made here; :func:`prepare_job` returns a
:class:`PreparedJob` (the analysis, the plan and the engines) that :mod:`restore.jobs.run` renders.
Every check that needs no decoding runs first (:func:`check_job`), so a bad option or an unusable
input is refused within a second.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dain.engines import create_interpolator
from dain.engines.base import INTERPOLATORS
from restore.config import RestoreConfig
from restore.errors import InputError, OutputError, UsageError
from restore.jobs.device import check_device_name, resolve_device
from restore.media.encode import check_container
from restore.media.field_sections import analyse_fields
from restore.media.fields import FieldDecision, check_field_options, stream_rate
from restore.media.probe import MediaInfo, probe
from restore.media.scan import SourceTimeline, scan_video
from restore.media.sequence import SequenceInfo, is_sequence_path, open_sequence
from restore.media.sequence_out import check_sequence_output, is_sequence_output
from restore.plan.geometry import OutputGeometry, plan_geometry
from restore.plan.shots import ShotAnalysis, analyse_shots
from restore.plan.timing import FramePlan, plan_frames, source_frame_rate
from restore.stages import SourceStage, create_source_stages
from restore.upscale import create_upscaler

if TYPE_CHECKING:  # torch loads only when a job touches pixels
    import torch

    from dain.engines import Interpolator
    from restore.upscale import Upscaler

__all__ = [
    "ProgressCallback",
    "PreparedJob",
    "check_interpolator_name",
    "check_options",
    "check_output_path",
    "check_job",
    "prepare_job",
    "build_engines",
    "without_engines",
]

#: ``callback(done, total)``; total is 0 while it is not known yet (the analysis pass).
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class PreparedJob:
    """A checked job with its analysis and plan, and (unless shipped as plain data) its engines."""

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
    fields: FieldDecision | None = None  # what the field analysis found and did (None: image sequence)
    notes: tuple[str, ...] = ()  # what the summary and the batch report say about the source

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


def check_interpolator_name(name: str) -> None:
    """Refuse an interpolation engine the registry does not know (nothing is imported)."""
    INTERPOLATORS.check(name)


def check_options(config: RestoreConfig) -> None:
    """Refuse option values no input could make sense of (worded for the command line)."""
    if config.fps is not None and not 0 < config.fps <= 1000:
        raise UsageError(f"--fps must be above 0 and at most 1000, got {float(config.fps):g}")
    if not is_sequence_output(config.output):  # an image-sequence output takes its format from its name
        check_container(config.codec, config.output)
    check_field_options(config.deinterlace, config.field_order)
    if config.input_fps is not None and not 0 < config.input_fps <= 1000:
        raise UsageError(f"--input-fps must be above 0 and at most 1000, got {float(config.input_fps):g}")
    if config.crf is not None and not 0 <= config.crf <= 51:
        raise UsageError(f"--crf must be between 0 and 51, got {config.crf}")
    check_interpolator_name(config.interp)
    check_device_name(config.device)


def check_output_path(input_path: Path, output: Path, overwrite: bool, resume: bool = False) -> None:
    """Refuse an output that would overwrite the input, an existing file, or an unwritable folder."""
    if output.resolve() == input_path.resolve():
        raise OutputError(f"output is the input file itself: {output}")
    if output.is_dir():
        raise OutputError(f"output is a folder, not a file: {output}")
    if is_sequence_output(output):  # name_%04d.png: its frames must not exist (nor does this name)
        scans = None  # an image-sequence input's folder, which its output must not write into
        if is_sequence_path(input_path):
            scans = input_path if input_path.is_dir() else input_path.parent
        check_sequence_output(output, overwrite or resume, scans)
    # a segmented job killed after its final rename but before tidying its journal: --resume tidies it
    finishing = resume and output.with_name(f"{output.name}.journal.json").exists()
    if output.exists() and not overwrite and not finishing:
        raise OutputError(f"output exists: {output} (pass --overwrite to replace it)")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"output folder does not exist: {folder}")
    probe_file = folder / f".restore-write-test-{os.getpid()}"
    try:
        probe_file.touch()
        probe_file.unlink()
    except OSError:
        raise OutputError(f"output folder is not writable: {folder}") from None


def check_job(config: RestoreConfig) -> MediaInfo:
    """Every fast check, before any decoding: the options, the input (probed, once) and the output.

    Returns the probe result, which :func:`prepare_job` takes so the file is not probed again.
    """
    check_options(config)
    if is_sequence_path(config.input):
        media: MediaInfo = open_sequence(config.input, config.input_fps, config.allow_gaps)
    else:
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
    except ValueError as error:  # the planner's refusal of the asked size, in its own words
        raise UsageError(str(error)) from None
    return media


def prepare_job(
    config: RestoreConfig,
    on_scan: ProgressCallback | None = None,
    media: MediaInfo | None = None,
) -> PreparedJob:
    """Check, probe (unless ``media``, the result of :func:`check_job`, is given), scan, plan, build.

    on_scan: called with (frames scanned, 0) during the analysis pass.
    """
    if media is None:
        media = check_job(config)

    def scan_progress(count: int) -> None:
        if on_scan is not None:
            on_scan(count, 0)

    fields, timeline = _analyse_and_scan(config, media, scan_progress)
    if media.container_duration and timeline.end_time < 0.8 * media.container_duration - 0.5:
        raise InputError(
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
    if isinstance(media, SequenceInfo):  # its rate is --input-fps, whatever gaps it has
        source_rate, rate_note = media.rate, None
    elif fields is not None and fields.sections and (mixed := fields.output_rate(stream_rate(media))):
        source_rate = mixed  # a mixed film's timeline is variable-rate: its longest section's rate
        rate_note = f"mixed fields: {float(mixed):.3f} fps, the rate of the longest section (--fps to choose)"
    else:
        source_rate, rate_note = source_frame_rate(
            timeline.timestamps, timeline.end_time, timeline.frame_rate
        )
    fps = config.fps or source_rate
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
    notes = [media.describe()] if isinstance(media, SequenceInfo) else []
    if fields is not None:
        measured = f" ({fields.stats.summary()})" if fields.stats is not None and fields.stats.frames else ""
        notes.append(f"fields: {fields.describe(stream_rate(media), timeline.frame_rate)}{measured}")
    if rate_note and config.fps is None:
        notes.append(rate_note)
    job = PreparedJob(
        config, media, timeline, shots, plan, geometry, None, None, None, fields=fields, notes=tuple(notes)
    )
    return build_engines(job)


def _analyse_and_scan(
    config: RestoreConfig, media: MediaInfo, progress: Callable[[int], None]
) -> tuple[FieldDecision | None, SourceTimeline]:
    """The field analysis and the scan, side by side: the scan of the source as it is runs while
    the analysis samples it, and is redone with the analysis's filters only when there are some
    (telecined or interlaced sources), so a progressive film pays almost nothing for the analysis."""
    if isinstance(media, SequenceInfo):  # scans are progressive
        return None, scan_video(config.input, progress=progress, media=media)
    with ThreadPoolExecutor(max_workers=1) as pool:
        analysis = pool.submit(analyse_fields, media, config.deinterlace, config.field_order)
        timeline = scan_video(config.input, progress=progress, media=media)
        fields = analysis.result()
    if fields.filter:
        timeline = scan_video(config.input, progress=progress, media=media, source_filter=fields.filter)
    return fields, timeline


def build_engines(job: PreparedJob) -> PreparedJob:
    """The job with the engines it needs built on its device (nothing for a copy-only job).

    An engine that cannot use the options raises a :class:`dain.errors.UserError`; anything else
    it raises is a bug and travels on as it is.
    """
    if job.has_engines:
        return job
    config = job.config
    device = resolve_device(config.device)
    interpolator = upscaler = None
    stages = create_source_stages(config, device)
    if job.plan.interpolated_count > 0:
        interpolator = create_interpolator(config.interp, device=device, **config.interp_options)
    if job.needs_upscaler:
        upscaler = create_upscaler(config.sr, device=device, **config.sr_options)
    return dataclasses.replace(
        job, device=device, interpolator=interpolator, upscaler=upscaler, stages=tuple(stages)
    )


def without_engines(job: PreparedJob) -> PreparedJob:
    """The job as plain data (analysis and plan), to ship to another process or machine."""
    return dataclasses.replace(job, device=None, interpolator=None, upscaler=None, stages=())
