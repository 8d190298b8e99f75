"""Chains of upscaling engines, run in order like a chaiNNer chain.

``1x_cleanup.pth,2x_model.safetensors,lanczos`` runs the cleanup model, the 2x model, then Lanczos to
the exact target size; catalogue names are elements like any other (``realesr-animevideov3,lanczos``).
Models always run at their own scale; a weight-free engine (``lanczos``, ``anime4k``) in the middle of a
chain resizes to the target divided by the scales of the models after it; the last element delivers the
exact size (a model as last element is followed by Lanczos when its output is not already the requested
size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from restore.upscale.lanczos import lanczos_resize

__all__ = ["ChainUpscaler"]


class ChainUpscaler:
    """Runs ``engines`` in order; ``upscale(frames, size)`` returns exactly ``size``.

    engines: objects with ``upscale(frames, size)``; those with an integer ``native_scale`` attribute
    and a ``run_native(frames)`` method (model files) run at their own scale.
    """

    def __init__(self, engines: Sequence[object]) -> None:
        if not engines:
            raise ValueError("an upscaler chain needs at least one engine")
        self.engines = list(engines)
        self.name = ",".join(str(getattr(engine, "name", type(engine).__name__)) for engine in self.engines)

    def __repr__(self) -> str:
        return f"ChainUpscaler({self.engines!r})"

    @staticmethod
    def _native_scale(engine: object) -> int | None:
        scale = getattr(engine, "native_scale", None)
        return int(scale) if scale is not None and hasattr(engine, "run_native") else None

    def upscale(self, frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 3, *size) in [0, 1]."""
        target = (int(size[0]), int(size[1]))
        for index, engine in enumerate(self.engines):
            is_last = index == len(self.engines) - 1
            scale = self._native_scale(engine)
            if scale is not None:
                frames = engine.run_native(frames)
                if is_last and tuple(frames.shape[-2:]) != target:
                    frames = lanczos_resize(frames, target)
                continue
            if is_last:
                frames = engine.upscale(frames, target)
            else:
                later = math.prod(
                    s for s in map(self._native_scale, self.engines[index + 1 :]) if s is not None
                )
                step = (max(1, round(target[0] / later)), max(1, round(target[1] / later)))
                frames = engine.upscale(frames, step)
        return frames
