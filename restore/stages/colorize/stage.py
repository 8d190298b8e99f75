"""The colour stage of the pipeline: engine choice from the config, references, and the frame loop.

The engine is chosen by name from :data:`COLORIZERS` (``--colorize-engine``); each entry is a factory
``factory(refs=..., weights=..., device=...) -> ColorizeStage``. ``auto`` picks one of the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from dain.errors import EngineOptionError
from dain.registry import Registry
from restore.media.frames import float_array_to_tensor, tensor_to_float_array
from restore.stages import SourceFrame
from restore.stages.colorize.lab import merge_lab, rgb_to_lab
from restore.stages.colorize.reference import ColorReference, ReferenceColorizer

__all__ = [
    "COLORIZERS",
    "ENGINES",
    "IMAGE_SUFFIXES",
    "ColorizeStage",
    "collect_references",
    "create_colorize_stage",
]

# --colorize-engine name -> "module:factory", in the order the error message lists them.
COLORIZERS: Registry[ColorizeStage] = Registry(
    "colorize engine",
    {
        "auto": "restore.stages.colorize.stage:auto_stage",
        "reference": "restore.stages.colorize.stage:reference_stage",
        "eccv16": "restore.stages.colorize.stage:eccv16_stage",
        "siggraph17": "restore.stages.colorize.stage:siggraph17_stage",
        "ddcolor": "restore.stages.colorize.stage:ddcolor_stage",
    },
    unknown_message="--colorize-engine: unknown engine {name!r}; choose from {choices}",
)
ENGINES = tuple(COLORIZERS.names())
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


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
                raise EngineOptionError(f"--color-ref: no images in folder {path}")
            found += images
        elif path.is_file():
            found.append(path)
        else:
            raise EngineOptionError(f"--color-ref: not found: {path}")
    return found


def _load_references(paths: list[Path]) -> list[ColorReference]:
    from restore.errors import RestoreError
    from restore.media.images import read_image

    references = []
    for path in paths:
        try:
            references.append(ColorReference.from_rgb(read_image(path)))
        except RestoreError as error:
            raise EngineOptionError(f"--color-ref: {error}") from None
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
            lightness = np.ascontiguousarray(rgb_to_lab(tensor_to_float_array(frame.image))[..., 0])
            chroma = self.colorizer.colorize(lightness)
            image = float_array_to_tensor(merge_lab(lightness, chroma), frame.image.device)
            self.frames += 1
            yield SourceFrame(frame.index, image, frame.shot_start)

    def report(self) -> str:
        return f"{self.description}, {self.frames} frames in {self.shots} shots"


def _learned_stage(
    engine: str | None, weights: Path | None, device: torch.device, allow_download: bool
) -> ColorizeStage:
    """A learned colouriser's stage; ``engine`` None: the architecture is read from ``weights``' keys."""
    from restore.stages.colorize.learned import LearnedColorizer, LearnedSettings

    if engine == "ddcolor":
        from restore.stages.colorize.ddcolor import load_ddcolor

        network, settings = load_ddcolor(weights), LearnedSettings(input_size=512)
        return ColorizeStage(LearnedColorizer(network, device, settings), "DDColor with flow stabilisation")
    from restore.stages.colorize.weights import load_colorizer, resolve_colorize_weights

    path = resolve_colorize_weights(engine, weights, allow_download=allow_download)
    name, network = load_colorizer(path, engine)
    return ColorizeStage(LearnedColorizer(network, device), f"{name} ({path.name}) with flow stabilisation")


def auto_stage(refs: tuple[Path, ...], weights: Path | None, device: torch.device) -> ColorizeStage:
    """Engine ``auto``: references if given, else ``--colorize-weights`` (architecture detected from its
    keys), else an official checkpoint already in the cache, else the default learned colouriser
    (:data:`restore.stages.colorize.weights.DEFAULT_ENGINE`) downloaded into the cache on first use.
    Offline, one line that says what to download from where and which option takes it."""
    if refs:
        return reference_stage(refs, weights, device)
    if weights is not None:
        return _learned_stage(None, weights, device, allow_download=False)
    from dain.hub import WeightsUnavailableError
    from restore.stages.colorize.weights import DEFAULT_ENGINE, cached_colorize_weights

    cached = cached_colorize_weights()
    engine = next((name for name in (DEFAULT_ENGINE, "siggraph17", "eccv16") if name in cached), None)
    if engine is not None:
        return _learned_stage(engine, None, device, allow_download=False)
    try:
        return _learned_stage(DEFAULT_ENGINE, None, device, allow_download=True)
    except WeightsUnavailableError as error:
        raise type(error)(
            f"--colorize without --color-ref uses the learned colouriser {DEFAULT_ENGINE}: {error} "
            "(or give colour references with --color-ref IMG)"
        ) from None


def reference_stage(refs: tuple[Path, ...], weights: Path | None, device: torch.device) -> ColorizeStage:
    """Engine ``reference``: colours carried from the ``--color-ref`` images (weight-free)."""
    if not refs:
        raise EngineOptionError("--colorize-engine reference needs at least one --color-ref IMG or folder")
    paths = collect_references(refs)
    colorizer = ReferenceColorizer(_load_references(paths))
    return ColorizeStage(colorizer, f"reference-based from {len(paths)} reference image(s)")


def eccv16_stage(refs: tuple[Path, ...], weights: Path | None, device: torch.device) -> ColorizeStage:
    """Engine ``eccv16``: Zhang et al. 2016 (``--colorize-weights``, else the official checkpoint)."""
    return _learned_stage("eccv16", weights, device, allow_download=True)


def siggraph17_stage(refs: tuple[Path, ...], weights: Path | None, device: torch.device) -> ColorizeStage:
    """Engine ``siggraph17``: Zhang et al. 2017 (``--colorize-weights``, else the official checkpoint)."""
    return _learned_stage("siggraph17", weights, device, allow_download=True)


def ddcolor_stage(refs: tuple[Path, ...], weights: Path | None, device: torch.device) -> ColorizeStage:
    """Engine ``ddcolor``: DDColor (``--colorize-weights``, else the official checkpoint)."""
    return _learned_stage("ddcolor", weights, device, allow_download=True)


def create_colorize_stage(config: object, device: torch.device) -> ColorizeStage:
    """The stage ``config`` (a :class:`restore.config.RestoreConfig`) asks for.

    The engine is ``config.colorize_engine`` looked up in :data:`COLORIZERS` (see :func:`auto_stage`
    for ``auto``). ``dain.errors`` user errors (also ``ValueError``) on bad input: an unknown
    engine, missing references or weights.
    """
    engine = getattr(config, "colorize_engine", "auto")
    refs = tuple(getattr(config, "color_refs", ()))
    weights = getattr(config, "colorize_weights", None)
    return COLORIZERS.create(engine, refs=refs, weights=weights, device=device)
