"""cuda_kernels.adaptive_warp: reference vs naive loop, gradients, API contract, CuPy vs reference."""

import math

import pytest
import torch
import torch.nn.functional as F

from cuda_kernels import adaptive_warp, adaptive_warp_reference

CUDA = torch.cuda.is_available()


def naive_adaptive_warp(image, flow, kernel):
    """Literal transcription of DAIN's FilterInterpolation forward (spec section 3.2, quadrant form).

    Returns (out, flow_grad_terms) in float64, where flow_grad_terms[b, :, c, y, x] holds the spec's
    per-channel derivatives d out / d fx = (1-beta)(TR-TL) + beta(BR-BL) and
    d out / d fy = (1-alpha)(BL-TL) + alpha(BR-TR) (zero for invalid pixels).
    """
    batch, channels, height, width = image.shape
    image, kernel = image.double(), kernel.double()
    out = torch.zeros(batch, channels, height, width, dtype=torch.float64)
    flow_terms = torch.zeros(batch, 2, channels, height, width, dtype=torch.float64)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                fx, fy = flow[b, 0, y, x].item(), flow[b, 1, y, x].item()
                # landing point in the flow's precision, exactly as the op computes it
                qx = (torch.tensor(x, dtype=flow.dtype) + flow[b, 0, y, x]).item()
                qy = (torch.tensor(y, dtype=flow.dtype) + flow[b, 1, y, x]).item()
                valid = (
                    math.isfinite(fx)
                    and math.isfinite(fy)
                    and 0 <= qx <= width - 1
                    and 0 <= qy <= height - 1
                    and abs(fx) < width / 2
                    and abs(fy) < height / 2
                )
                if not valid:
                    out[b, :, y, x] = image[b, :, y, x]
                    continue
                x0, y0 = math.floor(qx), math.floor(qy)
                alpha, beta = qx - x0, qy - y0

                def quadrant(rows, cols, b=b, y=y, x=x, x0=x0, y0=y0):
                    total = torch.zeros(channels, dtype=torch.float64)
                    for j in rows:
                        for i in cols:
                            row = min(max(y0 - 1 + j, 0), height - 1)
                            col = min(max(x0 - 1 + i, 0), width - 1)
                            total += kernel[b, 4 * j + i, y, x] * image[b, :, row, col]
                    return total

                top_left, top_right = quadrant((0, 1), (0, 1)), quadrant((0, 1), (2, 3))
                bottom_left, bottom_right = quadrant((2, 3), (0, 1)), quadrant((2, 3), (2, 3))
                out[b, :, y, x] = (
                    (1 - alpha) * (1 - beta) * top_left
                    + alpha * (1 - beta) * top_right
                    + (1 - alpha) * beta * bottom_left
                    + alpha * beta * bottom_right
                )
                flow_terms[b, 0, :, y, x] = (1 - beta) * (top_right - top_left) + beta * (
                    bottom_right - bottom_left
                )
                flow_terms[b, 1, :, y, x] = (1 - alpha) * (bottom_left - top_left) + alpha * (
                    bottom_right - top_right
                )
    return out, flow_terms


def special_flow(batch, height, width, seed, scale=2.0):
    """Random flow with integer landings, border landings, |f| >= size/2, exits and non-finite values."""
    generator = torch.Generator().manual_seed(seed)
    flow = torch.randn(batch, 2, height, width, generator=generator) * scale
    flow[:, :, 0, :3] = flow[:, :, 0, :3].round()  # exactly on integers
    flow[:, 0, 1, :] = (width - 1) - torch.arange(width, dtype=torch.float32)  # exactly on the right border
    flow[:, 1, 1, :] = 0.0
    flow[:, 0, 2, 0] = width / 2  # |fx| == W/2 is invalid even though q is inside
    flow[:, 1, 2, 0] = 0.0
    flow[:, 0, 2, 1] = -1.0 - 1e-3  # just outside on the left
    flow[:, 0, -1, -1] = float("nan")
    flow[:, 1, -1, -2] = float("inf")
    flow[:, 0, -2, 0] = 30.0
    return flow


