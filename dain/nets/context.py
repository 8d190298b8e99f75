"""Context extractor of DAIN (``ctxNet``, the official ``S2DF_3dense``) and the residual block.

Output: cat(input RGB, block1, block2, block3) = 3 + 64 + 64 + 64 = 195 channels at full
resolution. No batch norm.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BasicBlock", "ContextExtractor", "CONTEXT_CHANNELS"]

CONTEXT_CHANNELS = 195


class BasicBlock(nn.Module):
    """ResNet basic block without BN: conv3×3 (dilated) → ReLU → conv3×3 → + input → ReLU.

    Both convs have no bias; ``conv1`` uses ``dilation`` with matching padding, ``conv2`` is plain.
    """

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            channels, channels, 3, stride=1, padding=dilation, dilation=dilation, bias=False
        )
        self.relu = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        residual = self.conv2(self.relu(self.conv1(x)))
        return self.relu(residual + x)


class ContextExtractor(nn.Module):
    """(B,3,H,W) in [0,1] -> (B,195,H,W) context features."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=1, padding=3, bias=False), nn.ReLU(inplace=False)
        )
        self.block2 = BasicBlock(64, dilation=4)
        self.block3 = BasicBlock(64, dilation=8)

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # noqa: D102
        features1 = self.block1(image)
        features2 = self.block2(features1)
        features3 = self.block3(features2)
        return torch.cat((image, features1, features2, features3), dim=1)
