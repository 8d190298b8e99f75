"""The ``rife`` interpolation engine: Practical-RIFE v4 (4.6, 4.18, 4.22, 4.25/4.26) at any phase.

Per pair, the frames are padded once (zeros on the right and bottom, to the layout's multiple at the
flow ``scale``, as Practical-RIFE and vs-rife do) and, in the layouts with an encoder (4.18 and
later), encoded once; the phases then run through the network (the timestep is an input of every v4
layout), in batches on CUDA, one by one on a CPU, and the results are cropped back. Phase 0 and 1
return the input frames exactly, and a pair of identical frames returns that frame at every phase
without running the network.

``scale`` is the official flow scale (0.25 … 4; 0.5 is what Practical-RIFE advises for 4K): the
flow blocks work at ``scale`` times their usual resolution, so large frames need no tiling. ``None``
picks it from the frame size (:func:`auto_scale`). On CUDA the network runs in fp16 (``half``), with
the warps sampling in float32, as vs-rife does for half-precision clips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from dain.checkpoint import CheckpointError, load_into, read_checkpoint
from dain.descriptor import InterpolatorDescriptor, Tiling
from dain.engines.base import check_interpolation_inputs
from dain.engines.rife.layouts import detect_layout, inference_state
from dain.engines.rife.network import RifeFlowNet
from dain.engines.rife.weights import OPTION, SCALES, check_scale, check_version, resolve_rife_weights
from dain.errors import EngineOptionError

__all__ = [
    "AUTO_HALF_SCALE_SIDE",
    "SCALES",
    "RifeInterpolator",
    "auto_scale",
    "create_rife_interpolator",
    "load_rife_network",
]

AUTO_HALF_SCALE_SIDE = 2560  # frames with a longer side than this (4K) get scale 0.5 by default
# Padded pixels per network run on CUDA: phases are batched up to this. On a CPU one phase per run is
# faster (3 phases of a 720p pair: 2.2 CPU s one by one, 3.5 s in one batch, RIFE 4.6, one thread),
# and gives the official code's result bit for bit.
_PIXELS_PER_BATCH = 4_000_000


def auto_scale(height: int, width: int) -> float:
    """The flow scale for a frame size: 0.5 above :data:`AUTO_HALF_SCALE_SIDE` pixels (4K), else 1.

    Practical-RIFE's ``--UHD`` switch and its README's advice ("for 4K, set --scale=0.5").
    """
    return 0.5 if max(height, width) > AUTO_HALF_SCALE_SIDE else 1.0


def load_rife_network(path: str | Path, label: str = OPTION) -> tuple[RifeFlowNet, list[str]]:
    """``(network, dropped keys)`` from a ``flownet.pkl`` / ``.pth`` / ``.safetensors`` file.

    Read ``weights_only`` (:func:`dain.checkpoint.read_checkpoint`: a pickle carrying code is refused);
    the layout is detected from the keys and shapes; the load is strict, with a one-line key report
    (:class:`~dain.checkpoint.CheckpointError`). The dropped keys are those of
    :func:`dain.engines.rife.layouts.inference_state` (training-only sub-networks).
    """
    path = Path(path)
    state, dropped = inference_state(read_checkpoint(path, label=label))
    layout = detect_layout(state, source=f"{label}: {path.name}")
    network = RifeFlowNet(layout)
    load_into(network, state, source=f"{path.name} (RIFE {layout.label} layout)")
    return network, dropped


class RifeInterpolator:
    """RIFE v4 frame interpolation behind the :class:`~dain.engines.base.Interpolator` protocol.

    weights: a RIFE checkpoint (loaded strictly through :func:`load_rife_network`) or a built
        :class:`RifeFlowNet` (e.g. random weights for tests and benchmarks).
    device: where the network runs.
    scale: the official flow scale, one of :data:`SCALES`; ``None`` = :func:`auto_scale` per frame size.
    half: fp16 on CUDA; ``None`` = on for CUDA, off elsewhere.
    batch: phases per network run; ``None`` = one on a CPU, on CUDA as many as fit in about 4 million
        padded pixels.
    version: the release the file must hold (``"4.26"``), when the user named one.
    """

    name = "rife"
    # Pads and crops itself (size_multiple 1); fp16 on CUDA; large frames take a smaller flow scale
    # instead of tiles, so the tiler never cuts it.
    descriptor = InterpolatorDescriptor(supports_half=True, tiling=Tiling.INTERNAL)

    def __init__(
        self,
        weights: str | Path | RifeFlowNet,
        device: torch.device | str = "cpu",
        scale: float | None = None,
        half: bool | None = None,
        batch: int | None = None,
        version: str | None = None,
    ) -> None:
        device = torch.device(device)
        self.scale = check_scale(scale)
        if half is None:
            half = device.type == "cuda"
        if half and device.type != "cuda":
            raise EngineOptionError(f"half: fp16 needs a CUDA device, not {device}")
        if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
            raise EngineOptionError(f"batch: must be a positive number of phases, got {batch!r}")
        if isinstance(weights, RifeFlowNet):
            network, self.weights_path, self.dropped_keys = weights, None, []
        else:
            network, self.dropped_keys = load_rife_network(weights)
            self.weights_path = Path(weights)
        layout = network.layout
        if version is not None and check_version(version) not in layout.versions:
            raise CheckpointError(
                f"{OPTION}: {getattr(self.weights_path, 'name', 'the network')} holds the RIFE "
                f"{layout.label} layout, not {version}"
            )
        self.layout = layout
        self.version = version or layout.label
        self.device = device
        self.half = bool(half)
        self.batch = batch
        self.dtype = torch.float16 if self.half else torch.float32
        self.network = network.to(device=device, dtype=self.dtype).eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    def flow_scale(self, height: int, width: int) -> float:
        """The flow scale used for frames of this size."""
        return self.scale if self.scale is not None else auto_scale(height, width)

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """The size the frames are padded to: each side up to the layout's multiple at the flow scale."""
        multiple = self.layout.padding_multiple(self.flow_scale(height, width))
        return math.ceil(height / multiple) * multiple, math.ceil(width / multiple) * multiple

    def _run(self, frame0: torch.Tensor, frame1: torch.Tensor, phases: list[float]) -> torch.Tensor:
        """(1,3,h,w) float32 frames, phases in (0,1) → (P,3,h,w) float32, not clipped."""
        height, width = frame0.shape[-2:]
        scale = self.flow_scale(height, width)
        padded_height, padded_width = self.padded_size(height, width)
        pads = (0, padded_width - width, 0, padded_height - height)
        padded0 = F.pad(frame0, pads).to(self.dtype)
        padded1 = F.pad(frame1, pads).to(self.dtype)
        features0 = self.network.encode_frames(padded0)
        features1 = self.network.encode_frames(padded1)
        if self.batch is not None:
            per_run = self.batch
        elif self.device.type == "cuda":
            per_run = max(1, _PIXELS_PER_BATCH // (padded_height * padded_width))
        else:
            per_run = 1
        results = []
        for start in range(0, len(phases), per_run):
            chunk = phases[start : start + per_run]
            count = len(chunk)
            timestep = torch.tensor(chunk, device=self.device, dtype=self.dtype).view(count, 1, 1, 1)
            timestep = timestep.expand(count, 1, padded_height, padded_width)

            def repeat(tensor: torch.Tensor | None, count: int = count) -> torch.Tensor | None:
                return None if tensor is None else tensor.expand(count, *tensor.shape[1:])

            out = self.network(
                repeat(padded0), repeat(padded1), timestep, scale, repeat(features0), repeat(features1)
            )
            results.append(out[:, :, :height, :width].float())
        return torch.cat(results, dim=0)

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]
    ) -> torch.Tensor:
        """frame0, frame1: (3,H,W) float in [0,1]; phases in [0,1].

        Returns (len(phases),3,H,W) float32 in [0,1] on the engine's device. Phases 0 and 1 return the
        input frames exactly, identical frames come back unchanged at every phase; the other phases share
        the pair's padding and encoding.
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
            if inner and torch.equal(first, second):
                out[inner] = first[0]
            elif inner:
                out[inner] = self._run(first, second, [phases[index] for index in inner])
            return out.clamp_(0.0, 1.0)


def create_rife_interpolator(
    device: torch.device | str = "cpu",
    weights: str | Path | None = None,
    model: str | None = None,
    scale: float | None = None,
    half: bool | None = None,
    batch: int | None = None,
) -> RifeInterpolator:
    """The registry's ``rife`` engine: ``weights`` if given, else the published file of ``model``.

    model: a RIFE version (:data:`dain.engines.rife.weights.RIFE_VERSIONS`; ``None`` = the default
        4.25), downloaded into the cache on first use; with ``weights`` it is the version the file must
        hold. When the file is neither cached nor downloadable, one line naming ``--rife-weights PATH``
        (:class:`dain.hub.WeightsUnavailableError`). The other options are :class:`RifeInterpolator`'s.
    """
    if model is not None:
        check_version(model)
    path = resolve_rife_weights(weights, model)
    return RifeInterpolator(path, device=device, scale=scale, half=half, batch=batch, version=model)
