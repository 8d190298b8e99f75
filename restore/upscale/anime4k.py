"""Anime4K v0.9: classical edge refinement on top of a base upscale (weight-free).

The algorithm (B. Peng, 2019) treats luminance as a height map and pushes pixels towards the nearer
side of an edge, which thins blurred lines and steepens blurred edges without the ringing or overshoot
of unsharp masking. Every pass replaces a pixel by a convex combination of itself and three of its
3×3 neighbours, so no pass can leave the range of the 3×3 neighbourhood it reads.

1. Base upscale (Lanczos-3 here) to the target size.
2. Luminance ``L = (2R + 3G + B) / 6``.
3. Thin-lines pass, strength ``min(scale / 6, 1)``: in each of eight directions, where the three
   neighbours on one side are all lighter than the three on the other side (and, for the four straight
   directions, lighter than the centre), the candidate is the centre blended towards the mean of the
   light side; the lightest candidate wins. This thins dark lines that the upscale made too thick.
4. Luminance again, then the Sobel gradient magnitude ``G``; the height map is ``1 - clamp(G, 0, 1)``.
5. Gradient push, strength ``min(scale / 2, 1)``: the same eight directional tests on the height map;
   at the first direction that matches, the pixel (RGB) is blended towards the mean of the three
   neighbours on the flat (high) side. This moves pixels away from edge centres: edges sharpen.

Steps 3-5 form one pass; ``passes`` repeats them (the original runs one). Borders repeat the edge pixel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dain.errors import EngineOptionError
from restore.upscale.lanczos import lanczos_resize

__all__ = ["Anime4KUpscaler", "anime4k_refine", "luminance", "push_gradient", "thin_lines"]

# Offsets (dy, dx) of the 3x3 neighbourhood, named as in a picture: t = top (dy = -1), l = left.
_OFFSETS = {
    "tl": (-1, -1),
    "t": (-1, 0),
    "tr": (-1, 1),
    "l": (0, -1),
    "cc": (0, 0),
    "r": (0, 1),
    "bl": (1, -1),
    "b": (1, 0),
    "br": (1, 1),
}

# The eight directional kernels in the order the algorithm tests them, as
# (dark side, light side, whether the light side must also be lighter than the centre).
# Kernels come in mirrored pairs; the second of a pair is only tested where the first did not match.
_KERNEL_PAIRS = (
    ((("bl", "b", "br"), ("tl", "t", "tr"), True), (("tl", "t", "tr"), ("bl", "b", "br"), True)),
    ((("cc", "l", "b"), ("r", "t", "tr"), False), (("cc", "r", "t"), ("bl", "l", "b"), False)),
    ((("l", "tl", "bl"), ("r", "br", "tr"), True), (("r", "br", "tr"), ("l", "tl", "bl"), True)),
    ((("cc", "l", "t"), ("r", "br", "b"), False), (("cc", "r", "b"), ("t", "l", "tl"), False)),
)


def luminance(frames: torch.Tensor) -> torch.Tensor:
    """Anime4K's luminance ``(2R + 3G + B) / 6``: (N, 3, H, W) -> (N, 1, H, W)."""
    red, green, blue = frames[:, 0:1], frames[:, 1:2], frames[:, 2:3]
    return (2.0 * red + 3.0 * green + blue) / 6.0


