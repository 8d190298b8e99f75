"""Weight-free colourisation from reference images.

For every frame the film's own lightness L is kept and chroma (a, b) is predicted:

1. **Reference per shot.** At a shot's first frame every reference is matched to it (dense flow on
   lightness, confidence from the lightness residual and forward-backward consistency); the one with
   the highest mean confidence is used for the whole shot.
2. **Two candidates per frame.** Chroma *propagated* from the previous output along the flow, and chroma
   *re-anchored* by matching the frame directly to the reference. Each carries a per-pixel confidence;
   they are blended by confidence, the reference favoured, so colour neither drifts (propagation alone
   accumulates resampling blur and occlusion errors) nor flickers (matching alone jumps frame to frame).
3. **Edge-aware spread** (:mod:`restore.colorize.spread`): a confidence-weighted local affine fit of
   chroma on the film's lightness fills occluded and unmatched pixels and snaps colour to the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from restore.colorize.lab import lightness_to_uint8, rgb_to_lab
from restore.colorize.spread import spread_chroma
from restore.colorize.temporal import MatchSettings, match, warp

__all__ = ["ReferenceSettings", "ColorReference", "ReferenceColorizer"]


@dataclass(frozen=True)
class ReferenceSettings:
    """Parameters of reference-based colourisation (the defaults are measured in docs/colorize.md).

    reference_bias: factor on the reference candidate's confidence against the propagated one.
    propagation_decay: confidence kept per frame by propagated chroma (older colour is trusted less).
    spread_radius, spread_eps, spread_levels: see :func:`restore.colorize.spread.spread_chroma`.
    keep_confident: how much confidently matched pixels keep their matched chroma over the fit.
    match: flow and confidence parameters.
    """

    reference_bias: float = 1.5
    propagation_decay: float = 0.97
    spread_radius: int = 4
    spread_eps: float = 1e-3
    spread_levels: int = 4
    keep_confident: float = 0.5
    match: MatchSettings = field(default_factory=MatchSettings)


@dataclass(frozen=True)
class ColorReference:
    """One reference image in Lab: lightness (H,W) float32 [0,100] and chroma (H,W,2) float32."""

    lightness: np.ndarray
    chroma: np.ndarray

    @classmethod
    def from_rgb(cls, image: np.ndarray) -> ColorReference:
        """image: (H,W,3) RGB uint8/uint16/float."""
        lab = rgb_to_lab(image)
        return cls(np.ascontiguousarray(lab[..., 0]), np.ascontiguousarray(lab[..., 1:]))

    def resized(self, height: int, width: int) -> ColorReference:
        """The reference resampled to the frame size (area filter when shrinking)."""
        if self.lightness.shape == (height, width):
            return self
        shrink = height < self.lightness.shape[0]
        interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        return ColorReference(
            cv2.resize(self.lightness, (width, height), interpolation=interpolation),
            cv2.resize(self.chroma, (width, height), interpolation=interpolation),
        )


class ReferenceColorizer:
    """Stateful over a shot: call :meth:`start_shot` at a cut, then :meth:`colorize` per frame in order."""

    def __init__(self, references: Sequence[ColorReference], settings: ReferenceSettings | None = None):
        if not references:
            raise ValueError("--color-ref: at least one reference image is needed")
        self.references = list(references)
        self.settings = settings or ReferenceSettings()
        self._reference: ColorReference | None = None
        self._reference_luma: np.ndarray | None = None
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.chosen: list[int] = []  # index of the reference chosen for each shot
        self.mean_reference_confidence: list[float] = []

    def start_shot(self) -> None:
        """Forget temporal state: the next frame begins a new shot."""
        self._reference = None
        self._reference_luma = None
        self._previous = None

    def _choose_reference(self, lightness: np.ndarray, luma: np.ndarray) -> None:
        height, width = lightness.shape
        best, best_score = 0, -1.0
        candidates = [reference.resized(height, width) for reference in self.references]
        if len(candidates) > 1:
            for index, candidate in enumerate(candidates):
                found = match(
                    lightness, candidate.lightness, luma, lightness_to_uint8(candidate.lightness),
                    self.settings.match,
                )  # fmt: skip
                score = float(found.confidence.mean())
                if score > best_score:
                    best, best_score = index, score
        self._reference = candidates[best]
        self._reference_luma = lightness_to_uint8(self._reference.lightness)
        self.chosen.append(best)

    def colorize(self, lightness: np.ndarray) -> np.ndarray:
        """lightness: (H,W) float32 L of the film frame -> (H,W,2) float32 chroma (a, b)."""
        settings = self.settings
        luma = lightness_to_uint8(lightness)
        if self._reference is None or self._reference.lightness.shape != lightness.shape:
            self._choose_reference(lightness, luma)
        reference = self._reference
        assert reference is not None and self._reference_luma is not None
        anchored = match(lightness, reference.lightness, luma, self._reference_luma, settings.match)
        candidate_chroma = [warp(reference.chroma, anchored.flow)]
        candidate_weight = [np.clip(anchored.confidence * settings.reference_bias, 0.0, 1.0)]
        self.mean_reference_confidence.append(float(anchored.confidence.mean()))
        if self._previous is not None:
            previous_lightness, previous_luma, previous_chroma, previous_confidence = self._previous
            carried = match(lightness, previous_lightness, luma, previous_luma, settings.match)
            candidate_chroma.append(warp(previous_chroma, carried.flow))
            inherited = warp(previous_confidence, carried.flow) * settings.propagation_decay
            candidate_weight.append(carried.confidence * inherited)
        weights = np.stack(candidate_weight)
        total = weights.sum(axis=0)
        fused = (np.stack(candidate_chroma) * weights[..., None]).sum(axis=0) / np.maximum(total, 1e-6)[..., None]
        confidence = np.clip(weights.max(axis=0), 0.0, 1.0).astype(np.float32)
        chroma = spread_chroma(
            lightness,
            fused.astype(np.float32),
            confidence,
            radius=settings.spread_radius,
            eps=settings.spread_eps,
            levels=settings.spread_levels,
            keep_confident=settings.keep_confident,
        )
        # the output is what later frames inherit; unmatched pixels inherit a low, not zero, trust
        state_confidence = np.maximum(confidence, 0.2).astype(np.float32)
        self._previous = (lightness, luma, chroma, state_confidence)
        return chroma
