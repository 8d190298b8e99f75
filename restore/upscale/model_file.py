"""Super-resolution and restoration models from community model files, through spandrel.

Any architecture spandrel detects (ESRGAN/RRDBNet, Compact, SPAN, SwinIR, HAT, DAT, Real-CUGAN, ...)
is accepted. Its descriptor drives everything model-specific: the scale factor, the channel count
(grayscale and RGBA models are fed and read back as RGB), the size requirements (inputs are padded and
outputs cropped automatically), whether tiling is allowed, and fp16/bf16 support.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from dain.checkpoint import CheckpointError, read_checkpoint
from dain.errors import EngineOptionError
from dain.tiling import halving_tiles, run_tiled, run_with_memory_fallback, tiling_allowed
from restore.upscale.lanczos import lanczos_resize

__all__ = ["ModelInfo", "ModelUpscaler", "describe_model", "load_model_descriptor"]

LOGGER = logging.getLogger(__name__)

# BT.601 luma weights, used to feed RGB frames to single-channel models.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
DEFAULT_OVERLAP = 32
CPU_UNTILED_MAX_PIXELS = 1280 * 1280
MIN_TILE = 32


def load_model_descriptor(path: str | Path):  # noqa: ANN201 - spandrel.ImageModelDescriptor (imported lazily)
    """Read ``path`` safely and build its network with spandrel, on CPU in eval mode.

    Returns the ``spandrel.ImageModelDescriptor``. :class:`~dain.checkpoint.CheckpointError` (a
    ``ValueError``, one line) when the file is missing, unsafe, not a checkpoint, of an architecture
    spandrel does not know, or not an image-to-image model with 1, 3 or 4 channels.
    """
    import spandrel

    path = Path(path)
    state_dict = read_checkpoint(path, non_tensors="drop")
    try:
        descriptor = spandrel.ModelLoader(device="cpu").load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError:
        raise CheckpointError(
            f"{path.name}: unknown model architecture (not one spandrel {spandrel.__version__} can detect)"
        ) from None
    except (RuntimeError, KeyError, ValueError, AssertionError, IndexError, TypeError) as error:
        # Detected, but the weights do not fit the architecture (missing/unexpected keys, bad shapes).
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise CheckpointError(
            f"{path.name}: weights do not match the detected architecture ({reason})"
        ) from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise CheckpointError(f"{path.name}: {descriptor.architecture.name} is not an image-to-image model")
    for label, channels in (("input", descriptor.input_channels), ("output", descriptor.output_channels)):
        if channels not in (1, 3, 4):
            raise CheckpointError(
                f"{path.name}: unsupported {label} channel count {channels} (expected 1, 3 or 4)"
            )
    descriptor.model.eval()
    return descriptor


@dataclass(frozen=True)
class ModelInfo:
    """What a model file holds, as reported by ``restore models FILE``."""

    path: Path
    architecture: str
    purpose: str
    scale: int
    input_channels: int
    output_channels: int
    supports_half: bool
    supports_bfloat16: bool
    size_multiple_of: int
    size_minimum: int
    size_square: bool
    tiling: str
    parameters: int


def describe_model(path: str | Path) -> ModelInfo:
    """Load ``path`` (safely) with the loader of its format and summarise it; ``ValueError`` as
    :func:`load_model_descriptor` (or the format's own loader, e.g. ncnn ``.param``)."""
    from restore.upscale.base import model_file_factory

    descriptor = model_file_factory(Path(path)).load_descriptor(path)
    requirements = descriptor.size_requirements
    return ModelInfo(
        path=Path(path),
        architecture=descriptor.architecture.name,
        purpose=descriptor.purpose,
        scale=descriptor.scale,
        input_channels=descriptor.input_channels,
        output_channels=descriptor.output_channels,
        supports_half=descriptor.supports_half,
        supports_bfloat16=descriptor.supports_bfloat16,
        size_multiple_of=requirements.multiple_of,
        size_minimum=requirements.minimum,
        size_square=requirements.square,
        tiling=descriptor.tiling.name.lower(),
        parameters=sum(parameter.numel() for parameter in descriptor.model.parameters()),
    )


def _choose_dtype(descriptor: object, device: torch.device, half: bool | None, name: str) -> torch.dtype:
    """fp32 on CPU by default; on CUDA fp16 (else bf16) when the model supports it, unless half=False."""
    if half is False or (half is None and device.type != "cuda"):
        return torch.float32
    if descriptor.supports_half:
        return torch.float16
    if descriptor.supports_bfloat16 and (device.type != "cuda" or torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    if half:
        LOGGER.warning("%s supports neither fp16 nor bf16; running it in fp32", name)
    return torch.float32


class ModelUpscaler:
    """Runs one model file; ``upscale`` then resizes (Lanczos) to the exact requested size.

    Args:
        path: ``.safetensors`` (preferred) or ``.pth``/``.pt``/``.ckpt`` checkpoint.
        device: where the model runs.
        tile: core tile side in input pixels; ``None`` = automatic (from free GPU memory on CUDA; whole
            frames on CPU up to about 1.6 megapixels), ``0`` = never tile. Models whose descriptor says
            tiling is internal run whole; "discouraged" ones run whole unless ``tile`` is given.
        half: ``True`` fp16 (bf16 if only that is supported), ``False`` fp32, ``None`` = fp16/bf16 on
            CUDA when supported, fp32 on CPU.
        overlap: context pixels around each tile (input pixels).

    ``load_descriptor(path)`` builds the spandrel descriptor; a subclass for another model format
    (``restore.upscale.ncnn.upscaler``) replaces only it.
    """

    load_descriptor = staticmethod(load_model_descriptor)

    def __init__(
        self,
        path: str | Path,
        device: torch.device | str = "cpu",
        tile: int | None = None,
        half: bool | None = None,
        overlap: int = DEFAULT_OVERLAP,
        **options: object,
    ) -> None:
        if tile is not None and int(tile) < 0:
            raise EngineOptionError(f"tile must be >= 0 (0 disables tiling), got {tile}")
        if overlap < 0:
            raise EngineOptionError(f"overlap must be >= 0, got {overlap}")
        self.path = Path(path)
        self.name = self.path.name
        self.device = torch.device(device)
        self.descriptor = self.load_descriptor(self.path)
        self.dtype = _choose_dtype(self.descriptor, self.device, half, self.name)
        self.descriptor.to(self.device).to(self.dtype)
        self.tile = None if tile is None else int(tile)
        self.overlap = int(overlap)
        self.tiling_allowed = self._tiling_allowed(self.descriptor.tiling, self.tile)

    @staticmethod
    def _tiling_allowed(tiling: object, tile: int | None) -> bool:
        """Tiling policy: supported → allowed; discouraged → only with an explicit tile; internal → never.

        tiling: the descriptor's ``spandrel.ModelTiling`` (or a :class:`dain.tiling.Tiling`).
        """
        return tiling_allowed(tiling, tile)

    @property
    def native_scale(self) -> int:
        """The model's own scale factor (1 for restoration models)."""
        return int(self.descriptor.scale)

    def __repr__(self) -> str:
        return (
            f"ModelUpscaler({self.name!r}, architecture={self.descriptor.architecture.name}, "
            f"scale={self.native_scale}, device={str(self.device)!r}, dtype={self.dtype})"
        )

    def _to_model_channels(self, frames: torch.Tensor) -> torch.Tensor:
        channels = self.descriptor.input_channels
        if channels == 1:
            weights = torch.tensor(LUMA_WEIGHTS, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
            return (frames * weights).sum(dim=1, keepdim=True)
        if channels == 4:
            return torch.cat([frames, torch.ones_like(frames[:, :1])], dim=1)
        return frames

    def _from_model_channels(self, frames: torch.Tensor) -> torch.Tensor:
        channels = frames.shape[1]
        if channels == 1:
            return frames.expand(-1, 3, -1, -1)
        return frames[:, :3]

    def _run_model(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, C_in, h, w) model dtype -> (N, C_out, h*s, w*s); pads/crops to size requirements."""
        return self.descriptor(frames)

    def _auto_tile(self, height: int, width: int, batch: int) -> int:
        """Tile side in input pixels, 0 for no tiling, from free memory (CUDA) or frame size (CPU)."""
        if self.device.type != "cuda":
            return 0 if height * width <= CPU_UNTILED_MAX_PIXELS else 512
        free_bytes, _ = torch.cuda.mem_get_info(self.device)
        bytes_per_value = torch.finfo(self.dtype).bits // 8
        # Rough activation footprint per input pixel: a few 64-channel feature maps at input resolution
        # plus the upsampling layers at output resolution; the estimate errs on the safe side and an
        # out-of-memory error halves the tile anyway.
        bytes_per_pixel = bytes_per_value * batch * (64 * 8 + 64 * self.native_scale**2)
        side = int(math.sqrt(0.5 * free_bytes / bytes_per_pixel))
        if side >= max(height, width):
            return 0
        return max(MIN_TILE * 2, side // 8 * 8)

    def run_native(self, frames: torch.Tensor) -> torch.Tensor:
        """Run the model at its own scale: (N, 3, H, W) in [0, 1] -> (N, 3, H*s, W*s) float32 in [0, 1]."""
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be (N, 3, H, W), got shape {tuple(frames.shape)}")
        inputs = self._to_model_channels(frames.to(device=self.device, dtype=self.dtype))
        height, width = inputs.shape[-2:]
        tile = self.tile if self.tile is not None else self._auto_tile(height, width, inputs.shape[0])
        if not self.tiling_allowed:
            tile = 0
        # An out-of-memory error halves the tile (the whole frame counts as its longest side), down to
        # 2 * MIN_TILE, when the model may be tiled.
        retries = halving_tiles(tile or max(height, width), MIN_TILE) if self.tiling_allowed else []
        minimum = max(MIN_TILE, self.descriptor.size_requirements.minimum)

        def attempt(tile: int) -> torch.Tensor:
            if not tile:
                return self._run_model(inputs).float()
            return run_tiled(
                self._run_model,
                inputs,
                self.native_scale,
                max(tile, minimum),
                self.overlap,
                align=self.descriptor.size_requirements.multiple_of,
            )

        output = run_with_memory_fallback(
            attempt, [tile, *retries], label=self.name, size=(height, width), device=self.device
        )
        return self._from_model_channels(output).clamp(0.0, 1.0)

    def upscale(self, frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 3, *size): the model, then Lanczos to the exact size if needed."""
        output = self.run_native(frames)
        if tuple(output.shape[-2:]) != (int(size[0]), int(size[1])):
            output = lanczos_resize(output, size)
        return output
