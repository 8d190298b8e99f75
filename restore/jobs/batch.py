"""Archival batches: many films on a Dask cluster (a LocalCluster by default), resumable, re-runnable.

Per film: one task analyses and plans it and opens its journal (:mod:`restore.jobs.resumable`, with
``--resume`` semantics), then **one task per unfinished segment** renders it, anywhere on the
cluster, and a last task joins the segments once they are all recorded and writes the output's
record (:func:`restore.jobs.segments.write_output_record`). A batch run again skips every film
whose output's record matches its input and options ("already restored"), refuses in one line one
whose record does not (unless ``--overwrite``), and continues an interrupted film from its journal.

Failures: the tasks return a user error (an unreadable or corrupt film) or a bug as a value, never
raise it, so a film fails once, in one line, and Dask neither retries it nor logs a traceback. Only
a task whose worker died (killed, out of memory) is run again elsewhere: ``retries`` times on the
local cluster (Dask's ``distributed.scheduler.allowed-failures``; a remote scheduler uses its own).
A JSON report lists every film.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from restore.config import RestoreConfig, default_output_path
from restore.errors import InputError, OutputError, RestoreError, UsageError, UserError
from restore.jobs.segments import Journal, Segment, compare_output_record, journal_path_for

if TYPE_CHECKING:
    from distributed import Client

    from restore.jobs.prepare import PreparedJob

__all__ = [
    "BatchItem",
    "BatchResult",
    "FilmWork",
    "TaskFailure",
    "run_batch",
    "read_input_list",
    "DEFAULT_WORKERS",
    "DEFAULT_RETRIES",
]

#: Worker processes of the local cluster, and how often a task whose worker died is run again.
DEFAULT_WORKERS = 2
DEFAULT_RETRIES = 2

RESTORED, ALREADY_RESTORED, FAILED = "restored", "already restored", "failed"


@dataclass(frozen=True)
class BatchItem:
    """What happened to one film of a batch (``error`` is None unless ``status`` is ``failed``).

    status: ``restored`` (made in this run), ``already restored`` (skipped: its output's record
    matches) or ``failed``. stages: what the source stages (cleanup, colour) did, one line per stage
    and segment made in this run. detail: the traceback of an internal error (a bug), else None.
    """

    input: str
    output: str | None
    frames: int | None
    duration: float | None
    seconds: float
    error: str | None
    stages: tuple[str, ...] = ()
    status: str = RESTORED
    detail: str | None = None
    notes: tuple[str, ...] = ()  # what was found in the source: fields (IVTC, bwdif), image sequence, rate
    # ... then what the output holds: each audio track copied or re-encoded, the colour tags, the timecode


@dataclass(frozen=True)
class BatchResult:
    items: tuple[BatchItem, ...]
    report: Path

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if item.error is not None)

    @property
    def skipped(self) -> int:
        return sum(1 for item in self.items if item.status == ALREADY_RESTORED)


@dataclass(frozen=True)
class TaskFailure:
    """A task's failure as a value: the one line for the user, and a bug's traceback."""

    error: str
    detail: str | None = None

    @classmethod
    def of(cls, error: BaseException) -> TaskFailure:
        if isinstance(error, UserError):
            return cls(str(error))
        return cls(_error_text(error), "".join(traceback.format_exception(error)))


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


def _lost_worker_text(error: BaseException) -> str:
    """A task that never returned: its workers died (``KilledWorker``), or the cluster failed it."""
    if type(error).__name__ == "KilledWorker":
        return "its worker died every time it ran (killed, or out of memory); run the batch again"
    return _error_text(error)


@dataclass(frozen=True)
class FilmWork:
    """A film ready for its segments: the job as plain data, its journal and what is left to do."""

    job: PreparedJob
    journal: Path
    pending: tuple[Segment, ...]


def prepare_film(config: RestoreConfig) -> FilmWork | TaskFailure:
    """Task: analyse and plan one film, open (or resume) its journal, list its unfinished segments."""
    from restore.jobs.prepare import prepare_job, without_engines
    from restore.jobs.resumable import open_journal

    try:
        job = prepare_job(config)  # builds the engines once, so a bad option fails here, not per segment
        journal = open_journal(job)
        pending = tuple(s for s in journal.segments if not journal.is_complete(s))
    except Exception as error:  # noqa: BLE001 - returned, so Dask neither retries nor logs it
        return TaskFailure.of(error)
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


def render_film_segment(work: FilmWork, segment: Segment) -> tuple[str, ...] | TaskFailure:
    """Task: one segment of one film (engines built once per worker and film); returns its stage lines.

    This is the job entry of a worker process, so it sets the process-wide allocator and thread
    pools once here (idempotent, see :mod:`restore.jobs.memory` and :mod:`restore.jobs.threads`), as
    :func:`restore.jobs.run_job` does for one film.
    """
    from restore.jobs.memory import fix_mmap_threshold
    from restore.jobs.resumable import render_segment
    from restore.jobs.threads import share_cores_with_codecs

    try:
        fix_mmap_threshold()
        share_cores_with_codecs()
        report = render_segment(_with_engines(work.job), Journal.load(work.journal), segment)
    except Exception as error:  # noqa: BLE001 - returned, so Dask neither retries nor logs it
        return TaskFailure.of(error)
    return tuple(f"segment {segment.index}: {line}" for line in report.stage_reports)


def join_film(work: FilmWork, started: float, *segments: tuple[str, ...] | TaskFailure) -> BatchItem:
    """Task: join a film's segments once they are all done and record how the output was made.

    segments: what each segment task returned (its stage lines, or its failure).
    """
    from restore.jobs.resumable import join_journal
    from restore.jobs.run import job_output_tags
    from restore.jobs.segments import write_output_record

    job = work.job
    source, output = str(job.config.input), str(job.config.output)
    failures = [result for result in segments if isinstance(result, TaskFailure)]
    try:
        if failures:
            raise _Failed(failures[0])
        journal = Journal.load(work.journal)
        frames = len(job.plan)
        duration = frames / float(job.plan.fps)
        join_journal(job, journal, before_tidying=lambda: write_output_record(job.config, frames, duration))
    except Exception as error:  # noqa: BLE001 - returned, so Dask neither retries nor logs it
        failure = error.failure if isinstance(error, _Failed) else TaskFailure.of(error)
        return _failed_item(source, started, failure)
    stages = tuple(line for lines in segments if not isinstance(lines, TaskFailure) for line in lines)
    notes = job.notes + job_output_tags(job).notes
    return BatchItem(source, output, frames, duration, time.time() - started, None, stages, notes=notes)


class _Failed(Exception):
    def __init__(self, failure: TaskFailure) -> None:
        super().__init__(failure.error)
        self.failure = failure


def _failed_item(source: str, started: float, failure: TaskFailure) -> BatchItem:
    return BatchItem(
        source, None, None, None, time.time() - started, failure.error, status=FAILED, detail=failure.detail
    )


def _batch_config(template: RestoreConfig, source: Path, out_dir: Path, overwrite: bool) -> RestoreConfig:
    output = out_dir / default_output_path(source, template.codec).name
    # a retried or re-run task continues from its journal instead of starting over
    return dataclasses.replace(template, input=source, output=output, resume=True, overwrite=overwrite)


def _already_done(config: RestoreConfig, started: float) -> BatchItem | None:
    """The film's item when its output needs no work (made by this job) or must not be touched."""
    state = compare_output_record(config)
    if state.status == "missing" or (state.status == "different" and config.overwrite):
        return None
    journal = journal_path_for(config.output)
    if state.status == "different":
        if journal.exists():
            return None  # killed between the output's rename and its record: the journal finishes it
        message = f"{config.output} exists and {state.reason}; pass --overwrite to replace it"
        return _failed_item(str(config.input), started, TaskFailure(message))
    if journal.exists():  # done, killed before tidying: only the tidying was left
        Journal(path=journal, fingerprint={}, segments=[]).remove()
    record = state.record or {}
    frames, duration = record.get("frames"), record.get("duration")
    return BatchItem(
        str(config.input), str(config.output),
        frames if isinstance(frames, int) else None,
        float(duration) if isinstance(duration, (int, float)) else None,
        0.0, None, status=ALREADY_RESTORED,
    )  # fmt: skip


