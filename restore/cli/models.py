"""``restore models``: the model catalogue (``--list``), the model files in the cache folder, or one model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dain.checkpoint import MODEL_SUFFIXES
from dain.hub import CACHE_ENV, model_cache_dir

__all__ = ["catalogue_lines", "list_model_files", "models_command"]


def list_model_files(folder: Path | None = None) -> list[Path]:
    """Model files (``.safetensors``, ``.pth``, ...) directly in ``folder`` (default: the cache), sorted."""
    folder = model_cache_dir() if folder is None else folder
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in MODEL_SUFFIXES
    )


def _size_text(size_bytes: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size_bytes < 1024 or unit == "GiB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024
    return f"{size_bytes} B"


def catalogue_lines() -> list[str]:
    """The catalogue as a table: name, scale, licence, download size, cached or not, what it is for."""
    from restore.upscale.catalogue import CATALOGUE, is_cached

    rows = [("name", "scale", "licence", "size", "cached", "for")]
    for model in CATALOGUE.values():
        scales = "/".join(f"x{scale}" for scale in model.scales)
        size = _size_text(model.spec.size) if model.spec.size is not None else "?"
        rows.append(
            (model.name, scales, model.licence, size, "yes" if is_cached(model) else "no", model.description)
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]


def models_command(
    model: Annotated[
        Path | None,
        typer.Argument(
            help="A model file (or the name of one in the cache folder) to describe; omit to list the cache."
        ),
    ] = None,
    list_catalogue: Annotated[
        bool, typer.Option("--list", help="Show the catalogue of models --sr takes by name.")
    ] = False,
) -> None:
    """Show the catalogue (``--list``), list the model files in the cache folder, or describe one model.

    Bad input (a missing, unsafe or unknown model file) raises a ``dain.errors.UserError`` with one line.
    """
    from restore.upscale.base import resolve_model_path

    if list_catalogue:
        typer.echo(f"models --sr takes by name (downloaded into {model_cache_dir()} on first use):")
        for line in catalogue_lines():
            typer.echo("  " + line.rstrip())
        return
    if model is None:
        folder = model_cache_dir()
        files = list_model_files(folder)
        typer.echo(f"model folder: {folder} (set {CACHE_ENV} to move the cache)")
        if not files:
            typer.echo("no model files; put .safetensors or .pth files there, or pass a path to --sr")
            return
        for path in files:
            typer.echo(f"  {path.name}  ({_size_text(path.stat().st_size)})")
        return

    from restore.upscale.model_file import describe_model

    # user errors reach restore.cli.app as they are; a catalogue name is described only once downloaded
    info = describe_model(resolve_model_path(str(model), allow_download=False))
    requirements = f"multiple of {info.size_multiple_of}, minimum {info.size_minimum}"
    if info.size_square:
        requirements += ", square"
    lines = [
        ("file", str(info.path)),
        ("architecture", info.architecture),
        ("purpose", info.purpose),
        ("scale", f"{info.scale}x"),
        ("channels", f"{info.input_channels} in, {info.output_channels} out"),
        ("half (fp16)", "yes" if info.supports_half else "no"),
        ("bfloat16", "yes" if info.supports_bfloat16 else "no"),
        ("size requirements", requirements),
        ("tiling", info.tiling),
        ("parameters", f"{info.parameters:,}"),
    ]
    for label, value in lines:
        typer.echo(f"{label + ':':<19}{value}")
