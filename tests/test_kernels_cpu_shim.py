"""The CUDA sources themselves, run on the CPU through the C++ shim, match the PyTorch references.

The shim (cuda_kernels/testing/shim/cuda_cpu_shim.h + cuda_kernels/testing/cpu_shim.py) compiles
each .cu with g++ and runs its kernels serially over the launch grid; ShimLauncher plugs it into
the very autograd Functions that the CuPy path uses, so forward, backward and the launch
orchestration are all tested.
"""

import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cuda_kernels import adaptive_warp_reference, correlation_reference, depth_flow_projection_reference
from cuda_kernels._cupy_launch import kernel_source
from cuda_kernels.adaptive_warp_op import _AdaptiveWarpKernel
from cuda_kernels.correlation_op import _CorrelationKernel
from cuda_kernels.depth_flow_projection_op import _DepthFlowProjectionKernel
from cuda_kernels.testing.cpu_shim import (
    ShimLauncher,
    build_shim_from_source,
    build_shim_library,
    kernel_signatures,
)

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="the CPU shim needs g++")

DTYPES = [torch.float32, torch.float64]
# the default 256-thread launch, and a tiny grid whose threads each take several grid strides
LAUNCHERS = [ShimLauncher(), ShimLauncher(threads_per_block=32, max_blocks=3)]
LAUNCHER_IDS = ["default-grid", "strided-grid"]


def tolerance(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}


def assert_forward_backward_match(kernel_fn, reference_fn, inputs, dtype, seed=0):
    inputs = [t.to(dtype).requires_grad_() for t in inputs]
    out = kernel_fn(*inputs)
    expected = reference_fn(*inputs)
    torch.testing.assert_close(out, expected, **tolerance(dtype))
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(
        dtype
    )
    grads = torch.autograd.grad(out, inputs, grad)
    expected_grads = torch.autograd.grad(expected, inputs, grad)
    for actual, wanted in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(actual, wanted, **tolerance(dtype))


def random_flow(batch, height, width, seed, scale):
    generator = torch.Generator().manual_seed(seed)
    flow = torch.randn(batch, 2, height, width, generator=generator) * scale
    flow[:, :, ::3, ::2] = flow[:, :, ::3, ::2].round()  # integer landings
    flow[:, 0, 1, :] = (width - 1) - torch.arange(width, dtype=torch.float32)  # right border
    flow[:, 0, -1, -1] = float("nan")
    flow[:, 1, -1, 0] = float("inf")
    return flow


@pytest.mark.parametrize("scalar_type", ["float", "double"])
@pytest.mark.parametrize("file_name", ["correlation.cu", "depth_flow_projection.cu", "adaptive_warp.cu"])
def test_every_source_builds_with_all_its_kernels(file_name, scalar_type):
    library = build_shim_library(file_name, scalar_type)
    names = [s.name for s in kernel_signatures(kernel_source(file_name, scalar_type))]
    assert library.kernel_names == names and len(names) >= 3


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=LAUNCHER_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_correlation(dtype, launcher):
    generator = torch.Generator().manual_seed(1)
    feat1, feat2 = torch.randn(2, 3, 6, 7, generator=generator), torch.randn(2, 3, 6, 7, generator=generator)
    assert_forward_backward_match(
        lambda a, b: _CorrelationKernel.apply(a, b, 3, launcher),
        lambda a, b: correlation_reference(a, b, 3),
        [feat1, feat2],
        dtype,
    )


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=LAUNCHER_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("fill_holes", "exact_grad"), [(False, True), (True, True), (False, False), (True, False)]
)
def test_depth_flow_projection(fill_holes, exact_grad, dtype, launcher):
    flow = random_flow(2, 9, 11, seed=2, scale=3.0)
    inverse_depth = torch.rand(2, 1, 9, 11, generator=torch.Generator().manual_seed(3)) + 0.1
    inverse_depth[:, :, 4, 4] = float("nan")
    inverse_depth[:, :, 4, 5] = 0.0
    assert_forward_backward_match(
        lambda f, w: _DepthFlowProjectionKernel.apply(f, w, fill_holes, exact_grad, launcher),
        lambda f, w: depth_flow_projection_reference(f, w, fill_holes, exact_grad),
        [flow, inverse_depth],
        dtype,
    )


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=LAUNCHER_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 5])
def test_adaptive_warp(channels, dtype, launcher):
    generator = torch.Generator().manual_seed(4 + channels)
    image = torch.rand(2, channels, 9, 11, generator=generator)
    flow = random_flow(2, 9, 11, seed=channels, scale=3.0)
    kernel = torch.randn(2, 16, 9, 11, generator=generator)
    assert_forward_backward_match(
        lambda i, f, k: _AdaptiveWarpKernel.apply(i, f, k, launcher),
        adaptive_warp_reference,
        [image, flow, kernel],
        dtype,
    )


