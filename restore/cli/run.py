"""``restore run INPUT [options]`` (also plain ``restore INPUT ...``): restore one film."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from restore.cli.options import DebugOption, JobOptions, QuietOption, build_config, with_job_options
from restore.cli.progress import job_progress
from restore.cli.signals import raise_if_stopped
from restore.config import RestoreConfig, default_output_path

if TYPE_CHECKING:
    from restore.jobs import PreparedJob

__all__ = ["plan_lines", "run_command"]


@with_job_options
def run_command(
    input: Annotated[Path, typer.Argument(help="The film to restore.", show_default=False)],
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file, or a folder (FOLDER/ or an existing one) for FOLDER/INPUT.restored.mp4 "
            "(default: INPUT.restored.mp4 beside the input).",
        ),
    ] = None,
    *,
    options: JobOptions,  # Typer sees one parameter per job option here (see with_job_options)
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = RestoreConfig.overwrite,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted job from its journal.")
    ] = RestoreConfig.resume,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check, analyse and plan, print the plan, and write nothing."),
    ] = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,  # read by restore.cli.app.main; declared so the parser accepts it
) -> None:
    """Check, analyse and plan the film, then render it (whole or in segments) with a progress bar."""
    target = output_path(input, output, options.codec)
    config = build_config(input, target, options, overwrite=overwrite, resume=resume)

    from restore.jobs import check_job, prepare_job, run_job

    media = check_job(config)  # every fast refusal before the progress display starts
    with job_progress(quiet) as progress:
        scan_task = progress.add_task("analysing", total=None)

        def scanned(done: int, _total: int) -> None:
            raise_if_stopped()
            progress.update(scan_task, completed=done)

        job = prepare_job(config, on_scan=scanned, media=media)
        progress.update(scan_task, total=job.timeline.frame_count, completed=job.timeline.frame_count)
        plan = job.plan
        if not quiet or dry_run:
            progress.console.print(
                f"{input.name}: {job.timeline.frame_count} frames, {job.timeline.duration:.2f} s, "
                f"{len(job.shots.cuts)} cuts, {int(job.shots.repeats.sum())} repeats → "
                f"{len(plan)} frames at {float(plan.fps):.3f} fps ({plan.interpolated_count} interpolated), "
                f"{job.geometry.canvas[0]}x{job.geometry.canvas[1]}, "
                f"{job.device or 'frames copied as decoded'}"
            )
            for note in job.notes:  # fields found and what was done, image sequence, variable rate
                progress.console.print(f"  {note}")
            from restore.jobs.run import job_output_tags

            for line in job_output_tags(job).notes:  # audio copied or re-encoded, colour tags, timecode
                progress.console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        if dry_run:
            for line in plan_lines(job):
                progress.console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
            progress.console.print("dry run: nothing was written")
            return
        task = progress.add_task("restoring", total=len(plan))

        def restored(done: int, _total: int) -> None:  # called with each frame written
            raise_if_stopped()
            progress.update(task, completed=done)

        report = run_job(job, on_progress=restored)
    if not quiet:
        for line in report.stage_reports:
            progress.console.print(line)
        progress.console.print(f"wrote {report.output} ({report.frames} frames in {report.seconds:.1f} s)")


def plan_lines(job: PreparedJob) -> list[str]:
    """What a run of ``job`` would do beyond the summary: engines, stages, encoder and segments."""
    from restore.jobs import wants_segments
    from restore.jobs.run import resize_in_encoder
    from restore.media.encode import crf_for
    from restore.media.sequence_out import is_sequence_output

    config, plan = job.config, job.plan
    width, height = job.geometry.canvas
    lines = []
    if plan.interpolated_count:
        phases = sorted({round(float(t), 4) for t in plan.phases if 0.0 < t < 1.0})
        shown = ", ".join(f"{t:g}" for t in phases[:8]) + (" …" if len(phases) > 8 else "")
        engine = job.interpolator.name if job.interpolator is not None else config.interp
        lines.append(f"interpolation: {engine}, {plan.interpolated_count} frames at phases {shown}")
    if job.needs_upscaler:
        where = " (in the encoder's resize)" if resize_in_encoder(job) else ""
        lines.append(f"upscaling: {config.sr} to {job.geometry.inner[0]}x{job.geometry.inner[1]}{where}")
    lines += [f"stage: {stage.name}" for stage in job.stages]
    size = f"{width}x{height}, {float(plan.fps):g} fps"
    if is_sequence_output(config.output):
        kind = f"{config.output.suffix.lstrip('.').upper()} image sequence"
    else:
        crf = crf_for(config.codec, config.crf)
        kind = config.codec + (f", CRF {crf}" if crf is not None else "")
    lines.append(f"output: {config.output} ({kind}, {size})")
    if wants_segments(job):
        seconds = config.segment_seconds
        lines.append(f"in segments of about {seconds:g} s, with a journal (--resume continues)")
    return lines


def output_path(input: Path, output: str | None, codec: str) -> Path | None:
    """``-o`` as a file; ``-o FOLDER/`` or an existing folder -> ``FOLDER/<input stem>.restored.<ext>``."""
    if output is None:
        return None
    path = Path(output)
    if output.endswith(("/", os.sep)) or path.is_dir():
        return path / default_output_path(input, codec).name
    return path
