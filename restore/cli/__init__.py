"""The ``restore`` command line.

``restore INPUT [options]`` restores a film; ``restore pair A B -o OUT`` interpolates
between two images; ``restore models [FILE]`` lists upscaling models. Bad input or
usage prints one line on stderr and exits 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from restore.errors import RestoreError

if TYPE_CHECKING:
    from restore.config import RestoreConfig

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Bring old film back to life.")
_SUBCOMMANDS = {"run", "pair", "models", "batch"}
_stderr = Console(stderr=True)


class _FramesPerSecondColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  -- fps" if speed is None else f"{speed:6.1f} fps", style="progress.data.speed")


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        _FramesPerSecondColumn(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=_stderr,
        disable=quiet,
        transient=True,
    )


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"restore {version('dain-restore')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Bring old film back to life: interpolate, upscale and restore."""


FpsOption = Annotated[
    str | None, typer.Option("--fps", help="Output frame rate (60, 59.94, 30000/1001) [default: unchanged].")
]
ScaleOption = Annotated[float | None, typer.Option("--scale", help="Upscale factor [default: 1].")]
SizeOption = Annotated[str | None, typer.Option("--size", help="Exact output size WxH, e.g. 3840x2160.")]
FitOption = Annotated[str, typer.Option("--fit", help="With --size: pad (letterbox) or crop.")]
InterpOption = Annotated[
    str, typer.Option("--interp", help="Interpolation engine (classic, dain, blend, repeat).")
]
SrOption = Annotated[
    str, typer.Option("--sr", help="Upscaler: lanczos, anime4k, a model file, or a chain a,b,c.")
]
TileOption = Annotated[
    int | None, typer.Option("--tile", help="Upscaler tile size in pixels (0 = no tiling).")
]
CodecOption = Annotated[str, typer.Option("--codec", help="h264, h265, prores or ffv1.")]
CrfOption = Annotated[int | None, typer.Option("--crf", help="Quality for h264/h265 (lower is better).")]
DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
DainWeightsOption = Annotated[
    Path | None, typer.Option("--dain-weights", help="DAIN checkpoint (best.pth) for --interp dain.")
]
CleanOption = Annotated[
    str | None,
    typer.Option(
        "--clean", help="Cleanup steps before everything else: deflicker,dust,scratches,denoise or all."
    ),
]
DenoiseStrengthOption = Annotated[
    float,
    typer.Option(
        "--denoise-strength", help="With --clean denoise: 0 = off, 1 = default, higher smooths more."
    ),
]
KeepGrainOption = Annotated[
    float,
    typer.Option(
        "--keep-grain", help="With --clean denoise: fraction (0 to 1) of the removed grain put back."
    ),
]
SegmentOption = Annotated[
    float,
    typer.Option("--segment-seconds", help="Long outputs are made in segments of about this many seconds."),
]
HalfOption = Annotated[
    bool | None,
    typer.Option("--half/--no-half", help="fp16/bf16 for models on CUDA [default: when supported]."),
]
ColorizeOption = Annotated[bool, typer.Option("--colorize", help="Colourise black-and-white film.")]
ColorRefOption = Annotated[
    list[Path] | None,
    typer.Option("--color-ref", help="Colour reference image or folder (repeatable) for --colorize."),
]
ColorizeWeightsOption = Annotated[
    Path | None, typer.Option("--colorize-weights", help="Checkpoint of a learned colouriser.")
]
ColorizeEngineOption = Annotated[
    str, typer.Option("--colorize-engine", help="auto, reference, eccv16, siggraph17 or ddcolor.")
]
CutDetectionOption = Annotated[
    bool, typer.Option("--cut-detection/--no-cut-detection", help="Never interpolate across scene cuts.")
]
RepeatDetectionOption = Annotated[
    bool,
    typer.Option("--repeat-detection/--no-repeat-detection", help="Find repeated frames (telecine, twos)."),
]
CutThresholdOption = Annotated[
    float, typer.Option("--cut-threshold", help="Cut sensitivity: a cut's difference over the local median.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]


def _build_config(input: Path, output: Path | None, **options: object) -> RestoreConfig:
    """The job description from command-line values (shared by ``run`` and ``batch``)."""
    from restore.config import RestoreConfig, default_output_path
    from restore.plan.geometry import parse_size
    from restore.plan.shots import ShotSettings
    from restore.plan.timing import parse_frame_rate

    fps, size, scale = options.pop("fps"), options.pop("size"), options.pop("scale")
    try:
        rate = parse_frame_rate(str(fps)) if fps is not None else None
        exact_size = parse_size(str(size)) if size is not None else None
    except ValueError as error:
        raise RestoreError(str(error)) from None
    if scale is not None and exact_size is not None:
        raise RestoreError("--scale and --size cannot be used together")
    if scale is not None and not 0 < float(scale) <= 16:  # type: ignore[arg-type]
        raise RestoreError(f"--scale must be above 0 and at most 16, got {scale:g}")
    interp = str(options.pop("interp"))
    sr_options = {
        key: options.pop(key) for key in ("tile", "half") if key in options and options[key] is not None
    }
    options = {key: value for key, value in options.items() if key not in ("tile", "half")}
    clean = options.pop("clean", None)
    clean_options = _clean_options(
        clean,
        float(options.pop("denoise_strength", 1.0)),
        float(options.pop("keep_grain", 0.0)),  # type: ignore[arg-type]
    )
    color_ref = options.pop("color_ref", None)
    codec = str(options.get("codec", "h264"))
    shots = ShotSettings(
        detect_cuts=bool(options.pop("cut_detection", True)),
        detect_duplicates=bool(options.pop("repeat_detection", True)),
        cut_ratio=float(options.pop("cut_threshold", 3.0)),  # type: ignore[arg-type]
    )
    return RestoreConfig(
        input=input,
        output=output if output is not None else default_output_path(input, codec),
        fps=rate,
        scale=scale,  # type: ignore[arg-type]
        size=exact_size,
        interp=interp,
        interp_options=_engine_options(interp, options.pop("dain_weights", None)),  # type: ignore[arg-type]
        sr_options=sr_options,
        clean=tuple(step.strip() for step in str(clean).split(",") if step.strip()) if clean else (),
        clean_options=clean_options,
        color_refs=tuple(color_ref or ()),  # type: ignore[arg-type]
        shots=shots,
        **options,  # type: ignore[arg-type]
    )


@app.command("run", help="Restore a film (the default command: `restore film.mp4 ...`).")
def run_command(
    input: Annotated[Path, typer.Argument(help="The film to restore.", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output file [default: INPUT.restored.mp4].")
    ] = None,
    fps: FpsOption = None,
    scale: ScaleOption = None,
    size: SizeOption = None,
    fit: FitOption = "pad",
    interp: InterpOption = "classic",
    sr: SrOption = "lanczos",
    tile: TileOption = None,
    half: HalfOption = None,
    colorize: ColorizeOption = False,
    color_ref: ColorRefOption = None,
    colorize_weights: ColorizeWeightsOption = None,
    colorize_engine: ColorizeEngineOption = "auto",
    clean: CleanOption = None,
    denoise_strength: DenoiseStrengthOption = 1.0,
    keep_grain: KeepGrainOption = 0.0,
    codec: CodecOption = "h264",
    crf: CrfOption = None,
    device: DeviceOption = "auto",
    dain_weights: DainWeightsOption = None,
    cut_detection: CutDetectionOption = True,
    repeat_detection: RepeatDetectionOption = True,
    cut_threshold: CutThresholdOption = 3.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted job from its journal.")
    ] = False,
    segment_seconds: SegmentOption = 60.0,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    options = dict(locals())  # every command-line value, by parameter name
    for key in ("input", "output", "quiet", "debug"):
        options.pop(key)
    config = _build_config(input, output, **options)

    from restore.jobs.resumable import run_resumable, wants_segments
    from restore.jobs.run import check_job, prepare_job, run_job

    checked = check_job(config)
    with _progress(quiet) as progress:
        scan_task = progress.add_task("analysing", total=None)
        job = prepare_job(
            config, on_scan=lambda done, _total: progress.update(scan_task, completed=done), checked=checked
        )
        progress.update(scan_task, total=job.timeline.frame_count, completed=job.timeline.frame_count)
        plan = job.plan
        if not quiet:
            progress.console.print(
                f"{input.name}: {job.timeline.frame_count} frames, {job.timeline.duration:.2f} s, "
                f"{len(job.shots.cuts)} cuts, {int(job.shots.repeats.sum())} repeats → "
                f"{len(plan)} frames at {float(plan.fps):.3f} fps ({plan.interpolated_count} interpolated), "
                f"{job.geometry.canvas[0]}x{job.geometry.canvas[1]}, {job.device}"
            )
        task = progress.add_task("restoring", total=len(plan))
        run = run_resumable if wants_segments(job) else run_job
        report = run(job, on_progress=lambda done, _total: progress.update(task, completed=done))
    if not quiet:
        for line in report.stage_reports:
            _stderr.print(line)
        _stderr.print(f"wrote {report.output} ({report.frames} frames in {report.seconds:.1f} s)")


def _clean_options(clean: object, denoise_strength: float, keep_grain: float) -> dict[str, object]:
    """Denoiser settings for the cleanup stage; they need ``denoise`` among the ``--clean`` steps."""
    if not 0.0 <= keep_grain <= 1.0:
        raise RestoreError(f"--keep-grain must lie between 0 and 1, got {keep_grain:g}")
    if not 0.0 <= denoise_strength <= 10.0:
        raise RestoreError(f"--denoise-strength must lie between 0 and 10, got {denoise_strength:g}")
    options: dict[str, object] = {}
    if denoise_strength != 1.0:
        options["denoise_strength"] = denoise_strength
    if keep_grain != 0.0:
        options["keep_grain"] = keep_grain
    steps = {step.strip().lower() for step in str(clean or "").split(",")}
    if options and not steps & {"denoise", "all"}:
        raise RestoreError("--denoise-strength and --keep-grain need --clean denoise (or --clean all)")
    return options


def _engine_options(interp: str, dain_weights: Path | None) -> dict[str, object]:
    """Options for the interpolation engine: the DAIN checkpoint goes to the ``dain`` engine only."""
    if dain_weights is None:
        return {}
    if interp != "dain":
        raise RestoreError("--dain-weights is only used with --interp dain")
    return {"weights": dain_weights}


@app.command("batch", help="Restore many films on a Dask cluster (a local one by default); resumable.")
def batch_command(
    inputs: Annotated[list[Path] | None, typer.Argument(help="Films to restore.", show_default=False)] = None,
    from_list: Annotated[
        Path | None, typer.Option("--from", help="A text file with one film per line.")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("-o", "--output-dir", help="Folder for the results.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes of the local cluster.")] = 2,
    retries: Annotated[int, typer.Option(help="Retries of a film whose worker failed.")] = 2,
    gpus: Annotated[
        float | None,
        typer.Option(help="GPU resource per task [default: 1 on a local cluster with a GPU, else 0]."),
    ] = None,
    fps: FpsOption = None,
    scale: ScaleOption = None,
    size: SizeOption = None,
    fit: FitOption = "pad",
    interp: InterpOption = "classic",
    sr: SrOption = "lanczos",
    tile: TileOption = None,
    half: HalfOption = None,
    colorize: ColorizeOption = False,
    color_ref: ColorRefOption = None,
    colorize_weights: ColorizeWeightsOption = None,
    colorize_engine: ColorizeEngineOption = "auto",
    clean: CleanOption = None,
    denoise_strength: DenoiseStrengthOption = 1.0,
    keep_grain: KeepGrainOption = 0.0,
    codec: CodecOption = "h264",
    crf: CrfOption = None,
    device: DeviceOption = "auto",
    dain_weights: DainWeightsOption = None,
    cut_detection: CutDetectionOption = True,
    repeat_detection: RepeatDetectionOption = True,
    cut_threshold: CutThresholdOption = 3.0,
    segment_seconds: SegmentOption = 60.0,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    options = dict(locals())  # every command-line value, by parameter name
    for key in (
        "inputs",
        "from_list",
        "output_dir",
        "scheduler",
        "workers",
        "retries",
        "gpus",
        "quiet",
        "debug",
    ):
        options.pop(key)

    from restore.jobs.batch import read_input_list, run_batch

    files = list(inputs or []) + (read_input_list(from_list) if from_list is not None else [])
    if not files:
        raise RestoreError("restore batch: give input files or --from LIST")
    if output_dir is None:
        raise RestoreError("restore batch: -o OUTPUT_DIR is required")
    if workers < 1:
        raise RestoreError(f"--workers must be at least 1, got {workers}")
    if gpus is None:  # a local cluster on a GPU machine: each task holds its worker's GPU slot
        gpus = 1.0 if scheduler is None and device != "cpu" and _local_gpu() else 0.0
    template = _build_config(files[0], None, **options)
    with _progress(quiet) as progress:
        task = progress.add_task("films", total=len(files))

        def advance(done: int, _total: int, item: object) -> None:
            progress.update(task, completed=done)
            error = getattr(item, "error", None)
            if error and not quiet:
                progress.console.print(f"failed: {getattr(item, 'input', '?')}: {error}")

        result = run_batch(
            files, output_dir, template, scheduler=scheduler, workers=workers, retries=retries,
            gpus_per_task=gpus, on_progress=advance,
        )  # fmt: skip
    if not quiet:
        _stderr.print(f"{len(files) - result.failed} of {len(files)} films restored; report: {result.report}")
    if result.failed:
        sys.exit(3 if result.failed < len(files) else 2)


def _local_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def _parse_times(text: str) -> list[float]:
    try:
        times = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise RestoreError(
            f"--times must be numbers between 0 and 1 separated by commas, got {text!r}"
        ) from None
    if not times or any(not 0 < t < 1 for t in times):
        raise RestoreError(f"--times must be numbers strictly between 0 and 1, got {text!r}")
    return times


@app.command("pair", help="Interpolate between two images: one output image per phase.")
def pair_command(
    first: Annotated[Path, typer.Argument(help="Image at phase 0.", show_default=False)],
    second: Annotated[Path, typer.Argument(help="Image at phase 1.", show_default=False)],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="A file for one phase, a folder for several.")
    ],
    times: Annotated[str, typer.Option(help="Phases, e.g. 0.25,0.5,0.75.")] = "0.5",
    interp: Annotated[str, typer.Option(help="Interpolation engine.")] = "classic",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    dain_weights: Annotated[Path | None, typer.Option("--dain-weights", help="DAIN checkpoint.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    import torch

    from dain.engines import create_interpolator
    from restore.jobs.run import resolve_device
    from restore.media.frames import array_to_tensor, tensor_to_array
    from restore.media.images import read_image, write_image

    phases = _parse_times(times)
    image0, image1 = read_image(first), read_image(second)
    if image0.shape != image1.shape:
        raise RestoreError(
            f"the two images differ in size: {image0.shape[1]}x{image0.shape[0]} and "
            f"{image1.shape[1]}x{image1.shape[0]}"
        )
    if len(phases) == 1 and output.suffix:
        targets = [output]
        if not output.parent.is_dir():
            raise RestoreError(f"output folder does not exist: {output.parent}")
    else:
        if output.exists() and not output.is_dir():
            raise RestoreError(f"several phases need an output folder, and {output} is a file")
        output.mkdir(parents=True, exist_ok=True)
        targets = [output / f"phase_{t:.4f}.png" for t in phases]
    torch_device = resolve_device(device)
    try:
        engine = create_interpolator(interp, device=torch_device, **_engine_options(interp, dain_weights))
    except ValueError as error:
        raise RestoreError(str(error)) from None
    with torch.inference_mode():
        frames = engine.interpolate(
            array_to_tensor(image0, torch_device), array_to_tensor(image1, torch_device), phases
        )
    for target, frame in zip(targets, frames, strict=True):
        write_image(target, tensor_to_array(frame, image0.dtype))
        typer.echo(str(target))


@app.command("models", help="List upscaling model files, or describe one.")
def models_command(
    model: Annotated[
        Path | None, typer.Argument(help="A model file to describe.", show_default=False)
    ] = None,
) -> None:
    try:
        from restore.cli.models import models_command as describe_models
    except ImportError:
        raise RestoreError("model files are not supported in this build") from None
    describe_models(model)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _is_usage_error(error: Exception) -> bool:
    """Typer's parser errors (click's UsageError family, vendored by recent Typer releases)."""
    return any(cls.__name__ in ("UsageError", "BadParameter") for cls in type(error).__mro__) and hasattr(
        error, "format_message"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``restore`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if not args:
        args = ["--help"]
    if args and args[0] not in _SUBCOMMANDS and args[0] not in ("--help", "-h", "--version"):
        args.insert(0, "run")
    try:
        result = app(args=args, prog_name="restore", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("restore: interrupted; no output was written", file=sys.stderr)
        sys.exit(130)
    except RestoreError as error:
        if debug:
            raise
        print(f"restore: error: {_one_line(str(error))}", file=sys.stderr)
        sys.exit(2)
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        if _is_usage_error(error):
            print(f"restore: error: {_one_line(error.format_message())}", file=sys.stderr)  # type: ignore[attr-defined]
            sys.exit(2)
        print(
            f"restore: internal error: {_one_line(f'{type(error).__name__}: {error}')} "
            "(run again with --debug for details)",
            file=sys.stderr,
        )
        sys.exit(1)
    if isinstance(result, int) and result != 0:  # Typer returns Ctrl-C as exit code 130
        if result == 130:
            print("restore: interrupted; no output was written", file=sys.stderr)
        sys.exit(result)
