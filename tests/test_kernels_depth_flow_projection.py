"""cuda_kernels.depth_flow_projection: reference vs naive loop, gradients, API, CuPy vs reference."""

import math

import pytest
import torch

from cuda_kernels import depth_flow_projection, depth_flow_projection_reference

CUDA = torch.cuda.is_available()


def naive_projection(flow, inverse_depth, fill_holes):
    """Literal per-pixel transcription of DAIN's DepthFlowProjection (spec section 3.1).

    Returns (out, count) in float64; source pixels with non-finite flow/weight or weight <= 0 skip.
    """
    batch, _, height, width = flow.shape
    flow_in = flow
    flow, weight = flow.double(), inverse_depth.double()
    out = torch.zeros(batch, 2, height, width, dtype=torch.float64)
    count = torch.zeros(batch, height, width, dtype=torch.float64)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                fx, fy, w = flow[b, 0, y, x].item(), flow[b, 1, y, x].item(), weight[b, 0, y, x].item()
                if not (math.isfinite(fx) and math.isfinite(fy) and math.isfinite(w) and w > 0):
                    continue
                # landing point in the flow's precision, exactly as the op computes it
                qx = (torch.tensor(x, dtype=flow_in.dtype) + flow_in[b, 0, y, x]).item()
                qy = (torch.tensor(y, dtype=flow_in.dtype) + flow_in[b, 1, y, x]).item()
                if not (0 <= qx <= width - 1 and 0 <= qy <= height - 1):
                    continue
                left, top = int(math.floor(qx)), int(math.floor(qy))
                right, bottom = min(left + 1, width - 1), min(top + 1, height - 1)
                for cy, cx in ((top, left), (top, right), (bottom, left), (bottom, right)):
                    out[b, 0, cy, cx] += -w * fx
                    out[b, 1, cy, cx] += -w * fy
                    count[b, cy, cx] += w
        for y in range(height):
            for x in range(width):
                if count[b, y, x] > 0:
                    out[b, :, y, x] /= count[b, y, x]
        if fill_holes:
            filled = out[b].clone()
            for y in range(height):
                for x in range(width):
                    if count[b, y, x] > 0:
                        continue
                    found = []
                    for step_y, step_x in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                        cy, cx = y + step_y, x + step_x
                        while 0 <= cy < height and 0 <= cx < width and count[b, cy, cx] == 0:
                            cy, cx = cy + step_y, cx + step_x
                        if 0 <= cy < height and 0 <= cx < width:
                            found.append(out[b, :, cy, cx])
                    if found:
                        filled[:, y, x] = sum(found) / len(found)
            out[b] = filled
    return out, count


def special_flow(batch, height, width, seed, scale=2.5):
    """Random flow with integer landings, right/bottom-border landings, exits and non-finite values."""
    generator = torch.Generator().manual_seed(seed)
    flow = torch.randn(batch, 2, height, width, generator=generator) * scale
    flow[:, :, 0, :2] = flow[:, :, 0, :2].round()  # land exactly on integers
    xs = torch.arange(width, dtype=torch.float32)
    flow[:, 0, 1, :] = (width - 1) - xs  # land exactly on the right border
    flow[:, 1, 1, :3] = 0.0
    flow[:, 1, 2, 1] = (height - 1) - 2.0  # exactly on the bottom border
    flow[:, 0, 2, 2] = -2.0 - 1e-3  # just outside on the left
    flow[:, 0, -1, -1] = float("nan")
    flow[:, 1, -1, -2] = float("inf")
    flow[:, 0, -2, 0] = -float("inf")
    flow[:, 0, -2, 1] = 40.0  # far outside
    return flow


def special_depth(batch, height, width, seed):
    generator = torch.Generator().manual_seed(seed + 1)
    weight = torch.rand(batch, 1, height, width, generator=generator) * 2 + 0.05
    weight[:, 0, 3, 3] = 0.0
    weight[:, 0, 3, 4] = float("nan")
    return weight


