"""IFNet, the flow network of RIFE v4, built from a :class:`~dain.engines.rife.layouts.RifeLayout`.

Module names follow the official layout, so a Practical-RIFE ``flownet.pkl`` loads strictly:
``block{i}.conv0.{0,1}.0``, ``block{i}.convblock.{0..7}.conv`` with ``.beta``, ``block{i}.lastconv.0``
and, from 4.7 on, ``encode.cnn{0..3}``.

Coarse to fine, each block looks at both frames (warped by the flow so far), the timestep and, in
the 4.2x layouts, features of both frames from the encoder, at ``coarsest / scale`` … ``1 / scale`` of
the frame size, and refines the two flows (frame t → frame 0 and t → 1) and the fusion mask. The
result is ``warp(frame0) * sigmoid(mask) + warp(frame1) * (1 - sigmoid(mask))``.

The backward warp (bilinear, border padding, ``align_corners=True``) always samples in float32, as
vs-rife's does, so the network may run in fp16 on CUDA; base grids are cached per (device, size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dain.engines.rife.layouts import CARRIED_FEATURES, RifeLayout

__all__ = ["FeatureEncoder", "FlowBlock", "ResidualConv", "RifeFlowNet", "backward_warp"]

_RESIDUAL_CONVS = 8  # per flow block
_SLOPE = 0.2  # LeakyReLU


def _conv_leaky(in_channels: int, out_channels: int) -> nn.Sequential:
    """A stride-2 3×3 convolution and a LeakyReLU (keys ``0.weight``, ``0.bias``)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 2, 1), nn.LeakyReLU(_SLOPE, inplace=True))


class ResidualConv(nn.Module):
    """``leaky(conv(x) * beta + x)``: a 3×3 convolution with a learnt per-channel residual gain."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, channels, 1, 1)))
        self.relu = nn.LeakyReLU(_SLOPE, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * self.beta + x)


class FlowBlock(nn.Module):
    """One level: (B,in,H,W) inputs and the flow so far → flow residual, mask, carried features.

    The inputs are resized by ``1 / scale``, brought down ×4 by two stride-2 convolutions, refined by
    eight residual convolutions, brought up ×4 (transposed convolution and pixel shuffle) and resized
    back by ``scale``; flows are in pixels of the full frame, so they are divided and multiplied too.
    """

    def __init__(self, in_channels: int, width: int, outputs: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv_leaky(in_channels, width // 2), _conv_leaky(width // 2, width))
        self.convblock = nn.Sequential(*(ResidualConv(width) for _ in range(_RESIDUAL_CONVS)))
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(width, 4 * outputs, 4, 2, 1), nn.PixelShuffle(2))

    def forward(
        self, x: torch.Tensor, flow: torch.Tensor | None, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns flow (B,4,H,W) pixels, mask logits (B,1,H,W) and the remaining channels (B,k,H,W)."""
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        out = self.lastconv(self.convblock(self.conv0(x)))
        out = F.interpolate(out, scale_factor=scale, mode="bilinear", align_corners=False)
        return out[:, :4] * scale, out[:, 4:5], out[:, 5:]


