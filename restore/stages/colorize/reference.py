"""Weight-free colourisation from reference images.

For every frame the film's own lightness L is kept and chroma (a, b) is predicted:

1. **Reference per shot.** At a shot's first frame every reference is matched to it (dense flow on
   lightness, confidence from the lightness residual and forward-backward consistency); the one with
   the highest mean confidence is used for the whole shot.
2. **Two candidates per frame.** Chroma *propagated* from the previous output along the flow, and chroma
   *re-anchored* by matching the frame directly to the reference. Each carries a per-pixel confidence;
   they are blended by confidence, the reference favoured, so colour neither drifts (propagation alone
   accumulates resampling blur and occlusion errors) nor flickers (matching alone jumps frame to frame).
3. **Edge-aware spread** (:mod:`restore.stages.colorize.spread`): a confidence-weighted local affine fit of
   chroma on the film's lightness fills occluded and unmatched pixels and snaps colour to the edges.
4. **Still regions keep their colour** (:class:`restore.stages.colorize.temporal.StillSettings`): where the
   lightness did not change, the previous colour (carried along the flow, and the previous output in place)
   is kept instead of the new estimate's jitter.

A shot's first frame scores its direct correspondence as the chain scores later frames, so it starts as
settled as the frames after it (no grey flash on flat sky).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from dain.flow import compose_flows, warp
from restore.stages.colorize.lab import lightness_to_uint8, rgb_to_lab
from restore.stages.colorize.spread import solve_chroma_levin, spread_chroma
from restore.stages.colorize.temporal import (
    MatchSettings,
    StillSettings,
    hold_still,
    lightness_confidence,
    match,
    stillness,
    unmoved,
)

__all__ = ["ReferenceSettings", "ColorReference", "ReferenceColorizer", "match_tone"]


@dataclass(frozen=True)
class ReferenceSettings:
    """Parameters of reference-based colourisation (the defaults are measured in docs/colorize.md).

    reference_bias: factor on the reference candidate's confidence against the propagated one.
    propagation_decay: confidence kept per frame by propagated chroma (older colour is trusted less).
    fusion_sharpness: exponent on the candidates' confidences when blending them (high = the best wins).
    filled_reliability: trust handed on for pixels whose colour came from the spread alone.
    spread_method: "levin" (colorization by optimization, Levin et al. 2004, solved coarse to fine with Jacobi
        iterations; the default) or "affine" (confidence-weighted local affine fit on a window pyramid).
    match_tone: map the chosen reference's lightness onto the shot's first frame by quantiles, so a
        reference whose grey tones differ from the film's (another print, another grey conversion)
        still matches.
    spread_radius, spread_eps, spread_levels: see :func:`restore.stages.colorize.spread.spread_chroma`.
    keep_confident: how much confidently matched pixels keep their matched chroma over the fit.
    match: flow and confidence parameters.
    still: the temporal filter of still regions (colour held where the picture does not change).
    """

    reference_bias: float = 1.0
    propagation_decay: float = 0.99
    fusion_sharpness: float = 4.0
    filled_reliability: float = 0.2
    match_tone: bool = True
    spread_method: str = "levin"
    spread_radius: int = 2
    spread_eps: float = 1e-4
    spread_levels: int = 4
    keep_confident: float = 1.0
    match: MatchSettings = field(default_factory=MatchSettings)
    still: StillSettings = field(default_factory=StillSettings)

    def __post_init__(self) -> None:
        if self.spread_method not in ("affine", "levin"):
            raise ValueError(f"spread_method must be 'affine' or 'levin', not {self.spread_method!r}")


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


def match_tone(lightness: np.ndarray, target: np.ndarray, quantiles: int = 256) -> np.ndarray:
    """``lightness`` remapped monotonically so its histogram matches ``target``'s; both (H,W) float32 L."""
    levels = np.linspace(0.0, 1.0, quantiles)
    source_q = np.quantile(lightness, levels)
    target_q = np.quantile(target, levels)
    source_q = np.maximum.accumulate(source_q + levels * 1e-6)  # strictly increasing for interpolation
    return np.interp(lightness, source_q, target_q).astype(np.float32)