def _neighbours(image: torch.Tensor) -> dict[str, torch.Tensor]:
    """The nine 3x3-shifted views of ``image`` (N, C, H, W), borders replicated."""
    height, width = image.shape[-2:]
    padded = F.pad(image, (1, 1, 1, 1), mode="replicate")
    return {
        name: padded[..., 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        for name, (dy, dx) in _OFFSETS.items()
    }


def _kernel_matches(height_map: dict[str, torch.Tensor]) -> list[tuple[torch.Tensor, tuple[str, ...]]]:
    """For each of the 8 kernels in test order: (where it matches, its light side).

    A kernel matches where the darkest of its light side is above the lightest of its dark side (and,
    for the straight kernels, above the centre). Side extremes are shared between kernels.
    """
    extremes: dict[tuple[str, tuple[str, ...]], torch.Tensor] = {}

    def extreme(kind: str, names: tuple[str, ...]) -> torch.Tensor:
        key = (kind, tuple(sorted(names)))
        if key not in extremes:
            combine = torch.minimum if kind == "min" else torch.maximum
            first, second, third = (height_map[name] for name in names)
            extremes[key] = combine(combine(first, second), third)
        return extremes[key]

    centre = height_map["cc"]
    matches = []
    for first, second in _KERNEL_PAIRS:
        first_match = None
        for dark, light, needs_centre in (first, second):
            min_light = extreme("min", light)
            match = min_light > extreme("max", dark)
            if needs_centre:
                match = match & (min_light > centre)
            if first_match is None:
                first_match = match
            else:
                match = match & ~first_match
            matches.append((match, light))
    return matches


def _push_towards(
    frames: torch.Tensor,
    winner: torch.Tensor,
    sides: list[tuple[str, ...]],
    strength: float,
) -> torch.Tensor:
    """Blend each pixel towards the mean of the light side of its winning kernel.

    frames: (N, 3, H, W). winner: (N, 1, H, W) int8, index into ``sides`` or -1 (pixel unchanged).
    """
    neighbours = _neighbours(frames)
    light_sum = torch.zeros_like(frames)
    for index, light in enumerate(sides):
        side_sum = neighbours[light[0]] + neighbours[light[1]] + neighbours[light[2]]
        light_sum = torch.where(winner == index, side_sum, light_sum)
    pushed = frames * (1.0 - strength) + light_sum * (strength / 3.0)
    return torch.where(winner >= 0, pushed, frames)


def thin_lines(frames: torch.Tensor, strength: float) -> torch.Tensor:
    """Thin-lines pass: (N, 3, H, W) -> (N, 3, H, W), each pixel pushed towards its lighter side.

    strength in [0, 1]: how far towards the mean of the light side (0 = unchanged). Among the
    matching kernels the one whose result is lightest wins (the first one on ties), as in the original.
    """
    lum = _neighbours(luminance(frames))
    winner = torch.full_like(lum["cc"], -1, dtype=torch.int8)
    best_light = torch.full_like(lum["cc"], -1.0)
    sides = []
    for index, (match, light) in enumerate(_kernel_matches(lum)):
        # Every matching kernel's light side is lighter than the centre, so the lightest result is
        # the one with the lightest light side; unmatched kernels score -1 and never win.
        light_lum = torch.where(match, lum[light[0]] + lum[light[1]] + lum[light[2]], -1.0)
        better = light_lum > best_light
        winner = torch.where(better, index, winner)
        best_light = torch.maximum(best_light, light_lum)
        sides.append(light)
    return _push_towards(frames, winner, sides, strength)


def push_gradient(frames: torch.Tensor, strength: float) -> torch.Tensor:
    """Gradient push (refine) pass: (N, 3, H, W) -> (N, 3, H, W), pixels pushed away from edge centres.

    The height map is ``1 - clamp(|Sobel(luminance)|, 0, 1)``; the first matching kernel (in the
    original's order) decides; strength in [0, 1].
    """
    lum = _neighbours(luminance(frames))
    grad_x = (lum["tr"] + 2.0 * lum["r"] + lum["br"]) - (lum["tl"] + 2.0 * lum["l"] + lum["bl"])
    grad_y = (lum["bl"] + 2.0 * lum["b"] + lum["br"]) - (lum["tl"] + 2.0 * lum["t"] + lum["tr"])
    height_map = _neighbours(1.0 - torch.sqrt(grad_x * grad_x + grad_y * grad_y).clamp(0.0, 1.0))
    matches = _kernel_matches(height_map)
    winner = torch.full_like(height_map["cc"], -1, dtype=torch.int8)
    for index in reversed(range(len(matches))):  # the earliest matching kernel is written last
        winner = torch.where(matches[index][0], index, winner)
    return _push_towards(frames, winner, [light for _, light in matches], strength)


def anime4k_refine(frames: torch.Tensor, scale: float, passes: int = 1) -> torch.Tensor:
    """Refine an already upscaled batch (N, 3, H, W) in [0, 1]; strengths follow ``scale`` (out/in)."""
    line_strength = min(scale / 6.0, 1.0)
    gradient_strength = min(scale / 2.0, 1.0)
    for _ in range(passes):
        frames = push_gradient(thin_lines(frames, line_strength), gradient_strength)
    return frames.clamp(0.0, 1.0)


class Anime4KUpscaler:
    """Lanczos-3 to the target size, then Anime4K v0.9 edge refinement (skipped when not enlarging).

    Options: ``passes`` (default 1), ``strength_scale`` to override the factor the strengths derive
    from; ``tile``/``half`` are accepted and ignored (the filter is local and cheap).
    """

    name = "anime4k"

    def __init__(
        self,
        device: torch.device | str = "cpu",
        passes: int = 1,
        strength_scale: float | None = None,
        **options: object,
    ) -> None:
        if int(passes) < 0:
            raise EngineOptionError(f"passes must be >= 0, got {passes}")
        self.device = torch.device(device)
        self.passes = int(passes)
        self.strength_scale = strength_scale

    def __repr__(self) -> str:
        return f"Anime4KUpscaler(device={str(self.device)!r}, passes={self.passes})"

    def upscale(self, frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 3, *size) in [0, 1]."""
        frames = frames.to(self.device)
        in_height, in_width = frames.shape[-2:]
        scale = self.strength_scale or math.sqrt(size[0] / in_height * size[1] / in_width)
        base = lanczos_resize(frames, size)
        if scale <= 1.0 or self.passes == 0:
            return base
        return anime4k_refine(base, scale, self.passes)
