"""Long jobs in segments, recorded in a journal, so an interrupted job resumes where it stopped.

Each segment is made with source stages of its own (cleanup, colour: built afresh for it), so what
a segment looks like and what its report says do not depend on which segments the same process
made before it, on one machine or on a batch worker: a stage's report counts that segment's frames.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from restore.errors import RestoreError, UsageError
from restore.jobs.prepare import PreparedJob, ProgressCallback, build_engines
from restore.jobs.run import JobReport, job_output_tags, render_job
from restore.jobs.segments import (
    Journal,
    Segment,
    job_fingerprint,
    journal_path_for,
    parts_folder_for,
    plan_segments,
)
from restore.media.encode import join_segments
from restore.media.sequence_out import is_sequence_output, join_segments_as_sequence
from restore.stages import create_source_stages

__all__ = ["run_resumable", "open_journal", "render_segment", "join_journal"]


def open_journal(job: PreparedJob) -> Journal:
    """The job's journal: resumed (``--resume``), replaced (``--overwrite``) or new; refuses a clash."""
    config, plan = job.config, job.plan
    path = journal_path_for(config.output)
    segments = plan_segments(
        plan.sources,
        plan.targets,
        {c + 1 for c in job.shots.cuts},
        round(config.segment_seconds * float(plan.fps)),
        ".mkv" if is_sequence_output(config.output) else config.output.suffix,  # frames: FFV1 segments
    )
    fingerprint = job_fingerprint(config, config.input, len(plan))
    fingerprint["segments"] = [[s.start, s.stop] for s in segments]
    if path.exists():
        if config.resume:
            try:
                earlier: Journal | None = Journal.load(path)
            except RestoreError:
                if not config.overwrite:
                    raise
                earlier = None  # unreadable, and to be replaced anyway
            if earlier is not None and earlier.fingerprint == fingerprint:
                return earlier
            if not config.overwrite:
                raise UsageError(
                    f"{path.name} belongs to a different job (input or options changed); "
                    "pass --overwrite to start over"
                )
        elif not config.overwrite:
            raise UsageError(
                f"an interrupted job left {path.name}: "
                "pass --resume to continue it, or --overwrite to start over"
            )
        Journal(path=path, fingerprint={}, segments=[]).remove()  # read or not, it goes
    journal = Journal(path=path, fingerprint=fingerprint, segments=segments)
    parts_folder_for(config.output).mkdir(exist_ok=True)
    journal.save()
    return journal


def render_segment(
    job: PreparedJob, journal: Journal, segment: Segment, on_progress: ProgressCallback | None = None
) -> JobReport:
    """Make one segment's file and record it as done; returns the segment's report.

    The engines of ``job`` are used (built here when it comes as plain data); its source stages are
    built afresh, so their report is this segment's alone.
    """
    if job.has_engines and job.stages:
        assert job.device is not None, "a job with stages has its device"
        job = dataclasses.replace(job, stages=tuple(create_source_stages(job.config, job.device)))
    else:
        job = build_engines(job)
    report = render_job(
        job, on_progress, frame_range=(segment.start, segment.stop), output=journal.parts / segment.file
    )
    journal.mark_done(segment)
    return report


def join_journal(
    job: PreparedJob, journal: Journal, before_tidying: Callable[[], object] | None = None
) -> None:
    """Join every segment into the final file (audio and subtitles muxed), then drop the journal.

    before_tidying: called once the final file is in place and before the journal goes (a batch
    records the output there, so a kill between the two leaves a journal that finishes the job).
    """
    missing = [s.index for s in journal.segments if not journal.is_complete(s)]
    if missing:
        raise RestoreError(
            f"segments {missing} of {job.config.output.name} are not complete; run again with --resume"
        )
    parts = [journal.parts / s.file for s in journal.segments]
    if is_sequence_output(job.config.output):  # checked for existing frames when the job started
        join_segments_as_sequence(parts, job.config.output, job.media.bit_depth > 8, overwrite=True)
    else:
        join_segments(
            parts,
            job.config.output,
            job.config.codec,
            source=job.config.input,
            audio=job.media.audio,
            subtitles=job.media.subtitles,
            start_offset=job.plan.start_time,
            timecode=job_output_tags(job).timecode,
        )
    if before_tidying is not None:
        before_tidying()
    journal.remove()


def _whole_job_report(
    job: PreparedJob, started: float, note: str, segment_lines: tuple[str, ...] = ()
) -> JobReport:
    """The report of a segmented job: ``note`` on the segments, then what each source stage did in
    each segment made in this run (``segment i: clean: 24 frames: ...``); reused segments say nothing."""
    total = len(job.plan)
    return JobReport(
        output=job.config.output,
        frames=total,
        interpolated=job.plan.interpolated_count,
        fps=job.plan.fps,
        duration=total / float(job.plan.fps),
        seconds=time.perf_counter() - started,
        cuts=job.shots.cuts,
        repeats=int(job.shots.repeats.sum()),
        size=job.geometry.canvas,
        stage_reports=(note, *segment_lines),
    )


def run_resumable(job: PreparedJob, on_progress: ProgressCallback | None = None) -> JobReport:
    """Run ``job`` segment by segment, skipping the segments its journal already records."""
    started = time.perf_counter()
    journal = open_journal(job)
    total = len(job.plan)
    if job.config.output.exists() and all(journal.is_complete(s) for s in journal.segments):
        journal.remove()  # joined and renamed before an interruption: only the tidying was left
        return _whole_job_report(job, started, "segments: all complete and joined before; journal removed")
    done_before = 0
    reused = 0
    lines: list[str] = []
    for segment in journal.segments:
        if journal.is_complete(segment):
            reused += 1
        else:
            offset = done_before

            def progress(done: int, _total: int, offset: int = offset) -> None:
                if on_progress is not None:
                    on_progress(offset + done, total)

            report = render_segment(job, journal, segment, progress)
            lines += [f"segment {segment.index}: {line}" for line in report.stage_reports]
        done_before += segment.stop - segment.start
        if on_progress is not None:
            on_progress(done_before, total)
    join_journal(job, journal)
    note = f"segments: {len(journal.segments)}, {reused} reused from an earlier run"
    return _whole_job_report(job, started, note, tuple(lines))
