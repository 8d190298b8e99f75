"""The spatial ncnn layers as PyTorch modules: resize, pixel shuffle, crop, padding, pooling.

Parameters as in ncnn's ``src/layer/*.cpp`` (a blob is (N, C, H, W); ncnn axes 0, 1, 2 are C, H, W):

* ``Interp``: 0 resize type (1 nearest, 2 bilinear, 3 bicubic), 1/2 height/width scale, 3/4 output
  height/width, 5 dynamic size (refused), 6 align corners; a second input gives the output size.
  Nearest picks source ``min(floor(dst * in / out), in - 1)`` (``1 / scale`` when sized by scale), as
  ncnn; bilinear and bicubic (A = -0.75, edge pixels repeated) are PyTorch's, which use ncnn's formulas.
* ``PixelShuffle``: 0 factor, 1 mode (0 PyTorch's channel order, 1 depth-to-space DCR).
* ``Crop``: 0/1/2 w/h/c offset, 3/4/5 w/h/c size, 6/7/8 w/h/c end offset, or arrays 9/10/11 starts,
  ends, axes (numpy slicing; -233 = open end); with two inputs, offsets 0/1/2 and the second blob's size.
* ``Padding``: 0/1/2/3 top/bottom/left/right, 4 type (0 constant, 1 edge, 2 reflect), 5 value, 6 per-
  channel values (raw fp32), 7/8 channels before/after (constant only).
* ``Pooling``: 0 type (0 max, 1 average), 1/11 kernel w/h, 2/12 stride, 3/14/13/15 pad left/right/top/
  bottom, 4 global, 5 pad mode (0 full: the tail padded so every input pixel is covered, 1 valid,
  2 SAME_UPPER, 3 SAME_LOWER), 6 average counts padding, 7 adaptive (refused).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from restore.upscale.ncnn.blobs import WeightReader
from restore.upscale.ncnn.param import LayerSpec

__all__ = ["Crop", "Interp", "Padding", "PixelShuffle", "Pooling"]

OPEN = -233


class Interp(nn.Module):
    """ncnn ``Interp``: nearest, bilinear or bicubic resize by scale, to a size, or to a reference blob."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        self.mode = spec.int(0, 0)
        if self.mode not in (1, 2, 3):
            raise spec.fail(f"resize type {self.mode} is not supported (1 nearest, 2 bilinear, 3 bicubic)")
        self.height_scale, self.width_scale = spec.float(1, 1.0), spec.float(2, 1.0)
        self.output_height, self.output_width = spec.int(3, 0), spec.int(4, 0)
        if spec.int(5, 0):
            raise spec.fail("a dynamic output size (param 5) is not supported")
        self.align_corners = bool(spec.int(6, 0))
        if len(spec.bottoms) not in (1, 2) or len(spec.tops) != 1:
            raise spec.fail("expected one or two inputs and one output")

    def _size(self, x: torch.Tensor, reference: torch.Tensor | None) -> tuple[int, int]:
        height, width = x.shape[-2:]
        if reference is not None:
            return int(reference.shape[-2]), int(reference.shape[-1])
        if self.output_height and self.output_width:
            return self.output_height, self.output_width
        return int(np.float32(height) * np.float32(self.height_scale)), int(
            np.float32(width) * np.float32(self.width_scale)
        )

    def forward(self, x: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, out_h, out_w)."""
        out_h, out_w = self._size(x, reference)
        if self.mode == 1:
            height, width = x.shape[-2:]
            # ncnn: h / (float)outh when param 3 is set, else 1.f / height_scale (even with a reference).
            one = np.float32(1.0)
            step_h = (
                np.float32(height) / np.float32(out_h)
                if self.output_height
                else one / np.float32(self.height_scale)
            )
            step_w = (
                np.float32(width) / np.float32(out_w)
                if self.output_width
                else one / np.float32(self.width_scale)
            )
            rows = self._nearest(out_h, float(step_h), height, x.device)
            cols = self._nearest(out_w, float(step_w), width, x.device)
            return x.index_select(-2, rows).index_select(-1, cols)
        mode = "bilinear" if self.mode == 2 else "bicubic"
        return F.interpolate(x, size=(out_h, out_w), mode=mode, align_corners=self.align_corners)

    @staticmethod
    def _nearest(count: int, step: float, size: int, device: torch.device) -> torch.Tensor:
        """ncnn's ``min((int)(i * step), size - 1)`` in float32."""
        positions = torch.arange(count, dtype=torch.float32, device=device) * torch.tensor(
            step, dtype=torch.float32, device=device
        )
        return positions.floor().long().clamp_(0, size - 1)