def test_partial_gradients_only_compute_what_is_needed():
    # needs_input_grad paths: null output pointers must be accepted by the kernels
    launcher = LAUNCHERS[1]
    image = torch.rand(1, 3, 6, 7)
    flow = random_flow(1, 6, 7, seed=5, scale=2.0).requires_grad_()
    kernel = torch.randn(1, 16, 6, 7)
    (grad_flow,) = torch.autograd.grad(
        _AdaptiveWarpKernel.apply(image, flow, kernel, launcher).sum(), (flow,)
    )
    (expected,) = torch.autograd.grad(adaptive_warp_reference(image, flow, kernel).sum(), (flow,))
    torch.testing.assert_close(grad_flow, expected)
    inverse_depth = (torch.rand(1, 1, 6, 7) + 0.5).requires_grad_()
    out = _DepthFlowProjectionKernel.apply(flow.detach(), inverse_depth, True, True, launcher)
    (grad_depth,) = torch.autograd.grad(out.sum(), (inverse_depth,))
    (expected,) = torch.autograd.grad(
        depth_flow_projection_reference(flow.detach(), inverse_depth).sum(), (inverse_depth,)
    )
    torch.testing.assert_close(grad_depth, expected)
    feat1, feat2 = torch.randn(1, 2, 5, 6), torch.randn(1, 2, 5, 6).requires_grad_()
    (grad_feat2,) = torch.autograd.grad(_CorrelationKernel.apply(feat1, feat2, 2, launcher).sum(), (feat2,))
    (expected,) = torch.autograd.grad(correlation_reference(feat1, feat2, 2).sum(), (feat2,))
    torch.testing.assert_close(grad_feat2, expected)


def test_larger_frame_splat_runs():
    flow = random_flow(1, 72, 128, seed=6, scale=8.0)
    inverse_depth = torch.rand(1, 1, 72, 128, generator=torch.Generator().manual_seed(7)) + 0.1
    out = _DepthFlowProjectionKernel.apply(flow, inverse_depth, True, True, ShimLauncher())
    torch.testing.assert_close(
        out, depth_flow_projection_reference(flow, inverse_depth), rtol=1e-5, atol=1e-5
    )


def test_build_errors_are_raised_with_the_compiler_output():
    source = (
        'typedef float scalar_t;\nextern "C" __global__ void broken(scalar_t* out) { out[0] = missing; }\n'
    )
    with pytest.raises(RuntimeError, match="missing"):
        build_shim_from_source(source, "broken", "float")


def test_library_launch_checks_its_arguments():
    library = build_shim_library("correlation.cu", "float")
    good = np.zeros((1, 1, 2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="arguments"):
        library.launch("correlation_forward", (1,), (32,), good, good)
    with pytest.raises(ValueError, match="feat1"):
        library.launch("correlation_forward", (1,), (32,), good.astype(np.float64), good, good, 1, 1, 2, 2, 0)


def test_kernel_signature_parsing():
    source = 'extern "C" __global__ void k(const scalar_t* __restrict__ a, scalar_t* b, const int n) {}'
    (signature,) = kernel_signatures(source)
    assert signature.name == "k"
    assert signature.parameters == (
        ("const scalar_t* __restrict__", "a"),
        ("scalar_t*", "b"),
        ("const int", "n"),
    )


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 2),
    channels=st.integers(1, 4),
    height=st.integers(1, 8),
    width=st.integers(1, 8),
    max_displacement=st.integers(0, 3),
    scale=st.sampled_from([0.0, 0.5, 3.0, 20.0]),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_match_reference(batch, channels, height, width, max_displacement, scale, seed):
    """All three ops, any small shape (1-pixel images included), forward only, float64."""
    generator = torch.Generator().manual_seed(seed)
    dtype = torch.float64
    launcher = ShimLauncher(threads_per_block=16, max_blocks=2)
    flow = (torch.randn(batch, 2, height, width, generator=generator) * scale).to(dtype)
    rounded = torch.rand(flow.shape, generator=generator) < 0.3
    flow[rounded] = flow[rounded].round()  # integer landings
    flow.view(-1)[torch.randint(0, flow.numel(), (1,), generator=generator)] = float("nan")
    weight = torch.rand(batch, 1, height, width, generator=generator, dtype=dtype) + 0.05
    image = torch.rand(batch, channels, height, width, generator=generator, dtype=dtype)
    other = torch.rand(batch, channels, height, width, generator=generator, dtype=dtype)
    kernel = torch.randn(batch, 16, height, width, generator=generator, dtype=dtype)
    torch.testing.assert_close(
        _CorrelationKernel.apply(image, other, max_displacement, launcher),
        correlation_reference(image, other, max_displacement),
    )
    for fill_holes in (False, True):
        torch.testing.assert_close(
            _DepthFlowProjectionKernel.apply(flow, weight, fill_holes, True, launcher),
            depth_flow_projection_reference(flow, weight, fill_holes, True),
        )
    torch.testing.assert_close(
        _AdaptiveWarpKernel.apply(image, flow, kernel, launcher), adaptive_warp_reference(image, flow, kernel)
    )
