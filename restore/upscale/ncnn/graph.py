"""An ncnn network (``.param`` graph + ``.bin`` weights) as one PyTorch module, run in file order.

:func:`build_graph` checks every layer type first (an unsupported one is refused in one line, before
any weight is read), then builds the layers in file order, each reading its weights from the ``.bin``
in the order ncnn's ``load_model`` does. ncnn files list layers so that every blob is made before it is
used; a bottom names the latest blob of that name. The network has one ``Input`` and one output: the
blob no layer consumes. Blobs are released after their last use, so only the live ones take memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn

from restore.upscale.ncnn.blobs import WeightReader
from restore.upscale.ncnn.conv import Convolution, Deconvolution, InnerProduct
from restore.upscale.ncnn.param import LayerSpec, NcnnModelError, ParamGraph
from restore.upscale.ncnn.pointwise import (
    BinaryOp,
    Clip,
    Concat,
    Eltwise,
    Input,
    PReLU,
    ReLU,
    Scale,
    Sigmoid,
    Split,
)
from restore.upscale.ncnn.spatial import Crop, Interp, Padding, PixelShuffle, Pooling

__all__ = ["LAYERS", "NcnnGraph", "build_graph"]

LOGGER = logging.getLogger(__name__)

# ncnn layer type -> builder(spec, reader). Only these are accepted.
LAYERS: dict[str, Callable[[LayerSpec, WeightReader], nn.Module]] = {
    "BinaryOp": lambda spec, reader: BinaryOp(spec),
    "Clip": lambda spec, reader: Clip(spec),
    "Concat": lambda spec, reader: Concat(spec),
    "Convolution": lambda spec, reader: Convolution(spec, reader),
    "ConvolutionDepthWise": lambda spec, reader: Convolution(spec, reader, depthwise=True),
    "Crop": lambda spec, reader: Crop(spec),
    "Deconvolution": lambda spec, reader: Deconvolution(spec, reader),
    "DeconvolutionDepthWise": lambda spec, reader: Deconvolution(spec, reader, depthwise=True),
    "Eltwise": lambda spec, reader: Eltwise(spec),
    "InnerProduct": InnerProduct,
    "Input": lambda spec, reader: Input(spec),
    "Interp": lambda spec, reader: Interp(spec),
    "PReLU": PReLU,
    "Padding": Padding,
    "PixelShuffle": lambda spec, reader: PixelShuffle(spec),
    "Pooling": lambda spec, reader: Pooling(spec),
    "ReLU": lambda spec, reader: ReLU(spec),
    "Scale": Scale,
    "Sigmoid": lambda spec, reader: Sigmoid(spec),
    "Split": lambda spec, reader: Split(spec),
}


class NcnnGraph(nn.Module):
    """The layers of one ncnn network and the blob wiring between them.

    forward: (N, C_in, H, W) -> (N, C_out, H', W'), the output blob for the input blob.
    """

    def __init__(
        self,
        name: str,
        layers: list[nn.Module],
        wiring: list[tuple[tuple[int, ...], tuple[int, ...]]],
        input_blob: int,
        output_blob: int,
        input_channels: int,
    ) -> None:
        super().__init__()
        self.name = name
        self.layers = nn.ModuleList(layers)
        self.wiring = wiring
        self.input_blob = input_blob
        self.output_blob = output_blob
        self.input_channels = input_channels
        self.blob_count = 1 + max(blob for _, tops in wiring for blob in tops)
        last_use = {blob: index for index, (bottoms, _) in enumerate(wiring) for blob in bottoms}
        self.release = [
            tuple(blob for blob in bottoms if last_use.get(blob) == index and blob != output_blob)
            for index, (bottoms, _) in enumerate(wiring)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run every layer in file order."""
        blobs: list[torch.Tensor | None] = [None] * self.blob_count
        blobs[self.input_blob] = x
        for layer, (bottoms, tops), released in zip(self.layers, self.wiring, self.release, strict=True):
            if not bottoms:  # the Input layer: its top is the input blob itself
                continue
            outputs = layer(*(blobs[blob] for blob in bottoms))
            if isinstance(outputs, torch.Tensor):
                outputs = (outputs,)
            for blob, value in zip(tops, outputs, strict=True):
                blobs[blob] = value
            for blob in released:
                blobs[blob] = None
        result = blobs[self.output_blob]
        if result is None:
            raise RuntimeError(f"{self.name}: the output blob was not computed")
        return result


def _check_types(graph: ParamGraph) -> None:
    for spec in graph.layers:
        if spec.type not in LAYERS:
            raise NcnnModelError(
                f"{graph.name}: layer {spec.name!r} (line {spec.line}) has type {spec.type}, which this "
                f"reader does not support (supported: {', '.join(sorted(LAYERS))})"
            )
    inputs = [spec for spec in graph.layers if spec.type == "Input"]
    if len(inputs) != 1:
        raise NcnnModelError(f"{graph.name}: an image model has one Input layer, this one has {len(inputs)}")


def build_graph(graph: ParamGraph, reader: WeightReader) -> NcnnGraph:
    """The network of ``graph`` with its weights from ``reader``; :class:`NcnnModelError` (one line)."""
    _check_types(graph)
    latest: dict[str, int] = {}  # blob name -> id of the latest blob of that name
    consumed: set[int] = set()
    wiring: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    layers: list[nn.Module] = []
    input_blob = -1
    input_channels = 0
    next_blob = 0
    for spec in graph.layers:
        bottoms = []
        for name in spec.bottoms:
            if name not in latest:
                raise spec.fail(f"uses blob {name!r} before any layer makes it")
            bottoms.append(latest[name])
        consumed.update(bottoms)
        module = LAYERS[spec.type](spec, reader)
        tops = []
        for name in spec.tops:
            latest[name] = next_blob
            tops.append(next_blob)
            next_blob += 1
        if isinstance(module, Input):
            input_blob, input_channels = tops[0], module.channels
        layers.append(module)
        wiring.append((tuple(bottoms), tuple(tops)))
    if reader.remaining:
        LOGGER.warning(
            "%s: %d bytes of %s were not used by any layer", graph.name, reader.remaining, reader.name
        )
    produced = {blob for _, tops in wiring for blob in tops}
    outputs = sorted(produced - consumed)
    if len(outputs) != 1:
        raise NcnnModelError(f"{graph.name}: an image model has one output blob, this one has {len(outputs)}")
    return NcnnGraph(graph.name, layers, wiring, input_blob, outputs[0], input_channels)