@pytest.mark.parametrize("fill_holes", [False, True])
@pytest.mark.parametrize(("shape", "seed"), [((2, 6, 7), 0), ((1, 5, 9), 1), ((1, 8, 5), 2)])
def test_reference_matches_naive_loop(shape, seed, fill_holes):
    flow = special_flow(*shape, seed)
    inverse_depth = special_depth(*shape, seed)
    expected, _ = naive_projection(flow, inverse_depth, fill_holes)
    actual = depth_flow_projection(flow, inverse_depth, fill_holes=fill_holes)
    assert actual.shape == flow.shape
    assert torch.isfinite(actual).all()
    torch.testing.assert_close(actual.double(), expected, rtol=1e-5, atol=1e-5)


def test_sparse_projection_leaves_holes_and_fills_them():
    # Everything flies out of the image except two pixels, so most of the output is holes.
    flow = torch.full((1, 2, 6, 8), 100.0)
    flow[0, :, 1, 1] = torch.tensor([0.5, 0.5])
    flow[0, :, 4, 6] = torch.tensor([-0.25, 0.0])
    inverse_depth = torch.ones(1, 1, 6, 8)
    holes = depth_flow_projection(flow, inverse_depth, fill_holes=False)
    filled = depth_flow_projection(flow, inverse_depth, fill_holes=True)
    assert (holes.abs().sum(1) > 0).sum().item() == 8  # two 2x2 footprints
    assert torch.isfinite(filled).all() and (filled.abs().sum(1) > 0).sum().item() == 6 * 8 - 8
    # rows 0 and 3 x columns 0, 3, 4, 7 have no covered pixel in their row or column: they stay 0
    assert (filled[0][:, [0, 3]][:, :, [0, 3, 4, 7]] == 0).all()
    for fill in (False, True):
        expected, _ = naive_projection(flow, inverse_depth, fill)
        torch.testing.assert_close(
            depth_flow_projection(flow, inverse_depth, fill_holes=fill).double(), expected
        )
    # no covered pixel at all: everything stays zero
    nothing = depth_flow_projection(torch.full((1, 2, 4, 4), 50.0), torch.ones(1, 1, 4, 4))
    assert (nothing == 0).all()


def test_nearer_pixel_dominates():
    # Two source pixels land on the same footprint; the one with 100x the inverse depth wins.
    flow = torch.full((1, 2, 5, 5), 100.0)
    flow[0, :, 1, 1] = torch.tensor([1.5, 1.5])  # lands at (2.5, 2.5)
    flow[0, :, 3, 3] = torch.tensor([-0.5, -0.5])  # lands at (2.5, 2.5)
    inverse_depth = torch.ones(1, 1, 5, 5)
    inverse_depth[0, 0, 1, 1] = 100.0
    out = depth_flow_projection(flow, inverse_depth, fill_holes=False)
    expected = -(100 * torch.tensor([1.5, 1.5]) + torch.tensor([-0.5, -0.5])) / 101
    torch.testing.assert_close(out[0, :, 2, 2], expected)
    torch.testing.assert_close(out[0, :, 3, 3], expected)


def smooth_inputs(batch, height, width, seed):
    """Landing points at fractional positions at least 0.15 px from integers and inside the image."""
    generator = torch.Generator().manual_seed(seed)
    xs = torch.arange(width, dtype=torch.float64).view(1, 1, width)
    ys = torch.arange(height, dtype=torch.float64).view(1, height, 1)
    target_x = torch.randint(0, width - 1, (batch, height, width), generator=generator).double()
    target_y = torch.randint(0, height - 1, (batch, height, width), generator=generator).double()
    frac = 0.15 + 0.7 * torch.rand(batch, 2, height, width, generator=generator, dtype=torch.float64)
    flow = torch.stack([target_x - xs, target_y - ys], dim=1) + frac
    flow[:, :, 0, 0] = 30.0  # one source pixel leaves the image
    inverse_depth = 0.2 + torch.rand(batch, 1, height, width, generator=generator, dtype=torch.float64)
    return flow, inverse_depth


