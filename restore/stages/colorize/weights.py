"""The official colourisation checkpoints as :class:`dain.hub.WeightSpec` data, and loading one.

The official release names carry the first 8 hex digits of each file's SHA-256 (the ``torch.hub``
convention, ``name-<sha256 prefix>.pth``); :mod:`dain.hub` checks that prefix after every download and on
cached files. The full digests are not pinned (the files could not be fetched while this was written);
the observed ones are recorded on first download. Both files are served by the authors' own bucket, the
URLs ``richzhang/colorization`` has loaded through ``torch.hub`` since 2020.

:data:`DEFAULT_ENGINE` (SIGGRAPH17) is what ``--colorize`` uses when nothing else is given; see
``docs/colorize.md`` for why. Reading goes through :func:`dain.checkpoint.read_checkpoint`
(``weights_only``, never runs code).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from dain.checkpoint import read_checkpoint
from dain.hub import WeightSpec, WeightsUnavailableError, cached_file, ensure_weights, existing_weights
from restore.stages.colorize.zhang import load_zhang_state_dict

__all__ = [
    "COLORIZE_WEIGHTS",
    "DEFAULT_ENGINE",
    "HASH_PREFIXES",
    "cached_colorize_weights",
    "resolve_colorize_weights",
    "load_colorizer",
]

_OPTION = "--colorize-weights"
_HINT = f"{_OPTION} PATH"

HASH_PREFIXES = {"eccv16": "9b330a0b", "siggraph17": "df00044c"}
COLORIZE_WEIGHTS: dict[str, WeightSpec] = {
    "eccv16": WeightSpec(
        name="eccv16",
        urls=("https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",),
        filename="colorization_release_v2-9b330a0b.pth",
        cli_hint=_HINT,
        sha256_prefix=HASH_PREFIXES["eccv16"],
    ),
    "siggraph17": WeightSpec(
        name="siggraph17",
        urls=("https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",),
        filename="siggraph17-df00044c.pth",
        cli_hint=_HINT,
        sha256_prefix=HASH_PREFIXES["siggraph17"],
    ),
}
DEFAULT_ENGINE = "siggraph17"  # the learned colouriser --colorize downloads when given nothing else


def cached_colorize_weights() -> dict[str, Path]:
    """The official checkpoints already in the cache (no download), by architecture name."""
    return {name: cached_file(spec) for name, spec in COLORIZE_WEIGHTS.items() if cached_file(spec).is_file()}


def resolve_colorize_weights(name: str | None, weights: Path | None, *, allow_download: bool = True) -> Path:
    """``weights`` if given (must exist), else the cached or downloaded official checkpoint of ``name``."""
    if weights is not None:
        return existing_weights(weights, _OPTION)
    if name is None or name not in COLORIZE_WEIGHTS:
        raise WeightsUnavailableError(f"--colorize-engine {name}: no official weights known; pass {_HINT}")
    return ensure_weights(COLORIZE_WEIGHTS[name], allow_download=allow_download)


def load_colorizer(path: Path, architecture: str | None = None) -> tuple[str, nn.Module]:
    """(architecture, network in eval mode) from a checkpoint file, read safely (``weights_only``).

    ``CheckpointError`` (a ``ValueError``) naming ``--colorize-weights`` for an unreadable file or one
    that does not fit the architecture.
    """
    state = read_checkpoint(path, label=_OPTION, non_tensors="drop")
    model = load_zhang_state_dict(state, architecture)
    name = architecture or ("siggraph17" if hasattr(model, "model1short10") else "eccv16")
    return name, model
