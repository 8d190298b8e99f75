"""The interpolator interface and the registry of engines by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # torch loads on first use, so copy-only jobs and --help stay fast
    import torch

__all__ = ["Interpolator", "ENGINE_FACTORIES", "available_interpolators", "create_interpolator"]


@runtime_checkable
class Interpolator(Protocol):
    """Synthesises frames between two images.

    ``interpolate(frame0, frame1, phases)``:
        frame0, frame1: (3, H, W) float32 in [0, 1], on the engine's device.
        phases: phases t in (0, 1) of the wanted frames, 0 = frame0, 1 = frame1.
        returns: (len(phases), 3, H, W) float32 in [0, 1] on the same device.

    All phases of one pair come in one call, so per-pair work (flow, depth,
    kernels) is done once.
    """

    name: str

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor: ...


# name -> "module:factory"; the factory is called as factory(device=..., **options).
ENGINE_FACTORIES: dict[str, str] = {
    "repeat": "dain.engines.simple:RepeatInterpolator",
    "blend": "dain.engines.simple:BlendInterpolator",
    "classic": "dain.engines.classic.engine:ClassicInterpolator",
    "dain": "dain.engines.dain:DainInterpolator",
}


def available_interpolators() -> list[str]:
    """Names of the registered interpolation engines."""
    return sorted(ENGINE_FACTORIES)


def create_interpolator(name: str, device: torch.device | str = "cpu", **options: object) -> Interpolator:
    """Build the engine registered under ``name``; ``ValueError`` for an unknown name."""
    if name not in ENGINE_FACTORIES:
        raise ValueError(
            f"unknown interpolator {name!r}; choose one of: {', '.join(available_interpolators())}"
        )
    module_name, _, attr = ENGINE_FACTORIES[name].partition(":")
    factory: Callable[..., Interpolator] = getattr(importlib.import_module(module_name), attr)
    import torch

    return factory(device=torch.device(device), **options)
