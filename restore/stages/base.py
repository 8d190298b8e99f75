"""Source stages: cleanup and colour, applied to decoded source frames before interpolation.

A stage turns the stream of source frames into a stream of the same frames, in the same
order and number, processed. It may look ahead (hold a few frames back) and keep temporal
state, which it must reset when ``shot_start`` is set: a scene cut lies just before that frame.

Stages run at source resolution, before interpolation and upscaling, in the order
cleanup → colour. Adding a stage is one module plus one entry in :data:`STAGES` (and its option in
:func:`create_source_stages`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from dain.registry import Registry

if TYPE_CHECKING:
    import torch

    from restore.config import RestoreConfig

__all__ = ["SourceFrame", "SourceStage", "STAGES", "create_source_stages", "apply_stages"]


@dataclass(frozen=True)
class SourceFrame:
    """One source frame in the stages: its index, the picture and whether a shot starts here.

    image: (3, H, W) float32 RGB in [0, 1] on the job's device, the one frame representation from
    decode to encode (:mod:`restore.media.frames`); stages hand on unit floats, never rounded.
    """

    index: int
    image: torch.Tensor
    shot_start: bool

    @classmethod
    def from_array(
        cls, index: int, image: np.ndarray, shot_start: bool, device: torch.device | str = "cpu"
    ) -> SourceFrame:
        """From an (H, W, 3) uint8/uint16 picture (for the Python API and tests)."""
        import torch

        from restore.media.frames import array_to_tensor

        return cls(index, array_to_tensor(image, torch.device(device)), shot_start)

    def to_array(self, dtype: np.dtype | type) -> np.ndarray:
        """The picture as an (H, W, 3) array of ``dtype`` (uint8/uint16), rounded half up."""
        from restore.media.frames import tensor_to_array

        return tensor_to_array(self.image, dtype)


@runtime_checkable
class SourceStage(Protocol):
    """``process(frames) -> frames``: same frames, same order, processed; ``report()`` says what it did."""

    name: str

    def process(self, frames: Iterator[SourceFrame]) -> Iterator[SourceFrame]: ...

    def report(self) -> str: ...


# option -> "module:factory", in pipeline order; factory(config, device) -> SourceStage
STAGES: Registry[SourceStage] = Registry(
    "stage",
    {
        "clean": "restore.stages.cleanup:create_cleanup_stage",
        "colorize": "restore.stages.colorize:create_colorize_stage",
    },
    unavailable_message="--{name} is not available in this version",
)


def create_source_stages(config: RestoreConfig, device: torch.device) -> list[SourceStage]:
    """The stages ``config`` asks for, in pipeline order.

    ``dain.errors.EngineUnavailableError`` (also a ``ValueError``) when one is not in this version;
    the stages raise ``dain.errors`` user errors for options they cannot use.
    """
    wanted = {"clean": bool(config.clean), "colorize": bool(config.colorize)}
    return [STAGES.create(name, config, device) for name in STAGES.names() if wanted[name]]


def apply_stages(
    images: Iterator[torch.Tensor], shot_starts: set[int], stages: list[SourceStage]
) -> Iterator[torch.Tensor]:
    """Run (3, H, W) unit-float pictures through ``stages``; ``shot_starts`` are indices that begin a shot."""
    stream: Iterator[SourceFrame] = (
        SourceFrame(index, image, index in shot_starts or index == 0) for index, image in enumerate(images)
    )
    for stage in stages:
        stream = stage.process(stream)
    for frame in stream:
        yield frame.image
