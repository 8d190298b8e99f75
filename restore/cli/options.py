"""The job options of ``restore run`` and ``restore batch``, each defined once, and the config they make.

:class:`JobOptions` is the option set as typed on the command line: one field per option, its Typer
declaration in the field's annotation and its default read from :class:`restore.config.RestoreConfig`,
:class:`restore.plan.shots.ShotSettings` or the cleanup's :class:`CleanupSettings`, never written
again. :func:`with_job_options` gives a command all of them; :func:`build_config` turns them into the
job's :class:`RestoreConfig`.

Following ``--fps``: ``JobOptions.fps`` (text) → :func:`build_config` parses it
(``restore.plan.timing.parse_frame_rate``) into ``RestoreConfig.fps`` → ``restore.jobs.prepare``
checks its range and hands it to ``restore.plan.timing.plan_frames``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from restore.config import RestoreConfig, default_output_path
from restore.errors import UsageError
from restore.plan.shots import ShotSettings
from restore.stages.cleanup.settings import CleanupSettings

__all__ = [
    "JobOptions",
    "with_job_options",
    "build_config",
    "interpolator_options",
    "QuietOption",
    "DebugOption",
    "RifeModelOption",
    "RifeScaleOption",
    "RifeWeightsOption",
]

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
# the RIFE engine's options, shared by `restore` and `restore pair`
RifeWeightsOption = Annotated[
    Path | None, typer.Option("--rife-weights", help="RIFE checkpoint (flownet.pkl) for --interp rife.")
]
RifeModelOption = Annotated[
    str | None,
    typer.Option(
        "--rife-model", help="RIFE version to download: 4.6, 4.18, 4.22, 4.25, 4.26 (default 4.25)."
    ),
]
RifeScaleOption = Annotated[
    str | None,
    typer.Option(
        "--rife-scale", help="RIFE flow scale: auto, 0.25, 0.5, 1, 2, 4 (0.5 for 4K; default auto)."
    ),
]


@dataclass(frozen=True)
class JobOptions:
    """Every option that describes a job, as given on the command line (text not yet parsed)."""

    fps: Annotated[
        str | None,
        typer.Option("--fps", help="Output frame rate: 60, 59.94, 30000/1001 (default: unchanged)."),
    ] = None
    scale: Annotated[float | None, typer.Option("--scale", help="Upscale factor (default: 1).")] = (
        RestoreConfig.scale
    )
    size: Annotated[str | None, typer.Option("--size", help="Exact output size WxH, e.g. 3840x2160.")] = None
    fit: Annotated[str, typer.Option("--fit", help="With --size: pad (letterbox) or crop.")] = (
        RestoreConfig.fit
    )
    interp: Annotated[
        str,
        typer.Option(
            "--interp", help="Interpolation engine: classic, classic-fast, dain, rife, blend, repeat."
        ),
    ] = RestoreConfig.interp
    sr: Annotated[
        str, typer.Option("--sr", help="Upscaler: lanczos, anime4k, a model name or file, or a chain a,b,c.")
    ] = RestoreConfig.sr
    tile: Annotated[
        int | None, typer.Option("--tile", help="Upscaler tile size in pixels (0 = no tiling).")
    ] = None
    half: Annotated[
        bool | None,
        typer.Option(
            "--half/--no-half",
            help="fp16/bf16 for model upscalers and RIFE (RIFE: CUDA only) (default: on CUDA if supported).",
        ),
    ] = None
    colorize: Annotated[
        bool, typer.Option("--colorize", help="Colourise B/W film (--color-ref, else learned SIGGRAPH17).")
    ] = RestoreConfig.colorize
    color_ref: Annotated[
        list[Path] | None,
        typer.Option("--color-ref", help="Colour reference image or folder (repeatable) for --colorize."),
    ] = None
    colorize_weights: Annotated[
        Path | None, typer.Option("--colorize-weights", help="Checkpoint of a learned colouriser.")
    ] = RestoreConfig.colorize_weights
    colorize_engine: Annotated[
        str, typer.Option("--colorize-engine", help="auto, reference, eccv16, siggraph17 or ddcolor.")
    ] = RestoreConfig.colorize_engine
    clean: Annotated[
        str | None,
        typer.Option(
            "--clean", help="Cleanup steps before everything else: deflicker,dust,scratches,denoise or all."
        ),
    ] = None
    denoise_strength: Annotated[
        float,
        typer.Option(
            "--denoise-strength", help="With --clean denoise: 0 = off, 1 = default, higher smooths more."
        ),
    ] = CleanupSettings.denoise_strength
    keep_grain: Annotated[
        float,
        typer.Option(
            "--keep-grain", help="With --clean denoise: fraction (0 to 1) of the removed grain put back."
        ),
    ] = CleanupSettings.keep_grain
    codec: Annotated[str, typer.Option("--codec", help="h264, h265, prores or ffv1.")] = RestoreConfig.codec
    crf: Annotated[int | None, typer.Option("--crf", help="Quality for h264/h265 (lower is better).")] = (
        RestoreConfig.crf
    )
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = RestoreConfig.device
    dain_weights: Annotated[
        Path | None, typer.Option("--dain-weights", help="DAIN checkpoint (best.pth) for --interp dain.")
    ] = None
    rife_weights: RifeWeightsOption = None
    rife_model: RifeModelOption = None
    rife_scale: RifeScaleOption = None
    cut_detection: Annotated[
        bool, typer.Option("--cut-detection/--no-cut-detection", help="Never interpolate across scene cuts.")
    ] = ShotSettings.detect_cuts
    repeat_detection: Annotated[
        bool,
        typer.Option(
            "--repeat-detection/--no-repeat-detection", help="Find repeated frames (telecine, twos)."
        ),
    ] = ShotSettings.detect_duplicates
    cut_threshold: Annotated[
        float,
        typer.Option("--cut-threshold", help="Cut sensitivity: a cut's difference over the local median."),
    ] = ShotSettings.cut_ratio
    segment_seconds: Annotated[
        float,
        typer.Option(
            "--segment-seconds", help="Long outputs are made in segments of about this many seconds."
        ),
    ] = RestoreConfig.segment_seconds
    deinterlace: Annotated[
        str,
        typer.Option(
            "--deinterlace",
            help="auto (detect), off, ivtc (telecined film), bob (field rate) or single (frame rate).",
        ),
    ] = RestoreConfig.deinterlace
    field_order: Annotated[
        str, typer.Option("--field-order", help="Field order of interlaced input: auto, tff or bff.")
    ] = RestoreConfig.field_order
    input_fps: Annotated[
        str | None,
        typer.Option("--input-fps", help="Frame rate of an image-sequence input (default: 24)."),
    ] = None
    allow_gaps: Annotated[
        bool,
        typer.Option("--allow-gaps", help="Accept missing frame numbers in an image sequence (filled in)."),
    ] = RestoreConfig.allow_gaps


_JOB_OPTION_NAMES = tuple(field.name for field in dataclasses.fields(JobOptions))


def with_job_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with every job option as its own command-line parameter.

    ``command`` declares ``options: JobOptions`` among its parameters; Typer sees the fields of
    :class:`JobOptions` in that place instead, and ``command`` receives them packed in one
    :class:`JobOptions`.
    """
    hints = typing.get_type_hints(JobOptions, include_extras=True)
    shared = [
        inspect.Parameter(
            field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default, annotation=hints[field.name]
        )
        for field in dataclasses.fields(JobOptions)
    ]
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "options":
            parameters.extend(shared)
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def command_with_job_options(**values: Any) -> None:
        options = JobOptions(**{name: values.pop(name) for name in _JOB_OPTION_NAMES})
        command(options=options, **values)

    # what Typer reads: the expanded signature (inspect.signature stops at __signature__) and its types
    command_with_job_options.__dict__["__signature__"] = signature.replace(parameters=parameters)
    command_with_job_options.__annotations__ = {p.name: p.annotation for p in parameters}
    return command_with_job_options


