"""DAIN's adaptive warping layer (FilterInterpolation): CuPy kernel, PyTorch reference, public function."""

from __future__ import annotations

import torch
from torch.autograd.function import FunctionCtx

from cuda_kernels._common import Launcher, check_same_device, check_tensor, compute_dtype, use_cuda_kernels
from cuda_kernels._cupy_launch import launch as cupy_launch

__all__ = ["KERNEL_CHANNELS", "adaptive_warp", "adaptive_warp_reference"]

_SOURCE = "adaptive_warp.cu"

#: Kernel channels: a 4x4 window, channel 4 * row + column.
KERNEL_CHANNELS = 16


class _WarpGeometry:
    """Per-pixel sampling geometry of the adaptive warp, all (B, 1, H*W), computed without autograd.

    ``valid``: bool; ``taps[k]``: flat source index of tap k = 4j + i (clamped); ``wx``/``wy``: the
    four bilinear column/row weights; ``quadrant[k]`` = wy[j] * wx[i] (4 distinct products).
    """

    def __init__(self, flow: torch.Tensor, height: int, width: int) -> None:
        batch = flow.shape[0]
        plane = height * width
        fx = flow[:, 0].reshape(batch, 1, plane)
        fy = flow[:, 1].reshape(batch, 1, plane)
        xs = torch.arange(width, device=flow.device, dtype=flow.dtype).repeat(height).view(1, 1, plane)
        ys = (
            torch.arange(height, device=flow.device, dtype=flow.dtype)
            .repeat_interleave(width)
            .view(1, 1, plane)
        )
        qx, qy = xs + fx, ys + fy
        # comparisons are False for NaN, and +-inf lands outside, so non-finite flow is invalid
        self.valid = (
            (qx >= 0)
            & (qx <= width - 1)
            & (qy >= 0)
            & (qy <= height - 1)
            & (fx.abs() < width / 2)
            & (fy.abs() < height / 2)
        )
        zero = flow.new_zeros(())
        qx, qy = torch.where(self.valid, qx, zero), torch.where(self.valid, qy, zero)
        x0, y0 = torch.floor(qx), torch.floor(qy)
        alpha, beta = qx - x0, qy - y0
        self.wx = (1 - alpha, 1 - alpha, alpha, alpha)
        self.wy = (1 - beta, 1 - beta, beta, beta)
        products = {(a, b): self.wy[2 * a] * self.wx[2 * b] for a in (0, 1) for b in (0, 1)}
        self.quadrant = [products[(k // 8, (k % 4) // 2)] for k in range(KERNEL_CHANNELS)]
        x0, y0 = x0.long(), y0.long()
        cols = [(x0 + (i - 1)).clamp(0, width - 1) for i in range(4)]
        rows = [(y0 + (j - 1)).clamp(0, height - 1) * width for j in range(4)]
        self.taps = [rows[k // 4] + cols[k % 4] for k in range(KERNEL_CHANNELS)]


class _AdaptiveWarpReference(torch.autograd.Function):
    """The reference adaptive warp: 16 gathers forward, the kernel's gradient formulas backward.

    Never holds more than one tap of C channels at a time, so it also fits DAIN's 196-channel
    context at full resolution.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, image: torch.Tensor, flow: torch.Tensor, kernel: torch.Tensor
    ) -> torch.Tensor:
        batch, channels, height, width = image.shape
        plane = height * width
        geometry = _WarpGeometry(flow, height, width)
        flat = image.reshape(batch, channels, plane)
        weights = kernel.reshape(batch, KERNEL_CHANNELS, plane)
        out = flat.new_zeros((batch, channels, plane))
        for k, tap in enumerate(geometry.taps):
            sampled = flat.gather(2, tap.expand(batch, channels, plane))
            out.addcmul_(sampled, weights[:, k : k + 1] * geometry.quadrant[k])
        ctx.save_for_backward(image, flow, kernel)
        return torch.where(geometry.valid, out, flat).view(batch, channels, height, width)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: FunctionCtx, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        image, flow, kernel = ctx.saved_tensors
        batch, channels, height, width = image.shape
        plane = height * width
        geometry = _WarpGeometry(flow, height, width)
        valid = geometry.valid
        zero = image.new_zeros(())
        grad = grad_out.reshape(batch, channels, plane)
        grad_valid = torch.where(valid, grad, zero)
        weights = torch.where(valid, kernel.reshape(batch, KERNEL_CHANNELS, plane), zero)
        flat = image.reshape(batch, channels, plane)
        need_image, need_flow, need_kernel = ctx.needs_input_grad
        # copied pixels pass their gradient straight to image(p)
        grad_image = torch.where(valid, zero, grad) if need_image else None
        grad_kernel = image.new_empty((batch, KERNEL_CHANNELS, plane)) if need_kernel else None
        grad_fx = image.new_zeros((batch, 1, plane)) if need_flow else None
        grad_fy = image.new_zeros((batch, 1, plane)) if need_flow else None
        for k, tap in enumerate(geometry.taps):
            j, i = divmod(k, 4)
            index = tap.expand(batch, channels, plane)
            if grad_image is not None:
                grad_image.scatter_add_(2, index, grad_valid * (weights[:, k : k + 1] * geometry.quadrant[k]))
            if need_flow or need_kernel:
                # s_k = sum_c grad_c(p) * image_c(tap k)
                tap_dot = torch.where(valid, (grad_valid * flat.gather(2, index)).sum(1, keepdim=True), zero)
                if grad_kernel is not None:
                    grad_kernel[:, k : k + 1] = tap_dot * geometry.quadrant[k]
                if need_flow:
                    weighted = tap_dot * weights[:, k : k + 1]
                    grad_fx.addcmul_(weighted, geometry.wy[j], value=-1.0 if i < 2 else 1.0)
                    grad_fy.addcmul_(weighted, geometry.wx[i], value=-1.0 if j < 2 else 1.0)
        return (
            grad_image.view(batch, channels, height, width) if grad_image is not None else None,
            torch.cat([grad_fx, grad_fy], dim=1).view(batch, 2, height, width) if need_flow else None,
            grad_kernel.view(batch, KERNEL_CHANNELS, height, width) if grad_kernel is not None else None,
        )


def adaptive_warp_reference(image: torch.Tensor, flow: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Vectorised PyTorch adaptive warping, same contract as :func:`adaptive_warp` (no checks).

    Computes in the inputs' dtype (they must share it): 16 gathers of clamped taps, memory O(C·H·W).
    Differentiable with the true derivative (floor held fixed; copied pixels pass their gradient
    straight to ``image(p)``); first order only.
    """
    return _AdaptiveWarpReference.apply(image, flow, kernel)


class _AdaptiveWarpKernel(torch.autograd.Function):
    """Adaptive warping through the ``.cu`` kernels; ``launch`` runs them (CuPy on CUDA, the shim on CPU)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, image: torch.Tensor, flow: torch.Tensor, kernel: torch.Tensor, launch: Launcher
    ) -> torch.Tensor:
        image, flow, kernel = image.contiguous(), flow.contiguous(), kernel.contiguous()
        batch, channels, height, width = image.shape
        out = torch.empty_like(image)
        sizes = (batch, channels, height, width)
        launch(
            _SOURCE,
            "adaptive_warp_forward",
            batch * height * width,
            image.dtype,
            image,
            flow,
            kernel,
            out,
            *sizes,
        )
        ctx.save_for_backward(image, flow, kernel)
        ctx.launch = launch
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: FunctionCtx, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        launch = ctx.launch
        image, flow, kernel = ctx.saved_tensors
        batch, channels, height, width = image.shape
        sizes = (batch, channels, height, width)
        pixels = batch * height * width
        grad_out = grad_out.contiguous()
        grad_image = grad_flow = grad_kernel = None
        if ctx.needs_input_grad[0]:
            grad_image = torch.zeros_like(image)
            launch(
                _SOURCE,
                "adaptive_warp_backward_image",
                pixels,
                image.dtype,
                grad_out,
                flow,
                kernel,
                grad_image,
                *sizes,
            )
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            grad_flow = torch.empty_like(flow) if ctx.needs_input_grad[1] else None
            grad_kernel = torch.empty_like(kernel) if ctx.needs_input_grad[2] else None
            launch(
                _SOURCE,
                "adaptive_warp_backward_kernel_flow",
                pixels,
                image.dtype,
                grad_out,
                image,
                flow,
                kernel,
                grad_kernel,
                grad_flow,
                *sizes,
            )
        return grad_image, grad_flow, grad_kernel, None


def adaptive_warp(image: torch.Tensor, flow: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """DAIN's adaptive warping layer: backward warp with a learned per-pixel 4x4 kernel.

    For output pixel p, q = p + flow(p) (backward warping: ``flow`` points from the output grid into
    ``image``). p is valid iff the flow is finite, q lies in [0, W-1] x [0, H-1] (inclusive),
    |flow_x| < W/2 and |flow_y| < H/2. Invalid pixels copy ``image(p)``. Valid pixels, with
    x0 = floor(qx), y0 = floor(qy), alpha = qx - x0, beta = qy - y0,
    wx = [1-alpha, 1-alpha, alpha, alpha], wy = [1-beta, 1-beta, beta, beta]:
    ``out(p) = sum_{j,i} kernel[4j+i](p) * wy[j] * wx[i] * image(clamp(y0-1+j), clamp(x0-1+i))``,
    i.e. the 4x4 window of rows y0-1..y0+2 and columns x0-1..x0+2 (replicate border), its 2x2
    quadrants bilinearly weighted. A kernel that is 1 on channels 5, 6, 9, 10 and 0 elsewhere gives
    plain bilinear warping.

    Args:
        image: (B, C, H, W) floating image or feature map, any C >= 1.
        flow: (B, 2, H, W) flow in pixels from the output grid into ``image``, channel 0 = x
            (horizontal), 1 = y (vertical).
        kernel: (B, 16, H, W) unnormalised interpolation weights, channel 4 * row + column of the
            window (row 0 / column 0 at (y0-1, x0-1)).

    Returns:
        (B, C, H, W), dtype of ``image``. Computed in float32 (float64 for float64 inputs).
        Differentiable in all three inputs (flow: derivative with the integer window held fixed;
        copied pixels pass their gradient to ``image(p)``, where the official op gave 0).

    Raises:
        ValueError: for non-tensor or non-floating inputs, wrong shapes or different devices.
    """
    check_tensor("image", image)
    check_tensor("flow", flow, channels=2)
    check_tensor("kernel", kernel, channels=KERNEL_CHANNELS)
    if image.shape[1] == 0:
        raise ValueError("image must have at least one channel")
    expected = (image.shape[0], image.shape[2], image.shape[3])
    for name, tensor in (("flow", flow), ("kernel", kernel)):
        if (tensor.shape[0], tensor.shape[2], tensor.shape[3]) != expected:
            raise ValueError(
                f"{name} must match image in batch and size (B={expected[0]}, H={expected[1]}, "
                f"W={expected[2]}), got shape {tuple(tensor.shape)}"
            )
    check_same_device("image", image, flow=flow, kernel=kernel)
    dtype = compute_dtype(image, flow, kernel)
    image_c, flow_c, kernel_c = image.to(dtype), flow.to(dtype), kernel.to(dtype)
    if use_cuda_kernels(image, _SOURCE, dtype):
        out = _AdaptiveWarpKernel.apply(image_c, flow_c, kernel_c, cupy_launch)
    else:
        out = adaptive_warp_reference(image_c, flow_c, kernel_c)
    return out.to(image.dtype)
