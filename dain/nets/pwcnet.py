"""PWC-Net (PWCDCNet, max displacement 4): the optical-flow network of DAIN (``flownets``).

Module names mirror the official ``PWCNet/PWCNet.py`` so that its weights load unchanged:
``conv{level}{a,aa,b}`` feature pyramid, ``conv{level}_{0..4}`` dense decoders,
``predict_flow{level}``, ``deconv{level}``, ``upfeat{level}`` and the ``dc_conv{1..7}`` context
network. ``deconv2`` exists in the checkpoint but is never used.

Flow units: the network outputs flow at 1/4 resolution in *full-resolution pixels divided by 20*
(``div_flow = 20``); multiply by 20 to get pixels of the input frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import cuda_kernels

__all__ = ["PWCDCNet", "backward_warp_with_mask"]

MAX_DISPLACEMENT = 4
CORRELATION_CHANNELS = (2 * MAX_DISPLACEMENT + 1) ** 2  # 81
DENSE_WIDTHS = (128, 128, 96, 64, 32)  # conv{l}_0 .. conv{l}_4 output channels
DENSE_TOTAL = sum(DENSE_WIDTHS)  # 448
# Multiplier turning the upsampled flow (pixels/20 at full res) into pixels of level l (stride 2**l).
WARP_SCALE = {5: 20.0 / 32.0, 4: 20.0 / 16.0, 3: 20.0 / 8.0, 2: 20.0 / 4.0}


def _conv(
    in_channels: int, out_channels: int, stride: int = 1, padding: int = 1, dilation: int = 1
) -> nn.Sequential:
    """3×3 conv with bias followed by LeakyReLU(0.1) (keys ``<name>.0.weight|bias``)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=padding, dilation=dilation, bias=True),
        nn.LeakyReLU(0.1),
    )


def _predict_flow(in_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, 2, kernel_size=3, stride=1, padding=1, bias=True)


def _deconv(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=True)


def _pixel_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1,2,H,W) pixel coordinates (x, y)."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack((xs, ys)).unsqueeze(0)