def build_config(
    input: Path,
    output: Path | None,
    options: JobOptions,
    *,
    overwrite: bool = RestoreConfig.overwrite,
    resume: bool = RestoreConfig.resume,
) -> RestoreConfig:
    """The job description from command-line values; :class:`UsageError` for values that cannot go together.

    output: None for the default name beside ``input``.
    """
    from restore.plan.geometry import MAX_SCALE, parse_size
    from restore.plan.timing import parse_frame_rate

    try:
        rate = parse_frame_rate(options.fps) if options.fps is not None else None
        exact_size = parse_size(options.size) if options.size is not None else None
    except ValueError as error:  # the parsers' one-line refusal of the text
        raise UsageError(str(error)) from None
    try:
        input_rate = parse_frame_rate(options.input_fps) if options.input_fps is not None else None
    except ValueError as error:
        raise UsageError(str(error).replace("--fps", "--input-fps")) from None
    scale = options.scale
    if scale is not None and exact_size is not None:
        raise UsageError("--scale and --size cannot be used together")
    if scale is not None and not 0 < scale <= MAX_SCALE:
        raise UsageError(f"--scale must be above 0 and at most {MAX_SCALE:g}, got {scale:g}")
    clean_options = cleanup_options(options.clean, options.denoise_strength, options.keep_grain)
    return RestoreConfig(
        input=input,
        output=output if output is not None else default_output_path(input, options.codec),
        fps=rate,
        scale=scale,
        size=exact_size,
        fit=options.fit,
        interp=options.interp,
        sr=options.sr,
        colorize=options.colorize,
        color_refs=tuple(options.color_ref or ()),
        colorize_weights=options.colorize_weights,
        colorize_engine=options.colorize_engine,
        clean=cleanup_steps(options.clean),
        clean_options=clean_options,
        codec=options.codec,
        crf=options.crf,
        device=options.device,
        overwrite=overwrite,
        shots=ShotSettings(
            detect_cuts=options.cut_detection,
            detect_duplicates=options.repeat_detection,
            cut_ratio=options.cut_threshold,
        ),
        interp_options=interpolator_options(
            options.interp,
            options.dain_weights,
            rife_weights=options.rife_weights,
            rife_model=options.rife_model,
            rife_scale=options.rife_scale,
            half=options.half,
        ),
        sr_options=upscaler_options(options.tile, options.half),
        segment_seconds=options.segment_seconds,
        deinterlace=options.deinterlace,
        field_order=options.field_order,
        input_fps=input_rate,
        allow_gaps=options.allow_gaps,
        resume=resume,
    )


