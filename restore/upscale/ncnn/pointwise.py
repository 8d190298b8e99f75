"""The value-wise ncnn layers as PyTorch modules: activations, arithmetic, split and concat.

Parameters as in ncnn's ``src/layer/*.cpp``:

* ``ReLU``: 0 slope (0 = ReLU, else leaky). ``PReLU``: 0 slope count (1 = shared), slopes raw fp32.
  ``Sigmoid``. ``Clip``: 0 min, 1 max.
* ``BinaryOp``: 0 op (0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, 7 rsub, 8 rdiv, 9 rpow,
  10 atan2, 11 ratan2), 1 with scalar, 2 the scalar. Two blobs broadcast (an (N, C, 1, 1) blob is
  ncnn's per-channel 1-D blob).
* ``Eltwise``: 0 op (0 product, 1 sum, 2 max), array 1 sum coefficients.
* ``Scale``: 0 scale count (-233 = the second blob is the scale), 1 bias; values raw fp32.
* ``Split``: the blob, once per top. ``Concat``: 0 axis of the (C, H, W) blob (negative from the end).
* ``Input``: the network input; 2 = channels, when given.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from restore.upscale.ncnn.blobs import WeightReader
from restore.upscale.ncnn.param import LayerSpec

__all__ = [
    "BinaryOp",
    "Clip",
    "Concat",
    "Eltwise",
    "Input",
    "PReLU",
    "ReLU",
    "Scale",
    "Sigmoid",
    "Split",
]

FLT_MAX = 3.4028234663852886e38
DYNAMIC = -233


def _reversed(operation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    return lambda a, b: operation(b, a)


_BINARY: dict[int, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    0: torch.add,
    1: torch.sub,
    2: torch.mul,
    3: torch.div,
    4: torch.maximum,
    5: torch.minimum,
    6: torch.pow,
    7: _reversed(torch.sub),
    8: _reversed(torch.div),
    9: _reversed(torch.pow),
    10: torch.atan2,
    11: _reversed(torch.atan2),
}


def _counts(spec: LayerSpec, bottoms: int | tuple[int, ...], tops: int = 1) -> None:
    allowed = (bottoms,) if isinstance(bottoms, int) else bottoms
    if len(spec.bottoms) not in allowed or len(spec.tops) != tops:
        raise spec.fail(
            f"expected {' or '.join(map(str, allowed))} input(s) and {tops} output(s), "
            f"got {len(spec.bottoms)} and {len(spec.tops)}"
        )


class Input(nn.Module):
    """ncnn ``Input``: passes the network input through; ``channels`` is the hint of param 2 (0: none)."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        _counts(spec, 0)
        self.channels = spec.int(2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The input itself."""
        return x


class Split(nn.Module):
    """ncnn ``Split``: the same blob under several names."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        _counts(spec, 1, len(spec.tops) or 1)
        self.copies = len(spec.tops)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``copies`` references to ``x`` (no layer writes in place)."""
        return (x,) * self.copies


class ReLU(nn.Module):
    """ncnn ``ReLU``: ``x if x > 0 else x * slope``."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        _counts(spec, 1)
        self.slope = spec.float(0, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Element-wise."""
        return F.relu(x) if self.slope == 0.0 else F.leaky_relu(x, self.slope)


class PReLU(nn.Module):
    """ncnn ``PReLU``: a learned slope per channel (or one shared slope)."""

    def __init__(self, spec: LayerSpec, reader: WeightReader) -> None:
        super().__init__()
        _counts(spec, 1)
        count = spec.int(0, 0)
        self.slope = nn.Parameter(reader.raw(count, f"layer {spec.name!r} slopes"), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Element-wise; the slope count must be 1 or the channel count."""
        return F.prelu(x, self.slope)


class Sigmoid(nn.Module):
    """ncnn ``Sigmoid``."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        _counts(spec, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Element-wise."""
        return torch.sigmoid(x)


class Clip(nn.Module):
    """ncnn ``Clip``: clamp to [min, max]."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        _counts(spec, 1)
        self.low, self.high = spec.float(0, -FLT_MAX), spec.float(1, FLT_MAX)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Element-wise."""
        return x.clamp(self.low, self.high)


class BinaryOp(nn.Module):
    """ncnn ``BinaryOp`` on two blobs, or on one blob and a scalar."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        self.op_type = spec.int(0, 0)
        if self.op_type not in _BINARY:
            raise spec.fail(f"unknown BinaryOp operation {self.op_type}")
        self.with_scalar = bool(spec.int(1, 0))
        self.scalar = spec.float(2, 0.0)
        _counts(spec, 1 if self.with_scalar else 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        """``op(a, b)`` with broadcasting, or ``op(a, scalar)``."""
        if b is None:
            b = torch.full((), self.scalar, dtype=a.dtype, device=a.device)
        return _BINARY[self.op_type](a, b)


class Eltwise(nn.Module):
    """ncnn ``Eltwise``: product, (weighted) sum or maximum of its inputs."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        if len(spec.bottoms) < 1 or len(spec.tops) != 1:
            raise spec.fail("expected at least one input and one output")
        self.op_type = spec.int(0, 0)
        if self.op_type not in (0, 1, 2):
            raise spec.fail(f"unknown Eltwise operation {self.op_type}")
        coefficients = spec.floats(1)
        if coefficients and (self.op_type != 1 or len(coefficients) != len(spec.bottoms)):
            raise spec.fail(f"{len(coefficients)} coefficients for {len(spec.bottoms)} inputs")
        self.coefficients = coefficients

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The combination of all inputs (same shapes)."""
        if self.op_type == 1 and self.coefficients:
            result = inputs[0] * self.coefficients[0]
            for coefficient, x in zip(self.coefficients[1:], inputs[1:], strict=True):
                result = result + x * coefficient
            return result
        combine = {0: torch.mul, 1: torch.add, 2: torch.maximum}[self.op_type]
        result = inputs[0]
        for x in inputs[1:]:
            result = combine(result, x)
        return result


class Scale(nn.Module):
    """ncnn ``Scale``: per-channel scale (learned, or the second input) and optional bias."""

    def __init__(self, spec: LayerSpec, reader: WeightReader) -> None:
        super().__init__()
        count, bias_term = spec.int(0, 0), spec.int(1, 0)
        self.dynamic = count == DYNAMIC
        _counts(spec, 2 if self.dynamic else 1)
        if self.dynamic and bias_term:
            raise spec.fail("a bias with a scale taken from the second input is not supported")
        self.scale = None
        self.bias = None
        if not self.dynamic:
            self.scale = nn.Parameter(reader.raw(count, f"layer {spec.name!r} scales"), requires_grad=False)
            if bias_term:
                self.bias = nn.Parameter(reader.raw(count, f"layer {spec.name!r} bias"), requires_grad=False)

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """``x * scale[c] (+ bias[c])``; a dynamic scale is an (N, C, 1, 1) blob."""
        factor = (
            scale.reshape(scale.shape[0], -1, 1, 1) if scale is not None else self.scale.view(1, -1, 1, 1)
        )
        y = x * factor
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class Concat(nn.Module):
    """ncnn ``Concat`` along an axis of the (C, H, W) blob."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__()
        if len(spec.bottoms) < 1 or len(spec.tops) != 1:
            raise spec.fail("expected at least one input and one output")
        axis = spec.int(0, 0)
        if not -3 <= axis <= 2:
            raise spec.fail(f"axis {axis} is out of range for an image blob")
        self.dim = (axis % 3) + 1

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Inputs joined along the axis."""
        return torch.cat(inputs, dim=self.dim)
