"""MegaDepth "hourglass" monocular depth network (``depthNet`` of DAIN).

The official model is a Lua-Torch graph converted to nested ``nn.Sequential``s, so its
state-dict keys are purely positional (``depthNet.3.0.0.3.0.0.3.0.1.3.0.1.2.3.0.weight``).
This module rebuilds exactly that nesting with three small containers:

- :class:`ConcatTable`: applies each child to the same input and returns the list of outputs.
- :class:`CAddTable`: sums such a list (no parameters).
- :class:`Inception`: four branches whose outputs are concatenated along channels.

Every hourglass level is ``Sequential(ConcatTable(branch_a, branch_b), CAddTable())``.
The net has two max-pools and two average-pools, so H and W must be divisible by 16.
Output: (B,1,H,W) log-depth (DAIN uses ``exp(-log_depth)`` as inverse depth).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConcatTable", "CAddTable", "Inception", "UpsampleNearest2x", "build_megadepth_hourglass"]


class ConcatTable(nn.ModuleList):
    """Apply every child to the same input; returns the list of outputs (Lua ``nn.ConcatTable``)."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # noqa: D102
        return [branch(x) for branch in self]


class CAddTable(nn.Module):
    """Element-wise sum of a list of tensors (Lua ``nn.CAddTable``); no parameters."""

    def forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:  # noqa: D102
        total = tensors[0]
        for tensor in tensors[1:]:
            total = total + tensor
        return total


class Inception(nn.ModuleList):
    """Inception block: children are branches, outputs concatenated along channels in child order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.cat([branch(x) for branch in self], dim=1)


class UpsampleNearest2x(nn.Module):
    """Nearest-neighbour ×2 upsampling (``UpsamplingNearest2d(scale_factor=2)`` of the original)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _inner_batch_norm(channels: int) -> nn.BatchNorm2d:
    # All inner BNs of the converted graph are non-affine: running statistics only.
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1, affine=False)


def _inception(in_channels: int, config: Sequence[Sequence[int]]) -> Inception:
    """Inception block from the Lua config.

    ``config[0] = [out]`` is the 1×1 branch; every other entry ``[kernel, mid, out]`` is a
    1×1 reduction to ``mid`` channels followed by a ``kernel``×``kernel`` conv to ``out``.
    """
    branches = [
        nn.Sequential(
            nn.Conv2d(in_channels, config[0][0], kernel_size=1),
            _inner_batch_norm(config[0][0]),
            nn.ReLU(inplace=False),
        )
    ]
    for kernel, mid, out in config[1:]:
        branches.append(
            nn.Sequential(
                nn.Conv2d(in_channels, mid, kernel_size=1),
                _inner_batch_norm(mid),
                nn.ReLU(inplace=False),
                nn.Conv2d(mid, out, kernel_size=kernel, padding=(kernel - 1) // 2),
                _inner_batch_norm(out),
                nn.ReLU(inplace=False),
            )
        )
    return Inception(branches)


def _level(first: nn.Module, second: nn.Module) -> nn.Sequential:
    """One hourglass level: both branches see the same input; outputs are summed."""
    return nn.Sequential(ConcatTable([first, second]), CAddTable())


# Inception configurations by (in_channels; branches), named after their output widths.
_A256 = ((64,), (3, 32, 64), (5, 32, 64), (7, 32, 64))  # 256 -> 256
_B256 = ((64,), (3, 64, 64), (7, 64, 64), (11, 64, 64))  # 256 -> 256
_A128 = ((32,), (3, 32, 32), (5, 32, 32), (7, 32, 32))  # 128 -> 128
_B128 = ((32,), (3, 64, 32), (7, 64, 32), (11, 64, 32))  # 128 -> 128
_C128 = ((32,), (3, 64, 32), (5, 64, 32), (7, 64, 32))  # 128 -> 128
_WIDEN = ((64,), (3, 32, 64), (5, 32, 64), (7, 32, 64))  # 128 -> 256
_NARROW = ((32,), (3, 32, 32), (5, 32, 32), (7, 32, 32))  # 256 -> 128
_OUT64 = ((16,), (3, 32, 16), (7, 32, 16), (11, 32, 16))  # 128 -> 64
_SKIP64 = ((16,), (3, 64, 16), (7, 64, 16), (11, 64, 16))  # 128 -> 64


def _level_eighth() -> nn.Sequential:
    """1/8 → 1/16 level (256 channels); first child is the skip, second the pooled path."""
    skip = nn.Sequential(_inception(256, _A256), _inception(256, _A256))
    down = nn.Sequential(
        nn.AvgPool2d(kernel_size=2, stride=2),
        _inception(256, _A256),
        _inception(256, _A256),
        _inception(256, _A256),
        UpsampleNearest2x(),
    )
    return _level(skip, down)


def _level_quarter() -> nn.Sequential:
    """1/4 → 1/8 level (256 channels); first child is the skip, second the pooled path."""
    skip = nn.Sequential(_inception(256, _A256), _inception(256, _B256))
    down = nn.Sequential(
        nn.AvgPool2d(kernel_size=2, stride=2),
        _inception(256, _A256),
        _inception(256, _A256),
        _level_eighth(),
        _inception(256, _A256),
        _inception(256, _B256),
        UpsampleNearest2x(),
    )
    return _level(skip, down)


def _level_half() -> nn.Sequential:
    """1/2 → 1/4 level (128 channels in and out); first child is the pooled path, second the skip."""
    down = nn.Sequential(
        nn.MaxPool2d(kernel_size=2, stride=2),
        _inception(128, _A128),
        _inception(128, _WIDEN),
        _level_quarter(),
        _inception(256, _A256),
        _inception(256, _NARROW),
        UpsampleNearest2x(),
    )
    skip = nn.Sequential(_inception(128, _A128), _inception(128, _B128))
    return _level(down, skip)


def _level_full() -> nn.Sequential:
    """Full → 1/2 level (128 channels in, 64 out); first child is the pooled path, second the skip."""
    down = nn.Sequential(
        nn.MaxPool2d(kernel_size=2, stride=2),
        _inception(128, _A128),
        _inception(128, _A128),
        _level_half(),
        _inception(128, _C128),
        _inception(128, _OUT64),
        UpsampleNearest2x(),
    )
    skip = nn.Sequential(_inception(128, _SKIP64))
    return _level(down, skip)


def build_megadepth_hourglass() -> nn.Sequential:
    """The MegaDepth hourglass with the official positional key layout.

    Input: (B,3,H,W) RGB in [0,1], H and W divisible by 16.
    Output: (B,1,H,W) log-depth.
    """
    return nn.Sequential(
        nn.Conv2d(3, 128, kernel_size=7, padding=3),
        nn.BatchNorm2d(128, eps=1e-5, momentum=0.1, affine=True),
        nn.ReLU(inplace=False),
        _level_full(),
        nn.Conv2d(64, 1, kernel_size=3, padding=1),
    )
