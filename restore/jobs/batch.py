"""Archival batches: many films on a Dask cluster (a LocalCluster by default), resumable.

Per film: one task analyses and plans it and opens its journal (:mod:`restore.jobs.resumable`, with
``--resume`` semantics), then **one task per unfinished segment** renders it, anywhere on the
cluster, and a last task joins the segments once they are all recorded. A task whose worker dies
is run again elsewhere; a segment already recorded is never redone, so a batch interrupted as a
whole also continues where it stopped. A film that fails (unreadable, corrupt) is reported and the
others finish. A JSON report lists every film.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from restore.config import RestoreConfig, default_output_path
from restore.errors import InputError, OutputError, RestoreError, UsageError, UserError
from restore.jobs.segments import Segment

if TYPE_CHECKING:
    from restore.jobs.prepare import PreparedJob

__all__ = [
    "BatchItem",
    "BatchResult",
    "FilmWork",
    "run_batch",
    "read_input_list",
    "DEFAULT_WORKERS",
    "DEFAULT_RETRIES",
]

#: Worker processes of the local cluster, and retries of a film whose worker failed.
DEFAULT_WORKERS = 2
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class BatchItem:
    """What happened to one film of a batch (``error`` is None on success).

    stages: what the source stages (cleanup, colour) did, one line per stage and segment made in this run.
    """

    input: str
    output: str | None
    frames: int | None
    duration: float | None
    seconds: float
    error: str | None
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    items: tuple[BatchItem, ...]
    report: Path

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if item.error is not None)


def read_input_list(path: Path) -> list[Path]:
    """One path per line; blank lines and ``#`` comments skipped; relative paths from the list's folder."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise InputError(f"--from: cannot read {path}: {error.strerror or error}") from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [p if p.is_absolute() else path.parent / p for p in map(Path, entries)]


def _error_text(error: BaseException) -> str:
    """A user error's own line; anything else (a bug, a dead worker) with its exception type."""
    if isinstance(error, UserError):
        return str(error)
    return traceback.format_exception_only(type(error), error)[-1].strip()


@dataclass(frozen=True)
class FilmWork:
    """A film ready for its segments: the job as plain data, its journal and what is left to do."""

    job: PreparedJob
    journal: Path
    pending: tuple[Segment, ...]


def prepare_film(config: RestoreConfig) -> FilmWork:
    """Task: analyse and plan one film, open (or resume) its journal, list its unfinished segments."""
    from restore.jobs.prepare import prepare_job, without_engines
    from restore.jobs.resumable import open_journal

    job = prepare_job(config)  # builds the engines once, so a bad option fails here, not per segment
    journal = open_journal(job)
    pending = tuple(s for s in journal.segments if not journal.is_complete(s))
    return FilmWork(job=without_engines(job), journal=journal.path, pending=pending)


# Per worker process: the last films' engines, so consecutive segments of a film reuse them.
_WORKER_ENGINES: dict[str, PreparedJob] = {}


def _with_engines(job: PreparedJob) -> PreparedJob:
    from restore.jobs.prepare import build_engines

    key = repr(job.config)
    if key not in _WORKER_ENGINES:
        if len(_WORKER_ENGINES) >= 2:
            _WORKER_ENGINES.pop(next(iter(_WORKER_ENGINES)))
        _WORKER_ENGINES[key] = build_engines(job)
    return _WORKER_ENGINES[key]


def render_film_segment(work: FilmWork, segment: Segment) -> tuple[str, ...]:
    """Task: one segment of one film (engines built once per worker and film); returns its stage lines.

    This is the job entry of a worker process, so it sets the process-wide allocator once here
    (idempotent, see :mod:`restore.jobs.memory`), as :func:`restore.jobs.run_job` does for one film.
    """
    from restore.jobs.memory import pin_large_allocations_to_mmap
    from restore.jobs.resumable import render_segment
    from restore.jobs.segments import Journal

    pin_large_allocations_to_mmap()
    report = render_segment(_with_engines(work.job), Journal.load(work.journal), segment)
    return tuple(f"segment {segment.index}: {line}" for line in report.stage_reports)