def cleanup_steps(clean: str | None) -> tuple[str, ...]:
    """``--clean "dust, denoise"`` -> ("dust", "denoise"), as given (the stage checks the names)."""
    return tuple(step.strip() for step in clean.split(",") if step.strip()) if clean else ()


def cleanup_options(clean: str | None, denoise_strength: float, keep_grain: float) -> dict[str, object]:
    """Denoiser settings that differ from the cleanup's defaults; they need ``denoise`` in ``--clean``."""
    if not 0.0 <= keep_grain <= 1.0:
        raise UsageError(f"--keep-grain must lie between 0 and 1, got {keep_grain:g}")
    if not 0.0 <= denoise_strength <= 10.0:
        raise UsageError(f"--denoise-strength must lie between 0 and 10, got {denoise_strength:g}")
    options: dict[str, object] = {}
    if denoise_strength != CleanupSettings.denoise_strength:
        options["denoise_strength"] = denoise_strength
    if keep_grain != CleanupSettings.keep_grain:
        options["keep_grain"] = keep_grain
    steps = {step.strip().lower() for step in (clean or "").split(",")}
    if options and not steps & {"denoise", "all"}:
        raise UsageError("--denoise-strength and --keep-grain need --clean denoise (or --clean all)")
    return options


def upscaler_options(tile: int | None, half: bool | None) -> dict[str, object]:
    """``--tile`` and ``--half`` for the upscaler, only those given (the engines' defaults otherwise)."""
    options: dict[str, object] = {}
    if tile is not None:
        options["tile"] = tile
    if half is not None:
        options["half"] = half
    return options


def interpolator_options(
    interp: str,
    dain_weights: Path | None,
    *,
    rife_weights: Path | None = None,
    rife_model: str | None = None,
    rife_scale: str | None = None,
    half: bool | None = None,
) -> dict[str, object]:
    """Options for the interpolation engine: the DAIN checkpoint goes to ``dain`` only, the RIFE
    checkpoint, version and flow scale to ``rife`` only (the version is checked here, torch-free);
    ``--half``/``--no-half`` reaches RIFE, the one engine with a half-precision path."""
    rife = {"weights": rife_weights, "model": rife_model, "scale": rife_scale}
    given = [f"--rife-{name}" for name, value in rife.items() if value is not None]
    if given and interp != "rife":
        raise UsageError(f"{given[0]} is only used with --interp rife")
    if interp == "rife":
        from dain.engines.rife.weights import check_scale, check_version

        options: dict[str, object] = {}
        if rife_weights is not None:
            options["weights"] = rife_weights
        if rife_model is not None:
            options["model"] = check_version(rife_model)
        if rife_scale is not None and rife_scale.strip().lower() != "auto":
            try:
                scale = float(rife_scale)
            except ValueError:
                raise UsageError(
                    f"--rife-scale must be auto or a number (0.5 for 4K), got {rife_scale!r}"
                ) from None
            options["scale"] = check_scale(scale)
        if half is not None:
            options["half"] = half
        if dain_weights is not None:
            raise UsageError("--dain-weights is only used with --interp dain")
        return options
    if dain_weights is None:
        return {}
    if interp != "dain":
        raise UsageError("--dain-weights is only used with --interp dain")
    return {"weights": dain_weights}
