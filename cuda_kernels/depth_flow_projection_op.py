"""DAIN's depth-aware flow projection: CuPy kernel, PyTorch reference and public function."""

from __future__ import annotations

import torch
from torch.autograd.function import FunctionCtx

from cuda_kernels._common import Launcher, check_same_device, check_tensor, compute_dtype, use_cuda_kernels
from cuda_kernels._cupy_launch import launch as cupy_launch

__all__ = ["depth_flow_projection", "depth_flow_projection_reference", "fill_projection_holes"]

_SOURCE = "depth_flow_projection.cu"


class _NormalizeOfficialGrad(torch.autograd.Function):
    """out = numer / count where count > 0 (else 0), with the official DAIN count gradient.

    The true derivative of numer / count with respect to count is ``-out / count``; the official
    CUDA op used ``+out / count`` (its weight gradient is ``f - out`` instead of ``f + out``).
    """

    @staticmethod
    def forward(ctx: FunctionCtx, numer: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        covered = count > 0
        safe_count = torch.where(covered, count, torch.ones_like(count))
        out = torch.where(covered, numer / safe_count, torch.zeros_like(numer))
        ctx.save_for_backward(out, safe_count, covered)
        return out

    @staticmethod
    def backward(ctx: FunctionCtx, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, safe_count, covered = ctx.saved_tensors
        grad_numer = torch.where(covered, grad_out / safe_count, torch.zeros_like(grad_out))
        grad_count = (grad_numer * out).sum(dim=1, keepdim=True)
        return grad_numer, grad_count


def fill_projection_holes(projected: torch.Tensor, covered: torch.Tensor) -> torch.Tensor:
    """DAIN's hole filling, vectorised.

    Args:
        projected: (B, C, H, W) values, meaningful where ``covered``.
        covered: (B, 1, H, W) bool, True where a pixel received a projection (count > 0).

    Returns:
        (B, C, H, W): covered pixels unchanged; every other pixel becomes the mean of the nearest
        covered pixel found scanning left, right, up and down (each direction found counts once), or
        stays as it was when no direction finds one. Differentiable (gather).
    """
    batch, channels, height, width = projected.shape
    device = projected.device
    cols = torch.arange(width, device=device).view(1, 1, 1, width).expand_as(covered)
    rows = torch.arange(height, device=device).view(1, 1, height, 1).expand_as(covered)
    left = torch.where(covered, cols, -1).cummax(dim=3).values
    right = torch.where(covered, cols, width).flip(3).cummin(dim=3).values.flip(3)
    up = torch.where(covered, rows, -1).cummax(dim=2).values
    down = torch.where(covered, rows, height).flip(2).cummin(dim=2).values.flip(2)
    total = torch.zeros_like(projected)
    found_count = torch.zeros_like(covered, dtype=projected.dtype)
    full = (batch, channels, height, width)
    for index, found, dim in (
        (left, left >= 0, 3),
        (right, right < width, 3),
        (up, up >= 0, 2),
        (down, down < height, 2),
    ):
        gathered = projected.gather(dim, torch.where(found, index, 0).expand(full))
        total = total + torch.where(found, gathered, torch.zeros_like(gathered))
        found_count = found_count + found.to(projected.dtype)
    fill = (~covered) & (found_count > 0)
    return torch.where(fill, total / found_count.clamp(min=1), projected)


def depth_flow_projection_reference(
    flow: torch.Tensor, inverse_depth: torch.Tensor, fill_holes: bool = True, exact_grad: bool = True
) -> torch.Tensor:
    """Vectorised PyTorch projection, same contract as :func:`depth_flow_projection` (no checks).

    Computes in the inputs' dtype (they must share it) with scatter_add; autograd gives the true
    derivative (``exact_grad=True``) or the official DAIN weight gradient (``exact_grad=False``).
    """
    batch, _, height, width = flow.shape
    plane = height * width
    fx, fy, weight = flow[:, 0], flow[:, 1], inverse_depth[:, 0]
    valid = torch.isfinite(fx) & torch.isfinite(fy) & torch.isfinite(weight) & (weight > 0)
    zero = flow.new_zeros(())
    fx, fy = torch.where(valid, fx, zero), torch.where(valid, fy, zero)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    qx, qy = (xs + fx).detach(), (ys + fy).detach()
    valid = valid & (qx >= 0) & (qx <= width - 1) & (qy >= 0) & (qy <= height - 1)
    left = torch.floor(torch.where(valid, qx, zero)).long()
    top = torch.floor(torch.where(valid, qy, zero)).long()
    right = (left + 1).clamp(max=width - 1)
    bottom = (top + 1).clamp(max=height - 1)
    weight = torch.where(valid, weight, zero).reshape(batch, 1, plane)
    fx, fy = torch.where(valid, fx, zero), torch.where(valid, fy, zero)
    values = torch.stack([-fx, -fy], dim=1).reshape(batch, 2, plane) * weight
    numer = flow.new_zeros((batch, 2, plane))
    count = flow.new_zeros((batch, 1, plane))
    # one scatter per corner (repeated corners on the border add twice, as in the original op)
    for row, col in ((top, left), (top, right), (bottom, left), (bottom, right)):
        corner = (row * width + col).reshape(batch, 1, plane)
        numer.scatter_add_(2, corner.expand(batch, 2, plane), values)
        count.scatter_add_(2, corner, weight)
    numer = numer.view(batch, 2, height, width)
    count = count.view(batch, 1, height, width)
    covered = count > 0
    if exact_grad:
        out = numer / torch.where(covered, count, torch.ones_like(count))
    else:
        out = _NormalizeOfficialGrad.apply(numer, count)
    if fill_holes:
        out = fill_projection_holes(out, covered)
    return out


class _DepthFlowProjectionKernel(torch.autograd.Function):
    """Projection through the ``.cu`` kernels; ``launch`` runs them (CuPy on CUDA, the shim on CPU)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        flow: torch.Tensor,
        inverse_depth: torch.Tensor,
        fill_holes: bool,
        exact_grad: bool,
        launch: Launcher,
    ) -> torch.Tensor:
        flow = flow.contiguous()
        inverse_depth = inverse_depth.contiguous()
        batch, _, height, width = flow.shape
        pixels = batch * height * width
        out = torch.zeros_like(flow)
        count = torch.zeros_like(inverse_depth)
        sizes = (batch, height, width)
        launch(_SOURCE, "projection_splat", pixels, flow.dtype, flow, inverse_depth, out, count, *sizes)
        launch(_SOURCE, "projection_normalize", pixels, flow.dtype, out, count, *sizes)
        fill_n = None
        if fill_holes:
            fill_n = torch.zeros_like(count)
            launch(_SOURCE, "projection_fill_scan", batch * height, flow.dtype, out, count, fill_n, *sizes, 1)
            launch(_SOURCE, "projection_fill_scan", batch * width, flow.dtype, out, count, fill_n, *sizes, 0)
            launch(_SOURCE, "projection_fill_average", pixels, flow.dtype, out, count, fill_n, *sizes)
        ctx.save_for_backward(flow, inverse_depth, out, count, fill_n)
        ctx.exact_grad = exact_grad
        ctx.launch = launch
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(
        ctx: FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None, None]:
        launch = ctx.launch
        flow, inverse_depth, out, count, fill_n = ctx.saved_tensors
        batch, _, height, width = flow.shape
        sizes = (batch, height, width)
        grad = grad_out.contiguous()
        if fill_n is not None:
            grad = grad.clone()
            launch(
                _SOURCE,
                "projection_fill_scan_backward",
                batch * height,
                flow.dtype,
                grad,
                count,
                fill_n,
                *sizes,
                1,
            )
            launch(
                _SOURCE,
                "projection_fill_scan_backward",
                batch * width,
                flow.dtype,
                grad,
                count,
                fill_n,
                *sizes,
                0,
            )
        grad_flow = torch.empty_like(flow) if ctx.needs_input_grad[0] else None
        grad_depth = torch.empty_like(inverse_depth) if ctx.needs_input_grad[1] else None
        if grad_flow is not None or grad_depth is not None:
            launch(
                _SOURCE,
                "projection_splat_backward",
                batch * height * width,
                flow.dtype,
                grad,
                flow,
                inverse_depth,
                out,
                count,
                grad_flow,
                grad_depth,
                *sizes,
                int(ctx.exact_grad),
            )
        return grad_flow, grad_depth, None, None, None


def depth_flow_projection(
    flow: torch.Tensor, inverse_depth: torch.Tensor, fill_holes: bool = True, exact_grad: bool = True
) -> torch.Tensor:
    """DAIN's depth-aware flow projection: flow from a source frame to the frame at time t.

    Every source pixel p with flow f (e.g. ``t * flow_0to1``) lands at q = p + f. If q lies in
    [0, W-1] x [0, H-1] (inclusive), each of the 4 integer corners of q (floor and floor+1, clamped
    to the image, so border corners can repeat) receives ``-f`` with the full weight
    ``inverse_depth(p)`` (no bilinear weights). Each target pixel becomes the weighted mean
    ``-sum(w f) / sum(w)``, so nearer pixels (larger inverse depth) dominate. Pixels that receive
    nothing are holes: 0, or with ``fill_holes`` the mean of the nearest covered pixels found scanning
    left, right, up and down (0 if none).

    Args:
        flow: (B, 2, H, W) source flow in pixels, channel 0 = x (horizontal), 1 = y (vertical).
            Source pixels with non-finite flow are skipped.
        inverse_depth: (B, 1, H, W) positive projection weight of each source pixel (DAIN:
            ``exp(-log_depth) + 1e-6``). Pixels with non-finite or non-positive weight are skipped.
        fill_holes: fill holes as described above (DAIN does this at inference only).
        exact_grad: True for the true derivative; False reproduces the official DAIN weight
            gradient (``f - out`` in place of ``f + out``). The flow gradient is the same in both.
            Gradients through the hole filling are always included.

    Returns:
        (B, 2, H, W) flow from the target (time t) grid back towards the source frame, in pixels,
        dtype of ``flow``. Computed in float32 (float64 for float64 inputs).

    Raises:
        ValueError: for non-tensor or non-floating inputs, wrong shapes, different devices or
            non-bool flags.
    """
    check_tensor("flow", flow, channels=2)
    check_tensor("inverse_depth", inverse_depth, channels=1)
    if inverse_depth.shape[0] != flow.shape[0] or inverse_depth.shape[2:] != flow.shape[2:]:
        raise ValueError(
            f"inverse_depth must have shape {(flow.shape[0], 1, *flow.shape[2:])} to match flow, "
            f"got {tuple(inverse_depth.shape)}"
        )
    check_same_device("flow", flow, inverse_depth=inverse_depth)
    for name, flag in (("fill_holes", fill_holes), ("exact_grad", exact_grad)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be a bool, got {flag!r}")
    dtype = compute_dtype(flow, inverse_depth)
    flow_c, depth_c = flow.to(dtype), inverse_depth.to(dtype)
    if use_cuda_kernels(flow, _SOURCE, dtype):
        out = _DepthFlowProjectionKernel.apply(flow_c, depth_c, fill_holes, exact_grad, cupy_launch)
    else:
        out = depth_flow_projection_reference(flow_c, depth_c, fill_holes, exact_grad)
    return out.to(flow.dtype)
