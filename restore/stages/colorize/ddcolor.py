"""DDColor (Kang et al. 2023) through ``spandrel_extra_arches``, an optional extra (not installed by default).

DDColor's code and weights are Apache-2.0 (piddnad/DDColor); ``spandrel_extra_arches`` is MIT but bundles
architectures under their own licences — check them before redistributing. The network maps a grey RGB
image to a colour one; only its chroma is kept, the film's lightness stays.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dain.checkpoint import CheckpointError, read_checkpoint
from dain.errors import EngineOptionError
from dain.hub import existing_weights

__all__ = ["DDColorChroma", "load_ddcolor"]


class DDColorChroma(nn.Module):
    """forward(lightness (B,1,H,W) L in [0,100]) -> (B,2,H,W) ab, from a spandrel DDColor model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        import kornia

        zeros = torch.zeros_like(lightness).expand(-1, 2, -1, -1)
        grey = kornia.color.lab_to_rgb(torch.cat([lightness, zeros], dim=1), clip=True)
        # DDColor works at its fixed input size (as its own inference does): predict a,b there,
        # then bring them back to the frame's size; the frame keeps its own lightness.
        height, width = lightness.shape[-2:]
        size = tuple(getattr(self.model, "input_size", (height, width)))
        if size != (height, width):
            grey = nn.functional.interpolate(grey, size=size, mode="bilinear", align_corners=False)
        colour = self.model(grey).clamp(0.0, 1.0)
        chroma = kornia.color.rgb_to_lab(colour)[:, 1:]
        if size != (height, width):
            chroma = nn.functional.interpolate(
                chroma, size=(height, width), mode="bilinear", align_corners=False
            )
        return chroma


def load_ddcolor(weights: Path | None) -> nn.Module:
    """The DDColor checkpoint ``weights`` wrapped as a chroma predictor; ``ValueError`` when unavailable.

    The file is read by :func:`dain.checkpoint.read_checkpoint` (``weights_only``) and built by spandrel.
    """
    if weights is None:
        raise EngineOptionError("--colorize-engine ddcolor needs --colorize-weights PATH (a DDColor .pth)")
    try:
        import spandrel
        import spandrel_extra_arches
    except ModuleNotFoundError:
        raise EngineOptionError(
            "--colorize-engine ddcolor needs the optional package spandrel_extra_arches "
            "(pip install spandrel-extra-arches)"
        ) from None
    spandrel_extra_arches.install(ignore_duplicates=True)
    path = existing_weights(weights, "--colorize-weights")
    state = read_checkpoint(path, label="--colorize-weights", non_tensors="drop")
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except Exception as error:  # noqa: BLE001 - spandrel raises several kinds for files it cannot use
        raise CheckpointError(
            f"--colorize-weights: {path.name} is not a model spandrel can load ({error})"
        ) from None
    if (
        "ddcolor" not in type(descriptor.architecture).__name__.lower()
        and descriptor.architecture.id != "DDColor"
    ):
        raise CheckpointError(
            f"--colorize-weights: {path.name} is a {descriptor.architecture.name} model, not DDColor"
        )
    return DDColorChroma(descriptor.model)