def backward_warp_with_mask(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward-warp ``image`` by ``flow`` as the official PWC-Net ``warp`` does.

    image: (B,C,H,W); flow: (B,2,H,W) in pixels of this resolution, (x, y) order.
    Samples ``image`` at ``p + flow(p)`` bilinearly with zero padding (grid normalised by W−1 and
    H−1, i.e. ``align_corners=True``), then zeroes every pixel whose sample touched the outside
    (a warped all-ones mask below 0.9999). Computed in float32.
    """
    batch, _, height, width = image.shape
    image = image.float()
    grid = _pixel_grid(height, width, image.device, torch.float32) + flow.float()
    grid_x = 2.0 * grid[:, 0] / max(width - 1, 1) - 1.0
    grid_y = 2.0 * grid[:, 1] / max(height - 1, 1) - 1.0
    sample_grid = torch.stack((grid_x, grid_y), dim=-1)
    warped = F.grid_sample(image, sample_grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    ones = torch.ones((batch, 1, height, width), device=image.device, dtype=torch.float32)
    mask = F.grid_sample(ones, sample_grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    mask = (mask >= 0.9999).to(torch.float32)
    return warped * mask


def _correlation(features0: torch.Tensor, features1: torch.Tensor) -> torch.Tensor:
    """81-channel cost volume, computed in float32 outside autocast, then LeakyReLU(0.1)."""
    with torch.autocast(device_type=features0.device.type, enabled=False):
        cost = cuda_kernels.correlation(
            features0.float().contiguous(), features1.float().contiguous(), max_displacement=MAX_DISPLACEMENT
        )
    return F.leaky_relu(cost, negative_slope=0.1)


class PWCDCNet(nn.Module):
    """PWC-Net with DenseNet decoders and a dilated context network (md = 4).

    ``forward(image_pair)``: image_pair (B,6,H,W) = cat(I0, I1) in [0,1], H and W divisible by 64.
    Returns the flow I0→I1, (B,2,H/4,W/4), in full-resolution pixels / 20.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1a = _conv(3, 16, stride=2)
        self.conv1aa = _conv(16, 16)
        self.conv1b = _conv(16, 16)
        self.conv2a = _conv(16, 32, stride=2)
        self.conv2aa = _conv(32, 32)
        self.conv2b = _conv(32, 32)
        self.conv3a = _conv(32, 64, stride=2)
        self.conv3aa = _conv(64, 64)
        self.conv3b = _conv(64, 64)
        self.conv4a = _conv(64, 96, stride=2)
        self.conv4aa = _conv(96, 96)
        self.conv4b = _conv(96, 96)
        self.conv5a = _conv(96, 128, stride=2)
        self.conv5aa = _conv(128, 128)
        self.conv5b = _conv(128, 128)
        self.conv6aa = _conv(128, 196, stride=2)
        self.conv6a = _conv(196, 196)
        self.conv6b = _conv(196, 196)

        # Decoder input widths: level 6 sees only the cost volume; levels 5..2 also see the
        # level's features of image 0, the upsampled flow and the upsampled decoder features.
        feature_channels = {5: 128, 4: 96, 3: 64, 2: 32}
        for level in (6, 5, 4, 3, 2):
            width = CORRELATION_CHANNELS + (0 if level == 6 else feature_channels[level] + 4)
            for index, out_channels in enumerate(DENSE_WIDTHS):
                setattr(self, f"conv{level}_{index}", _conv(width, out_channels))
                width += out_channels
            setattr(self, f"predict_flow{level}", _predict_flow(width))
            setattr(self, f"deconv{level}", _deconv(2, 2))
            if level != 2:
                setattr(self, f"upfeat{level}", _deconv(width, 2))

        self.dc_conv1 = _conv(CORRELATION_CHANNELS + 32 + 4 + DENSE_TOTAL, 128, padding=1, dilation=1)
        self.dc_conv2 = _conv(128, 128, padding=2, dilation=2)
        self.dc_conv3 = _conv(128, 128, padding=4, dilation=4)
        self.dc_conv4 = _conv(128, 96, padding=8, dilation=8)
        self.dc_conv5 = _conv(96, 64, padding=16, dilation=16)
        self.dc_conv6 = _conv(64, 32, padding=1, dilation=1)
        self.dc_conv7 = _predict_flow(32)

    def _pyramid(self, image: torch.Tensor) -> dict[int, torch.Tensor]:
        """Shared-weight feature pyramid: level l -> (B,C_l,H/2**l,W/2**l)."""
        features = {}
        x = image
        for level in (1, 2, 3, 4, 5):
            x = getattr(self, f"conv{level}a")(x)
            x = getattr(self, f"conv{level}aa")(x)
            x = getattr(self, f"conv{level}b")(x)
            features[level] = x
        features[6] = self.conv6b(self.conv6a(self.conv6aa(x)))
        return features

    def _dense_decoder(self, level: int, x: torch.Tensor) -> torch.Tensor:
        for index in range(len(DENSE_WIDTHS)):
            x = torch.cat((getattr(self, f"conv{level}_{index}")(x), x), dim=1)
        return x

    def forward(self, image_pair: torch.Tensor) -> torch.Tensor:
        """image_pair: (B,6,H,W) = cat(I0, I1); returns flow I0→I1 (B,2,H/4,W/4), pixels / 20."""
        height, width = image_pair.shape[-2:]
        if height % 64 or width % 64:
            raise ValueError(f"image_pair: PWC-Net needs H and W divisible by 64, got {height}x{width}")
        # Both images share the pyramid weights: run them as one batch.
        batch = image_pair.shape[0]
        both = torch.cat((image_pair[:, :3], image_pair[:, 3:]), dim=0)
        pyramid = self._pyramid(both)
        features0 = {level: f[:batch] for level, f in pyramid.items()}
        features1 = {level: f[batch:] for level, f in pyramid.items()}

        x = self._dense_decoder(6, _correlation(features0[6], features1[6]))
        flow = self.predict_flow6(x)
        up_flow = self.deconv6(flow)
        up_feat = self.upfeat6(x)
        for level in (5, 4, 3, 2):
            warped = backward_warp_with_mask(features1[level], up_flow * WARP_SCALE[level]).to(up_flow.dtype)
            cost = _correlation(features0[level], warped).to(up_flow.dtype)
            x = torch.cat((cost, features0[level], up_flow, up_feat), dim=1)
            x = self._dense_decoder(level, x)
            flow = getattr(self, f"predict_flow{level}")(x)
            if level != 2:
                up_flow = getattr(self, f"deconv{level}")(flow)
                up_feat = getattr(self, f"upfeat{level}")(x)

        context = self.dc_conv4(self.dc_conv3(self.dc_conv2(self.dc_conv1(x))))
        return flow + self.dc_conv7(self.dc_conv6(self.dc_conv5(context)))