@pytest.mark.parametrize(("shape", "seed"), [((2, 3, 6, 7), 0), ((1, 5, 5, 9), 1), ((1, 1, 9, 4), 2)])
def test_reference_matches_naive_loop(shape, seed):
    batch, channels, height, width = shape
    generator = torch.Generator().manual_seed(100 + seed)
    image = torch.rand(shape, generator=generator)
    kernel = torch.randn(batch, 16, height, width, generator=generator)
    flow = special_flow(batch, height, width, seed)
    expected, _ = naive_adaptive_warp(image, flow, kernel)
    actual = adaptive_warp(image, flow, kernel)
    assert actual.shape == shape
    assert torch.isfinite(actual).all()
    torch.testing.assert_close(actual.double(), expected, rtol=1e-5, atol=1e-5)


def test_bilinear_kernel_is_bilinear_warping():
    generator = torch.Generator().manual_seed(4)
    image = torch.rand(2, 3, 8, 10, generator=generator)
    flow = torch.rand(2, 2, 8, 10, generator=generator) * 3 - 1.5
    kernel = torch.zeros(2, 16, 8, 10)
    kernel[:, [5, 6, 9, 10]] = 1.0
    out = adaptive_warp(image, flow, kernel)
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(10.0), indexing="ij")
    qx, qy = xs + flow[:, 0], ys + flow[:, 1]
    grid = torch.stack([qx / 9 * 2 - 1, qy / 7 * 2 - 1], dim=-1)
    expected = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
    inside = ((qx >= 0) & (qx <= 9) & (qy >= 0) & (qy <= 7)).unsqueeze(1).expand_as(out)
    assert inside.float().mean() > 0.5
    torch.testing.assert_close(out[inside], expected[inside], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[~inside], image[~inside])  # out-of-range pixels copy the source


def smooth_inputs(batch, channels, height, width, seed):
    """Landing points at least 0.15 px away from integers, inside the image, |f| < size/2 - 0.2."""
    generator = torch.Generator().manual_seed(seed)
    xs = torch.arange(width, dtype=torch.float64).view(1, 1, width)
    ys = torch.arange(height, dtype=torch.float64).view(1, height, 1)

    def offsets(size, coords):
        limit = int(size / 2 - 1)
        step = torch.randint(-limit, limit, (batch, height, width), generator=generator).double()
        target = (coords + step).clamp(0, size - 2)
        return target - coords

    frac = 0.15 + 0.7 * torch.rand(batch, 2, height, width, generator=generator, dtype=torch.float64)
    flow = torch.stack([offsets(width, xs), offsets(height, ys)], dim=1) + frac
    flow[:, 0, 0, 0] = -5.0  # an invalid (copied) pixel
    image = torch.rand(batch, channels, height, width, generator=generator, dtype=torch.float64)
    kernel = torch.randn(batch, 16, height, width, generator=generator, dtype=torch.float64)
    return image, flow, kernel


def test_gradcheck_reference_float64():
    image, flow, kernel = smooth_inputs(2, 2, 5, 6, seed=7)
    inputs = tuple(t.requires_grad_() for t in (image, flow, kernel))
    assert torch.autograd.gradcheck(adaptive_warp, inputs)


def test_gradients_match_spec_formulas():
    image, flow, kernel = smooth_inputs(1, 3, 5, 6, seed=8)
    flow[0, :, 3, 3] = float("nan")
    image.requires_grad_()
    flow.requires_grad_()
    kernel.requires_grad_()
    out = adaptive_warp(image, flow, kernel)
    grad = torch.randn_like(out)
    grad_image, grad_flow, grad_kernel = torch.autograd.grad(out, (image, flow, kernel), grad)
    _, flow_terms = naive_adaptive_warp(image.detach(), flow.detach(), kernel.detach())
    torch.testing.assert_close(grad_flow, (flow_terms * grad.unsqueeze(1)).sum(2))
    # copied pixels (invalid flow) pass their gradient to image(p) and give none to flow or kernel
    assert grad_flow[0, :, 0, 0].abs().sum() == 0 and grad_kernel[0, :, 0, 0].abs().sum() == 0
    assert grad_flow[0, :, 3, 3].abs().sum() == 0 and grad_kernel[0, :, 3, 3].abs().sum() == 0
    # image gradient: out is linear in image, so it is the transpose of the forward map
    probe = torch.randn_like(image)
    lhs = (adaptive_warp(probe, flow.detach(), kernel.detach()) * grad).sum()
    torch.testing.assert_close(lhs, (grad_image * probe).sum())
    assert torch.isfinite(grad_image).all()


