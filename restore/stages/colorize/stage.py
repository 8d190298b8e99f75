"""The colour stage of the pipeline: engine choice from the config, references, and the frame loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from restore.stages import SourceFrame
from restore.stages.colorize.lab import from_unit_float, merge_lab, rgb_to_lab
from restore.stages.colorize.reference import ColorReference, ReferenceColorizer

__all__ = ["ENGINES", "IMAGE_SUFFIXES", "ColorizeStage", "collect_references", "create_colorize_stage"]

ENGINES = ("auto", "reference", "eccv16", "siggraph17", "ddcolor")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
NO_SOURCE_MESSAGE = (
    "--colorize needs colour references (--color-ref IMG or folder) or a learned colouriser's weights "
    "(--colorize-weights PATH); none given and none cached"
)


class ShotColorizer(Protocol):
    def start_shot(self) -> None: ...

    def colorize(self, lightness: np.ndarray) -> np.ndarray: ...


def collect_references(paths: tuple[Path, ...]) -> list[Path]:
    """Image files named by ``--color-ref``: files as given, folders expanded (sorted, images only)."""
    found: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not images:
                raise ValueError(f"--color-ref: no images in folder {path}")
            found += images
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"--color-ref: not found: {path}")
    return found


def _load_references(paths: list[Path]) -> list[ColorReference]:
    from restore.errors import RestoreError
    from restore.media.images import read_image

    references = []
    for path in paths:
        try:
            references.append(ColorReference.from_rgb(read_image(path)))
        except RestoreError as error:
            raise ValueError(f"--color-ref: {error}") from None
    return references


class ColorizeStage:
    """Source stage: keeps each frame's lightness, replaces its chroma; resets at every shot start."""

    name = "colorize"

    def __init__(self, colorizer: ShotColorizer, description: str):
        self.colorizer = colorizer
        self.description = description
        self.frames = 0
        self.shots = 0

    def process(self, frames: Iterator[SourceFrame]) -> Iterator[SourceFrame]:
        for frame in frames:
            if frame.shot_start or self.frames == 0:
                self.colorizer.start_shot()
                self.shots += 1
            lightness = np.ascontiguousarray(rgb_to_lab(frame.image)[..., 0])
            chroma = self.colorizer.colorize(lightness)
            image = from_unit_float(merge_lab(lightness, chroma), frame.image.dtype)
            self.frames += 1
            yield SourceFrame(frame.index, image, frame.shot_start)

    def report(self) -> str:
        return f"{self.description}, {self.frames} frames in {self.shots} shots"


def _learned_stage(
    engine: str, weights: Path | None, device: torch.device, allow_download: bool
) -> ColorizeStage:
    from restore.stages.colorize.learned import LearnedColorizer, LearnedSettings

    if engine == "ddcolor":
        from restore.stages.colorize.ddcolor import load_ddcolor

        network, settings = load_ddcolor(weights), LearnedSettings(input_size=512)
        return ColorizeStage(LearnedColorizer(network, device, settings), "DDColor with flow stabilisation")
    from restore.stages.colorize.weights import load_colorizer, resolve_colorize_weights

    path = resolve_colorize_weights(engine, weights, allow_download=allow_download)
    name, network = load_colorizer(path, engine)
    return ColorizeStage(LearnedColorizer(network, device), f"{name} ({path.name}) with flow stabilisation")


def create_colorize_stage(config: object, device: torch.device) -> ColorizeStage:
    """The stage ``config`` (a :class:`restore.config.RestoreConfig`) asks for; ``ValueError`` on bad input.

    Engine ``auto``: references if given, else ``--colorize-weights`` (architecture detected from its keys),
    else an official checkpoint already in the cache (no download), else the one-line error naming
    ``--color-ref`` and ``--colorize-weights``.
    """
    engine = getattr(config, "colorize_engine", "auto")
    refs = tuple(getattr(config, "color_refs", ()))
    weights = getattr(config, "colorize_weights", None)
    if engine not in ENGINES:
        raise ValueError(f"--colorize-engine: unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if engine == "auto":
        if refs:
            engine = "reference"
        elif weights is not None:
            from restore.stages.colorize.weights import load_colorizer

            path = Path(weights).expanduser()
            if not path.is_file():
                raise ValueError(f"--colorize-weights: file not found: {path}")
            name, network = load_colorizer(path)
            from restore.stages.colorize.learned import LearnedColorizer

            return ColorizeStage(
                LearnedColorizer(network, device), f"{name} ({path.name}) with flow stabilisation"
            )
        else:
            from restore.stages.colorize.weights import cached_colorize_weights

            cached = cached_colorize_weights()
            if not cached:
                raise ValueError(NO_SOURCE_MESSAGE)
            engine = "siggraph17" if "siggraph17" in cached else "eccv16"
            return _learned_stage(engine, None, device, allow_download=False)
    if engine == "reference":
        if not refs:
            raise ValueError("--colorize-engine reference needs at least one --color-ref IMG or folder")
        paths = collect_references(refs)
        colorizer = ReferenceColorizer(_load_references(paths))
        return ColorizeStage(colorizer, f"reference-based from {len(paths)} reference image(s)")
    return _learned_stage(engine, weights, device, allow_download=True)
