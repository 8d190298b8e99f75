"""Run an image-to-image function over overlapping tiles and stitch the results seamlessly.

The input is cut into a grid of *core* tiles that partition it. Each core is run with ``overlap``
extra input pixels on every side (clamped at the image border), so the model sees context across the
cut. Neighbouring outputs are cross-faded with complementary linear ramps over a band of ``blend``
input pixels centred on the cut; everything outside the bands comes from one tile only. When the
model's receptive field is at most ``overlap - blend / 2`` pixels, the stitched result equals an
untiled run up to floating-point rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["tile_spans", "run_tiled"]


def tile_spans(length: int, tile: int, align: int = 1) -> list[tuple[int, int]]:
    """Split ``[0, length)`` into ``ceil(length / tile)`` near-equal consecutive spans ``(start, stop)``.

    Inner cut positions are multiples of ``align`` (empty spans that alignment would create are dropped).
    """
    if length < 1 or tile < 1 or align < 1:
        raise ValueError(f"length, tile and align must be positive, got {length}, {tile}, {align}")
    count = math.ceil(length / tile)
    inner = sorted({round(index * length / count / align) * align for index in range(1, count)} - {0})
    edges = [0, *(edge for edge in inner if edge < length), length]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _axis_weights(
    start: int, stop: int, in_start: int, in_stop: int, length: int, blend: int, scale: int
) -> tuple[int, int, torch.Tensor]:
    """Output range and 1-D weights of one tile along one axis (all in output pixels).

    Returns ``(out_start, out_stop, weights)``: the tile writes ``weights * tile_output[out_start -
    in_start * scale : ...]`` into ``[out_start, out_stop)``. Weights ramp 0→1 across the band around an
    interior cut at ``start`` and 1→0 around one at ``stop``; ramps of neighbours sum to one.
    """
    half_band = blend * scale / 2.0
    out_start = start * scale - (math.floor(half_band) if start > 0 else 0)
    out_stop = stop * scale + (math.floor(half_band) if stop < length else 0)
    # Never read outside what the tile actually produced.
    out_start = max(out_start, in_start * scale)
    out_stop = min(out_stop, in_stop * scale)
    centres = torch.arange(out_start, out_stop, dtype=torch.float64) + 0.5
    weights = torch.ones_like(centres)
    if blend > 0 and start > 0:
        weights = weights * ((centres - (start * scale - half_band)) / (2 * half_band)).clamp(0, 1)
    if blend > 0 and stop < length:
        weights = weights * (1 - ((centres - (stop * scale - half_band)) / (2 * half_band)).clamp(0, 1))
    return out_start, out_stop, weights


def run_tiled(
    function: Callable[[torch.Tensor], torch.Tensor],
    frames: torch.Tensor,
    scale: int,
    tile: int,
    overlap: int,
    blend: int | None = None,
    align: int = 1,
) -> torch.Tensor:
    """Apply ``function`` tile by tile; returns what ``function(frames)`` would, stitched.

    function: maps (N, C, h, w) to (N, C_out, h * scale, w * scale) for any tile size it is given.
    frames: (N, C, H, W). tile: core tile side in input pixels (> 0). overlap: context pixels added on
    each side of a core (>= 0). blend: width in input pixels of the cross-fade band at each cut, at most
    ``overlap`` (default ``overlap // 2``); 0 cuts hard. align: tile origins are multiples of this
    (models that pixel-unshuffle their input need their ``multiple_of``); ``overlap`` is rounded up to it.
    returns: (N, C_out, H * scale, W * scale) float32 (accumulated in float32 whatever ``function``'s dtype).
    """
    if tile < 1:
        raise ValueError(f"tile must be a positive number of pixels, got {tile}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    overlap = math.ceil(overlap / align) * align
    blend = overlap // 2 if blend is None else min(int(blend), overlap)
    height, width = frames.shape[-2:]
    if tile >= height and tile >= width:
        return function(frames).float()
    output: torch.Tensor | None = None
    total_weight = torch.zeros(height * scale, width * scale, dtype=torch.float32, device=frames.device)
    for row_start, row_stop in tile_spans(height, tile, align):
        in_top, in_bottom = max(0, row_start - overlap), min(height, row_stop + overlap)
        out_top, out_bottom, row_weights = _axis_weights(
            row_start, row_stop, in_top, in_bottom, height, blend, scale
        )
        for col_start, col_stop in tile_spans(width, tile, align):
            in_left, in_right = max(0, col_start - overlap), min(width, col_stop + overlap)
            out_left, out_right, col_weights = _axis_weights(
                col_start, col_stop, in_left, in_right, width, blend, scale
            )
            result = function(frames[..., in_top:in_bottom, in_left:in_right])
            if output is None:
                output = torch.zeros(
                    (*result.shape[:-2], height * scale, width * scale),
                    dtype=torch.float32,
                    device=frames.device,
                )
            weights = (row_weights[:, None] * col_weights[None, :]).to(
                device=frames.device, dtype=torch.float32
            )
            piece = result[
                ...,
                out_top - in_top * scale : out_bottom - in_top * scale,
                out_left - in_left * scale : out_right - in_left * scale,
            ].float()
            output[..., out_top:out_bottom, out_left:out_right] += piece * weights
            total_weight[out_top:out_bottom, out_left:out_right] += weights
    assert output is not None
    return output / total_weight.clamp_min(1e-12)
