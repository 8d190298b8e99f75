"""The interpolator interface, the descriptor every engine carries, and the registry of engines by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dain.descriptor import InterpolatorDescriptor, Tiling
from dain.registry import Registry

if TYPE_CHECKING:  # torch loads on first use, so copy-only jobs and --help stay fast
    import torch

__all__ = [
    "Interpolator",
    "InterpolatorDescriptor",
    "Tiling",
    "INTERPOLATORS",
    "available_interpolators",
    "check_interpolation_inputs",
    "create_interpolator",
]


@runtime_checkable
class Interpolator(Protocol):
    """Synthesises frames between two images.

    ``interpolate(frame0, frame1, phases)``:
        frame0, frame1: (3, H, W) float32 in [0, 1], on the engine's device.
        phases: phases t in (0, 1) of the wanted frames, 0 = frame0, 1 = frame1.
        returns: (len(phases), 3, H, W) float32 in [0, 1] on the same device.

    All phases of one pair come in one call, so per-pair work (flow, depth,
    kernels) is done once. ``descriptor`` says how the engine may be padded, tiled and run.
    """

    name: str
    descriptor: InterpolatorDescriptor

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor: ...


# name -> "module:factory", alphabetically (the order of messages); called as factory(device=..., **options).
INTERPOLATORS: Registry[Interpolator] = Registry(
    "interpolator",
    {
        "blend": "dain.engines.simple:BlendInterpolator",
        "classic": "dain.engines.classic.engine:ClassicInterpolator",
        "classic-fast": "dain.engines.classic.engine:create_fast_classic_interpolator",
        "dain": "dain.engines.dain:create_dain_interpolator",
        "repeat": "dain.engines.simple:RepeatInterpolator",
        "rife": "dain.engines.rife.engine:create_rife_interpolator",
    },
)


def available_interpolators() -> list[str]:
    """Names of the registered interpolation engines, sorted."""
    return sorted(INTERPOLATORS.names())


def create_interpolator(name: str, device: torch.device | str = "cpu", **options: object) -> Interpolator:
    """Build the engine registered under ``name``.

    ``dain.errors.UnknownNameError`` (also a ``ValueError``) for an unknown name; the engines raise
    ``dain.errors`` user errors for options they cannot use.
    """
    factory = INTERPOLATORS.factory(name)
    import torch

    return factory(device=torch.device(device), **options)


def check_interpolation_inputs(frame0: object, frame1: object, phases: Sequence[float]) -> list[float]:
    """The checks of :meth:`Interpolator.interpolate`'s arguments: two (3,H,W) tensors of one shape and
    phases in [0, 1]; ``ValueError`` naming the argument otherwise. Returns the phases as floats."""
    import torch

    for label, frame in (("frame0", frame0), ("frame1", frame1)):
        if not isinstance(frame, torch.Tensor) or frame.ndim != 3 or frame.shape[0] != 3:
            shape = tuple(frame.shape) if isinstance(frame, torch.Tensor) else type(frame).__name__
            raise ValueError(f"{label}: expected a (3,H,W) tensor, got {shape}")
    assert isinstance(frame0, torch.Tensor) and isinstance(frame1, torch.Tensor)
    if frame1.shape != frame0.shape:
        raise ValueError(f"frame1: shape {tuple(frame1.shape)} differs from frame0 {tuple(frame0.shape)}")
    checked = [float(phase) for phase in phases]
    for phase in checked:
        if not 0.0 <= phase <= 1.0:
            raise ValueError(f"phases: every phase must lie in [0, 1], got {phase}")
    return checked
