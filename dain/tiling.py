"""The one tiler: run an image-to-image function over overlapping tiles, and the out-of-memory fallback.

Tiling. The input is cut into a grid of *core* tiles that partition it. Each core is run with
``overlap`` extra input pixels on every side (clamped at the image border), so the model sees context
across the cut. Neighbouring outputs are cross-faded with complementary linear ramps over a band of
``blend`` input pixels centred on the cut; everything outside the bands comes from one tile only. When
the model's receptive field is at most ``overlap - blend / 2`` pixels, the stitched result equals an
untiled run up to floating-point rounding.

Memory. :func:`run_with_memory_fallback` tries a list of tile sizes in order (``0`` = the whole frame,
then smaller tiles, largest first), freeing the CUDA cache between tries, and ends with one clear
``torch.OutOfMemoryError`` naming the input size and the smallest tile tried.

Policy. :class:`Tiling` (from :mod:`dain.descriptor`) is what an engine's descriptor says about being
tiled, as spandrel's ``ModelTiling``; :func:`tiling_allowed` turns it and the user's ``tile`` option
into yes or no.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

from dain.descriptor import Tiling, tiling_allowed

__all__ = [
    "Tiling",
    "tiling_allowed",
    "tile_spans",
    "run_tiled",
    "halving_tiles",
    "run_with_memory_fallback",
]

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


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

    function: maps (N, C, h, w) to (M, C_out, h * scale, w * scale) for any tile size it is given (M
    need not equal N: an interpolator may take a pair stacked on channels and return several phases).
    frames: (N, C, H, W). tile: core tile side in input pixels (> 0). overlap: context pixels added on
    each side of a core (>= 0). blend: width in input pixels of the cross-fade band at each cut, at most
    ``overlap`` (default ``overlap // 2``); 0 cuts hard. align: tile origins are multiples of this
    (models that pixel-unshuffle their input need their ``multiple_of``); ``overlap`` is rounded up to it.
    returns: (M, C_out, H * scale, W * scale) float32 (accumulated in float32 whatever ``function``'s
    dtype); when one tile covers the frame, ``function(frames).float()`` itself.
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
    if output is None:  # tile_spans always yields at least one span per axis
        raise RuntimeError("run_tiled: no tile was run")
    return output / total_weight.clamp_min(1e-12)


def halving_tiles(start: int, smallest: int) -> list[int]:
    """Tile sides to retry with after ``start`` failed: ``start // 2, start // 4, ...``, largest first.

    Halving goes on while the tile being halved is more than ``2 * smallest`` pixels, so no tile is
    below ``smallest``; ``[]`` when ``start`` is already at most ``2 * smallest``.
    """
    tiles = []
    current = start
    while current > 2 * smallest:
        current //= 2
        tiles.append(current)
    return tiles


def _free_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_with_memory_fallback(
    attempt: Callable[[int], T],
    tiles: Sequence[int],
    *,
    label: str,
    size: tuple[int, int],
    device: torch.device,
    what: str = "frame",
) -> T:
    """``attempt(tile)`` for each tile in order until one fits in memory; the one out-of-memory fallback.

    attempt: runs the work whole (``tile == 0``) or in tiles of that side (input pixels).
    tiles: the tile sides to try, in order, e.g. ``[0, 1024, 512, 256]`` (whole frame first, then
        smaller tiles, largest first); at least one.
    label, size, what: for the messages, e.g. ``"DAIN"``, ``(height, width)``, ``"pair"``.
    device: where the work runs; the CUDA cache is freed between tries when it is a CUDA device.
    returns: the first result that did not run out of memory.
    raises: ``torch.OutOfMemoryError`` "LABEL ran out of GPU memory on a HxW WHAT even in N-pixel tiles"
        when every size did (the CUDA cache is freed between tries, after the failed try's tensors).
    """
    if not tiles:
        raise ValueError("run_with_memory_fallback needs at least one tile size to try")
    failed = False
    for index, tile in enumerate(tiles):
        if failed:
            # Outside the except clause: the failed try's traceback (and the tensors it holds) is gone.
            _free_cache(device)
            LOGGER.warning("%s: out of memory, retrying with %d-pixel tiles", label, tile)
            failed = False
        try:
            return attempt(tile)
        except torch.OutOfMemoryError:
            if index == len(tiles) - 1:
                break
            failed = True
    _free_cache(device)
    memory = "GPU memory" if device.type == "cuda" else "memory"
    smallest = [tile for tile in tiles if tile > 0]
    tail = f" even in {min(smallest)}-pixel tiles" if smallest else ""
    raise torch.OutOfMemoryError(f"{label} ran out of {memory} on a {size[0]}x{size[1]} {what}{tail}")
