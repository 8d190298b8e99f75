"""Archival batches: many films on a Dask cluster (a LocalCluster by default), resumable.

Each film is one Dask task that runs the segmented, journalled job of :mod:`restore.resumable`
with ``--resume`` semantics, so a task that is retried (its worker died, the machine rebooted)
continues from the segments already recorded instead of starting over. A film that fails
(unreadable, corrupt) is reported and the others finish. A JSON report lists every film.
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

from restore.config import RestoreConfig, default_output_path
from restore.errors import RestoreError

__all__ = ["BatchItem", "BatchResult", "run_batch", "restore_one", "read_input_list"]


@dataclass(frozen=True)
class BatchItem:
    """What happened to one film of a batch (``error`` is None on success)."""

    input: str
    output: str | None
    frames: int | None
    duration: float | None
    seconds: float
    error: str | None


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
        raise RestoreError(f"--from: cannot read {path}: {error.strerror or error}") from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [p if p.is_absolute() else path.parent / p for p in map(Path, entries)]


def restore_one(config: RestoreConfig) -> BatchItem:
    """Restore one film as a batch task: segmented and resumable; errors become a report line."""
    from restore.pipeline import prepare_job
    from restore.resumable import run_resumable

    started = time.perf_counter()
    try:
        job = prepare_job(config)
        report = run_resumable(job)
        return BatchItem(
            str(config.input),
            str(report.output),
            report.frames,
            report.duration,
            time.perf_counter() - started,
            None,
        )
    except RestoreError as error:
        return BatchItem(str(config.input), None, None, None, time.perf_counter() - started, str(error))
    except Exception as error:  # noqa: BLE001 - one film's bug must not sink the batch
        detail = traceback.format_exception_only(type(error), error)[-1].strip()
        return BatchItem(str(config.input), None, None, None, time.perf_counter() - started, detail)


def _batch_config(template: RestoreConfig, source: Path, out_dir: Path) -> RestoreConfig:
    output = out_dir / default_output_path(source, template.codec).name
    # a retried or re-run task continues from its journal instead of starting over
    return dataclasses.replace(template, input=source, output=output, resume=True)


def run_batch(
    inputs: Sequence[Path],
    out_dir: Path,
    template: RestoreConfig,
    scheduler: str | None = None,
    workers: int = 2,
    retries: int = 2,
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
        raise RestoreError("restore batch: no input files")
    if not out_dir.is_dir():
        raise RestoreError(f"output folder does not exist: {out_dir}")
    names = [default_output_path(p, template.codec).name for p in inputs]
    if len(set(names)) != len(names):
        raise RestoreError("two inputs would write the same output name; put them in separate batches")

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
    client = Client(cluster if cluster is not None else scheduler)
    items: dict[str, BatchItem] = {}
    try:
        resources = {"GPU": gpus_per_task} if gpus_per_task > 0 else None
        futures = {
            client.submit(
                restore_one,
                _batch_config(template, Path(source), out_dir),
                key=f"restore-{index}-{Path(source).name}",
                retries=retries,
                resources=resources,
                pure=False,
            ): str(source)
            for index, source in enumerate(inputs)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            source = futures[future]
            try:
                item = future.result()
            except Exception as error:  # noqa: BLE001 - a task that failed even after its retries
                detail = traceback.format_exception_only(type(error), error)[-1].strip()
                item = BatchItem(
                    source, None, None, None, 0.0, f"task failed after {retries} retries: {detail}"
                )
            items[source] = item
            if on_progress is not None:
                on_progress(done, len(futures), item)
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