class ReferenceColorizer:
    """Stateful over a shot: call :meth:`start_shot` at a cut, then :meth:`colorize` per frame in order."""

    def __init__(self, references: Sequence[ColorReference], settings: ReferenceSettings | None = None):
        if not references:
            raise ValueError("--color-ref: at least one reference image is needed")
        self.references = list(references)
        self.settings = settings or ReferenceSettings()
        self._reference: ColorReference | None = None
        self._reference_luma: np.ndarray | None = None
        self._previous: tuple[np.ndarray, ...] | None = None
        self._output: np.ndarray | None = None
        self.chosen: list[int] = []  # index of the reference chosen for each shot
        self.mean_reference_confidence: list[float] = []

    def start_shot(self) -> None:
        """Forget temporal state: the next frame begins a new shot."""
        self._reference = None
        self._reference_luma = None
        self._previous = None
        self._output = None

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
        chosen = candidates[best]
        if self.settings.match_tone:
            chosen = ColorReference(match_tone(chosen.lightness, lightness), chosen.chroma)
        self._reference = chosen
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
        # candidate 1: direct match to the reference (re-anchoring)
        anchored = match(lightness, reference.lightness, luma, self._reference_luma, settings.match)
        to_reference, to_reference_confidence = anchored.flow, anchored.confidence
        candidates = [(warp(reference.chroma, anchored.flow), anchored.confidence * settings.reference_bias)]
        carried = None
        if self._previous is None:
            # a shot's first frame: its direct correspondence is also the start of the chain, scored as
            # the chain is from the next frame on (lightness agreement). Without this the first frame
            # alone pays the forward-backward term, low on flat areas (sky), and flashes grey.
            chained = anchored.flow
        else:
            (
                previous_lightness,
                previous_luma,
                previous_chroma,
                previous_reliability,
                previous_to_reference,
            ) = self._previous
            carried = match(lightness, previous_lightness, luma, previous_luma, settings.match)
            chained = compose_flows(carried.flow, previous_to_reference)
        # candidate 2: the reference sampled through the chained correspondence (no resampling blur)
        chained_confidence = lightness_confidence(lightness, reference.lightness, chained, settings.match)
        candidates.append((warp(reference.chroma, chained), chained_confidence * settings.reference_bias))
        better = chained_confidence > to_reference_confidence
        to_reference = np.where(better[..., None], chained, to_reference)
        to_reference_confidence = np.maximum(chained_confidence, to_reference_confidence)
        if carried is not None:
            # candidate 3: the previous output carried along the flow; trust never grows along the chain
            inherited = np.minimum(warp(previous_reliability, carried.flow), carried.confidence)
            carried_chroma = warp(previous_chroma, carried.flow)
            candidates.append((carried_chroma, inherited * settings.propagation_decay))
        reliability = np.clip(np.max([weight for _, weight in candidates], axis=0), 0.0, 1.0)
        weights = np.stack(
            [np.clip(weight, 0.0, 1.0) ** settings.fusion_sharpness + 1e-12 for _, weight in candidates]
        )
        fused = (np.stack([chroma for chroma, _ in candidates]) * weights[..., None]).sum(axis=0)
        fused /= weights.sum(axis=0)[..., None]
        self.mean_reference_confidence.append(float(to_reference_confidence.mean()))
        if settings.spread_method == "levin":
            solved = solve_chroma_levin(lightness, fused.astype(np.float32), reliability.astype(np.float32))
            keep = (settings.keep_confident * reliability)[..., None]
            chroma = (keep * fused + (1.0 - keep) * solved).astype(np.float32)
        else:
            chroma = spread_chroma(
                lightness,
                fused.astype(np.float32),
                reliability.astype(np.float32),
                radius=settings.spread_radius,
                eps=settings.spread_eps,
                levels=settings.spread_levels,
                keep_confident=settings.keep_confident,
            )
        output = chroma
        if carried is not None:
            # the temporal filter of still regions (temporal.StillSettings): colour held where nothing changed
            still = settings.still
            carried_lightness = warp(previous_lightness, carried.flow)
            if still.carry > 0:
                # ... but not over a re-anchoring: where the reference is matched with more trust than the
                # carried colour inherited, the reference wins (colour coming back into view returns)
                gap = to_reference_confidence - inherited
                regained = np.clip(gap / still.regain_margin, 0.0, 1.0)
                steady = stillness(lightness, carried_lightness, still.lightness_sigma) * (1.0 - regained)
                chroma = output = hold_still(chroma, carried_chroma, steady, still.carry)
            if still.hold > 0 and self._output is not None:
                unchanged = stillness(lightness, previous_lightness, still.lightness_sigma) * unmoved(
                    lightness, previous_lightness, carried_lightness, still.moved_sigma
                )
                output = hold_still(chroma, self._output, unchanged, still.hold)
        self._output = output
        # what later frames inherit: spread-filled pixels keep a low, not zero, trust
        state_reliability = np.maximum(reliability, settings.filled_reliability).astype(np.float32)
        self._previous = (lightness, luma, chroma, state_reliability, to_reference.astype(np.float32))
        return output
