"""The weighted ncnn layers as PyTorch modules: convolutions, deconvolutions, inner products.

Parameters and weight layouts follow ncnn's ``load_param``/``load_model`` (``src/layer/*.cpp``):

* ``Convolution`` / ``ConvolutionDepthWise``: 0 num_output, 1/11 kernel w/h, 2/12 dilation, 3/13 stride,
  4/15/14/16 pad left/right/top/bottom (-233 = SAME_UPPER, -234 = SAME_LOWER), 18 pad value,
  5 bias, 6 weight count, 7 group (depth-wise), 8 int8 (refused), 9/10 fused activation, 19 dynamic
  weight (refused). Weights (num_output, in/group, kh, kw), as PyTorch's ``conv2d``.
* ``Deconvolution`` / ``DeconvolutionDepthWise``: as above, plus 18/19 output pad right/bottom and
  20/21 output size. Weights (group, out/group, in/group, kh, kw); PyTorch's ``conv_transpose2d`` wants
  (in, out/group, kh, kw). The full output is computed, output-padded with the bias, activated, and
  then cut by the pads.
* ``InnerProduct``: 0 num_output, 1 bias, 2 weight count, 8 int8 (refused), 9/10 activation; weights
  (num_output, inputs) over the flattened (C, H, W) blob.

A blob is one (N, C, H, W) tensor; ncnn's 1-D blobs (after global pooling) are (N, C, 1, 1).
Fused activations (param 9): 0 none, 1 ReLU, 2 leaky ReLU (slope = params[0]), 3 clip (min, max),
4 sigmoid, 5 mish, 6 hard-swish (alpha, beta).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from restore.upscale.ncnn.blobs import WeightReader
from restore.upscale.ncnn.param import LayerSpec

__all__ = ["Convolution", "Deconvolution", "InnerProduct", "fused_activation"]

SAME_UPPER = -233
SAME_LOWER = -234


def fused_activation(spec: LayerSpec) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation a layer applies to its output (ncnn param 9, its parameters in array 10)."""
    kind = spec.int(9, 0)
    values = spec.floats(10)
    needed = {2: 1, 3: 2, 6: 2}.get(kind, 0)
    if len(values) < needed:
        raise spec.fail(f"activation {kind} needs {needed} parameters in array 10, got {len(values)}")
    if kind == 0:
        return _identity
    if kind == 1:
        return F.relu
    if kind == 2:
        return functools.partial(F.leaky_relu, negative_slope=values[0])
    if kind == 3:
        return functools.partial(torch.clamp, min=values[0], max=values[1])
    if kind == 4:
        return torch.sigmoid
    if kind == 5:
        return F.mish
    if kind == 6:
        return functools.partial(_hard_swish, alpha=values[0], beta=values[1])
    raise spec.fail(f"unknown fused activation type {kind}")


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _hard_swish(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """ncnn's hard-swish: 0 below -beta/alpha, x above (1 - beta)/alpha, x * (alpha x + beta) between."""
    return x * (x * alpha + beta).clamp(0.0, 1.0)


def _weight(tensor: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(tensor, requires_grad=False)


class _Geometry:
    """Kernel, dilation, stride and pads of a (de)convolution, read and checked once."""

    def __init__(self, spec: LayerSpec) -> None:
        self.num_output = spec.int(0, 0)
        self.kernel_w = spec.int(1, 0)
        self.kernel_h = spec.int(11, self.kernel_w)
        self.dilation_w = spec.int(2, 1)
        self.dilation_h = spec.int(12, self.dilation_w)
        self.stride_w = spec.int(3, 1)
        self.stride_h = spec.int(13, self.stride_w)
        self.pad_left = spec.int(4, 0)
        self.pad_right = spec.int(15, self.pad_left)
        self.pad_top = spec.int(14, self.pad_left)
        self.pad_bottom = spec.int(16, self.pad_top)
        self.bias_term = spec.int(5, 0)
        self.weight_count = spec.int(6, 0)
        values = {
            "num_output": self.num_output,
            "kernel": min(self.kernel_w, self.kernel_h),
            "dilation": min(self.dilation_w, self.dilation_h),
            "stride": min(self.stride_w, self.stride_h),
            "weight count": self.weight_count,
        }
        for label, value in values.items():
            if value <= 0:
                raise spec.fail(f"{label} must be positive, got {value}")
        if spec.int(8, 0):
            raise spec.fail("quantised int8 layers are not supported; use the fp32/fp16 model")
        if spec.int(19, 0):
            raise spec.fail("dynamic weights (param 19) are not supported")

    @property
    def pads(self) -> tuple[int, int, int, int]:
        return self.pad_left, self.pad_right, self.pad_top, self.pad_bottom

    def load(
        self, spec: LayerSpec, reader: WeightReader, group: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weights (num_output, in/group, kh, kw) ordered as stored, and the bias (or None)."""
        per_output = self.kernel_w * self.kernel_h * self.num_output
        if self.weight_count % per_output or group <= 0 or self.num_output % group:
            raise spec.fail(
                f"weight count {self.weight_count} does not fit {self.num_output} outputs of "
                f"{self.kernel_h}x{self.kernel_w} kernels in {group} groups"
            )
        inputs_per_group = self.weight_count // per_output
        weight = reader.tagged(self.weight_count, f"layer {spec.name!r} weights")
        weight = weight.reshape(self.num_output, inputs_per_group, self.kernel_h, self.kernel_w)
        bias = reader.raw(self.num_output, f"layer {spec.name!r} bias") if self.bias_term else None
        return weight, bias


class Convolution(nn.Module):
    """ncnn ``Convolution`` and ``ConvolutionDepthWise`` (``group`` from param 7)."""

    def __init__(self, spec: LayerSpec, reader: WeightReader, depthwise: bool = False) -> None:
        super().__init__()
        self.geometry = _Geometry(spec)
        self.pad_value = spec.float(18, 0.0)
        self.group = spec.int(7, 1) if depthwise else 1
        weight, bias = self.geometry.load(spec, reader, self.group)
        self.weight = _weight(weight)
        self.bias = None if bias is None else _weight(bias)
        self.activation = fused_activation(spec)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        g = self.geometry
        left, right, top, bottom = g.pads
        if left > 0 or right > 0 or top > 0 or bottom > 0:
            return F.pad(x, (max(left, 0), max(right, 0), max(top, 0), max(bottom, 0)), value=self.pad_value)
        if set(g.pads) in ({SAME_UPPER}, {SAME_LOWER}):
            height, width = x.shape[-2:]
            extent_w = g.dilation_w * (g.kernel_w - 1) + 1
            extent_h = g.dilation_h * (g.kernel_h - 1) + 1
            wpad = max(0, extent_w + (width - 1) // g.stride_w * g.stride_w - width)
            hpad = max(0, extent_h + (height - 1) // g.stride_h * g.stride_h - height)
            if left == SAME_UPPER:
                sides = (wpad // 2, wpad - wpad // 2, hpad // 2, hpad - hpad // 2)
            else:
                sides = (wpad - wpad // 2, wpad // 2, hpad - hpad // 2, hpad // 2)
            if any(sides):
                return F.pad(x, sides, value=self.pad_value)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, num_output, H', W')."""
        g = self.geometry
        y = F.conv2d(
            self._pad(x),
            self.weight,
            self.bias,
            stride=(g.stride_h, g.stride_w),
            padding=0,
            dilation=(g.dilation_h, g.dilation_w),
            groups=self.group,
        )
        return self.activation(y)


class Deconvolution(nn.Module):
    """ncnn ``Deconvolution`` and ``DeconvolutionDepthWise`` (``group`` from param 7)."""

    def __init__(self, spec: LayerSpec, reader: WeightReader, depthwise: bool = False) -> None:
        super().__init__()
        self.geometry = _Geometry(spec)
        self.group = spec.int(7, 1) if depthwise else 1
        self.output_pad_right = spec.int(18, 0)
        self.output_pad_bottom = spec.int(19, self.output_pad_right)
        self.output_w = spec.int(20, 0)
        self.output_h = spec.int(21, self.output_w)
        weight, bias = self.geometry.load(spec, reader, self.group)
        # Stored (group, out/group, in/group, kh, kw) -> PyTorch's (in, out/group, kh, kw).
        g = self.geometry
        outputs_per_group = g.num_output // self.group
        weight = weight.reshape(self.group, outputs_per_group, -1, g.kernel_h, g.kernel_w)
        weight = weight.transpose(1, 2).reshape(-1, outputs_per_group, g.kernel_h, g.kernel_w)
        self.weight = _weight(weight.contiguous())
        self.bias = None if bias is None else _weight(bias)
        self.activation = fused_activation(spec)

    def _cut(self, y: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.geometry.pads
        height, width = y.shape[-2:]
        if left > 0 or right > 0 or top > 0 or bottom > 0:
            left, right, top, bottom = (max(value, 0) for value in (left, right, top, bottom))
            return y[..., top : height - bottom, left : width - right]
        if self.output_w > 0 and self.output_h > 0:
            wcut, hcut = width - self.output_w, height - self.output_h
            if SAME_UPPER in self.geometry.pads:
                return y[..., hcut // 2 : height - (hcut - hcut // 2), wcut // 2 : width - (wcut - wcut // 2)]
            if SAME_LOWER in self.geometry.pads:
                return y[..., hcut - hcut // 2 : height - hcut // 2, wcut - wcut // 2 : width - wcut // 2]
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, num_output, H', W')."""
        g = self.geometry
        y = F.conv_transpose2d(
            x,
            self.weight,
            None,
            stride=(g.stride_h, g.stride_w),
            groups=self.group,
            dilation=(g.dilation_h, g.dilation_w),
        )
        if self.output_pad_right > 0 or self.output_pad_bottom > 0:
            y = F.pad(y, (0, max(self.output_pad_right, 0), 0, max(self.output_pad_bottom, 0)))
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return self._cut(self.activation(y))


class InnerProduct(nn.Module):
    """ncnn ``InnerProduct``: a fully connected layer over the flattened blob; (N, num_output, 1, 1)."""

    def __init__(self, spec: LayerSpec, reader: WeightReader) -> None:
        super().__init__()
        num_output, count = spec.int(0, 0), spec.int(2, 0)
        if num_output <= 0 or count <= 0 or count % num_output:
            raise spec.fail(f"weight count {count} does not fit {num_output} outputs")
        if spec.int(8, 0):
            raise spec.fail("quantised int8 layers are not supported; use the fp32/fp16 model")
        weight = reader.tagged(count, f"layer {spec.name!r} weights").reshape(num_output, -1)
        self.weight = _weight(weight)
        bias = reader.raw(num_output, f"layer {spec.name!r} bias") if spec.int(1, 0) else None
        self.bias = None if bias is None else _weight(bias)
        self.activation = fused_activation(spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) with C*H*W inputs -> (N, num_output, 1, 1)."""
        y = F.linear(x.flatten(1), self.weight, self.bias)
        return self.activation(y)[:, :, None, None]
