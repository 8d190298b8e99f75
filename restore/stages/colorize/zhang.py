"""The colourisation networks of Zhang et al.: ECCV 2016 ("Colorful Image Colorization") and
SIGGRAPH 2017 ("Real-Time User-Guided Image Colorization"), module names as in the official release
(``richzhang/colorization``) so its checkpoints load with ``load_state_dict`` unchanged.

Both take lightness L in [0, 100] as (B,1,H,W) (H, W multiples of 8; the official use is 256×256) and
return chroma (a, b) as (B,2,H,W) in Lab units. ECCV16 classifies into 313 quantised ab bins and decodes
their softmax with a fixed 1×1 convolution (its output is at 1/4 resolution, upsampled ×4).
SIGGRAPH17 is a U-Net that can also take sparse user hints (ab and a mask); without hints it is an
automatic colouriser.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from dain.checkpoint import CheckpointError, canonical_state_dict, load_into, state_dict_mismatches

__all__ = [
    "ECCV16Colorizer",
    "SIGGRAPH17Colorizer",
    "ARCHITECTURES",
    "detect_architecture",
    "load_zhang_state_dict",
]

L_CENTER, L_SCALE, AB_SCALE = 50.0, 100.0, 110.0


def _conv(in_channels: int, out_channels: int, dilation: int = 1, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels, out_channels, kernel_size=3, stride=stride, padding=dilation, dilation=dilation
    )


def _block(
    channels: list[int], dilation: int = 1, last_stride: int = 1, lead_relu: bool = False
) -> nn.Sequential:
    """[ReLU] conv, ReLU, conv, ReLU, … BatchNorm — the official layer order, so indices match."""
    layers: list[nn.Module] = [nn.ReLU(inplace=True)] if lead_relu else []
    pairs = list(zip(channels[:-1], channels[1:], strict=True))
    for index, (cin, cout) in enumerate(pairs):
        stride = last_stride if index == len(pairs) - 1 else 1
        layers += [_conv(cin, cout, dilation, stride), nn.ReLU(inplace=True)]
    layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


class ECCV16Colorizer(nn.Module):
    """ECCV16. forward(lightness (B,1,H,W) L in [0,100]) -> (B,2,H,W) ab."""

    def __init__(self) -> None:
        super().__init__()
        self.model1 = _block([1, 64, 64], last_stride=2)
        self.model2 = _block([64, 128, 128], last_stride=2)
        self.model3 = _block([128, 256, 256, 256], last_stride=2)
        self.model4 = _block([256, 512, 512, 512])
        self.model5 = _block([512, 512, 512, 512], dilation=2)
        self.model6 = _block([512, 512, 512, 512], dilation=2)
        self.model7 = _block([512, 512, 512, 512])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            _conv(256, 256),
            nn.ReLU(inplace=True),
            _conv(256, 256),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 313, kernel_size=1),
        )
        self.model_out = nn.Conv2d(313, 2, kernel_size=1, bias=False)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        features = (lightness - L_CENTER) / L_SCALE
        for stage in (
            self.model1,
            self.model2,
            self.model3,
            self.model4,
            self.model5,
            self.model6,
            self.model7,
        ):
            features = stage(features)
        logits = self.model8(features)
        ab = self.model_out(torch.softmax(logits, dim=1))
        ab = F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)
        return ab * AB_SCALE


class SIGGRAPH17Colorizer(nn.Module):
    """SIGGRAPH17. forward(lightness (B,1,H,W), hint_ab (B,2,H,W) | None, hint_mask (B,1,H,W) | None)
    -> (B,2,H,W) ab."""

    def __init__(self, classes: int = 529) -> None:
        super().__init__()
        self.model1 = _block([4, 64, 64])
        self.model2 = _block([64, 128, 128])
        self.model3 = _block([128, 256, 256, 256])
        self.model4 = _block([256, 512, 512, 512])
        self.model5 = _block([512, 512, 512, 512], dilation=2)
        self.model6 = _block([512, 512, 512, 512], dilation=2)
        self.model7 = _block([512, 512, 512, 512])
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1))
        self.model3short8 = nn.Sequential(_conv(256, 256))
        self.model8 = _block([256, 256, 256], lead_relu=True)
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, kernel_size=4, stride=2, padding=1))
        self.model2short9 = nn.Sequential(_conv(128, 128))
        self.model9 = _block([128, 128], lead_relu=True)
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, kernel_size=4, stride=2, padding=1))
        self.model1short10 = nn.Sequential(_conv(64, 128))
        self.model10 = nn.Sequential(nn.ReLU(inplace=True), _conv(128, 128), nn.LeakyReLU(negative_slope=0.2))
        self.model_class = nn.Sequential(nn.Conv2d(256, classes, kernel_size=1))  # unused at inference
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, kernel_size=1), nn.Tanh())

    def forward(
        self,
        lightness: torch.Tensor,
        hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if hint_ab is None:
            hint_ab = lightness.new_zeros((lightness.shape[0], 2, *lightness.shape[2:]))
        if hint_mask is None:
            hint_mask = lightness.new_zeros((lightness.shape[0], 1, *lightness.shape[2:]))
        inputs = torch.cat([(lightness - L_CENTER) / L_SCALE, hint_ab / AB_SCALE, hint_mask], dim=1)
        conv1 = self.model1(inputs)
        conv2 = self.model2(conv1[:, :, ::2, ::2])
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        deep = self.model4(conv3[:, :, ::2, ::2])
        deep = self.model7(self.model6(self.model5(deep)))
        up8 = self.model8(self.model8up(deep) + self.model3short8(conv3))
        up9 = self.model9(self.model9up(up8) + self.model2short9(conv2))
        up10 = self.model10(self.model10up(up9) + self.model1short10(conv1))
        return self.model_out(up10) * AB_SCALE


ARCHITECTURES: dict[str, type[nn.Module]] = {"eccv16": ECCV16Colorizer, "siggraph17": SIGGRAPH17Colorizer}


_SOURCE = "--colorize-weights: checkpoint"


def _canonical(state_dict: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """The tensors of ``state_dict`` with wrappers and prefixes undone (:func:`canonical_state_dict`)."""
    return canonical_state_dict(state_dict, source=_SOURCE, non_tensors="drop")


def detect_architecture(state_dict: Mapping[str, object]) -> str:
    """``"eccv16"`` or ``"siggraph17"`` from the keys; ``ValueError`` for anything else."""
    keys = set(_canonical(state_dict))
    if "model1short10.0.weight" in keys:
        return "siggraph17"
    if "model8.6.weight" in keys and "model_out.weight" in keys:
        return "eccv16"
    raise CheckpointError("--colorize-weights: not an ECCV16 or SIGGRAPH17 colourisation checkpoint")


def load_zhang_state_dict(state_dict: Mapping[str, object], architecture: str | None = None) -> nn.Module:
    """Build the network for ``state_dict`` and load it strictly; a missing or unexpected key is a ValueError
    listing them (only BatchNorm's ``num_batches_tracked``, absent from old checkpoints, may be missing)."""
    tensors = _canonical(state_dict)
    name = architecture or detect_architecture(tensors)
    if name not in ARCHITECTURES:
        raise CheckpointError(
            f"--colorize-engine: unknown architecture {name!r}; choose from {sorted(ARCHITECTURES)}"
        )
    model = ARCHITECTURES[name]()
    missing, unexpected, wrong_shape = (sorted(keys) for keys in state_dict_mismatches(model, tensors))
    if missing or unexpected or wrong_shape:
        raise CheckpointError(
            f"--colorize-weights: not a {name} checkpoint: missing {missing[:5]} ({len(missing)}), "
            f"unexpected {unexpected[:5]} ({len(unexpected)}), wrong shape {wrong_shape[:5]}"
        )
    load_into(model, tensors, source=_SOURCE)
    return model.eval()