@pytest.mark.parametrize("fill_holes", [False, True])
def test_gradcheck_reference_true_derivative(fill_holes):
    flow, inverse_depth = smooth_inputs(2, 4, 5, seed=7)
    flow.requires_grad_()
    inverse_depth.requires_grad_()

    def project(f, w):
        return depth_flow_projection(f, w, fill_holes=fill_holes, exact_grad=True)

    assert (depth_flow_projection(flow, inverse_depth, fill_holes=False) == 0).any()  # holes exist
    assert torch.autograd.gradcheck(project, (flow, inverse_depth))


def test_official_weight_gradient_formula():
    # exact_grad=False: grad_w(p) = sum_c sum_ch -g(c) / count(c) * (f(p) - out(c)); flow gradient unchanged.
    flow, inverse_depth = smooth_inputs(1, 4, 5, seed=11)
    flow.requires_grad_()
    inverse_depth.requires_grad_()
    out = depth_flow_projection(flow, inverse_depth, fill_holes=False, exact_grad=False)
    grad = torch.randn_like(out)
    grad_flow, grad_depth = torch.autograd.grad(out, (flow, inverse_depth), grad)
    exact_out = depth_flow_projection(flow, inverse_depth, fill_holes=False, exact_grad=True)
    exact_grad_flow, exact_grad_depth = torch.autograd.grad(exact_out, (flow, inverse_depth), grad)
    torch.testing.assert_close(grad_flow, exact_grad_flow)
    assert not torch.allclose(grad_depth, exact_grad_depth)

    reference_out, count = naive_projection(flow.detach(), inverse_depth.detach(), fill_holes=False)
    expected_flow = torch.zeros_like(grad_flow)
    expected_official = torch.zeros_like(grad_depth)
    expected_exact = torch.zeros_like(grad_depth)
    _, _, height, width = flow.shape
    f = flow.detach()
    for y in range(height):
        for x in range(width):
            qx, qy = x + f[0, 0, y, x].item(), y + f[0, 1, y, x].item()
            if not (0 <= qx <= width - 1 and 0 <= qy <= height - 1):
                continue
            left, top = math.floor(qx), math.floor(qy)
            right, bottom = min(left + 1, width - 1), min(top + 1, height - 1)
            for cy, cx in ((top, left), (top, right), (bottom, left), (bottom, right)):
                g = grad[0, :, cy, cx] / count[0, cy, cx]
                expected_flow[0, :, y, x] += -g * inverse_depth[0, 0, y, x].item()
                expected_official[0, 0, y, x] += (-g * (f[0, :, y, x] - reference_out[0, :, cy, cx])).sum()
                expected_exact[0, 0, y, x] += (-g * (f[0, :, y, x] + reference_out[0, :, cy, cx])).sum()
    torch.testing.assert_close(grad_flow, expected_flow)
    torch.testing.assert_close(grad_depth, expected_official)
    torch.testing.assert_close(exact_grad_depth, expected_exact)


def test_non_finite_inputs_do_not_leak_into_outputs_or_gradients():
    flow = special_flow(1, 6, 7, seed=3).requires_grad_()
    inverse_depth = special_depth(1, 6, 7, seed=3).requires_grad_()
    for exact in (True, False):
        out = depth_flow_projection(flow, inverse_depth, fill_holes=True, exact_grad=exact)
        grad_flow, grad_depth = torch.autograd.grad(out.sum(), (flow, inverse_depth))
        assert torch.isfinite(out).all()
        assert torch.isfinite(grad_flow).all() and torch.isfinite(grad_depth).all()
        assert grad_flow[0, :, -1, -1].abs().sum() == 0 and grad_depth[0, 0, 3, 4] == 0


def test_half_and_float64_dtypes():
    flow, inverse_depth = special_flow(1, 5, 6, seed=4), special_depth(1, 5, 6, seed=4).nan_to_num(1.0)
    out_half = depth_flow_projection(flow.half(), inverse_depth.half())
    assert out_half.dtype == torch.float16
    expected = depth_flow_projection(flow.half().float(), inverse_depth.half().float())
    torch.testing.assert_close(out_half.float(), expected, atol=1e-2, rtol=1e-2)
    assert depth_flow_projection(flow.double(), inverse_depth).dtype == torch.float64


