"""Registry of the official colourisation checkpoints on top of :mod:`dain.hub` (cache, download).

The official release names carry the first 8 hex digits of each file's SHA-256 (the ``torch.hub``
convention, ``name-<sha256 prefix>.pth``); that prefix is checked after every download and on cached files.
The full digests are not pinned (the files could not be fetched while this was written).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dain.hub import (
    ChecksumError,
    WeightSpec,
    WeightsUnavailableError,
    cached_file,
    ensure_weights,
    sha256_of,
)
from restore.stages.colorize.zhang import load_zhang_state_dict

__all__ = [
    "COLORIZE_WEIGHTS",
    "HASH_PREFIXES",
    "cached_colorize_weights",
    "resolve_colorize_weights",
    "load_colorizer",
]

_HINT = "--colorize-weights PATH"

COLORIZE_WEIGHTS: dict[str, WeightSpec] = {
    "eccv16": WeightSpec(
        name="eccv16",
        url="https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
        filename="colorization_release_v2-9b330a0b.pth",
        cli_hint=_HINT,
    ),
    "siggraph17": WeightSpec(
        name="siggraph17",
        url="https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",
        filename="siggraph17-df00044c.pth",
        cli_hint=_HINT,
    ),
}
HASH_PREFIXES = {"eccv16": "9b330a0b", "siggraph17": "df00044c"}


def _check_prefix(path: Path, name: str) -> Path:
    digest = sha256_of(path)
    if not digest.startswith(HASH_PREFIXES[name]):
        raise ChecksumError(
            f"{path} does not match the published {name} checksum prefix; delete it or pass {_HINT}"
        )
    return path


def cached_colorize_weights() -> dict[str, Path]:
    """The official checkpoints already in the cache (no download), by architecture name."""
    return {name: cached_file(spec) for name, spec in COLORIZE_WEIGHTS.items() if cached_file(spec).is_file()}


def resolve_colorize_weights(name: str, weights: Path | None, *, allow_download: bool = True) -> Path:
    """``weights`` if given (must exist), else the cached or downloaded official checkpoint of ``name``."""
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"--colorize-weights: file not found: {path}")
        return path
    if name not in COLORIZE_WEIGHTS:
        raise WeightsUnavailableError(f"--colorize-engine {name}: no official weights known; pass {_HINT}")
    return _check_prefix(ensure_weights(COLORIZE_WEIGHTS[name], allow_download=allow_download), name)


def load_colorizer(path: Path, architecture: str | None = None) -> tuple[str, nn.Module]:
    """(architecture, network in eval mode) from a checkpoint file, loaded ``weights_only``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one clear user error
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:120]
        raise ValueError(
            f"--colorize-weights: cannot read {path} as a weights-only checkpoint ({reason})"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"--colorize-weights: {path} holds no state dict")
    model = load_zhang_state_dict(state, architecture)
    name = architecture or ("siggraph17" if hasattr(model, "model1short10") else "eccv16")
    return name, model