class FeatureEncoder(nn.Module):
    """Per-frame features at full size (4.7 and later): stride-2 convolution, two more, transposed up."""

    def __init__(self, width: int, channels: int) -> None:
        super().__init__()
        self.cnn0 = nn.Conv2d(3, width, 3, 2, 1)
        self.cnn1 = nn.Conv2d(width, width, 3, 1, 1)
        self.cnn2 = nn.Conv2d(width, width, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(width, channels, 4, 2, 1)
        self.relu = nn.LeakyReLU(_SLOPE, inplace=True)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) → (B,channels,H,W)."""
        x = self.relu(self.cnn0(frames))
        x = self.relu(self.cnn1(x))
        x = self.relu(self.cnn2(x))
        return self.cnn3(x)


_GRIDS: dict[tuple[str, int, int], torch.Tensor] = {}


def _base_grid(device: torch.device, height: int, width: int) -> torch.Tensor:
    """(1,2,H,W) float32 sampling positions in [-1, 1] (x then y), cached per (device, size)."""
    key = (str(device), height, width)
    grid = _GRIDS.get(key)
    if grid is None:
        horizontal = (
            torch.linspace(-1.0, 1.0, width, device=device).view(1, 1, 1, width).expand(-1, -1, height, -1)
        )
        vertical = (
            torch.linspace(-1.0, 1.0, height, device=device).view(1, 1, height, 1).expand(-1, -1, -1, width)
        )
        grid = torch.cat((horizontal, vertical), 1)
        if len(_GRIDS) > 16:
            _GRIDS.clear()
        _GRIDS[key] = grid
    return grid


def backward_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` (B,C,H,W) at ``position + flow`` (B,2,H,W pixels, x then y); float32 inside.

    Bilinear, border padding, ``align_corners=True`` (pixel centres at -1 … 1), the result in the
    image's dtype.
    """
    height, width = image.shape[-2:]
    dtype = image.dtype
    flow = flow.float()
    divisor_x, divisor_y = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    normalised = torch.cat((flow[:, 0:1] / divisor_x, flow[:, 1:2] / divisor_y), 1)
    grid = (_base_grid(image.device, height, width) + normalised).permute(0, 2, 3, 1)
    warped = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return warped.to(dtype)


class RifeFlowNet(nn.Module):
    """IFNet of one RIFE v4 layout; a pure module (no device, no weights loaded here).

    ``forward(frame0, frame1, timestep, scale)``: frames (B,3,H,W) in [0, 1] with H and W multiples of
    ``layout.padding_multiple(scale)``, timestep (B,1,H,W) (the phase of each batch entry everywhere);
    returns (B,3,H,W), not clipped. ``features0``/``features1`` are the encoder's output for the frames
    (:meth:`encode`), passed in when one pair is run at several phases so it is computed once.
    """

    def __init__(self, layout: RifeLayout) -> None:
        super().__init__()
        self.layout = layout
        outputs = layout.block_outputs
        for index, width in enumerate(layout.block_widths):
            self.add_module(f"block{index}", FlowBlock(layout.block_inputs(index), width, outputs))
        self.encode = (
            FeatureEncoder(layout.encoder_width, layout.encoder_channels) if layout.encoder_width else None
        )

    def blocks(self) -> list[FlowBlock]:
        """The flow blocks, coarsest first."""
        return [getattr(self, f"block{index}") for index in range(self.layout.levels)]

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor | None:
        """The encoder's features of (B,3,H,W) frames, or ``None`` for a layout without encoder."""
        return self.encode(frames) if self.encode is not None else None

    def forward(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        timestep: torch.Tensor,
        scale: float = 1.0,
        features0: torch.Tensor | None = None,
        features1: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.encode is not None:
            features0 = self.encode(frame0) if features0 is None else features0
            features1 = self.encode(frame1) if features1 is None else features1
        carried = self.layout.carries_features
        flow = mask = feat = None
        warped0, warped1 = frame0, frame1
        for index, block in enumerate(self.blocks()):
            level_scale = self.layout.coarsest / 2**index / scale
            if flow is None or mask is None:
                parts = [frame0, frame1]
                if features0 is not None and features1 is not None:
                    parts += [features0, features1]
                flow, mask, feat = block(torch.cat([*parts, timestep], 1), None, level_scale)
            else:
                parts = [warped0, warped1]
                if features0 is not None and features1 is not None:
                    parts += [backward_warp(features0, flow[:, :2]), backward_warp(features1, flow[:, 2:4])]
                parts += [timestep, mask]
                if carried and feat is not None:
                    parts.append(feat[:, :CARRIED_FEATURES])
                delta, new_mask, feat = block(torch.cat(parts, 1), flow, level_scale)
                mask = mask + new_mask if self.layout.accumulates_mask else new_mask
                flow = flow + delta
            warped0 = backward_warp(frame0, flow[:, :2])
            warped1 = backward_warp(frame1, flow[:, 2:4])
        assert mask is not None
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)
