"""Warping and projection primitives used by the classic engine.

The depth-aware flow projection and the adaptive warp come from ``cuda_kernels`` when it provides
them (CUDA on GPU tensors, its PyTorch reference on CPU); a small local reference with the same
semantics (DAIN spec §3.1) stands in otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["backward_warp", "project_flow", "splat_coverage", "base_grid"]

_GRID_CACHE: dict[tuple[torch.device, torch.dtype, int, int], torch.Tensor] = {}


def base_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1,2,H,W) pixel coordinates (x, y), cached per (device, dtype, shape)."""
    key = (device, dtype, height, width)
    grid = _GRID_CACHE.get(key)
    if grid is None:
        ys, xs = torch.meshgrid(
            torch.arange(height, device=device, dtype=dtype),
            torch.arange(width, device=device, dtype=dtype),
            indexing="ij",
        )
        grid = torch.stack((xs, ys)).unsqueeze(0)
        if len(_GRID_CACHE) > 8:
            _GRID_CACHE.clear()
        _GRID_CACHE[key] = grid
    return grid


def backward_warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample ``image`` at ``p + flow(p)``.

    image: (B,C,H,W); flow: (B,2,H,W) pixels, target→source; returns (B,C,H,W).
    Coordinates outside the image are clamped to the border.
    """
    _, _, height, width = image.shape
    coords = base_grid(height, width, flow.device, flow.dtype) + flow
    gx = coords[:, 0] * (2.0 / max(width - 1, 1)) - 1.0
    gy = coords[:, 1] * (2.0 / max(height - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(image, grid, mode=mode, padding_mode="border", align_corners=True)


def _corner_indices(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat indices (B,4,H*W) of the 4 integer corners around p + flow(p), and validity (B,1,H*W)."""
    batch, _, height, width = flow.shape
    target = base_grid(height, width, flow.device, flow.dtype) + flow
    tx, ty = target[:, 0].reshape(batch, -1), target[:, 1].reshape(batch, -1)
    valid = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    left = tx.clamp(0, width - 1).floor().long()
    top = ty.clamp(0, height - 1).floor().long()
    right = (left + 1).clamp(max=width - 1)
    bottom = (top + 1).clamp(max=height - 1)
    corners = torch.stack(
        (top * width + left, top * width + right, bottom * width + left, bottom * width + right), dim=1
    )
    return corners, valid.unsqueeze(1)


def _fill_holes(projected: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Average of the nearest non-hole values left, right, up and down (DAIN's hole filling).

    projected: (B,2,H,W); hole: (B,1,H,W) bool.
    """
    batch, _, height, width = projected.shape
    filled_sum = torch.zeros_like(projected)
    filled_count = torch.zeros_like(projected[:, :1])
    valid = ~hole
    for dim, size in ((3, width), (2, height)):
        index_shape = [1, 1, 1, 1]
        index_shape[dim] = size
        index = torch.arange(size, device=projected.device).view(index_shape).expand_as(hole)
        for reverse in (False, True):
            marked = torch.where(valid, index, torch.full_like(index, -1 if not reverse else size))
            if not reverse:
                nearest = torch.cummax(marked, dim=dim).values
                found = nearest >= 0
            else:
                nearest = torch.flip(torch.cummin(torch.flip(marked, (dim,)), dim=dim).values, (dim,))
                found = nearest < size
            gathered = torch.gather(projected, dim, nearest.clamp(0, size - 1).expand_as(projected))
            filled_sum += torch.where(found, gathered, torch.zeros_like(gathered))
            filled_count += found.to(projected.dtype)
    fill = filled_sum / filled_count.clamp(min=1.0)
    return torch.where(hole, fill, projected)


def _project_flow_reference(flow: torch.Tensor, inverse_depth: torch.Tensor, fill_holes: bool) -> torch.Tensor:
    batch, _, height, width = flow.shape
    corners, valid = _corner_indices(flow)
    weight = (inverse_depth.reshape(batch, 1, -1) * valid).expand(-1, 4, -1)
    values = -flow.reshape(batch, 2, 1, -1) * weight.unsqueeze(1)
    out = torch.zeros(batch, 2, height * width, dtype=flow.dtype, device=flow.device)
    count = torch.zeros(batch, 1, height * width, dtype=flow.dtype, device=flow.device)
    out.scatter_add_(2, corners.reshape(batch, 1, -1).expand(-1, 2, -1), values.reshape(batch, 2, -1))
    count.scatter_add_(2, corners.reshape(batch, 1, -1), weight.reshape(batch, 1, -1))
    out = torch.where(count > 0, out / count.clamp(min=1e-30), torch.zeros_like(out))
    out = out.view(batch, 2, height, width)
    if fill_holes:
        out = _fill_holes(out, (count <= 0).view(batch, 1, height, width))
    return out


def project_flow(flow: torch.Tensor, inverse_depth: torch.Tensor, fill_holes: bool = True) -> torch.Tensor:
    """Depth-aware flow projection (DAIN): flow source→target splatted to the target grid.

    flow: (B,2,H,W) pixels, source→target (already scaled by the phase);
    inverse_depth: (B,1,H,W) > 0, larger = nearer = wins where several sources land.
    returns: (B,2,H,W) flow target→source on the target grid.
    """
    try:
        import cuda_kernels

        op = cuda_kernels.depth_flow_projection
    except (ImportError, AttributeError):
        return _project_flow_reference(flow, inverse_depth, fill_holes)
    return op(flow, inverse_depth, fill_holes=fill_holes)


def splat_coverage(flow: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Bilinear forward splat of ``weight`` along ``flow``: how much of the source lands on each target.

    flow: (B,2,H,W) pixels source→target; weight: (B,1,H,W); returns (B,1,H,W).
    """
    batch, _, height, width = flow.shape
    target = base_grid(height, width, flow.device, flow.dtype) + flow
    tx, ty = target[:, 0].reshape(batch, -1), target[:, 1].reshape(batch, -1)
    x0, y0 = tx.floor(), ty.floor()
    ax, ay = tx - x0, ty - y0
    x0, y0 = x0.long(), y0.long()
    out = torch.zeros(batch, height * width + 1, dtype=flow.dtype, device=flow.device)
    w = weight.reshape(batch, -1)
    for dx, dy, cw in ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay), (1, 1, ax * ay)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
        index = torch.where(inside, yi * width + xi, torch.full_like(xi, height * width))
        out.scatter_add_(1, index, w * cw)
    return out[:, :-1].view(batch, 1, height, width)