def run_batch(
    inputs: Sequence[Path],
    out_dir: Path,
    template: RestoreConfig,
    scheduler: str | None = None,
    workers: int = DEFAULT_WORKERS,
    retries: int = DEFAULT_RETRIES,
    gpus_per_task: float = 0.0,
    on_progress: Callable[[int, int, BatchItem], None] | None = None,
    overwrite: bool = False,
) -> BatchResult:
    """Restore every input into ``out_dir`` (made when missing) on Dask; write ``out_dir/batch-report.json``.

    scheduler: address of a running Dask scheduler (``tcp://host:8786``); None starts a LocalCluster
    of ``workers`` single-threaded worker processes. retries: how often a task whose worker died is
    run again (on the local cluster). gpus_per_task: a ``GPU`` resource each task needs (start GPU
    workers with ``--resources GPU=1``). overwrite: replace outputs that were made otherwise.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise RestoreError("restore batch needs Dask: pip install 'dask[distributed]'") from None
    if not inputs:
        raise UsageError("restore batch: no input files")
    names = [default_output_path(p, template.codec).name for p in inputs]
    if len(set(names)) != len(names):
        raise UsageError("two inputs would write the same output name; put them in separate batches")
    if retries < 0:
        raise UsageError(f"--retries must be 0 or more, got {retries}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot make the output folder {out_dir}: {error.strerror or error}") from None

    started = time.time()
    items: dict[str, BatchItem] = {}
    configs = {str(source): _batch_config(template, Path(source), out_dir, overwrite) for source in inputs}
    finished = 0

    def done(source: str, item: BatchItem) -> None:
        nonlocal finished
        items[source] = item
        finished += 1
        if on_progress is not None:
            on_progress(finished, len(inputs), item)

    for source, config in configs.items():
        if (item := _already_done(config, started)) is not None:
            done(source, item)
    to_do = [source for source in configs if source not in items]

    cluster = client = None
    try:
        if to_do and scheduler is None:
            # a task whose worker died runs again up to ``retries`` times; an error inside one never does
            with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,  # our tasks never raise: what is left is shutdown noise
                    resources={"GPU": 1} if gpus_per_task > 0 else None,  # the workers share this GPU
                )
        if to_do:
            client = Client(cluster if cluster is not None else scheduler)
            _run_films(client, to_do, configs, gpus_per_task, started, done)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    ordered = tuple(items[str(source)] for source in inputs)
    return BatchResult(items=ordered, report=_write_report(out_dir, ordered))


def _run_films(
    client: Client,
    sources: list[str],
    configs: dict[str, RestoreConfig],
    gpus_per_task: float,
    started: float,
    done: Callable[[str, BatchItem], None],
) -> None:
    """Submit each film's analysis, then its segments and join; hand each film's item to ``done``."""
    from distributed import as_completed

    resources = {"GPU": gpus_per_task} if gpus_per_task > 0 else None
    options = {"retries": 0, "resources": resources, "pure": False}
    submit = client.submit
    owner = {submit(prepare_film, configs[source], **options): source for source in sources}
    pending = as_completed(list(owner))
    for future in pending:
        source = owner[future]
        try:
            result = future.result()
        except Exception as error:  # noqa: BLE001 - its workers died too often: reported, the batch goes on
            result = _failed_item(source, started, TaskFailure(_lost_worker_text(error)))
        if isinstance(result, TaskFailure):
            result = _failed_item(source, started, result)
        if isinstance(result, FilmWork):  # analysed: now its segments, then the join
            segment_futures = [
                submit(render_film_segment, result, segment, **options) for segment in result.pending
            ]
            join = submit(join_film, result, started, *segment_futures, **options)
            owner[join] = source
            pending.add(join)
            continue
        done(source, result)


def _write_report(out_dir: Path, items: Sequence[BatchItem]) -> Path:
    """``batch-report.json``: every film of this run, how it ended, and the totals; written atomically."""
    report = out_dir / "batch-report.json"
    temporary = report.with_name(f".{report.name}.{os.getpid()}.tmp")
    payload = {
        "files": [dataclasses.asdict(item) for item in items],
        "restored": sum(i.status == RESTORED for i in items),
        "already_restored": sum(i.status == ALREADY_RESTORED for i in items),
        "failed": sum(i.error is not None for i in items),
    }
    try:
        temporary.write_text(json.dumps(payload, indent=2))
        os.replace(temporary, report)
    finally:
        temporary.unlink(missing_ok=True)
    return report