def test_non_contiguous_inputs():
    flow = special_flow(2, 6, 7, seed=5)
    inverse_depth = special_depth(2, 6, 7, seed=5)
    flow_t = flow.transpose(2, 3).contiguous().transpose(2, 3)
    depth_t = inverse_depth.expand(2, 1, 6, 7)[:, :, :, :]
    assert not flow_t.is_contiguous()
    torch.testing.assert_close(
        depth_flow_projection(flow_t, depth_t), depth_flow_projection(flow, inverse_depth)
    )


def test_reference_function_matches_public_function():
    flow, inverse_depth = special_flow(1, 5, 6, seed=6), special_depth(1, 5, 6, seed=6)
    torch.testing.assert_close(
        depth_flow_projection_reference(flow, inverse_depth, True, True),
        depth_flow_projection(flow, inverse_depth),
    )


@pytest.mark.parametrize(
    ("flow", "inverse_depth", "kwargs", "name"),
    [
        (None, torch.ones(1, 1, 3, 3), {}, "flow"),
        (torch.zeros(1, 3, 3, 3), torch.ones(1, 1, 3, 3), {}, "flow"),
        (torch.zeros(1, 2, 3, 3, dtype=torch.int32), torch.ones(1, 1, 3, 3), {}, "flow"),
        (torch.zeros(2, 3, 3), torch.ones(1, 1, 3, 3), {}, "flow"),
        (torch.zeros(1, 2, 3, 3), torch.ones(1, 2, 3, 3), {}, "inverse_depth"),
        (torch.zeros(1, 2, 3, 3), torch.ones(1, 1, 3, 4), {}, "inverse_depth"),
        (torch.zeros(1, 2, 3, 3), torch.ones(2, 1, 3, 3), {}, "inverse_depth"),
        (torch.zeros(1, 2, 3, 3), torch.ones(1, 1, 3, 3, device="meta"), {}, "inverse_depth"),
        (torch.zeros(1, 2, 3, 3), torch.ones(1, 1, 3, 3), {"fill_holes": 1}, "fill_holes"),
        (torch.zeros(1, 2, 3, 3), torch.ones(1, 1, 3, 3), {"exact_grad": "yes"}, "exact_grad"),
        (torch.zeros(1, 2, 0, 3), torch.ones(1, 1, 0, 3), {}, "flow"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(flow, inverse_depth, kwargs, name):
    with pytest.raises(ValueError, match=name):
        depth_flow_projection(flow, inverse_depth, **kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("fill_holes", [False, True])
@pytest.mark.parametrize("exact_grad", [True, False])
def test_cupy_kernel_matches_reference_on_gpu(fill_holes, exact_grad):
    pytest.importorskip("cupy")
    flow = special_flow(2, 37, 53, seed=8, scale=6.0).cuda().requires_grad_()
    inverse_depth = special_depth(2, 37, 53, seed=8).cuda().requires_grad_()
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        out = depth_flow_projection(flow, inverse_depth, fill_holes=fill_holes, exact_grad=exact_grad)
        grad = torch.randn_like(out)
        grads = torch.autograd.grad(out, (flow, inverse_depth), grad)
    stream.synchronize()
    expected = depth_flow_projection_reference(flow, inverse_depth, fill_holes, exact_grad)
    expected_grads = torch.autograd.grad(expected, (flow, inverse_depth), grad)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    for actual, wanted in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(actual, wanted, rtol=1e-4, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cupy_kernel_gradcheck_float64_on_gpu():
    pytest.importorskip("cupy")
    flow, inverse_depth = smooth_inputs(1, 4, 5, seed=9)
    flow = flow.cuda().requires_grad_()
    inverse_depth = inverse_depth.cuda().requires_grad_()
    assert torch.autograd.gradcheck(lambda f, w: depth_flow_projection(f, w), (flow, inverse_depth))
