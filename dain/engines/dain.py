"""The ``dain`` interpolation engine: the DAIN network with the official weights.

Per pair, flows, depth, kernels and context are computed once (``DAIN.analyse_pair``) and
every phase reuses them (``DAIN.synthesize``). Frames of any size are replicate-padded as the
official demo scripts do and cropped back. Large frames can be processed in overlapping tiles by
the one tiler (:mod:`dain.tiling`), cross-faded across the overlaps; on CUDA an out-of-memory error
retries in smaller tiles. On CUDA the sub-networks run under fp16 autocast (``half``), while the
custom ops always run in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from dain.checkpoint import load_into, read_checkpoint
from dain.descriptor import InterpolatorDescriptor, Tiling
from dain.engines.base import check_interpolation_inputs
from dain.errors import EngineOptionError
from dain.hub import DAIN_BEST, existing_weights, resolve_dain_weights
from dain.nets.network import DAIN, official_padding
from dain.tiling import run_tiled, run_with_memory_fallback

__all__ = ["DainInterpolator", "create_dain_interpolator"]

MIN_TILE = 128
DEFAULT_OVERLAP = 64  # pixels; capped at a quarter of the tile
# Tile sizes tried, largest first, when an untiled CUDA run runs out of memory.
_OOM_FALLBACK_TILES = (1024, 512, 256)


class DainInterpolator:
    """DAIN frame interpolation behind the :class:`~dain.engines.base.Interpolator` protocol.

    weights: a ``.pth``/``.safetensors`` checkpoint, loaded strictly (nothing is downloaded here:
        :func:`create_dain_interpolator` resolves the official weights), or a built :class:`DAIN`
        network (e.g. random weights for tests and benchmarks).
    device: where the network runs.
    tile: tile edge in pixels (≥ 128) for frames larger than that; ``None`` = whole frames (on CUDA
        an out-of-memory error then retries with tiles of 1024, 512, 256).
    half: fp16 autocast for the sub-networks; ``None`` = on for CUDA, off elsewhere. CUDA only.
    tile_overlap: overlap between neighbouring tiles in pixels; ``None`` = min(64, tile // 4).
    """

    name = "dain"
    # Pads any size itself (official_padding); fp16 autocast on CUDA; tiles with overlap come close
    # to the whole-frame result (mean difference under 5e-3 with 512-pixel tiles, 96 overlap).
    descriptor = InterpolatorDescriptor(supports_half=True, tiling=Tiling.SUPPORTED)

    def __init__(
        self,
        weights: str | Path | DAIN,
        device: torch.device | str = "cpu",
        tile: int | None = None,
        half: bool | None = None,
        tile_overlap: int | None = None,
    ) -> None:
        device = torch.device(device)
        if tile is not None and (isinstance(tile, bool) or not isinstance(tile, int) or tile < MIN_TILE):
            raise EngineOptionError(f"tile: must be an integer of at least {MIN_TILE} pixels, got {tile!r}")
        if tile_overlap is None:
            tile_overlap = DEFAULT_OVERLAP if tile is None else min(DEFAULT_OVERLAP, tile // 4)
        if not isinstance(tile_overlap, int) or tile_overlap < 0:
            raise EngineOptionError(f"tile_overlap: must be a non-negative integer, got {tile_overlap!r}")
        if tile is not None and 2 * tile_overlap >= tile:
            raise EngineOptionError(f"tile_overlap: {tile_overlap} must be less than half the tile ({tile})")
        if half is None:
            half = device.type == "cuda"
        if half and device.type != "cuda":
            raise EngineOptionError(f"half: fp16 autocast needs a CUDA device, not {device}")
        self.device = device
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.half = bool(half)
        if isinstance(weights, DAIN):
            network, path = weights, None
        else:
            path = existing_weights(weights, DAIN_BEST.option)
            network = DAIN()
            load_into(network, read_checkpoint(path, label="weights"), source=str(path))
        self.weights_path = path
        self.network = network.to(device).eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    @classmethod
    def from_network(
        cls,
        network: DAIN,
        device: torch.device | str = "cpu",
        tile: int | None = None,
        half: bool | None = None,
        tile_overlap: int | None = None,
    ) -> DainInterpolator:
        """An engine around an already-built network (the same as passing it as ``weights``)."""
        return cls(network, device=device, tile=tile, half=half, tile_overlap=tile_overlap)

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

    def _run_tiled(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: list[float], tile: int
    ) -> torch.Tensor:
        """(1,3,H,W) frames -> (P,3,H,W) in tiles the network sees at most ``tile`` pixels of.

        Cores of at most ``tile - tile_overlap`` pixels, each with ``tile_overlap // 2`` pixels of
        context per side, so neighbouring tiles share ``tile_overlap`` pixels; the cross-fade band is
        the inner half of that (the outer quarter on each side, next to the tile's replicate padding,
        is discarded).
        """
        context = self.tile_overlap // 2

        def run_pair(pair: torch.Tensor) -> torch.Tensor:  # (1,6,h,w): both frames on channels
            return self._run_padded(pair[:, :3], pair[:, 3:], phases)

        pair = torch.cat([frame0, frame1], dim=1)
        return run_tiled(
            run_pair,
            pair,
            scale=self.descriptor.scale,
            tile=tile - self.tile_overlap,
            overlap=context,
            blend=context,
            align=self.descriptor.size_multiple,
        )

    def _run(self, frame0: torch.Tensor, frame1: torch.Tensor, phases: list[float]) -> torch.Tensor:
        """Whole frames when they fit ``tile`` (bit-identical to the untiled network), else tiles.

        With ``tile=None`` on CUDA an out-of-memory error retries with tiles of 1024, 512, 256 pixels
        (those smaller than the frame) through :func:`dain.tiling.run_with_memory_fallback`.
        """
        height, width = frame0.shape[-2:]
        if self.tile is not None:
            tiles = [self.tile if height > self.tile or width > self.tile else 0]
        elif self.device.type == "cuda":
            longest, overlap = max(height, width), self.tile_overlap
            tiles = [0, *(tile for tile in _OOM_FALLBACK_TILES if 2 * overlap < tile < longest)]
        else:
            return self._run_padded(frame0, frame1, phases)

        def attempt(tile: int) -> torch.Tensor:
            if tile == 0:
                return self._run_padded(frame0, frame1, phases)
            return self._run_tiled(frame0, frame1, phases, tile)

        return run_with_memory_fallback(
            attempt, tiles, label="DAIN", size=(height, width), device=self.device, what="pair"
        )

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor:
        """frame0, frame1: (3,H,W) float in [0,1]; phases in [0,1].

        Returns (len(phases),3,H,W) float32 in [0,1] on the engine's device. Phases 0 and 1
        return the input frames exactly; the network runs once per pair for all other phases.
        """
        phases = check_interpolation_inputs(frame0, frame1, phases)

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


def create_dain_interpolator(
    device: torch.device | str = "cpu",
    weights: str | Path | None = None,
    tile: int | None = None,
    half: bool | None = None,
    tile_overlap: int | None = None,
) -> DainInterpolator:
    """The registry's ``dain`` engine: ``weights`` if given, else the official ``best.pth``.

    The official file comes from the cache, downloaded there on first use; when it is neither cached
    nor downloadable, :class:`dain.hub.WeightsUnavailableError` (a ``ValueError``) with one line naming
    ``--dain-weights PATH``. The other options are :class:`DainInterpolator`'s.
    """
    path = resolve_dain_weights(weights)
    return DainInterpolator(path, device=device, tile=tile, half=half, tile_overlap=tile_overlap)
