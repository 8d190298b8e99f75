"""The classic engine on synthetic scenes with known motion (ground truth computable)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dain.engines.base import create_interpolator
from dain.engines.classic.engine import ClassicInterpolator, ClassicSettings

HEIGHT, WIDTH = 96, 128
SQUARE = 28
START = (20, 30)  # (y, x) of the square's top-left corner at t = 0
MOTION = (6, 10)  # (dy, dx) in pixels from t = 0 to t = 1 (even: the t = 0.5 frame is exact)


def _texture(seed: int, height: int, width: int) -> np.ndarray:
    """(3,h,w) random colour texture in [0.1, 0.9] with detail at every scale, like natural images."""
    rng = np.random.default_rng(seed)
    total = torch.zeros(1, 3, height, width)
    for cell, amplitude in ((16, 1.0), (8, 0.6), (4, 0.35)):
        coarse = torch.from_numpy(
            rng.random((1, 3, height // cell + 2, width // cell + 2)).astype(np.float32)
        )
        fine = torch.nn.functional.interpolate(coarse, scale_factor=cell, mode="bicubic", align_corners=False)
        total += amplitude * (fine[:, :, :height, :width] - 0.5)
    return (0.5 + 0.4 * total[0] / 1.95 * 2).clamp(0.1, 0.9).numpy()


def _scene(t: float, motion: tuple[int, int] = MOTION) -> torch.Tensor:
    """(3,H,W): static textured background with a textured square translated by t·motion."""
    frame = _texture(1, HEIGHT, WIDTH).copy()
    square = _texture(2, SQUARE, SQUARE)
    y = START[0] + round(t * motion[0])
    x = START[1] + round(t * motion[1])
    frame[:, y : y + SQUARE, x : x + SQUARE] = square
    return torch.from_numpy(frame)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * np.log10(1.0 / max(mse, 1e-12))


@pytest.fixture(scope="module")
def engine() -> ClassicInterpolator:
    return ClassicInterpolator(device=torch.device("cpu"))


def test_registry_builds_classic():
    engine = create_interpolator("classic", device="cpu")
    assert isinstance(engine, ClassicInterpolator)
    assert engine.name == "classic"


def test_translating_square_is_reconstructed(engine):
    frame0, frame1, truth = _scene(0.0), _scene(1.0), _scene(0.5)
    out = engine.interpolate(frame0, frame1, [0.5])
    assert out.shape == (1, 3, HEIGHT, WIDTH) and out.dtype == torch.float32
    blend = 0.5 * (frame0 + frame1)
    psnr_out, psnr_blend = _psnr(out[0], truth), _psnr(blend, truth)
    assert psnr_out > 33.0, psnr_out
    assert psnr_out > psnr_blend + 4.0, (psnr_out, psnr_blend)


def test_foreground_stays_intact_where_it_occludes(engine):
    """Inside the moving square at t = 0.5 the result is the square, not a mix with the background."""
    frame0, frame1, truth = _scene(0.0), _scene(1.0), _scene(0.5)
    out = engine.interpolate(frame0, frame1, [0.5])[0]
    y = START[0] + MOTION[0] // 2
    x = START[1] + MOTION[1] // 2
    inner = (slice(None), slice(y + 2, y + SQUARE - 2), slice(x + 2, x + SQUARE - 2))
    error = (out[inner] - truth[inner]).abs().mean()
    blend_error = (0.5 * (frame0 + frame1) - truth)[inner].abs().mean()
    assert error < 0.02, float(error)
    assert error < 0.2 * blend_error


def test_other_phases_follow_the_motion(engine):
    frame0, frame1 = _scene(0.0), _scene(1.0)
    out = engine.interpolate(frame0, frame1, [0.25, 0.5, 0.75])
    assert out.shape == (3, 3, HEIGHT, WIDTH)
    # t = 0.5 exact; t = 0.25 / 0.75 rendered with rounding of the square's position to whole pixels
    assert _psnr(out[1], _scene(0.5)) > 33.0
    for index, t in ((0, 0.25), (2, 0.75)):
        assert _psnr(out[index], _scene(t)) > _psnr(torch.lerp(frame0, frame1, t), _scene(t)) + 3.0


def test_phase_endpoints_and_identical_frames_are_exact(engine):
    frame0, frame1 = _scene(0.0), _scene(1.0)
    out = engine.interpolate(frame0, frame1, [0.0, 1.0])
    assert torch.equal(out[0], frame0) and torch.equal(out[1], frame1)
    same = engine.interpolate(frame0, frame0.clone(), [0.3, 0.5])
    assert torch.equal(same[0], frame0) and torch.equal(same[1], frame0)


def test_deterministic(engine):
    frame0, frame1 = _scene(0.0), _scene(1.0)
    first = engine.interpolate(frame0, frame1, [0.5])
    second = engine.interpolate(frame0, frame1, [0.5])
    assert torch.equal(first, second)


def test_flash_falls_back_towards_the_crossfade(engine):
    """A global flash is not motion: the result stays near the cross-fade, without warping artefacts."""
    frame0 = _scene(0.0)
    frame1 = (frame0 * 0.35 + 0.6).clamp(0, 1)
    out = engine.interpolate(frame0, frame1, [0.5])[0]
    assert float((out - 0.5 * (frame0 + frame1)).abs().mean()) < 0.02


def test_film_grain_on_a_static_shot_is_not_moved_around(engine):
    """Independent grain in each frame of a still shot: no spurious motion, the grain averages out."""
    clean = _scene(0.0)
    rng = np.random.default_rng(7)
    grain = [torch.from_numpy(rng.normal(0.0, 0.04, (1, HEIGHT, WIDTH)).astype(np.float32)) for _ in range(2)]
    frame0, frame1 = (clean + grain[0]).clamp(0, 1), (clean + grain[1]).clamp(0, 1)
    analysis = engine.analyse(frame0, frame1)
    assert float(analysis.flow_0to1.abs().mean()) < 0.4
    out = engine.interpolate(frame0, frame1, [0.5])[0]
    blend_error = float((0.5 * (frame0 + frame1) - clean).abs().mean())
    assert float((out - clean).abs().mean()) < 1.15 * blend_error


def test_output_range_and_device(engine):
    frame0, frame1 = _scene(0.0), _scene(1.0)
    out = engine.interpolate(frame0, frame1, [0.5])
    assert out.device.type == "cpu"
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize(
    ("frame0", "frame1", "phases", "message"),
    [
        (torch.zeros(3, 8, 8), torch.zeros(3, 8, 9), [0.5], "frame1 shape"),
        (torch.zeros(4, 8, 8), torch.zeros(4, 8, 8), [0.5], "frame0"),
        (torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), [1.5], "phases"),
        (torch.zeros(3, 8, 8, dtype=torch.uint8), torch.zeros(3, 8, 8), [0.5], "frame0"),
    ],
)
def test_bad_input_raises_value_error(engine, frame0, frame1, phases, message):
    with pytest.raises(ValueError, match=message):
        engine.interpolate(frame0, frame1, phases)


@pytest.mark.parametrize(("height", "width"), [(1, 1), (4, 7), (9, 40)])
def test_tiny_frames_work(engine, height, width):
    generator = torch.Generator().manual_seed(height * 100 + width)
    frame0 = torch.rand(3, height, width, generator=generator)
    frame1 = torch.rand(3, height, width, generator=generator)
    out = engine.interpolate(frame0, frame1, [0.5])
    assert out.shape == (1, 3, height, width) and bool(torch.isfinite(out).all())


def test_large_frames_are_analysed_on_a_smaller_grid():
    engine = ClassicInterpolator()
    height, width = engine.analysis_size(720, 1280)
    assert height * width <= engine.settings.max_analysis_pixels
    assert abs(width / height - 1280 / 720) < 0.02
    assert engine.analysis_size(HEIGHT, WIDTH) == (HEIGHT, WIDTH)


def test_gpu_code_path_matches_opencv_path_on_cpu():
    """backend="torch" is the CUDA code path (adaptive_warp with a bicubic kernel, torch resizing)."""
    frame0, frame1, truth = _scene(0.0), _scene(1.0), _scene(0.5)
    opencv = ClassicInterpolator(settings=ClassicSettings(backend="opencv")).interpolate(
        frame0, frame1, [0.5]
    )
    torch_path = ClassicInterpolator(settings=ClassicSettings(backend="torch")).interpolate(
        frame0, frame1, [0.5]
    )
    assert _psnr(torch_path[0], opencv[0]) > 40.0
    assert _psnr(torch_path[0], truth) > 33.0


def test_unknown_backend_raises_value_error():
    engine = ClassicInterpolator(settings=ClassicSettings(backend="magic"))
    with pytest.raises(ValueError, match="backend"):
        engine.interpolate(_scene(0.0), _scene(1.0), [0.5])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    frame0, frame1, truth = _scene(0.0), _scene(1.0), _scene(0.5)
    cpu = ClassicInterpolator(device="cpu").interpolate(frame0, frame1, [0.5])[0]
    gpu_engine = ClassicInterpolator(device="cuda")
    gpu = gpu_engine.interpolate(frame0.cuda(), frame1.cuda(), [0.5])[0]
    assert gpu.device.type == "cuda"
    assert _psnr(gpu.cpu(), cpu) > 40.0
    assert _psnr(gpu.cpu(), truth) > 33.0
