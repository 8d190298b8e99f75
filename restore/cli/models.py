"""``restore models``: list the model files in the cache folder, or describe one model file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dain.checkpoint import MODEL_SUFFIXES
from dain.hub import CACHE_ENV, model_cache_dir

__all__ = ["list_model_files", "models_command"]


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


def models_command(
    model: Annotated[
        Path | None,
        typer.Argument(
            help="A model file (or the name of one in the cache folder) to describe; omit to list the cache."
        ),
    ] = None,
) -> None:
    """List super-resolution model files in the cache folder, or show what one model file holds.

    Bad input (a missing, unsafe or unknown model file) raises a ``dain.errors.UserError`` with one line.
    """
    from restore.upscale.base import resolve_model_path

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

    info = describe_model(resolve_model_path(str(model)))  # user errors reach restore.cli.app as they are
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
