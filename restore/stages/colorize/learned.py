"""Learned per-frame colourisers made stable over time.

A network predicts (a, b) for each frame from its lightness (at ``input_size``, the official 256×256,
upsampled back to the frame). Per-frame predictions flicker, so the previous output is carried along
the flow and blended with the new prediction where the match is trusted
(:func:`restore.stages.colorize.temporal.blend_with_prediction`); the prediction wins at occlusions and cuts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from dain.flow import warp
from restore.stages.colorize.lab import lightness_to_uint8
from restore.stages.colorize.temporal import MatchSettings, blend_with_prediction, match

__all__ = ["LearnedSettings", "LearnedColorizer"]


@dataclass(frozen=True)
class LearnedSettings:
    """input_size: network input side (pixels); prediction_weight: share of the new prediction where the
    propagation is trusted (1 = no temporal stabilisation); match: flow and confidence parameters."""

    input_size: int = 256
    prediction_weight: float = 0.2
    match: MatchSettings = field(default_factory=MatchSettings)


class LearnedColorizer:
    """Stateful over a shot, like :class:`restore.stages.colorize.reference.ReferenceColorizer`."""

    def __init__(self, network: nn.Module, device: torch.device, settings: LearnedSettings | None = None):
        self.network = network.to(device).eval()
        self.device = device
        self.settings = settings or LearnedSettings()
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def start_shot(self) -> None:
        self._previous = None

    @torch.inference_mode()
    def predict(self, lightness: np.ndarray) -> np.ndarray:
        """(H,W) float32 L -> (H,W,2) float32 ab, the network alone."""
        height, width = lightness.shape
        side = self.settings.input_size
        small = cv2.resize(lightness, (side, side), interpolation=cv2.INTER_AREA)
        tensor = torch.from_numpy(small)[None, None].to(self.device, torch.float32)
        ab = self.network(tensor)
        ab = F.interpolate(ab, size=(height, width), mode="bilinear", align_corners=False)
        return ab[0].permute(1, 2, 0).float().cpu().numpy()

    def colorize(self, lightness: np.ndarray) -> np.ndarray:
        """(H,W) float32 L -> (H,W,2) float32 ab, stabilised along the flow within the shot."""
        predicted = self.predict(lightness)
        luma = lightness_to_uint8(lightness)
        if self._previous is None:
            chroma = predicted
        else:
            previous_lightness, previous_luma, previous_chroma = self._previous
            carried = match(lightness, previous_lightness, luma, previous_luma, self.settings.match)
            chroma = blend_with_prediction(
                warp(previous_chroma, carried.flow),
                carried.confidence,
                predicted,
                self.settings.prediction_weight,
            )
        self._previous = (lightness, luma, chroma)
        return chroma
