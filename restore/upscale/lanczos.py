"""Lanczos-3 resampling in PyTorch: separable, antialiased when shrinking, exact output sizes.

Each axis is resampled by a precomputed table of source indices and weights (cached per input size,
output size, device and dtype); a resize is a handful of ``index_select`` + multiply-add passes, so it
runs unchanged on CPU and GPU. Sample centres follow the half-pixel convention
(``src = (dst + 0.5) * in / out - 0.5``), the same as PIL and OpenCV. When shrinking, the kernel is
widened by the reduction factor (antialiasing, as PIL does). Out-of-image taps are clamped to the edge
pixel.
"""

from __future__ import annotations

import functools
import math

import torch

__all__ = ["LANCZOS_LOBES", "LanczosUpscaler", "lanczos_resize", "lanczos_axis_taps"]

LANCZOS_LOBES = 3


def _lanczos_kernel(distance: torch.Tensor, lobes: int) -> torch.Tensor:
    """Lanczos window ``sinc(d) * sinc(d / lobes)`` for ``|d| < lobes``, zero outside (float64)."""
    kernel = torch.sinc(distance) * torch.sinc(distance / lobes)
    return torch.where(distance.abs() < lobes, kernel, torch.zeros_like(kernel))


@functools.lru_cache(maxsize=64)
def _axis_taps_cached(
    in_size: int, out_size: int, device: str, dtype: torch.dtype, lobes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    scale = out_size / in_size
    # Kernel stretch: 1 when enlarging, in/out when shrinking (antialiasing).
    stretch = max(1.0, 1.0 / scale)
    support = lobes * stretch
    centres = (torch.arange(out_size, dtype=torch.float64) + 0.5) / scale - 0.5
    taps = int(math.ceil(2.0 * support)) + 1
    first = torch.floor(centres - support).to(torch.int64) + 1
    indices = first[:, None] + torch.arange(taps, dtype=torch.int64)[None, :]
    weights = _lanczos_kernel((indices.to(torch.float64) - centres[:, None]) / stretch, lobes)
    weights = weights / weights.sum(dim=1, keepdim=True)
    indices = indices.clamp(0, in_size - 1)
    # Drop tap columns that carry no weight anywhere (keeps the pass count minimal).
    used = (weights.abs() > 0).any(dim=0)
    indices, weights = indices[:, used], weights[:, used]
    return indices.to(device), weights.to(device=device, dtype=dtype)


def lanczos_axis_taps(
    in_size: int,
    out_size: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    lobes: int = LANCZOS_LOBES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Source indices and weights for resampling one axis from ``in_size`` to ``out_size`` pixels.

    Returns ``(indices, weights)``, both (out_size, taps): output pixel ``i`` is
    ``sum_t weights[i, t] * input[indices[i, t]]``; each row of weights sums to 1; indices are clamped
    to ``[0, in_size - 1]``. Cached per (sizes, device, dtype, lobes).
    """
    if in_size < 1 or out_size < 1:
        raise ValueError(f"sizes must be positive, got in_size={in_size}, out_size={out_size}")
    return _axis_taps_cached(int(in_size), int(out_size), str(torch.device(device)), dtype, int(lobes))


def _resample_axis(frames: torch.Tensor, out_size: int, dim: int, lobes: int) -> torch.Tensor:
    in_size = frames.shape[dim]
    if in_size == out_size:
        return frames
    indices, weights = lanczos_axis_taps(in_size, out_size, frames.device, frames.dtype, lobes)
    view_shape = [1] * frames.dim()
    view_shape[dim] = out_size
    result = None
    for tap in range(indices.shape[1]):
        term = frames.index_select(dim, indices[:, tap]) * weights[:, tap].view(view_shape)
        result = term if result is None else result.add_(term)
    return result


def lanczos_resize(
    frames: torch.Tensor, size: tuple[int, int], lobes: int = LANCZOS_LOBES, clamp: bool = True
) -> torch.Tensor:
    """Resize ``frames`` (..., H, W) float to ``size`` = (out_height, out_width) with Lanczos.

    The result has the input's dtype and device; with ``clamp`` it is clipped to [0, 1] (Lanczos
    overshoots slightly at edges). Same size in, same values out.
    """
    out_height, out_width = int(size[0]), int(size[1])
    if out_height < 1 or out_width < 1:
        raise ValueError(f"size must be positive (height, width), got {tuple(size)}")
    if frames.dim() < 2:
        raise ValueError(
            f"frames must have at least 2 dimensions (..., H, W), got shape {tuple(frames.shape)}"
        )
    if not frames.is_floating_point():
        raise ValueError(f"frames must be a floating-point tensor, got {frames.dtype}")
    in_height, in_width = frames.shape[-2:]
    # Resample the axis that shrinks the data most first: fewer values for the second pass.
    cost_height_first = out_height * in_width
    cost_width_first = in_height * out_width
    if cost_height_first <= cost_width_first:
        result = _resample_axis(frames, out_height, frames.dim() - 2, lobes)
        result = _resample_axis(result, out_width, frames.dim() - 1, lobes)
    else:
        result = _resample_axis(frames, out_width, frames.dim() - 1, lobes)
        result = _resample_axis(result, out_height, frames.dim() - 2, lobes)
    if result is frames:
        result = frames.clone()
    return result.clamp_(0.0, 1.0) if clamp else result


class LanczosUpscaler:
    """Lanczos-3 resize to an exact size; weight-free, any scale factor, up or down.

    ``upscale(frames, size)``: frames (N, 3, H, W) float in [0, 1]; returns (N, 3, *size) in [0, 1].
    Options such as ``tile`` and ``half`` are accepted and ignored (the resize is cheap and exact).
    """

    name = "lanczos"

    def __init__(self, device: torch.device | str = "cpu", **options: object) -> None:
        self.device = torch.device(device)

    def upscale(self, frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return lanczos_resize(frames.to(self.device), size)

    def __repr__(self) -> str:
        return f"LanczosUpscaler(device={str(self.device)!r})"
