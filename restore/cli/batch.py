"""``restore batch FILMS... -o FOLDER [options]``: many films on a Dask cluster, resumable, re-runnable.

Each failed film is one line on stderr (with ``-q`` too); ``--debug`` adds a bug's traceback. A film
already restored by the same job is skipped and counts as done; the exit code is 0 when no film
failed, 3 when some did and 2 when all did.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from restore.cli.options import DebugOption, JobOptions, QuietOption, build_config, with_job_options
from restore.cli.progress import job_progress
from restore.config import RestoreConfig
from restore.errors import UsageError
from restore.jobs.batch import DEFAULT_RETRIES, DEFAULT_WORKERS, BatchItem, read_input_list, run_batch

__all__ = ["batch_command"]


@with_job_options
def batch_command(
    inputs: Annotated[list[Path] | None, typer.Argument(help="Films to restore.", show_default=False)] = None,
    from_list: Annotated[
        Path | None, typer.Option("--from", help="A text file with one film per line.")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("-o", "--output-dir", help="Folder for the results (made if missing).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes of the local cluster.")] = DEFAULT_WORKERS,
    retries: Annotated[
        int, typer.Option(help="Runs again of a task whose worker died (a film's own error: none).")
    ] = DEFAULT_RETRIES,
    gpus: Annotated[
        float | None,
        typer.Option(help="GPU resource per task (default: 1 on a local cluster with a GPU, else 0)."),
    ] = None,
    *,
    options: JobOptions,  # Typer sees one parameter per job option here (see with_job_options)
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace outputs made from another input or other options.")
    ] = RestoreConfig.overwrite,
    quiet: QuietOption = False,
    debug: DebugOption = False,  # also read by restore.cli.app.main; here it shows failed films' tracebacks
) -> None:
    """Restore every film with the same options; exit 3 when some failed, 2 when all did."""
    files = list(inputs or []) + (read_input_list(from_list) if from_list is not None else [])
    if not files:
        raise UsageError("restore batch: give input files or --from LIST")
    if output_dir is None:
        raise UsageError("restore batch: -o OUTPUT_DIR is required")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if gpus is None:  # a local cluster on a GPU machine: each task holds its worker's GPU slot
        gpus = 1.0 if scheduler is None and options.device != "cpu" and _local_gpu() else 0.0
    template = build_config(files[0], None, options)
    with job_progress(quiet) as progress:
        task = progress.add_task("films", total=len(files))

        def advance(done: int, _total: int, item: BatchItem) -> None:
            progress.update(task, completed=done)
            if item.error:  # one line per failed film, whatever --quiet says
                line = " ".join(f"failed: {item.input}: {item.error}".split())
                progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
                if debug and item.detail:
                    progress.console.print(
                        item.detail.rstrip(), markup=False, highlight=False, soft_wrap=True
                    )
            elif not quiet:
                line = f"{item.status}: {item.input} → {item.output}"
                progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

        result = run_batch(
            files, output_dir, template, scheduler=scheduler, workers=workers, retries=retries,
            gpus_per_task=gpus, on_progress=advance, overwrite=overwrite,
        )  # fmt: skip
    if not quiet:
        done = len(files) - result.failed
        progress.console.print(
            f"{done} of {len(files)} films done ({done - result.skipped} restored now, "
            f"{result.skipped} already restored); report: {result.report}",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
    if result.failed:
        sys.exit(3 if result.failed < len(files) else 2)


def _local_gpu() -> bool:
    import torch

    return torch.cuda.is_available()
