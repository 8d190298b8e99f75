"""Lanczos-3 resampling in PyTorch: separable, antialiased when shrinking, exact output sizes.

Each axis is resampled with weights precomputed per (input size, output size) and cached. Sample
centres follow the half-pixel convention (``src = (dst + 0.5) * in / out - 0.5``), as PIL and OpenCV
do. When shrinking, the kernel is widened by the reduction factor (antialiasing, as PIL does).
Out-of-image taps read the edge pixel (clamped indices).

Two equivalent evaluations, both plain tensor ops that run on CPU and GPU:

* polyphase (the usual case): when ``out/in = p/q`` in lowest terms with a small ``p`` (2x, 3x, 1.5x,
  2/3x ...), output pixels ``r, r + p, ...`` share weights and read inputs ``q`` apart, so each of the
  ``p`` phases is a few multiply-adds of strided views of the edge-padded input;
* gather: per-output index and weight tables (``index_select`` + multiply-add per tap) for any ratio.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["LANCZOS_LOBES", "LanczosUpscaler", "lanczos_resize", "lanczos_axis_taps"]

LANCZOS_LOBES = 3
# Size ratios p/q with p up to this use the polyphase form; others use the gather tables.
MAX_POLYPHASE_PERIOD = 64


def _lanczos_kernel(distance: torch.Tensor, lobes: int) -> torch.Tensor:
    """Lanczos window ``sinc(d) * sinc(d / lobes)`` for ``|d| < lobes``, zero outside (float64)."""
    kernel = torch.sinc(distance) * torch.sinc(distance / lobes)
    return torch.where(distance.abs() < lobes, kernel, torch.zeros_like(kernel))


@functools.lru_cache(maxsize=64)
def _taps_float64(in_size: int, out_size: int, lobes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unclamped source indices (int64) and normalised weights (float64), both (out_size, taps)."""
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
    # Drop tap columns that carry no weight anywhere (keeps the pass count minimal).
    used = (weights.abs() > 0).any(dim=0)
    return indices[:, used], weights[:, used]


@functools.lru_cache(maxsize=64)
def _axis_taps_cached(
    in_size: int, out_size: int, device: str, dtype: torch.dtype, lobes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    indices, weights = _taps_float64(in_size, out_size, lobes)
    return indices.clamp(0, in_size - 1).to(device), weights.to(device=device, dtype=dtype)


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


@dataclass(frozen=True)
class _PolyphasePlan:
    """One axis resampling as ``period`` phases of strided multiply-adds (see :func:`_polyphase_plan`)."""

    period: int  # p: output pixels r, r + p, r + 2p, ... share their weights
    stride: int  # q: ... and read input pixels q apart
    pad_before: int  # edge pixels to replicate before / after the input
    pad_after: int
    phase_taps: tuple[tuple[tuple[int, float], ...], ...]  # per phase: (offset in padded input, weight)


@functools.lru_cache(maxsize=64)
def _polyphase_plan(in_size: int, out_size: int, lobes: int) -> _PolyphasePlan | None:
    """The polyphase form of one axis resampling; ``None`` when the period ``p`` is too long."""
    common = math.gcd(in_size, out_size)
    period, stride = out_size // common, in_size // common
    if period > MAX_POLYPHASE_PERIOD:
        return None
    indices, weights = _taps_float64(in_size, out_size, lobes)
    indices, weights = indices[:period], weights[:period]
    last_read = int(indices.max()) + stride * (common - 1)
    pad_before, pad_after = max(0, -int(indices.min())), max(0, last_read - (in_size - 1))
    phase_taps = tuple(
        tuple(
            (index + pad_before, weight)
            for index, weight in zip(indices[phase].tolist(), weights[phase].tolist(), strict=True)
            if weight != 0.0
        )
        for phase in range(period)
    )
    return _PolyphasePlan(period, stride, pad_before, pad_after, phase_taps)


def _polyphase_resample(
    frames: torch.Tensor, out_size: int, height_axis: bool, plan: _PolyphasePlan
) -> torch.Tensor:
    """Resample the height (``height_axis``) or width axis of ``frames`` (..., H, W) following ``plan``."""
    dim = frames.dim() - 2 if height_axis else frames.dim() - 1
    padded = frames
    if plan.pad_before or plan.pad_after:
        flat = frames.reshape(-1, *frames.shape[-2:])
        padding = (
            (0, 0, plan.pad_before, plan.pad_after)
            if height_axis
            else (plan.pad_before, plan.pad_after, 0, 0)
        )
        padded = F.pad(flat, padding, mode="replicate")
        padded = padded.view(*frames.shape[:-2], *padded.shape[-2:])
    out_shape = list(frames.shape)
    out_shape[dim] = out_size
    result = torch.empty(out_shape, dtype=frames.dtype, device=frames.device)
    span = plan.stride * (out_size // plan.period - 1) + 1
    for phase, taps in enumerate(plan.phase_taps):
        target = result[..., phase :: plan.period, :] if height_axis else result[..., phase :: plan.period]
        for tap, (offset, weight) in enumerate(taps):
            source = padded.narrow(dim, offset, span)
            source = source[..., :: plan.stride, :] if height_axis else source[..., :: plan.stride]
            if tap == 0:
                torch.mul(source, weight, out=target)
            else:
                target.add_(source, alpha=weight)
    return result


def _gather_resample(frames: torch.Tensor, out_size: int, dim: int, lobes: int) -> torch.Tensor:
    indices, weights = lanczos_axis_taps(frames.shape[dim], out_size, frames.device, frames.dtype, lobes)
    view_shape = [1] * frames.dim()
    view_shape[dim] = out_size
    result = None
    for tap in range(indices.shape[1]):
        term = frames.index_select(dim, indices[:, tap]) * weights[:, tap].view(view_shape)
        result = term if result is None else result.add_(term)
    return result


def _resample_axis(frames: torch.Tensor, out_size: int, height_axis: bool, lobes: int) -> torch.Tensor:
    dim = frames.dim() - 2 if height_axis else frames.dim() - 1
    in_size = frames.shape[dim]
    if in_size == out_size:
        return frames
    plan = _polyphase_plan(in_size, out_size, lobes)
    if plan is not None:
        return _polyphase_resample(frames, out_size, height_axis, plan)
    return _gather_resample(frames, out_size, dim, lobes)


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
    frames = frames.contiguous()
    in_height, in_width = frames.shape[-2:]
    # Resample the axis that shrinks the data most first: fewer values for the second pass.
    if out_height * in_width <= in_height * out_width:
        result = _resample_axis(frames, out_height, True, lobes)
        result = _resample_axis(result, out_width, False, lobes)
    else:
        result = _resample_axis(frames, out_width, False, lobes)
        result = _resample_axis(result, out_height, True, lobes)
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
