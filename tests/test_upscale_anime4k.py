"""Anime4K v0.9: sharper edges than Lanczos on real frames, no overshoot, exact sizes."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restore.upscale import create_upscaler
from restore.upscale.anime4k import Anime4KUpscaler, luminance, push_gradient, thin_lines
from restore.upscale.lanczos import lanczos_resize

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _load_rgb(path):
    if not path.is_file():
        pytest.skip(f"shared test data absent: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]


def _line_art_from_photo(path):
    """Dark lines on white traced from a photo (Canny edges), softened and halved like a small scan."""
    photo = _load_rgb(path)
    gray = cv2.cvtColor((photo[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    edges = cv2.dilate(cv2.Canny(gray, 80, 160), np.ones((2, 2), np.uint8))
    art = cv2.GaussianBlur(255 - edges, (0, 0), 1.0)
    art = cv2.resize(art, (art.shape[1] // 2, art.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(art.astype(np.float32) / 255.0)[None, None].expand(1, 3, -1, -1).contiguous()


def _gradient_magnitude(frames):
    lum = luminance(frames)
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    grad_x = F.conv2d(lum, sobel_x)
    grad_y = F.conv2d(lum, sobel_x.transpose(-1, -2))
    return torch.sqrt(grad_x**2 + grad_y**2)


def _local_range(frames, size):
    pad = size // 2
    padded = F.pad(frames, (pad, pad, pad, pad), mode="replicate")
    return -F.max_pool2d(-padded, size, stride=1), F.max_pool2d(padded, size, stride=1)


def _sharpness_case(name):
    if name == "archival_film":
        return _load_rgb(SHARED / "interp" / "archival_abomb" / "f0.png")
    return _line_art_from_photo(SHARED / "photos" / "old_a.png")


@pytest.mark.parametrize("name", ["archival_film", "line_art"])
def test_edges_sharper_than_lanczos_without_overshoot(name):
    frames = _sharpness_case(name)
    height, width = frames.shape[-2:]
    size = (2 * height, 2 * width)
    lanczos = lanczos_resize(frames, size)
    refined = Anime4KUpscaler().upscale(frames, size)
    assert refined.shape == lanczos.shape
    # Edge pixels: the strongest 10% of Lanczos gradients; mean gradient magnitude there must rise.
    lanczos_gradient, refined_gradient = _gradient_magnitude(lanczos), _gradient_magnitude(refined)
    edges = lanczos_gradient > torch.quantile(lanczos_gradient.flatten()[::5], 0.9)
    assert refined_gradient[edges].mean() > 1.03 * lanczos_gradient[edges].mean()
    # No overshoot: each pass stays inside the 3x3 min/max of what it reads ...
    thinned = thin_lines(lanczos, 2 / 6)
    low, high = _local_range(lanczos, 3)
    assert (thinned <= high + 1e-6).all() and (thinned >= low - 1e-6).all()
    pushed = push_gradient(thinned, 1.0)
    low, high = _local_range(thinned, 3)
    assert (pushed <= high + 1e-6).all() and (pushed >= low - 1e-6).all()
    assert torch.allclose(pushed.clamp(0, 1), refined, atol=1e-6)
    # ... so the whole refinement never leaves the range of the base upscale's 5x5 neighbourhood.
    low, high = _local_range(lanczos, 5)
    assert (refined <= high + 1e-6).all() and (refined >= low - 1e-6).all()


def test_pushes_a_blurred_step_towards_a_sharp_one():
    step = torch.zeros(1, 3, 16, 16)
    step[..., 8:] = 1.0
    blurred = torch.from_numpy(cv2.GaussianBlur(step[0, 0].numpy(), (0, 0), 1.2)).expand(1, 3, 16, 16)
    result = Anime4KUpscaler().upscale(blurred.contiguous(), (32, 32))
    baseline = lanczos_resize(blurred.contiguous(), (32, 32))
    target = lanczos_resize(step, (32, 32)).round()
    assert (result - target).abs().mean() < (baseline - target).abs().mean()


def test_flat_image_unchanged_and_exact_sizes():
    flat = torch.full((2, 3, 9, 11), 0.4)
    upscaler = create_upscaler("anime4k")
    for size in [(18, 22), (27, 40), (9, 11), (5, 6)]:
        result = upscaler.upscale(flat, size)
        assert result.shape == (2, 3, *size)
        assert torch.allclose(result, torch.full_like(result, 0.4), atol=1e-6)


def test_downscale_is_plain_lanczos():
    frames = torch.rand(1, 3, 20, 24)
    assert torch.equal(Anime4KUpscaler().upscale(frames, (10, 12)), lanczos_resize(frames, (10, 12)))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    frames = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    on_cpu = Anime4KUpscaler().upscale(frames, (80, 96))
    on_gpu = Anime4KUpscaler(device="cuda").upscale(frames.cuda(), (80, 96))
    assert (on_gpu.cpu() - on_cpu).abs().max() < 1e-4


# A direct per-pixel transcription of the two passes, as the oracle for the vectorised code.
_NAIVE_KERNELS = [
    # (dark side, light side, light side must exceed the centre), mirrored pairs adjacent
    ([(1, -1), (1, 0), (1, 1)], [(-1, -1), (-1, 0), (-1, 1)], True),
    ([(-1, -1), (-1, 0), (-1, 1)], [(1, -1), (1, 0), (1, 1)], True),
    ([(0, 0), (0, -1), (1, 0)], [(0, 1), (-1, 0), (-1, 1)], False),
    ([(0, 0), (0, 1), (-1, 0)], [(1, -1), (0, -1), (1, 0)], False),
    ([(0, -1), (-1, -1), (1, -1)], [(0, 1), (1, 1), (-1, 1)], True),
    ([(0, 1), (1, 1), (-1, 1)], [(0, -1), (-1, -1), (1, -1)], True),
    ([(0, 0), (0, -1), (-1, 0)], [(0, 1), (1, 1), (1, 0)], False),
    ([(0, 0), (0, 1), (1, 0)], [(-1, 0), (0, -1), (-1, -1)], False),
]


def _naive_pass(rgb, height, strength, lightest_wins):
    rows, cols = height.shape
    output = rgb.copy()

    def at(array, y, x):
        return array[min(max(y, 0), rows - 1), min(max(x, 0), cols - 1)]

    for y in range(rows):
        for x in range(cols):
            centre = height[y, x]
            best, best_height = None, centre
            for pair in range(4):
                for member in range(2):
                    dark, light, needs_centre = _NAIVE_KERNELS[2 * pair + member]
                    max_dark = max(at(height, y + dy, x + dx) for dy, dx in dark)
                    min_light = min(at(height, y + dy, x + dx) for dy, dx in light)
                    if min_light > max_dark and (not needs_centre or min_light > centre):
                        mean_rgb = sum(at(rgb, y + dy, x + dx) for dy, dx in light) / 3
                        mean_height = sum(at(height, y + dy, x + dx) for dy, dx in light) / 3
                        candidate = rgb[y, x] * (1 - strength) + mean_rgb * strength
                        candidate_height = centre * (1 - strength) + mean_height * strength
                        if not lightest_wins and best is None:
                            best = candidate
                        elif lightest_wins and candidate_height > best_height:
                            best, best_height = candidate, candidate_height
                        break  # the mirrored kernel is only tried when the first fails
            if best is not None:
                output[y, x] = best
    return output


def test_vectorised_passes_match_a_per_pixel_transcription():
    generator = torch.Generator().manual_seed(7)
    base = torch.rand(1, 3, 6, 7, generator=generator)
    frames = lanczos_resize(base, (12, 14))  # smooth-ish content with real edges
    rgb = frames[0].permute(1, 2, 0).double().numpy()
    lum = (2 * rgb[..., 0] + 3 * rgb[..., 1] + rgb[..., 2]) / 6
    expected_thin = _naive_pass(rgb, lum, 0.4, lightest_wins=True)
    actual_thin = thin_lines(frames.double(), 0.4)[0].permute(1, 2, 0).numpy()
    assert np.abs(actual_thin - expected_thin).max() < 1e-9
    assert np.abs(expected_thin - rgb).max() > 1e-3  # the pass did change something

    thinned_lum = (2 * expected_thin[..., 0] + 3 * expected_thin[..., 1] + expected_thin[..., 2]) / 6
    padded = np.pad(thinned_lum, 1, mode="edge")
    window = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    grad_x, grad_y = (window * sobel).sum((-1, -2)), (window * sobel.T).sum((-1, -2))
    height_map = 1 - np.clip(np.sqrt(grad_x**2 + grad_y**2), 0, 1)
    expected_push = _naive_pass(expected_thin, height_map, 0.8, lightest_wins=False)
    actual_push = push_gradient(torch.from_numpy(expected_thin).permute(2, 0, 1)[None], 0.8)
    assert np.abs(actual_push[0].permute(1, 2, 0).numpy() - expected_push).max() < 1e-9
    assert np.abs(expected_push - expected_thin).max() > 1e-3
