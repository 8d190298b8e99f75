"""The ``dain`` interpolation engine: the DAIN network with the official weights.

Per pair, flows, depth, kernels and context are computed once (``DAIN.analyse_pair``) and
every phase reuses them (``DAIN.synthesize``). Frames of any size are replicate-padded as the
official demo scripts do and cropped back. Large frames can be processed in overlapping tiles,
blended with linear ramps across the overlaps. On CUDA the sub-networks run under fp16 autocast
(``half``), while the custom ops always run in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from dain.checkpoint import load_into, read_checkpoint
from dain.hub import resolve_dain_weights
from dain.nets.network import DAIN, official_padding

__all__ = ["DainInterpolator", "tile_starts"]

MIN_TILE = 128
DEFAULT_OVERLAP = 64  # pixels; capped at a quarter of the tile
# Tile sizes tried, largest first, when an untiled CUDA run runs out of memory.
_OOM_FALLBACK_TILES = (1024, 512, 256)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``[0, length)`` with ≥ ``overlap`` overlap."""
    if length <= tile:
        return [0]
    step = tile - overlap
    return list(range(0, length - tile, step)) + [length - tile]


def _ramp(size: int, start: int, length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """1-D blending weight of a tile along one axis.

    On an interior side (one that has a neighbouring tile) the outermost ``overlap // 4`` pixels get
    weight 0 (they see replicate padding instead of the real neighbourhood), then the weight rises
    linearly to 1 at ``overlap - overlap // 4`` pixels from the edge. Across an overlap of at least
    ``overlap`` pixels the two neighbours' weights sum to 1 and never both vanish.
    """
    margin = overlap // 4
    span = float(overlap - 2 * margin + 1)
    position = torch.arange(size, device=device, dtype=torch.float32)
    weight = torch.ones(size, device=device, dtype=torch.float32)
    if start > 0:
        weight = torch.minimum(weight, ((position - margin + 1.0) / span).clamp(min=0.0))
    if start + size < length:
        weight = torch.minimum(weight, ((size - margin - position) / span).clamp(min=0.0))
    return weight


class DainInterpolator:
    """DAIN frame interpolation behind the :class:`~dain.engines.base.Interpolator` protocol.

    device: where the network runs.
    weights: a ``.pth``/``.safetensors`` checkpoint; ``None`` uses the cached official ``best.pth``
        (downloaded on first use); when that fails, ``ValueError`` naming ``--dain-weights PATH``.
    tile: tile edge in pixels (≥ 128) for frames larger than that; ``None`` = whole frames (on CUDA
        an out-of-memory error then retries with tiles of 1024, 512, 256).
    half: fp16 autocast for the sub-networks; ``None`` = on for CUDA, off elsewhere. CUDA only.
    tile_overlap: overlap between neighbouring tiles in pixels; ``None`` = min(64, tile // 4).
    """

    name = "dain"

    def __init__(
        self,
        device: torch.device | str = "cpu",
        weights: str | Path | None = None,
        tile: int | None = None,
        half: bool | None = None,
        tile_overlap: int | None = None,
    ) -> None:
        path = resolve_dain_weights(weights)
        network = DAIN()
        load_into(network, read_checkpoint(path), source=str(path))
        self._setup(network, torch.device(device), tile, half, tile_overlap)
        self.weights_path = path

    @classmethod
    def from_network(
        cls,
        network: DAIN,
        device: torch.device | str = "cpu",
        tile: int | None = None,
        half: bool | None = None,
        tile_overlap: int | None = None,
    ) -> DainInterpolator:
        """An engine around an already-built network (e.g. random weights for tests and benchmarks)."""
        engine = cls.__new__(cls)
        engine._setup(network, torch.device(device), tile, half, tile_overlap)
        engine.weights_path = None
        return engine

    def _setup(
        self,
        network: DAIN,
        device: torch.device,
        tile: int | None,
        half: bool | None,
        tile_overlap: int | None,
    ) -> None:
        if tile is not None and (isinstance(tile, bool) or not isinstance(tile, int) or tile < MIN_TILE):
            raise ValueError(f"tile: must be an integer of at least {MIN_TILE} pixels, got {tile!r}")
        if tile_overlap is None:
            tile_overlap = DEFAULT_OVERLAP if tile is None else min(DEFAULT_OVERLAP, tile // 4)
        if not isinstance(tile_overlap, int) or tile_overlap < 0:
            raise ValueError(f"tile_overlap: must be a non-negative integer, got {tile_overlap!r}")
        if tile is not None and 2 * tile_overlap >= tile:
            raise ValueError(f"tile_overlap: {tile_overlap} must be less than half the tile ({tile})")
        if half is None:
            half = device.type == "cuda"
        if half and device.type != "cuda":
            raise ValueError(f"half: fp16 autocast needs a CUDA device, not {device}")
        self.device = device
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.half = bool(half)
        self.network = network.to(device).eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.half:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _run_padded(self, frame0: torch.Tensor, frame1: torch.Tensor, phases: list[float]) -> torch.Tensor:
        """(1,3,h,w) frames of any size -> (P,3,h,w) float32 frames, not clipped."""
        height, width = frame0.shape[-2:]
        top, bottom = official_padding(height)
        left, right = official_padding(width)
        pads = (left, right, top, bottom)
        padded0 = F.pad(frame0, pads, mode="replicate")
        padded1 = F.pad(frame1, pads, mode="replicate")
        with self._autocast():
            pair = self.network.analyse_pair(padded0, padded1)
            frames = [self.network.synthesize(pair, phase).frame for phase in phases]
        del pair
        out = torch.cat(frames, dim=0)
        return out[:, :, top : top + height, left : left + width].float()

    def _tiles(self, height: int, width: int, tile: int) -> Iterator[tuple[int, int, int, int]]:
        for top in tile_starts(height, tile, self.tile_overlap):
            for left in tile_starts(width, tile, self.tile_overlap):
                yield top, left, min(tile, height), min(tile, width)

    def _run_tiled(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: list[float], tile: int
    ) -> torch.Tensor:
        height, width = frame0.shape[-2:]
        out = torch.zeros((len(phases), 3, height, width), device=frame0.device, dtype=torch.float32)
        total_weight = torch.zeros((1, 1, height, width), device=frame0.device, dtype=torch.float32)
        for top, left, tile_h, tile_w in self._tiles(height, width, tile):
            rows = slice(top, top + tile_h)
            cols = slice(left, left + tile_w)
            result = self._run_padded(frame0[..., rows, cols], frame1[..., rows, cols], phases)
            weight = _ramp(tile_h, top, height, self.tile_overlap, frame0.device)[:, None] * _ramp(
                tile_w, left, width, self.tile_overlap, frame0.device
            )
            out[..., rows, cols] += result * weight
            total_weight[..., rows, cols] += weight
        return out / total_weight

    def _run(self, frame0: torch.Tensor, frame1: torch.Tensor, phases: list[float]) -> torch.Tensor:
        height, width = frame0.shape[-2:]
        if self.tile is not None and (height > self.tile or width > self.tile):
            return self._run_tiled(frame0, frame1, phases, self.tile)
        if self.device.type != "cuda" or self.tile is not None:
            return self._run_padded(frame0, frame1, phases)
        try:
            return self._run_padded(frame0, frame1, phases)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
        for tile in _OOM_FALLBACK_TILES:
            if tile >= max(height, width):
                continue
            try:
                return self._run_tiled(frame0, frame1, phases, tile)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
        message = f"DAIN ran out of GPU memory on a {height}x{width} pair even in 256-pixel tiles"
        raise torch.cuda.OutOfMemoryError(message)

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor:
        """frame0, frame1: (3,H,W) float in [0,1]; phases in [0,1].

        Returns (len(phases),3,H,W) float32 in [0,1] on the engine's device. Phases 0 and 1
        return the input frames exactly; the network runs once per pair for all other phases.
        """
        for label, frame in (("frame0", frame0), ("frame1", frame1)):
            if not isinstance(frame, torch.Tensor) or frame.ndim != 3 or frame.shape[0] != 3:
                shape = tuple(frame.shape) if isinstance(frame, torch.Tensor) else type(frame).__name__
                raise ValueError(f"{label}: expected a (3,H,W) tensor, got {shape}")
        if frame1.shape != frame0.shape:
            raise ValueError(f"frame1: shape {tuple(frame1.shape)} differs from frame0 {tuple(frame0.shape)}")
        phases = [float(phase) for phase in phases]
        for phase in phases:
            if not 0.0 <= phase <= 1.0:
                raise ValueError(f"phases: every phase must lie in [0, 1], got {phase}")

        with torch.inference_mode():
            first = frame0.to(self.device, torch.float32).unsqueeze(0)
            second = frame1.to(self.device, torch.float32).unsqueeze(0)
            out = torch.empty((len(phases), *first.shape[1:]), device=self.device, dtype=torch.float32)
            inner = [index for index, phase in enumerate(phases) if 0.0 < phase < 1.0]
            for index, phase in enumerate(phases):
                if phase == 0.0:
                    out[index] = first[0]
                elif phase == 1.0:
                    out[index] = second[0]
            if inner:
                out[inner] = self._run(first, second, [phases[index] for index in inner])
            return out.clamp_(0.0, 1.0)
