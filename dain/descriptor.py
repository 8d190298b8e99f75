"""What an engine tells its caller about itself: size multiple, fp16 support, tiling policy.

The interpolators' counterpart of spandrel's ``ImageModelDescriptor`` (which the model upscalers get
from spandrel itself): the caller reads it to pad, tile and choose a precision without special cases.
Torch-free, so engine tables and ``--help`` import it without loading torch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Tiling", "tiling_allowed", "InterpolatorDescriptor"]


class Tiling(enum.Enum):
    """Whether an engine may be run tile by tile (the values of spandrel's ``ModelTiling``)."""

    SUPPORTED = "supported"  # tiles with enough overlap reproduce the whole-frame result
    DISCOURAGED = "discouraged"  # tiling changes the result: only when the user asks for a tile size
    INTERNAL = "internal"  # the engine handles large frames itself: never tile it from outside

    @classmethod
    def from_name(cls, value: object) -> Tiling:
        """A :class:`Tiling` from itself, its name or value (any case), or an enum such as spandrel's."""
        if isinstance(value, Tiling):
            return value
        text = str(getattr(value, "name", value)).lower()
        for member in cls:
            if text in (member.value, member.name.lower()):
                return member
        raise ValueError(f"unknown tiling policy {value!r}; choose one of: supported, discouraged, internal")


def tiling_allowed(tiling: Tiling | object, tile: int | None) -> bool:
    """Supported → allowed; discouraged → only with an explicit (non-zero) ``tile``; internal → never."""
    policy = Tiling.from_name(tiling)
    return policy is Tiling.SUPPORTED or (policy is Tiling.DISCOURAGED and bool(tile))


@dataclass(frozen=True)
class InterpolatorDescriptor:
    """What an interpolation engine needs from its caller.

    scale: output size / input size (always 1 for an interpolator).
    size_multiple: frame sides the engine accepts are multiples of this (1: it pads and crops itself);
        the tiler aligns its cuts to it.
    supports_half: whether it can run in reduced precision (fp16) on CUDA.
    tiling: whether the one tiler (:mod:`dain.tiling`) may run it tile by tile.
    """

    scale: int = 1
    size_multiple: int = 1
    supports_half: bool = False
    tiling: Tiling = Tiling.INTERNAL
