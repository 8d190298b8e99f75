"""An ncnn super-resolution model as a spandrel ``ImageModelDescriptor``, ready for the model upscaler.

:func:`load_ncnn_descriptor` reads ``model.param`` and the ``model.bin`` beside it (data only), builds
the network (:mod:`restore.upscale.ncnn.graph`) and measures its geometry by running it on PyTorch's
``meta`` device (shapes only, no arithmetic):

* the input channel count (the ``Input`` layer's hint, else the first of 3, 1, 4 that fits);
* the smallest size multiple ``m`` (1, 2, 4, ... 64) for which the output size is ``a * n + b`` for
  every input side ``n`` that is a multiple of ``m``: ``a`` is the scale;
* ``b < 0`` means the network trims ``-b`` output pixels (waifu2x and Real-CUGAN tiles expect a
  border of context): :class:`NcnnSRModel` pads the input by enough pixels on each side (reflect,
  replicate where the frame is too small) and crops the output back to exactly ``a`` times the input,
  assuming the trim is symmetric, as in those models.

The descriptor then states scale, channels, ``multiple_of``, the minimum size, fp16 support and tiling
(discouraged for networks with global pooling, such as the squeeze-excitation blocks of waifu2x cunet
and Real-CUGAN: a tile's mean is not the frame's, so they run whole unless ``--tile`` is given),
so :class:`restore.upscale.model_file.ModelUpscaler` pads, tiles and picks a precision for it exactly
as for a spandrel model. Inputs and outputs are RGB in [0, 1], as Real-ESRGAN-, waifu2x- and
Real-CUGAN-ncnn-vulkan feed their models.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from spandrel import Architecture, ImageModelDescriptor, ModelTiling, SizeRequirements
from torch import nn

from restore.upscale.ncnn.blobs import read_bin
from restore.upscale.ncnn.graph import NcnnGraph, build_graph
from restore.upscale.ncnn.param import NcnnModelError, read_param
from restore.upscale.ncnn.spatial import Pooling

__all__ = ["NcnnGeometry", "NcnnSRModel", "load_ncnn_descriptor", "probe_geometry"]

PROBE_SIDE = 128  # input side of the shape probes (large enough for trimming networks)
MULTIPLES = (1, 2, 4, 8, 16, 32, 64)
CHANNEL_GUESSES = (3, 1, 4)


class NcnnGeometry:
    """Scale ``a``, offset ``b`` (output side = a * n + b), size multiple and channels of a network."""

    def __init__(
        self, scale: int, offset: int, multiple: int, input_channels: int, output_channels: int
    ) -> None:
        self.scale = scale
        self.offset = offset
        self.multiple = multiple
        self.input_channels = input_channels
        self.output_channels = output_channels

    def __repr__(self) -> str:
        return (
            f"NcnnGeometry(scale={self.scale}, offset={self.offset}, multiple={self.multiple}, "
            f"channels={self.input_channels}->{self.output_channels})"
        )


def _meta_shape(net: nn.Module, channels: int, height: int, width: int) -> tuple[int, int, int] | None:
    """Output (C, H, W) of ``net`` for a (1, channels, height, width) input, or None if it does not fit."""
    tensors = {name: torch.empty_like(value, device="meta") for name, value in net.state_dict().items()}
    probe = torch.empty((1, channels, height, width), device="meta")
    try:
        output = torch.func.functional_call(net, tensors, (probe,))
    except (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError):
        return None
    if output.dim() != 4 or output.shape[0] != 1:
        return None
    return int(output.shape[1]), int(output.shape[2]), int(output.shape[3])


def _fit(net: nn.Module, channels: int, multiple: int) -> NcnnGeometry | None:
    """The linear size law of ``net`` over input sides that are multiples of ``multiple``, if there is one."""
    base = math.ceil(PROBE_SIDE / multiple) * multiple
    points = []
    for step in range(3):
        height, width = base + step * multiple, base + (step + 1) * multiple
        shape = _meta_shape(net, channels, height, width)
        if shape is None:
            return None
        points.append((height, width, shape))
    (h0, _, (c0, o0, _)), (h1, _, (_, o1, _)) = points[0], points[1]
    scale, remainder = divmod(o1 - o0, h1 - h0)
    if remainder or scale < 1:
        return None
    offset = o0 - scale * h0
    for height, width, (out_c, out_h, out_w) in points:
        if out_c != c0 or out_h != scale * height + offset or out_w != scale * width + offset:
            return None
    return NcnnGeometry(scale, offset, multiple, channels, c0)


def probe_geometry(net: NcnnGraph) -> NcnnGeometry:
    """Measure channels, scale, trim and size multiple of ``net`` on the meta device."""
    guesses = (net.input_channels,) if net.input_channels > 0 else CHANNEL_GUESSES
    for channels in guesses:
        for multiple in MULTIPLES:
            geometry = _fit(net, channels, multiple)
            if geometry is not None:
                if geometry.output_channels not in (1, 3, 4) or geometry.input_channels not in (1, 3, 4):
                    raise NcnnModelError(
                        f"{net.name}: {geometry.input_channels} input / {geometry.output_channels} output "
                        "channels (expected 1, 3 or 4): not an image model"
                    )
                return geometry
    raise NcnnModelError(
        f"{net.name}: found no input size the network accepts with a fixed scale (tried {guesses} "
        f"channels, sides near {PROBE_SIDE} in multiples of {MULTIPLES[0]}..{MULTIPLES[-1]})"
    )


def _pad(x: torch.Tensor, side: int) -> torch.Tensor:
    """``side`` pixels on each border: reflect where the frame allows it, else repeat the edge."""
    if side == 0:
        return x
    mode = "reflect" if side < min(x.shape[-2:]) else "replicate"
    return F.pad(x, (side, side, side, side), mode=mode)


class NcnnSRModel(nn.Module):
    """The network with its trim undone: (N, C, H, W) -> (N, C_out, H * scale, W * scale).

    Input sides must be multiples of ``geometry.multiple`` (the descriptor says so; the caller pads).
    """

    def __init__(self, net: NcnnGraph, geometry: NcnnGeometry) -> None:
        super().__init__()
        self.net = net
        self.geometry = geometry
        scale, offset, multiple = geometry.scale, geometry.offset, geometry.multiple
        border = math.ceil(max(0, -offset) / (2 * scale))
        if multiple > 1 and border:  # keep (side + 2 * border) a multiple
            half = multiple // 2 if multiple % 2 == 0 else multiple
            border = math.ceil(border / half) * half
        self.border = border
        self.crop = scale * border + offset // 2  # output pixels to drop at the top and left

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad, run, crop."""
        height, width = x.shape[-2:]
        y = self.net(_pad(x, self.border))
        if self.crop or y.shape[-2:] != (height * self.geometry.scale, width * self.geometry.scale):
            scale = self.geometry.scale
            y = y[..., self.crop : self.crop + height * scale, self.crop : self.crop + width * scale]
        return y


