"""The upscaler interface and the registry of engines by name, catalogue model, model file or chain.

An element of ``--sr`` is, in this order: a weight-free engine of :data:`UPSCALERS` (``lanczos``), a
model of :data:`restore.upscale.catalogue.CATALOGUE` (``realesr-animevideov3``, downloaded into the model
cache on first use), or a model file (a path, or a file name in the model cache). A model file is built
by the factory of :data:`MODEL_FILE_FACTORIES` for its suffix, else by the spandrel loader.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dain.errors import EngineOptionError, UnknownNameError
from dain.registry import Registry

if TYPE_CHECKING:  # torch loads on first use, so copy-only jobs and --help stay fast
    import torch

__all__ = [
    "MODEL_FILE_FACTORIES",
    "Upscaler",
    "UPSCALERS",
    "available_upscalers",
    "create_upscaler",
    "model_file_factory",
    "resolve_model_path",
]


@runtime_checkable
class Upscaler(Protocol):
    """Resizes a batch of frames to an exact size.

    ``upscale(frames, size)``:
        frames: (N, 3, H, W) float32 in [0, 1] on the engine's device.
        size: (out_height, out_width) in pixels.
        returns: (N, 3, out_height, out_width) float32 in [0, 1].
    """

    name: str

    def upscale(self, frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor: ...


# name -> "module:factory" (weight-free engines; model files are accepted besides these), called as
# factory(device=..., **options). Names are matched case-insensitively.
UPSCALERS: Registry[Upscaler] = Registry(
    "upscaler",
    {
        "anime4k": "restore.upscale.anime4k:Anime4KUpscaler",
        "lanczos": "restore.upscale.lanczos:LanczosUpscaler",
    },
)


# model-file suffix -> "module:factory", called as factory(path, device=..., **options); any other
# suffix (.safetensors, .pth, .pt, .ckpt) goes to the spandrel loader. One line per model format.
MODEL_FILE_FACTORIES: dict[str, str] = {
    ".param": "restore.upscale.ncnn.upscaler:NcnnUpscaler",  # ncnn: model.param + model.bin
}
_SPANDREL_FACTORY = "restore.upscale.model_file:ModelUpscaler"


def model_file_factory(path: Path) -> type:
    """The upscaler class for a model file of ``path``'s format (its suffix), called as
    ``factory(path, device=..., **options)``; its ``load_descriptor(path)`` loads the model alone."""
    target = MODEL_FILE_FACTORIES.get(path.suffix.lower(), _SPANDREL_FACTORY)
    module_name, _, factory_name = target.partition(":")
    return getattr(importlib.import_module(module_name), factory_name)


def available_upscalers() -> list[str]:
    """Names of the registered upscaling engines, sorted (model files are accepted besides these)."""
    return sorted(UPSCALERS.names())


def resolve_model_path(element: str, *, allow_download: bool = True) -> Path:
    """Find a model named in ``--sr``: a catalogue name (cached, else downloaded when ``allow_download``),
    the path as given, else a file of that name in the model cache.

    :class:`~dain.errors.UnknownNameError` (also a ``ValueError``) naming the element when none fits;
    :class:`dain.hub.WeightsUnavailableError` when a catalogue model can be neither found nor downloaded.
    """
    from dain.hub import model_cache_dir
    from restore.upscale.catalogue import CATALOGUE, catalogue_model, catalogue_path

    if catalogue_model(element) is not None:
        return catalogue_path(element, allow_download=allow_download)
    path = Path(element).expanduser()
    if path.is_file():
        return path
    cached = model_cache_dir() / element
    if not path.is_absolute() and cached.is_file():
        return cached
    raise UnknownNameError(
        f"--sr: {element!r} is neither an engine ({', '.join(available_upscalers())}), a model name "
        f"({', '.join(CATALOGUE)}) nor an existing model file (also looked in {model_cache_dir()})"
    )


def _create_single(element: str, device: torch.device, options: dict[str, object]) -> Upscaler:
    key = element.lower()
    if key in UPSCALERS:
        return UPSCALERS.create(key, device=device, **options)
    path = resolve_model_path(element)
    return model_file_factory(path)(path, device=device, **options)


def create_upscaler(spec: str, device: torch.device | str = "cpu", **options: object) -> Upscaler:
    """Build the upscaler for ``spec``: an engine or model name, a model file, or a comma-separated chain.

    ``options`` (``tile``, ``half``, ...) are passed to every engine; weight-free engines ignore them.
    A ``dain.errors.UserError`` that is also a ``ValueError`` (one line) for an unknown name, a
    missing/unsafe/unknown model file or an empty element.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise EngineOptionError("--sr: empty upscaler specification")
    elements = [element.strip() for element in spec.split(",")]
    if any(not element for element in elements):
        raise EngineOptionError(f"--sr: empty element in chain {spec!r}")
    import torch

    device = torch.device(device)
    engines = [_create_single(element, device, dict(options)) for element in elements]
    if len(engines) == 1:
        return engines[0]
    from restore.upscale.chain import ChainUpscaler

    return ChainUpscaler(engines)