class PixelShuffle(nn.Module):
    """ncnn ``PixelShuffle``: (N, C*r*r, H, W) -> (N, C, H*r, W*r)."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        self.factor = spec.int(0, 1)
        self.mode = spec.int(1, 0)
        if self.factor < 1 or self.mode not in (0, 1):
            raise spec.fail(f"factor {self.factor} / mode {self.mode} is not supported")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mode 0: input channel c*r*r + i*r + j; mode 1: (i*r + j)*C + c."""
        if self.mode == 0:
            return F.pixel_shuffle(x, self.factor)
        batch, channels, height, width = x.shape
        r = self.factor
        x = x.reshape(batch, r, r, channels // (r * r), height, width)
        return x.permute(0, 3, 4, 1, 5, 2).reshape(batch, channels // (r * r), height * r, width * r)


def _span(start: int, end: int, size: int) -> tuple[int, int]:
    """A numpy-style slice of one axis as ncnn resolves it: (offset, length)."""
    start = 0 if start == OPEN else start
    end = size if end == OPEN else end
    offset = start if start >= 0 else size + start
    return offset, min(size, end if end > 0 else size + end) - offset


class Crop(nn.Module):
    """ncnn ``Crop`` of a (C, H, W) blob: fixed offsets and sizes, numpy slices, or a reference size."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        self.spec_name = spec.name
        self.offsets = (spec.int(2, 0), spec.int(1, 0), spec.int(0, 0))  # c, h, w
        self.sizes = (spec.int(5, 0), spec.int(4, 0), spec.int(3, 0))
        self.end_offsets = (spec.int(8, 0), spec.int(7, 0), spec.int(6, 0))
        self.starts, self.ends, self.axes = spec.ints(9), spec.ints(10), spec.ints(11)
        self.sliced = bool(self.starts) and bool(self.ends)
        self.with_reference = len(spec.bottoms) == 2
        if len(spec.bottoms) not in (1, 2) or len(spec.tops) != 1:
            raise spec.fail("expected one or two inputs and one output")
        if OPEN in self.offsets:
            raise spec.fail("offsets of -233 (axis-selecting crops, dynamic crops) are not supported")
        if self.sliced:
            axes = self.axes or tuple(range(len(self.starts)))
            if not (len(self.starts) == len(self.ends) == len(axes)) or any(not -3 <= a <= 2 for a in axes):
                raise spec.fail("starts, ends and axes (arrays 9, 10, 11) do not match an image blob")
            self.axes = tuple(axis % 3 for axis in axes)

    def _region(self, shape: tuple[int, ...], reference: torch.Tensor | None) -> list[tuple[int, int]]:
        sizes = list(shape[-3:])
        if reference is not None:
            wanted = [sizes[0], reference.shape[-2], reference.shape[-1]]
            if reference.dim() == 4 and reference.shape[-2:] != (1, 1):
                wanted[0] = reference.shape[-3]
            return [(offset, int(length)) for offset, length in zip(self.offsets, wanted, strict=True)]
        if self.sliced:
            region = [(0, size) for size in sizes]
            for axis, start, end in zip(self.axes, self.starts, self.ends, strict=True):
                region[axis] = _span(start, end, sizes[axis])
            return region
        region = []
        for offset, length, end_offset, size in zip(
            self.offsets, self.sizes, self.end_offsets, sizes, strict=True
        ):
            available = size - offset - end_offset
            region.append((offset, available if length in (0, OPEN) else min(length, available)))
        return region

    def forward(self, x: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """The cropped blob."""
        region = self._region(tuple(x.shape), reference)
        for (offset, length), size in zip(region, x.shape[-3:], strict=True):
            if offset < 0 or length <= 0 or offset + length > size:
                raise ValueError(
                    f"crop {self.spec_name!r}: region {region} outside a blob of {tuple(x.shape)}"
                )
        (c0, c), (h0, h), (w0, w) = region
        return x[:, c0 : c0 + c, h0 : h0 + h, w0 : w0 + w]


class Padding(nn.Module):
    """ncnn ``Padding``: constant, edge or reflect borders; constant channel padding."""

    def __init__(self, spec: LayerSpec, reader: WeightReader) -> None:
        super().__init__()
        self.top, self.bottom = spec.int(0, 0), spec.int(1, 0)
        self.left, self.right = spec.int(2, 0), spec.int(3, 0)
        self.type = spec.int(4, 0)
        self.value = spec.float(5, 0.0)
        self.front, self.behind = spec.int(7, 0), spec.int(8, 0)
        sides = (self.top, self.bottom, self.left, self.right, self.front, self.behind)
        if len(spec.bottoms) != 1 or any(side < 0 for side in sides):
            raise spec.fail("dynamic or negative padding is not supported")
        if self.type not in (0, 1, 2) or (self.type and (self.front or self.behind)):
            raise spec.fail(f"padding type {self.type} (with channel padding {self.front}/{self.behind})")
        count = spec.int(6, 0)
        self.per_channel = None
        if count:
            values = reader.raw(count, f"layer {spec.name!r} values")
            self.per_channel = nn.Parameter(values, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The padded blob."""
        sides = (self.left, self.right, self.top, self.bottom)
        if self.type:
            return F.pad(x, sides, mode="replicate" if self.type == 1 else "reflect")
        if self.per_channel is None:
            return F.pad(x, (*sides, self.front, self.behind), value=self.value)
        batch, channels, height, width = x.shape
        out_channels = channels + self.front + self.behind
        fill = self.per_channel.to(x.dtype).view(1, -1, 1, 1)[:, :out_channels]
        shape = (batch, out_channels, height + self.top + self.bottom, width + self.left + self.right)
        out = fill.expand(shape).clone()
        out[
            :, self.front : self.front + channels, self.top : self.top + height, self.left : self.left + width
        ] = x
        return out


class Pooling(nn.Module):
    """ncnn ``Pooling``: max or average over windows, or global."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        self.type = spec.int(0, 0)
        self.kernel_w = spec.int(1, 0)
        self.kernel_h = spec.int(11, self.kernel_w)
        self.stride_w = spec.int(2, 1)
        self.stride_h = spec.int(12, self.stride_w)
        self.pad_left = spec.int(3, 0)
        self.pad_right = spec.int(14, self.pad_left)
        self.pad_top = spec.int(13, self.pad_left)
        self.pad_bottom = spec.int(15, self.pad_top)
        self.is_global = bool(spec.int(4, 0))
        self.pad_mode = spec.int(5, 0)
        self.count_include_pad = bool(spec.int(6, 0))
        if self.type not in (0, 1) or self.pad_mode not in (0, 1, 2, 3):
            raise spec.fail(f"pooling type {self.type} / pad mode {self.pad_mode} is not supported")
        if spec.int(7, 0):
            raise spec.fail("adaptive pooling is not supported")
        if not self.is_global and min(self.kernel_w, self.kernel_h, self.stride_w, self.stride_h) <= 0:
            raise spec.fail("kernel and stride must be positive")

    def _borders(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) padding of the input, as ncnn's ``make_padding``."""
        left, right, top, bottom = self.pad_left, self.pad_right, self.pad_top, self.pad_bottom
        if self.pad_mode == 0:  # full: pad the tail so the last window covers the last pixel
            wtail = (width + left + right - self.kernel_w) % self.stride_w
            htail = (height + top + bottom - self.kernel_h) % self.stride_h
            right += self.stride_w - wtail if wtail else 0
            bottom += self.stride_h - htail if htail else 0
        elif self.pad_mode in (2, 3):
            wpad = max(0, self.kernel_w + (width - 1) // self.stride_w * self.stride_w - width)
            hpad = max(0, self.kernel_h + (height - 1) // self.stride_h * self.stride_h - height)
            small_w, small_h = wpad // 2, hpad // 2
            if self.pad_mode == 2:
                return small_w, wpad - small_w, small_h, hpad - small_h
            return wpad - small_w, small_w, hpad - small_h, small_h
        return left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H', W'); global pooling gives (N, C, 1, 1)."""
        if self.is_global:
            return (
                x.amax(dim=(-2, -1), keepdim=True) if self.type == 0 else x.mean(dim=(-2, -1), keepdim=True)
            )
        height, width = x.shape[-2:]
        sides = self._borders(height, width)
        kernel, stride = (self.kernel_h, self.kernel_w), (self.stride_h, self.stride_w)
        if self.type == 0:
            padded = F.pad(x, sides, value=torch.finfo(x.dtype).min)
            return F.max_pool2d(padded, kernel, stride)
        mean = F.avg_pool2d(F.pad(x, sides), kernel, stride)
        if self.count_include_pad:
            return mean
        # ncnn divides by the window pixels outside the pads of params 3/13/14/15 and the full-mode tail.
        left, right, top, bottom = sides
        mask = torch.zeros(
            (1, 1, height + top + bottom, width + left + right), dtype=x.dtype, device=x.device
        )
        tail_w = right - self.pad_right if self.pad_mode == 0 else 0
        tail_h = bottom - self.pad_bottom if self.pad_mode == 0 else 0
        mask[
            ...,
            self.pad_top : mask.shape[-2] - self.pad_bottom - tail_h,
            self.pad_left : mask.shape[-1] - self.pad_right - tail_w,
        ] = 1
        return mean / F.avg_pool2d(mask, kernel, stride)
