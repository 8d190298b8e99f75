"""Resampling and projection primitives of the classic engine, dispatched by device.

- :func:`project_flow`: DAIN's depth-aware flow projection, ``cuda_kernels.depth_flow_projection``
  (CUDA kernel on GPU tensors, its PyTorch reference on CPU).
- :func:`warp_planes`: backward warping ``out(p) = image(p + flow(p))``, bicubic or bilinear.
  On CPU: OpenCV ``remap`` (fixed-point maps computed once per flow, shared by all planes). On CUDA:
  ``cuda_kernels.adaptive_warp`` whose 4x4 kernel is set to the bicubic (or bilinear) weights.
- :func:`resize_planes`: area downscaling / bilinear upscaling of (N,H,W) planes.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from dain.flow import pixel_grid

__all__ = ["project_flow", "warp_planes", "resize_planes", "interpolation_kernel", "base_grid"]

#: Cubic convolution parameter of OpenCV's INTER_CUBIC (Keys' a); used on every device alike.
CUBIC_A = -0.75

_GRID_CACHE: dict[tuple[str, torch.device | None, torch.dtype | None, int, int], object] = {}


def base_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1,2,H,W) pixel coordinates (x, y), cached per (device, dtype, shape)."""
    key = ("torch", device, dtype, height, width)
    grid = _GRID_CACHE.get(key)
    if grid is None:
        ys, xs = torch.meshgrid(
            torch.arange(height, device=device, dtype=dtype),
            torch.arange(width, device=device, dtype=dtype),
            indexing="ij",
        )
        grid = torch.stack((xs, ys)).unsqueeze(0)
        if len(_GRID_CACHE) > 16:
            _GRID_CACHE.clear()
        _GRID_CACHE[key] = grid
    return grid  # type: ignore[return-value]


def project_flow(flow: torch.Tensor, inverse_depth: torch.Tensor) -> torch.Tensor:
    """Depth-aware flow projection (DAIN spec §3.1) with hole filling.

    flow: (1,2,H,W) float32 pixels, source→target, already scaled by the phase.
    inverse_depth: (1,1,H,W) > 0; where several source pixels land on one target pixel their flows
        are averaged with these weights, so the larger (here: the more reliably visible) wins.
    returns: (1,2,H,W) flow target→source on the target grid.
    """
    from cuda_kernels import depth_flow_projection

    return depth_flow_projection(flow, inverse_depth, fill_holes=True, exact_grad=True)


def _use_opencv(tensor: torch.Tensor, backend: str) -> bool:
    if backend not in ("auto", "opencv", "torch"):
        raise ValueError(f"backend must be 'auto', 'opencv' or 'torch', got {backend!r}")
    if backend == "opencv" and tensor.device.type != "cpu":
        raise ValueError("backend 'opencv' needs CPU tensors")
    return backend == "opencv" or (backend == "auto" and tensor.device.type == "cpu")


def resize_planes(planes: torch.Tensor, height: int, width: int, backend: str = "auto") -> torch.Tensor:
    """Resize (N,H0,W0) float32 planes to (N,height,width): area average down, bilinear up.

    Pixel centres are aligned (``align_corners=False`` convention).
    backend: "opencv" (CPU only), "torch", or "auto" (OpenCV on CPU, torch elsewhere).
    """
    if tuple(planes.shape[-2:]) == (height, width):
        return planes
    shrinking = height * width < planes.shape[-2] * planes.shape[-1]
    if _use_opencv(planes, backend):
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        source = planes.contiguous().numpy()
        return torch.from_numpy(
            np.stack([cv2.resize(plane, (width, height), interpolation=interpolation) for plane in source])
        )
    if shrinking:
        return F.interpolate(planes.unsqueeze(0), size=(height, width), mode="area").squeeze(0)
    return F.interpolate(
        planes.unsqueeze(0), size=(height, width), mode="bilinear", align_corners=False
    ).squeeze(0)


def _cubic_weights(frac: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Keys cubic-convolution weights of the taps at offsets -1, 0, 1, 2 for fractional part ``frac``."""
    a = CUBIC_A

    def near(d: torch.Tensor) -> torch.Tensor:
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d: torch.Tensor) -> torch.Tensor:
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return far(1 + frac), near(frac), near(1 - frac), far(2 - frac)


def interpolation_kernel(flow: torch.Tensor, cubic: bool) -> torch.Tensor:
    """(B,16,H,W) adaptive-warp kernel that makes ``adaptive_warp`` a bicubic (or bilinear) sampler.

    The op multiplies its kernel by the bilinear weights of the 4x4 window (DAIN spec §3.2), so the
    kernel is the wanted separable weight divided by those; taps whose bilinear weight is 0 also have
    a cubic weight of 0 and get 0.
    """
    batch, _, height, width = flow.shape
    kernel = flow.new_zeros(batch, 16, height, width)
    if not cubic:
        kernel[:, [5, 6, 9, 10]] = 1.0
        return kernel
    grid = base_grid(height, width, flow.device, flow.dtype)
    target = grid + flow
    alpha = target[:, 0] - target[:, 0].floor()
    beta = target[:, 1] - target[:, 1].floor()
    cx, cy = _cubic_weights(alpha), _cubic_weights(beta)
    bx = (1 - alpha, 1 - alpha, alpha, alpha)
    by = (1 - beta, 1 - beta, beta, beta)
    for j in range(4):
        for i in range(4):
            denominator = by[j] * bx[i]
            ratio = cy[j] * cx[i] / torch.where(denominator > 0, denominator, torch.ones_like(denominator))
            kernel[:, 4 * j + i] = torch.where(denominator > 0, ratio, torch.zeros_like(ratio))
    return kernel


def warp_planes(
    planes: torch.Tensor, flow: torch.Tensor, cubic: bool = True, backend: str = "auto"
) -> torch.Tensor:
    """Backward warp: ``out[n](p) = planes[n](p + flow(p))``.

    planes: (N,H,W) float32; flow: (1,2,H,W) float32 pixels (x, y), target→source.
    cubic: Keys bicubic (a = -0.75) if True, bilinear otherwise.
    backend: "opencv" (CPU only: ``cv2.remap``), "torch" (``cuda_kernels.adaptive_warp``: CUDA kernel
        on GPU, PyTorch reference on CPU), or "auto" (OpenCV on CPU, adaptive_warp elsewhere).
    returns: (N,H,W). With OpenCV, coordinates outside the image are clamped to the border; with
    adaptive_warp, a pixel whose source lies outside keeps its own value (DAIN's convention).
    """
    height, width = planes.shape[-2:]
    if _use_opencv(planes, backend):
        grid_x, grid_y = pixel_grid(height, width)
        flow_np = flow[0].numpy()
        map_xy, map_frac = cv2.convertMaps(grid_x + flow_np[0], grid_y + flow_np[1], cv2.CV_16SC2)
        interpolation = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
        source = planes.contiguous().numpy()
        warped = [
            cv2.remap(plane, map_xy, map_frac, interpolation=interpolation, borderMode=cv2.BORDER_REPLICATE)
            for plane in source
        ]
        return torch.from_numpy(np.stack(warped))
    from cuda_kernels import adaptive_warp

    kernel = interpolation_kernel(flow, cubic)
    return adaptive_warp(planes.unsqueeze(0).contiguous(), flow.contiguous(), kernel).squeeze(0)