def join_film(work: FilmWork, started: float, *segment_stages: tuple[str, ...]) -> BatchItem:
    """Task: join a film's segments once they are all done (``segment_stages``: their stage lines)."""
    from restore.jobs.resumable import join_journal
    from restore.jobs.segments import Journal

    job = work.job
    join_journal(job, Journal.load(work.journal))
    frames = len(job.plan)
    return BatchItem(
        str(job.config.input), str(job.config.output), frames, frames / float(job.plan.fps),
        time.time() - started, None, tuple(line for lines in segment_stages for line in lines),
    )  # fmt: skip


def _batch_config(template: RestoreConfig, source: Path, out_dir: Path) -> RestoreConfig:
    output = out_dir / default_output_path(source, template.codec).name
    # a retried or re-run task continues from its journal instead of starting over
    return dataclasses.replace(template, input=source, output=output, resume=True)


def run_batch(
    inputs: Sequence[Path],
    out_dir: Path,
    template: RestoreConfig,
    scheduler: str | None = None,
    workers: int = DEFAULT_WORKERS,
    retries: int = DEFAULT_RETRIES,
    gpus_per_task: float = 0.0,
    on_progress: Callable[[int, int, BatchItem], None] | None = None,
) -> BatchResult:
    """Restore every input into ``out_dir`` on Dask; write ``out_dir/batch-report.json``.

    scheduler: address of a running Dask scheduler (``tcp://host:8786``); None starts a LocalCluster
    of ``workers`` single-threaded worker processes. gpus_per_task: a ``GPU`` resource each task
    needs (start GPU workers with ``--resources GPU=1``).
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RestoreError("restore batch needs Dask: pip install 'dask[distributed]'") from None
    if not inputs:
        raise UsageError("restore batch: no input files")
    if not out_dir.is_dir():
        raise OutputError(f"output folder does not exist: {out_dir}")
    names = [default_output_path(p, template.codec).name for p in inputs]
    if len(set(names)) != len(names):
        raise UsageError("two inputs would write the same output name; put them in separate batches")

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
            resources={"GPU": 1} if gpus_per_task > 0 else None,  # the local workers share this machine's GPU
        )
    client = Client(cluster if cluster is not None else scheduler)
    items: dict[str, BatchItem] = {}
    started = time.time()
    try:
        resources = {"GPU": gpus_per_task} if gpus_per_task > 0 else None
        options = {"retries": retries, "resources": resources, "pure": False}
        prepared = {
            client.submit(prepare_film, _batch_config(template, Path(source), out_dir), **options): str(
                source
            )
            for source in inputs
        }
        joins: dict[object, str] = {}
        pending = as_completed(list(prepared))
        finished = 0
        for future in pending:
            source = prepared.get(future) or joins.get(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - a film's failure is reported, the batch goes on
                result = BatchItem(source, None, None, None, time.time() - started, _error_text(error))
            if isinstance(result, FilmWork):  # analysed: now its segments, then the join
                segment_futures = [
                    client.submit(render_film_segment, result, segment, **options)
                    for segment in result.pending
                ]
                join = client.submit(join_film, result, started, *segment_futures, **options)
                joins[join] = source
                pending.add(join)
                continue
            items[source] = result
            finished += 1
            if on_progress is not None:
                on_progress(finished, len(inputs), result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    ordered = tuple(items[str(source)] for source in inputs)
    report = out_dir / "batch-report.json"
    temporary = report.with_name(f".{report.name}.{os.getpid()}.tmp")
    payload = {
        "files": [dataclasses.asdict(item) for item in ordered],
        "failed": sum(i.error is not None for i in ordered),
    }
    temporary.write_text(json.dumps(payload, indent=2))
    os.replace(temporary, report)
    return BatchResult(items=ordered, report=report)
