"""Refinement network of DAIN (``rectifyNet``, the official ``MultipleBasicBlock_4``).

Input: the 437-channel stack (blend 3, warped frames 3+3, projected flows 2+2, kernels 16+16,
warped context 196+196). Output: a 3-channel residual added to the blend.
"""

from __future__ import annotations

import torch
from torch import nn

from dain.nets.context import BasicBlock

__all__ = ["RectifyNet", "RECTIFY_IN_CHANNELS"]

RECTIFY_IN_CHANNELS = 3 + 3 + 3 + 2 + 2 + 16 + 16 + 196 + 196  # 437


class RectifyNet(nn.Module):
    """(B,437,H,W) -> (B,3,H,W) residual: 7×7 conv, three basic blocks, 3×3 conv."""

    def __init__(self, in_channels: int = RECTIFY_IN_CHANNELS, width: int = 128) -> None:
        super().__init__()
        self.block1 = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, stride=1, padding=3, bias=True), nn.ReLU(inplace=False)
        )
        self.block2 = BasicBlock(width)
        self.block3 = BasicBlock(width)
        self.block4 = BasicBlock(width)
        self.block5 = nn.Sequential(nn.Conv2d(width, 3, 3, stride=1, padding=1, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = self.block1(x)
        x = self.block4(self.block3(self.block2(x)))
        return self.block5(x)
