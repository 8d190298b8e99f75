"""Primitives of the classic engine: warping on every device agrees, projection lets the visible win."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cuda_kernels import adaptive_warp_reference
from dain.engines.classic.blending import blend_weights, compose
from dain.engines.classic.ops import interpolation_kernel, project_flow, resize_planes, warp_planes


def _smooth_planes(seed: int, channels: int, height: int, width: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((1, channels, height // 4 + 2, width // 4 + 2)).astype(np.float32))
    fine = torch.nn.functional.interpolate(coarse, scale_factor=4, mode="bicubic", align_corners=False)
    return fine[0, :, :height, :width].contiguous()


def _inner_flow(seed: int, height: int, width: int) -> torch.Tensor:
    """(1,2,H,W) random sub-pixel flow that keeps every sample 2 px inside the image."""
    rng = np.random.default_rng(seed)
    flow = torch.from_numpy(rng.uniform(-1.5, 1.5, (1, 2, height, width)).astype(np.float32))
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    flow[0, 0] = (xs + flow[0, 0]).clamp(2, width - 3) - xs
    flow[0, 1] = (ys + flow[0, 1]).clamp(2, height - 3) - ys
    return flow


@pytest.mark.parametrize("cubic", [False, True])
def test_adaptive_warp_kernel_reproduces_the_cpu_sampler(cubic):
    """The kernel given to adaptive_warp on CUDA makes it the same sampler as OpenCV's remap on CPU."""
    planes = _smooth_planes(0, 3, 24, 32)
    flow = _inner_flow(1, 24, 32)
    cpu = warp_planes(planes, flow, cubic=cubic)
    kernel = interpolation_kernel(flow, cubic=cubic)
    via_kernel = adaptive_warp_reference(planes.unsqueeze(0), flow, kernel)[0]
    # OpenCV quantises sample positions to 1/32 pixel: allow that, no more
    assert float((cpu - via_kernel).abs().max()) < 0.02
    assert float((cpu - via_kernel).abs().mean()) < 0.003


def test_cubic_sampling_of_whole_pixel_shifts_is_exact():
    planes = _smooth_planes(2, 2, 16, 20)
    flow = torch.zeros(1, 2, 16, 20)
    flow[0, 0] = 1.0  # sample one pixel to the right
    out = warp_planes(planes, flow, cubic=True)
    assert torch.allclose(out[:, :, :-1], planes[:, :, 1:], atol=1e-6)
    kernel = interpolation_kernel(flow, cubic=True)
    via_kernel = adaptive_warp_reference(planes.unsqueeze(0), flow, kernel)[0]
    assert torch.allclose(via_kernel[:, :, :-1], planes[:, :, 1:], atol=1e-6)


def test_projection_lets_the_visible_pixel_win():
    """Two sources land on one target: the one with the larger inverse depth gives the flow."""
    flow = torch.zeros(1, 2, 8, 8)
    flow[0, 0, 4, 2] = 2.0  # pixel (x=2, y=4) moves to x=4, where the static pixel (4, 4) stays
    inverse_depth = torch.full((1, 1, 8, 8), 1e-3)
    inverse_depth[0, 0, 4, 2] = 1.0  # the moving pixel is the visible one
    projected = project_flow(flow, inverse_depth)
    assert projected[0, 0, 4, 4] < -1.99  # the flow back to the source is the moving pixel's
    inverse_depth[0, 0, 4, 2] = 1e-6
    inverse_depth[0, 0, 4, 4] = 1.0
    projected = project_flow(flow, inverse_depth)
    assert abs(float(projected[0, 0, 4, 4])) < 0.01


def test_resize_planes_down_and_up_keeps_constants_and_shape():
    planes = torch.full((2, 30, 40), 0.25)
    small = resize_planes(planes, 15, 20)
    assert small.shape == (2, 15, 20) and torch.allclose(small, torch.full_like(small, 0.25))
    back = resize_planes(small, 30, 40)
    assert back.shape == (2, 30, 40) and torch.allclose(back, planes)


def test_blend_weights_lean_on_the_visible_frame():
    visible = torch.ones(1, 1, 2, 2)
    hidden = torch.zeros(1, 1, 2, 2)
    weight0, reliability = blend_weights(visible, hidden, 0.5, 1e-3, 0.3)
    assert torch.all(weight0 > 0.99) and torch.all(reliability == 1)
    weight0, _ = blend_weights(visible, visible, 0.25, 1e-3, 0.3)
    assert torch.allclose(weight0, torch.full_like(weight0, 0.75))
    _, reliability = blend_weights(hidden, hidden, 0.5, 1e-3, 0.3)
    assert torch.all(reliability == 0)


def test_compose_mixes_warps_and_crossfade():
    warped0, warped1 = torch.full((3, 2, 2), 0.2), torch.full((3, 2, 2), 0.6)
    frame0, frame1 = torch.zeros(3, 2, 2), torch.ones(3, 2, 2)
    weight0 = torch.full((1, 2, 2), 0.5)
    out = compose(warped0, warped1, frame0, frame1, weight0, torch.ones(1, 2, 2), 0.5)
    assert torch.allclose(out, torch.full_like(out, 0.4))
    out = compose(warped0, warped1, frame0, frame1, weight0, torch.zeros(1, 2, 2), 0.25)
    assert torch.allclose(out, torch.full_like(out, 0.25))