class _NcnnArchitecture(Architecture[nn.Module]):
    """Names ncnn models in spandrel descriptors; ncnn models come from files, never from state dicts."""

    def __init__(self) -> None:
        super().__init__(id="ncnn", name="ncnn", detect=lambda state_dict: False)

    def load(self, state_dict: dict[str, object]) -> ImageModelDescriptor:
        raise NcnnModelError("ncnn models are read from their .param/.bin files, not from a state dict")


def _minimum_side(model: NcnnSRModel, geometry: NcnnGeometry) -> int:
    """The smallest multiple of the size multiple that the padded model accepts (meta run)."""
    for side in range(geometry.multiple, 8 * geometry.multiple + 1, geometry.multiple):
        if _meta_shape(model, geometry.input_channels, side, side) is not None:
            return side
    return PROBE_SIDE


def load_ncnn_descriptor(path: str | Path) -> ImageModelDescriptor:
    """Read ``path`` (``.param``) and its ``.bin``; the model on CPU in eval mode, float32.

    :class:`~restore.upscale.ncnn.param.NcnnModelError` (a ``CheckpointError``, one line) when a file is
    missing, truncated or malformed, a layer is unsupported, or the network is not an image model.
    """
    param_path = Path(path)
    graph = read_param(param_path)
    reader = read_bin(param_path.with_suffix(".bin"), param_path.name)
    net = build_graph(graph, reader)
    geometry = probe_geometry(net)
    model = NcnnSRModel(net, geometry).eval()
    tags = [f"{len(graph.layers)} layers", f"{reader.fp16_blobs}/{reader.tagged_blobs} weight blobs fp16"]
    return ImageModelDescriptor(
        model,
        model.state_dict(),
        architecture=_NcnnArchitecture(),
        purpose="SR" if geometry.scale > 1 else "Restoration",
        tags=tags,
        supports_half=True,  # ncnn runs these models in fp16 on GPUs by default
        supports_bfloat16=False,
        scale=geometry.scale,
        input_channels=geometry.input_channels,
        output_channels=geometry.output_channels,
        size_requirements=SizeRequirements(
            minimum=_minimum_side(model, geometry), multiple_of=geometry.multiple
        ),
        tiling=_tiling(net),
    )


def _tiling(net: NcnnGraph) -> ModelTiling:
    """Discouraged for networks with global pooling (a tile's mean is not the frame's), else supported."""
    pooled = any(isinstance(layer, Pooling) and layer.is_global for layer in net.layers)
    return ModelTiling.DISCOURAGED if pooled else ModelTiling.SUPPORTED
