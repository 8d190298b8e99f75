"""cuda_kernels.correlation: reference vs a naive loop, gradients, API contract, CuPy vs reference."""

import pytest
import torch

from cuda_kernels import correlation, correlation_reference

CUDA = torch.cuda.is_available()


def naive_correlation(feat1, feat2, max_displacement):
    """Literal per-pixel transcription of the spec (PWC-Net cost volume, mean over channels)."""
    batch, channels, height, width = feat1.shape
    span = 2 * max_displacement + 1
    out = torch.zeros(batch, span * span, height, width, dtype=torch.float64)
    f1, f2 = feat1.double(), feat2.double()
    for b in range(batch):
        for dy in range(-max_displacement, max_displacement + 1):
            for dx in range(-max_displacement, max_displacement + 1):
                d = (dy + max_displacement) * span + (dx + max_displacement)
                for y in range(height):
                    for x in range(width):
                        y2, x2 = y + dy, x + dx
                        if 0 <= y2 < height and 0 <= x2 < width:
                            out[b, d, y, x] = (
                                sum(f1[b, c, y, x] * f2[b, c, y2, x2] for c in range(channels)) / channels
                            )
    return out


@pytest.mark.parametrize(
    ("shape", "max_displacement"),
    [((2, 3, 5, 6), 2), ((1, 1, 3, 4), 4), ((1, 5, 4, 4), 0), ((3, 2, 2, 7), 1)],
)
def test_reference_matches_naive_loop(shape, max_displacement):
    generator = torch.Generator().manual_seed(sum(shape) + max_displacement)
    feat1 = torch.randn(shape, generator=generator)
    feat2 = torch.randn(shape, generator=generator)
    expected = naive_correlation(feat1, feat2, max_displacement)
    actual = correlation(feat1, feat2, max_displacement)
    assert actual.shape == (shape[0], (2 * max_displacement + 1) ** 2, shape[2], shape[3])
    torch.testing.assert_close(actual.double(), expected, rtol=1e-5, atol=1e-6)


def test_channel_order_is_dy_major_then_dx():
    # feat2 is an impulse at (y=2, x=3); feat1 is all ones: only displacement (dy, dx) = (2-y, 3-x)
    # lights up at pixel (y, x), so the channel index tells the layout.
    feat1 = torch.ones(1, 1, 5, 6)
    feat2 = torch.zeros(1, 1, 5, 6)
    feat2[0, 0, 2, 3] = 1.0
    out = correlation(feat1, feat2, max_displacement=1)
    # pixel (1, 3): dy = +1, dx = 0 -> channel (1+1)*3 + (0+1) = 7
    assert out[0, :, 1, 3].argmax().item() == 7
    # pixel (2, 4): dy = 0, dx = -1 -> channel (0+1)*3 + (-1+1) = 3
    assert out[0, :, 2, 4].argmax().item() == 3
    assert out.sum().item() == pytest.approx(9.0)


def test_gradcheck_reference_float64():
    generator = torch.Generator().manual_seed(3)
    feat1 = torch.randn(2, 3, 4, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    feat2 = torch.randn(2, 3, 4, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: correlation(a, b, 2), (feat1, feat2))


def test_half_input_is_cast_in_and_out():
    feat1, feat2 = torch.randn(1, 4, 5, 5), torch.randn(1, 4, 5, 5)
    out = correlation(feat1.half(), feat2.half(), 1)
    assert out.dtype == torch.float16
    torch.testing.assert_close(
        out.float(), correlation(feat1.half().float(), feat2.half().float(), 1), atol=2e-3, rtol=2e-3
    )


def test_non_contiguous_inputs():
    base1, base2 = torch.randn(2, 6, 7, 3), torch.randn(2, 6, 7, 3)
    feat1, feat2 = base1.permute(0, 3, 1, 2), base2.permute(0, 3, 1, 2)[:, :, :, :]
    assert not feat1.is_contiguous()
    torch.testing.assert_close(
        correlation(feat1, feat2, 2), correlation(feat1.contiguous(), feat2.contiguous(), 2)
    )


def test_zero_batch():
    out = correlation(torch.randn(0, 3, 4, 4), torch.randn(0, 3, 4, 4), 1)
    assert out.shape == (0, 9, 4, 4)


@pytest.mark.parametrize(
    ("feat1", "feat2", "kwargs", "name"),
    [
        ("not a tensor", torch.zeros(1, 1, 2, 2), {}, "feat1"),
        (torch.zeros(1, 1, 2, 2, dtype=torch.int64), torch.zeros(1, 1, 2, 2), {}, "feat1"),
        (torch.zeros(1, 2, 2), torch.zeros(1, 2, 2), {}, "feat1"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2), {}, "feat2"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.bool), {}, "feat2"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, device="meta"), {}, "feat2"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), {"max_displacement": -1}, "max_displacement"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), {"max_displacement": 1.5}, "max_displacement"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), {"max_displacement": True}, "max_displacement"),
        (torch.zeros(1, 0, 2, 2), torch.zeros(1, 0, 2, 2), {}, "feat1"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(feat1, feat2, kwargs, name):
    with pytest.raises(ValueError, match=name):
        correlation(feat1, feat2, **kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cupy_kernel_matches_reference_on_gpu():
    pytest.importorskip("cupy")
    generator = torch.Generator().manual_seed(5)
    feat1 = torch.randn(2, 7, 13, 17, generator=generator).cuda().requires_grad_()
    feat2 = torch.randn(2, 7, 13, 17, generator=generator).cuda().requires_grad_()
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        out = correlation(feat1, feat2, 4)
        grad = torch.randn_like(out)
        grads = torch.autograd.grad(out, (feat1, feat2), grad)
    stream.synchronize()
    expected = correlation_reference(feat1, feat2, 4)
    expected_grads = torch.autograd.grad(expected, (feat1, feat2), grad)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for actual, wanted in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(actual, wanted, rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cupy_kernel_gradcheck_float64_on_gpu():
    pytest.importorskip("cupy")
    feat1 = torch.randn(1, 3, 5, 6, dtype=torch.float64, device="cuda", requires_grad=True)
    feat2 = torch.randn(1, 3, 5, 6, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: correlation(a, b, 2), (feat1, feat2))
