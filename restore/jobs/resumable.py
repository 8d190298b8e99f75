"""Long jobs in segments, recorded in a journal, so an interrupted job resumes where it stopped."""

from __future__ import annotations

import time

from restore.errors import RestoreError, UsageError
from restore.jobs.prepare import PreparedJob, ProgressCallback
from restore.jobs.run import JobReport, render_job
from restore.jobs.segments import (
    Journal,
    Segment,
    job_fingerprint,
    journal_path_for,
    parts_folder_for,
    plan_segments,
)
from restore.media.encode import join_segments

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
        config.output.suffix,
    )
    fingerprint = job_fingerprint(config, config.input, len(plan))
    fingerprint["segments"] = [[s.start, s.stop] for s in segments]
    if path.exists():
        if config.resume:
            journal = Journal.load(path)
            if journal.fingerprint != fingerprint:
                raise UsageError(
                    f"{path.name} belongs to a different job (input or options changed); "
                    "pass --overwrite to start over"
                )
            return journal
        if not config.overwrite:
            raise UsageError(
                f"an interrupted job left {path.name}: "
                "pass --resume to continue it, or --overwrite to start over"
            )
        Journal.load(path).remove()
    journal = Journal(path=path, fingerprint=fingerprint, segments=segments)
    parts_folder_for(config.output).mkdir(exist_ok=True)
    journal.save()
    return journal


def render_segment(
    job: PreparedJob, journal: Journal, segment: Segment, on_progress: ProgressCallback | None = None
) -> JobReport:
    """Make one segment's file and record it as done; returns the segment's report."""
    report = render_job(
        job, on_progress, frame_range=(segment.start, segment.stop), output=journal.parts / segment.file
    )
    journal.mark_done(segment)
    return report


def join_journal(job: PreparedJob, journal: Journal) -> None:
    """Join every segment into the final file (audio and subtitles muxed), then drop the journal."""
    missing = [s.index for s in journal.segments if not journal.is_complete(s)]
    if missing:
        raise RestoreError(
            f"segments {missing} of {job.config.output.name} are not complete; run again with --resume"
        )
    join_segments(
        [journal.parts / s.file for s in journal.segments],
        job.config.output,
        job.config.codec,
        source=job.config.input,
        audio=job.media.audio,
        subtitles=job.media.subtitles,
        start_offset=job.plan.start_time,
    )
    journal.remove()


def _whole_job_report(job: PreparedJob, started: float, note: str) -> JobReport:
    """The report of a segmented job: ``note`` on the segments, then what each source stage did over
    the segments made in this run (a stage's counts add up across the segments it processed)."""
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
        stage_reports=(note, *(f"{stage.name}: {stage.report()}" for stage in job.stages)),
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
    for segment in journal.segments:
        if journal.is_complete(segment):
            reused += 1
        else:
            offset = done_before

            def progress(done: int, _total: int, offset: int = offset) -> None:
                if on_progress is not None:
                    on_progress(offset + done, total)

            render_segment(job, journal, segment, progress)
        done_before += segment.stop - segment.start
        if on_progress is not None:
            on_progress(done_before, total)
    join_journal(job, journal)
    return _whole_job_report(
        job, started, f"segments: {len(journal.segments)}, {reused} reused from an earlier run"
    )