def test_non_finite_flow_copies_source_and_keeps_gradients_finite():
    image = torch.rand(1, 2, 5, 5, requires_grad=True)
    flow = torch.full((1, 2, 5, 5), float("nan"), requires_grad=True)
    kernel = torch.randn(1, 16, 5, 5)
    kernel[0, :, 2, 2] = float("nan")  # a kernel value of a copied pixel must not reach any gradient
    kernel.requires_grad_()
    out = adaptive_warp(image, flow, kernel)
    torch.testing.assert_close(out, image)
    grads = torch.autograd.grad(out.sum(), (image, flow, kernel))
    assert all(torch.isfinite(g).all() for g in grads)
    torch.testing.assert_close(grads[0], torch.ones_like(image))


def test_half_and_float64_dtypes():
    image, flow, kernel = torch.rand(1, 3, 6, 6), torch.randn(1, 2, 6, 6), torch.rand(1, 16, 6, 6) / 4
    out = adaptive_warp(image.half(), flow.half(), kernel.half())
    assert out.dtype == torch.float16
    expected = adaptive_warp(image.half().float(), flow.half().float(), kernel.half().float())
    torch.testing.assert_close(out.float(), expected, atol=2e-3, rtol=2e-3)
    assert adaptive_warp(image.double(), flow, kernel).dtype == torch.float64


def test_many_channels_and_non_contiguous_inputs():
    generator = torch.Generator().manual_seed(9)
    image = torch.rand(2, 7, 9, 40, generator=generator)[:, :, :, ::4]  # strided view, C = 7
    flow = (torch.randn(2, 9, 10, 2, generator=generator) * 2).permute(0, 3, 1, 2)
    kernel = torch.randn(2, 9, 10, 16, generator=generator).permute(0, 3, 1, 2)
    assert not (image.is_contiguous() or flow.is_contiguous() or kernel.is_contiguous())
    expected = adaptive_warp(image.contiguous(), flow.contiguous(), kernel.contiguous())
    torch.testing.assert_close(adaptive_warp(image, flow, kernel), expected)
    torch.testing.assert_close(adaptive_warp_reference(image, flow, kernel), expected)


@pytest.mark.parametrize(
    ("image", "flow", "kernel", "name"),
    [
        ([[1.0]], torch.zeros(1, 2, 3, 3), torch.zeros(1, 16, 3, 3), "image"),
        (torch.zeros(1, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 16, 3, 3), "image"),
        (
            torch.zeros(1, 3, 3, 3, dtype=torch.uint8),
            torch.zeros(1, 2, 3, 3),
            torch.zeros(1, 16, 3, 3),
            "image",
        ),
        (torch.zeros(1, 0, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 16, 3, 3), "image"),
        (torch.zeros(1, 3, 3, 3), torch.zeros(1, 1, 3, 3), torch.zeros(1, 16, 3, 3), "flow"),
        (torch.zeros(1, 3, 3, 3), torch.zeros(1, 2, 3, 4), torch.zeros(1, 16, 3, 3), "flow"),
        (torch.zeros(1, 3, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 9, 3, 3), "kernel"),
        (torch.zeros(1, 3, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(2, 16, 3, 3), "kernel"),
        (torch.zeros(1, 3, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 16, 3, 3, device="meta"), "kernel"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(image, flow, kernel, name):
    with pytest.raises(ValueError, match=name):
        adaptive_warp(image, flow, kernel)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("channels", [3, 196])
def test_cupy_kernel_matches_reference_on_gpu(channels):
    pytest.importorskip("cupy")
    generator = torch.Generator().manual_seed(10)
    image = torch.rand(2, channels, 31, 45, generator=generator).cuda().requires_grad_()
    flow = special_flow(2, 31, 45, seed=10, scale=5.0).cuda().requires_grad_()
    kernel = torch.randn(2, 16, 31, 45, generator=generator).cuda().requires_grad_()
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        out = adaptive_warp(image, flow, kernel)
        grad = torch.randn_like(out)
        grads = torch.autograd.grad(out, (image, flow, kernel), grad)
    stream.synchronize()
    expected = adaptive_warp_reference(image, flow, kernel)
    expected_grads = torch.autograd.grad(expected, (image, flow, kernel), grad)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    for actual, wanted in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(actual, wanted, rtol=1e-4, atol=1e-3)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cupy_kernel_gradcheck_float64_on_gpu():
    pytest.importorskip("cupy")
    inputs = tuple(t.cuda().requires_grad_() for t in smooth_inputs(1, 2, 5, 6, seed=11))
    assert torch.autograd.gradcheck(adaptive_warp, inputs)
