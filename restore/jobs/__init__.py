"""Running restore jobs: prepare → render, whole or in journaled segments; batches on Dask.

- :mod:`restore.jobs.prepare`: check the options, probe once, scan, plan, build the engines;
- :mod:`restore.jobs.run`: the frame window and the render loop (one piece of output);
- :mod:`restore.jobs.segments`, :mod:`restore.jobs.resumable`: long jobs in segments, a journal, resuming;
- :mod:`restore.jobs.batch`: many films on a Dask cluster.

:func:`run_job` is the one entry that renders a prepared job; the CLI and :func:`restore.restore_video`
both go through it, so a job resumes the same way from either.
"""

from __future__ import annotations

from restore.jobs.memory import fix_mmap_threshold
from restore.jobs.prepare import PreparedJob, ProgressCallback, check_job, prepare_job
from restore.jobs.resumable import run_resumable
from restore.jobs.run import JobReport, render_job
from restore.jobs.threads import share_cores_with_codecs

__all__ = ["JobReport", "PreparedJob", "check_job", "prepare_job", "run_job", "wants_segments"]


def wants_segments(job: PreparedJob) -> bool:
    """Segment when resuming was asked for, or when the output is longer than 1.5 segments."""
    config = job.config
    return config.resume or len(job.plan) / float(job.plan.fps) > 1.5 * config.segment_seconds


def run_job(job: PreparedJob, on_progress: ProgressCallback | None = None) -> JobReport:
    """Render ``job`` to its output: in one piece, or segment by segment with a journal.

    Segmenting is decided here, by :func:`wants_segments`: ``config.resume`` continues an
    interrupted job from its journal, and an output longer than 1.5 ``config.segment_seconds`` is
    made in segments so that a later ``resume`` can pick it up.
    """
    fix_mmap_threshold()
    share_cores_with_codecs()
    if wants_segments(job):
        return run_resumable(job, on_progress)
    return render_job(job, on_progress)
