"""``restore pair A B -o OUT [--times ...]``: interpolate between two images, one image per phase.

Every option is checked (phases, the two images and their sizes, the output, the engine name, the
device name) before torch is imported, so a mistake is refused at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from restore.cli.options import (
    DebugOption,
    RifeModelOption,
    RifeScaleOption,
    RifeWeightsOption,
    interpolator_options,
)
from restore.config import RestoreConfig
from restore.errors import OutputError, UsageError

__all__ = ["pair_command", "parse_times"]


def parse_times(text: str) -> list[float]:
    """``"0.25,0.5"`` -> [0.25, 0.5]: phases strictly between 0 and 1."""
    try:
        times = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"--times must be numbers between 0 and 1 separated by commas, got {text!r}"
        ) from None
    if not times or any(not 0 < t < 1 for t in times):
        raise UsageError(f"--times must be numbers strictly between 0 and 1, got {text!r}")
    return times


def _targets(output: Path, phases: list[float]) -> list[Path]:
    """The file for one phase (``output`` itself), or ``output/phase_T.png`` per phase."""
    if len(phases) == 1 and output.suffix:
        if not output.parent.is_dir():
            raise OutputError(f"output folder does not exist: {output.parent}")
        return [output]
    if output.exists() and not output.is_dir():
        raise OutputError(f"several phases need an output folder, and {output} is a file")
    output.mkdir(parents=True, exist_ok=True)
    return [output / f"phase_{t:.4f}.png" for t in phases]


def pair_command(
    first: Annotated[Path, typer.Argument(help="Image at phase 0.", show_default=False)],
    second: Annotated[Path, typer.Argument(help="Image at phase 1.", show_default=False)],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="A file for one phase, a folder for several.")
    ],
    times: Annotated[str, typer.Option(help="Phases, e.g. 0.25,0.5,0.75.")] = "0.5",
    interp: Annotated[str, typer.Option(help="Interpolation engine.")] = RestoreConfig.interp,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = RestoreConfig.device,
    dain_weights: Annotated[Path | None, typer.Option("--dain-weights", help="DAIN checkpoint.")] = None,
    rife_weights: RifeWeightsOption = None,
    rife_model: RifeModelOption = None,
    rife_scale: RifeScaleOption = None,
    debug: DebugOption = False,  # read by restore.cli.app.main; declared so the parser accepts it
) -> None:
    """Check everything, then build the engine and write one image per phase (paths on stdout)."""
    from restore.jobs.device import check_device_name
    from restore.jobs.prepare import check_interpolator_name
    from restore.media.images import read_image, write_image

    phases = parse_times(times)
    image0, image1 = read_image(first), read_image(second)
    if image0.shape != image1.shape:
        raise UsageError(
            f"the two images differ in size: {image0.shape[1]}x{image0.shape[0]} and "
            f"{image1.shape[1]}x{image1.shape[0]}"
        )
    check_interpolator_name(interp)
    engine_options = interpolator_options(
        interp, dain_weights, rife_weights=rife_weights, rife_model=rife_model, rife_scale=rife_scale
    )
    check_device_name(device)
    targets = _targets(output, phases)

    import torch  # only now: every check above is instant

    from dain.engines import create_interpolator
    from restore.jobs.device import resolve_device
    from restore.media.frames import array_to_tensor, tensor_to_array

    torch_device = resolve_device(device)
    engine = create_interpolator(interp, device=torch_device, **engine_options)
    with torch.inference_mode():
        frames = engine.interpolate(
            array_to_tensor(image0, torch_device), array_to_tensor(image1, torch_device), phases
        )
    for target, frame in zip(targets, frames, strict=True):
        write_image(target, tensor_to_array(frame, image0.dtype))
        typer.echo(str(target))
