"""Super-resolution models by name: the official Real-ESRGAN releases, downloaded into the model cache.

``--sr realesr-animevideov3`` (and the other names of :data:`CATALOGUE`) resolves to a file in
:func:`dain.hub.model_cache_dir`, downloaded on first use through :mod:`dain.hub` (progress, resume,
checksum). Every file here is xinntao's own GitHub release asset (``xinntao/Real-ESRGAN``, BSD-3-Clause),
with its size and SHA-256 pinned: the values several independent projects record for these exact release
files (e.g. Arch Linux's ``python-realesrgan`` PKGBUILD). The files are read with
:func:`dain.checkpoint.read_checkpoint` (``weights_only``) and built by spandrel, never run as code.

Scales: every release here is a ×4 network. Real-ESRGAN's own documentation says the AnimeVideo v3
model is "X4 (can also be used for X1, X2, X3)": its inference runs the ×4 network and resizes to the
asked scale (``--outscale``); :class:`restore.upscale.model_file.ModelUpscaler` does the same (Lanczos to
the exact size), so ``--sr realesr-animevideov3 --scale 2`` (or 3) uses the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dain.hub import MODELS_FOLDER, WeightSpec, cached_file, ensure_weights

__all__ = ["CATALOGUE", "CatalogueModel", "catalogue_model", "catalogue_path", "is_cached"]

_RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download"
_HINT = "--sr PATH"


@dataclass(frozen=True)
class CatalogueModel:
    """One named model: ``spec`` (sources, cache file, pinned size and SHA-256), its native ``scale``,
    the ``scales`` it serves (the native one, and smaller ones by resizing), ``architecture``,
    ``licence`` (SPDX), ``aliases`` (the upstream names, also accepted) and a one-line ``description``."""

    name: str
    spec: WeightSpec
    scale: int
    scales: tuple[int, ...]
    architecture: str
    licence: str
    description: str
    aliases: tuple[str, ...] = ()


def _release(tag: str, filename: str, sha256: str, size: int) -> WeightSpec:
    return WeightSpec(
        name=filename.removesuffix(".pth"),
        urls=(f"{_RELEASES}/{tag}/{filename}",),
        filename=f"{MODELS_FOLDER}/{filename}",
        sha256=sha256,
        size=size,
        cli_hint=_HINT,
    )


_MODELS = (
    CatalogueModel(
        name="realesr-animevideov3",
        spec=_release(
            "v0.2.5.0",
            "realesr-animevideov3.pth",
            "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d",
            2_504_012,
        ),
        scale=4,
        scales=(2, 3, 4),
        architecture="SRVGGNetCompact (16 convolutions)",
        licence="BSD-3-Clause",
        description="anime and cartoon video; tiny and fast",
        aliases=("realesr-animevideov3-x4",),
    ),
    CatalogueModel(
        name="realesrgan-x4plus",
        spec=_release(
            "v0.1.0",
            "RealESRGAN_x4plus.pth",
            "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            67_040_989,
        ),
        scale=4,
        scales=(4,),
        architecture="RRDBNet (23 blocks)",
        licence="BSD-3-Clause",
        description="general photographs and film; slow, strongest",
        aliases=("RealESRGAN_x4plus",),
    ),
    CatalogueModel(
        name="realesrgan-x4plus-anime",
        spec=_release(
            "v0.2.2.4",
            "RealESRGAN_x4plus_anime_6B.pth",
            "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da",
            17_938_799,
        ),
        scale=4,
        scales=(4,),
        architecture="RRDBNet (6 blocks)",
        licence="BSD-3-Clause",
        description="anime and line art stills",
        aliases=("RealESRGAN_x4plus_anime_6B",),
    ),
    CatalogueModel(
        name="realesr-general-x4v3",
        spec=_release(
            "v0.2.5.0",
            "realesr-general-x4v3.pth",
            "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
            4_885_111,
        ),
        scale=4,
        scales=(2, 3, 4),
        architecture="SRVGGNetCompact (32 convolutions)",
        licence="BSD-3-Clause",
        description="general scenes; small and fast",
    ),
)

# name -> model; names and aliases are matched case-insensitively.
CATALOGUE: dict[str, CatalogueModel] = {model.name: model for model in _MODELS}
_BY_KEY = {key.lower(): model for model in _MODELS for key in (model.name, *model.aliases)}


def catalogue_model(name: str) -> CatalogueModel | None:
    """The catalogue entry called ``name`` (or one of its aliases, any case); ``None`` when there is none."""
    model = _BY_KEY.get(name.strip().lower())
    return None if model is None else CATALOGUE.get(model.name, model)


def is_cached(model: CatalogueModel) -> bool:
    """Whether ``model``'s file is already in the model cache (no download, no checksum)."""
    return cached_file(model.spec).is_file()


def catalogue_path(name: str, *, allow_download: bool = True, progress: bool = True) -> Path:
    """The cached (downloaded on first use, checksummed) file of the catalogue model ``name``.

    ``KeyError`` when ``name`` is not in the catalogue; :class:`dain.hub.WeightsUnavailableError` (one
    line: what to download from where, and ``--sr PATH``) when it is neither cached nor downloadable.
    """
    model = catalogue_model(name)
    if model is None:
        raise KeyError(name)
    return ensure_weights(model.spec, allow_download=allow_download, progress=progress)
