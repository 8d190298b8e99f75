"""Kernel-estimation U-Net of DAIN (``initScaleNets_filter``) and its two heads.

The official builder flattens every layer into one ``nn.ModuleList``; keys are therefore
``initScaleNets_filter.<index>.weight|bias``. The execution rule is stack based: before every
pooling layer the current tensor is pushed; right after every upsampling layer the popped tensor
is **added** (not concatenated) to the upsampled result.

Trunk input: cat(I0, I1), (B,6,H,W) in [0,1], H and W divisible by 32.
Trunk output: (B,16,H,W). Each head maps it to a raw, unnormalised 4×4 kernel per pixel,
(B,16,H,W), channel ``4·row + column`` of the window (see ``cuda_kernels.adaptive_warp``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["KernelTrunk", "KernelHead", "UpsampleBilinear2x"]

_ENCODER_WIDTHS = (16, 32, 64, 128, 256, 512)


class UpsampleBilinear2x(nn.Module):
    """Bilinear ×2 upsampling with ``align_corners=False`` (the torch 1.0 ``nn.Upsample`` default)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=True)


class KernelTrunk(nn.ModuleList):
    """The flat U-Net (34 layers, 12 convs) from 6 input channels to 16 feature channels."""

    def __init__(self, in_channels: int = 6, out_channels: int = 16) -> None:
        layers: list[nn.Module] = [_conv3x3(in_channels, _ENCODER_WIDTHS[0]), nn.ReLU(inplace=False)]
        for previous, width in zip(_ENCODER_WIDTHS[:-1], _ENCODER_WIDTHS[1:], strict=True):
            layers += [_conv3x3(previous, width), nn.ReLU(inplace=False), nn.MaxPool2d(2, stride=2)]
        layers += [_conv3x3(512, 512), nn.ReLU(inplace=False)]
        decoder_widths = (512, 256, 128, 64, 32, out_channels)
        for previous, width in zip(decoder_widths[:-1], decoder_widths[1:], strict=True):
            layers += [UpsampleBilinear2x(), _conv3x3(previous, width), nn.ReLU(inplace=False)]
        super().__init__(layers)

    def forward(self, image_pair: torch.Tensor) -> torch.Tensor:
        """image_pair: (B,6,H,W), H and W divisible by 32; returns (B,16,H,W)."""
        height, width = image_pair.shape[-2:]
        if height % 32 or width % 32:
            raise ValueError(
                f"image_pair: the kernel U-Net needs H and W divisible by 32, got {height}x{width}"
            )
        skips: list[torch.Tensor] = []
        x = self[0](image_pair)
        for layer in list(self)[1:]:
            if isinstance(layer, nn.MaxPool2d | nn.AvgPool2d):
                skips.append(x)
            x = layer(x)
            if isinstance(layer, UpsampleBilinear2x):
                x = x + skips.pop()
        return x


class KernelHead(nn.Sequential):
    """Conv 16→16, ReLU, Conv 16→16 with no final activation: a raw 4×4 kernel per pixel."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__(_conv3x3(channels, channels), nn.ReLU(inplace=False), _conv3x3(channels, channels))
