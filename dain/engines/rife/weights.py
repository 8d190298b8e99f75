"""The published RIFE v4 weights by version (:class:`dain.hub.WeightSpec` data) and the user's choices.

Source: the release assets of ``HolyWu/vs-rife`` (tag ``model``), the copies vs-rife's own downloader
fetches (``https://github.com/HolyWu/vs-rife/releases/download/model/flownet_v<version>.pkl``): one
stable public URL per version (by vs-rife's account, each Practical-RIFE release's ``flownet.pkl``,
renamed).
Practical-RIFE itself publishes them only as Google Drive / Baidu archives, which cannot be fetched
without a browser, so there is no second source to list.

Checksums are **not** pinned: the files could not be fetched while this was written (no network), and
a value copied from a third party without being checked is no pin. :mod:`dain.hub` records the size,
SHA-256 and source of each download beside it and refuses a cached file that changed afterwards, and
the file is read ``weights_only`` (:func:`dain.checkpoint.read_checkpoint`), so it cannot run code.

Torch-free, so the command line checks ``--rife-model`` and ``--rife-scale`` (:data:`SCALES`, the
values the official tools accept) before anything is decoded.
"""

from __future__ import annotations

from pathlib import Path

from dain.errors import EngineOptionError
from dain.hub import WeightSpec, WeightsUnavailableError, ensure_weights, existing_weights

__all__ = [
    "DEFAULT_VERSION",
    "OPTION",
    "RIFE_VERSIONS",
    "RIFE_WEIGHTS",
    "SCALES",
    "check_scale",
    "check_version",
    "resolve_rife_weights",
]

OPTION = "--rife-weights"
_HINT = f"{OPTION} PATH"
_RELEASE = "https://github.com/HolyWu/vs-rife/releases/download/model/"
RIFE_VERSIONS = ("4.6", "4.18", "4.22", "4.25", "4.26")
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)  # the flow scales Practical-RIFE and vs-rife accept
# The version Practical-RIFE's current inference code names (train_log/RIFE_HDv3.py: version = 4.25).
DEFAULT_VERSION = "4.25"

RIFE_WEIGHTS: dict[str, WeightSpec] = {
    version: WeightSpec(
        name=f"rife-{version}",
        urls=(f"{_RELEASE}flownet_v{version}.pkl",),
        filename=f"rife/flownet_v{version}.pkl",
        sha256=None,  # not pinned: never fetched while writing this (see the module docstring)
        cli_hint=_HINT,
    )
    for version in RIFE_VERSIONS
}


def check_version(version: str) -> str:
    """``version`` when it is one of :data:`RIFE_VERSIONS`, else a one-line ``WeightsUnavailableError``."""
    if version not in RIFE_WEIGHTS:
        raise WeightsUnavailableError(
            f"--rife-model: unknown RIFE version {version!r}; choose one of: {', '.join(RIFE_VERSIONS)} "
            f"(or pass {_HINT})"
        )
    return version


def check_scale(scale: object) -> float | None:
    """``scale`` as a float when it is one of :data:`SCALES` (``None`` stays: automatic).

    :class:`dain.errors.EngineOptionError` (one line naming ``--rife-scale``) otherwise.
    """
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, int | float) or float(scale) not in SCALES:
        choices = ", ".join(f"{value:g}" for value in SCALES)
        raise EngineOptionError(f"--rife-scale: must be auto or one of {choices} (0.5 for 4K), got {scale!r}")
    return float(scale)


def resolve_rife_weights(
    weights: str | Path | None, version: str | None = None, *, allow_download: bool = True
) -> Path:
    """``weights`` if given (must exist), else the cached or downloaded file of ``version``.

    ``version`` None means :data:`DEFAULT_VERSION`. :class:`dain.hub.WeightsUnavailableError` (a
    ``ValueError``) with one line naming ``--rife-weights PATH`` when nothing usable is found.
    """
    if weights is not None:
        return existing_weights(weights, OPTION)
    spec = RIFE_WEIGHTS[check_version(version or DEFAULT_VERSION)]
    return ensure_weights(spec, allow_download=allow_download)
