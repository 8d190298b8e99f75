"""PWC-Net correlation (cost volume): CuPy kernel, PyTorch reference and public function."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx

from cuda_kernels._common import Launcher, check_same_device, check_tensor, compute_dtype, use_cuda_kernels
from cuda_kernels._cupy_launch import launch as cupy_launch

__all__ = ["correlation", "correlation_reference"]

_SOURCE = "correlation.cu"


def _shifts(max_displacement: int, height: int, width: int) -> list[tuple[slice, slice]]:
    """(rows, cols) slices of the zero-padded feat2 for each output channel, dy-major then dx."""
    span = 2 * max_displacement + 1
    return [(slice(dy, dy + height), slice(dx, dx + width)) for dy in range(span) for dx in range(span)]


class _CorrelationReference(torch.autograd.Function):
    """The reference correlation with a hand-written backward.

    Plain autograd through 81 slices of the padded feat2 would allocate a full padded gradient per
    slice; here each displacement costs two in-place multiply-adds.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, feat1: torch.Tensor, feat2: torch.Tensor, max_displacement: int
    ) -> torch.Tensor:
        batch, channels, height, width = feat1.shape
        padded = F.pad(feat2, (max_displacement,) * 4, mode="constant", value=0.0)
        shifts = _shifts(max_displacement, height, width)
        out = feat1.new_empty((batch, len(shifts), height, width))
        for index, (rows, cols) in enumerate(shifts):
            torch.sum(feat1 * padded[:, :, rows, cols], dim=1, out=out[:, index])
        ctx.save_for_backward(feat1, feat2)
        ctx.max_displacement = max_displacement
        return out.mul_(1.0 / channels)

    @staticmethod
    def backward(
        ctx: FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        feat1, feat2 = ctx.saved_tensors
        md = ctx.max_displacement
        _, channels, height, width = feat1.shape
        grad_out = grad_out / channels
        padded = F.pad(feat2, (md,) * 4, mode="constant", value=0.0)
        grad_feat1 = torch.zeros_like(feat1) if ctx.needs_input_grad[0] else None
        grad_padded = torch.zeros_like(padded) if ctx.needs_input_grad[1] else None
        for index, (rows, cols) in enumerate(_shifts(md, height, width)):
            weight = grad_out[:, index : index + 1]
            if grad_feat1 is not None:
                grad_feat1.addcmul_(weight, padded[:, :, rows, cols])
            if grad_padded is not None:
                grad_padded[:, :, rows, cols].addcmul_(weight, feat1)
        grad_feat2 = grad_padded[:, :, md : md + height, md : md + width] if grad_padded is not None else None
        return grad_feat1, grad_feat2, None


def correlation_reference(
    feat1: torch.Tensor, feat2: torch.Tensor, max_displacement: int = 4
) -> torch.Tensor:
    """Vectorised PyTorch correlation, same contract as :func:`correlation` (no argument checks).

    Computes in the inputs' dtype (they must share it); one multiply-and-sum per displacement.
    Differentiable (hand-written backward, itself made of differentiable ops).
    """
    return _CorrelationReference.apply(feat1, feat2, max_displacement)


class _CorrelationKernel(torch.autograd.Function):
    """Correlation through the ``.cu`` kernels; ``launch`` runs them (CuPy on CUDA, the shim on CPU)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, feat1: torch.Tensor, feat2: torch.Tensor, max_displacement: int, launch: Launcher
    ) -> torch.Tensor:
        feat1 = feat1.contiguous()
        feat2 = feat2.contiguous()
        batch, channels, height, width = feat1.shape
        span = 2 * max_displacement + 1
        out = feat1.new_empty((batch, span * span, height, width))
        sizes = (batch, channels, height, width, max_displacement)
        launch(_SOURCE, "correlation_forward", out.numel(), feat1.dtype, feat1, feat2, out, *sizes)
        ctx.save_for_backward(feat1, feat2)
        ctx.max_displacement = max_displacement
        ctx.launch = launch
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(
        ctx: FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None]:
        launch = ctx.launch
        feat1, feat2 = ctx.saved_tensors
        grad_out = grad_out.contiguous()
        sizes = (*feat1.shape, ctx.max_displacement)
        grad_feat1 = grad_feat2 = None
        if ctx.needs_input_grad[0]:
            grad_feat1 = torch.empty_like(feat1)
            launch(
                _SOURCE,
                "correlation_backward_feat1",
                feat1.numel(),
                feat1.dtype,
                grad_out,
                feat2,
                grad_feat1,
                *sizes,
            )
        if ctx.needs_input_grad[1]:
            grad_feat2 = torch.empty_like(feat2)
            launch(
                _SOURCE,
                "correlation_backward_feat2",
                feat2.numel(),
                feat2.dtype,
                grad_out,
                feat1,
                grad_feat2,
                *sizes,
            )
        return grad_feat1, grad_feat2, None, None


def correlation(feat1: torch.Tensor, feat2: torch.Tensor, max_displacement: int = 4) -> torch.Tensor:
    """PWC-Net cost volume between two feature maps.

    Args:
        feat1: (B, C, H, W) floating features of the first image.
        feat2: (B, C, H, W) floating features of the second image, same shape and device as ``feat1``.
        max_displacement: d >= 0, the largest displacement in pixels along each axis (PWC-Net uses 4).

    Returns:
        (B, (2d+1)**2, H, W) tensor, dtype of ``feat1``:
        ``out[b, (dy+d)*(2d+1) + (dx+d), y, x] = mean_c feat1[b,c,y,x] * feat2[b,c,y+dy,x+dx]``
        for dx, dy in [-d, d] (channel index dy-major, then dx), with feat2 taken as zero outside the
        image. Differentiable in both features. Computed in float32 (float64 for float64 inputs).

    Raises:
        ValueError: for non-tensor or non-floating inputs, shapes that differ or are not 4-D,
            tensors on different devices, or a negative / non-integer ``max_displacement``.
    """
    check_tensor("feat1", feat1)
    check_tensor("feat2", feat2)
    if feat2.shape != feat1.shape:
        raise ValueError(f"feat2 must have the shape of feat1 {tuple(feat1.shape)}, got {tuple(feat2.shape)}")
    if feat1.shape[1] == 0:
        raise ValueError("feat1 must have at least one channel")
    check_same_device("feat1", feat1, feat2=feat2)
    if isinstance(max_displacement, bool) or not isinstance(max_displacement, int) or max_displacement < 0:
        raise ValueError(f"max_displacement must be an int >= 0, got {max_displacement!r}")
    dtype = compute_dtype(feat1, feat2)
    a, b = feat1.to(dtype), feat2.to(dtype)
    if use_cuda_kernels(feat1, _SOURCE, dtype):
        out = _CorrelationKernel.apply(a, b, max_displacement, cupy_launch)
    else:
        out = correlation_reference(a, b, max_displacement)
    return out.to(feat1.dtype)
