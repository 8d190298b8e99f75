"""Lanczos resampling: agreement with PIL (same kernel) and OpenCV, exact sizes, identity, edge cases."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from restore.upscale import create_upscaler
from restore.upscale.lanczos import LanczosUpscaler, lanczos_axis_taps, lanczos_resize


def _pil_lanczos(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """frame (3,H,W) float32 -> (3,h,w) via PIL's float-mode Lanczos (3 lobes, antialiased)."""
    planes = [Image.fromarray(plane, mode="F").resize((size[1], size[0]), Image.LANCZOS) for plane in frame]
    return np.stack([np.asarray(plane) for plane in planes])


@pytest.mark.parametrize("size", [(74, 106), (111, 159), (20, 31), (50, 40), (29, 97)])
def test_matches_pil_lanczos_away_from_borders(size):
    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(1, 3, 37, 53, generator=generator)
    result = lanczos_resize(frames, size, clamp=False)
    reference = _pil_lanczos(frames[0].numpy(), size)
    assert result.shape == (1, 3, *size)
    # PIL truncates the kernel at the border where we clamp indices: compare beyond 4 source pixels.
    margin_y = int(np.ceil(4 * size[0] / 37)) + 1
    margin_x = int(np.ceil(4 * size[1] / 53)) + 1
    interior = np.abs(result[0].numpy() - reference)[:, margin_y:-margin_y, margin_x:-margin_x]
    assert interior.max() < 1e-5
    # Borders differ only by the edge convention.
    assert np.abs(result[0].numpy() - reference).mean() < 5e-3


def test_close_to_opencv_lanczos4_on_smooth_image():
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    image = 0.5 + 0.4 * np.sin(x / 5.0) * np.cos(y / 7.0)
    frames = torch.from_numpy(np.stack([image, image * 0.5, 1 - image]))[None]
    result = lanczos_resize(frames, (96, 128))[0].numpy()
    reference = cv2.resize(
        np.ascontiguousarray(frames[0].permute(1, 2, 0).numpy()), (128, 96), interpolation=cv2.INTER_LANCZOS4
    )
    reference = np.clip(reference.transpose(2, 0, 1), 0, 1)
    assert np.abs(result - reference)[:, 6:-6, 6:-6].max() < 5e-3  # Lanczos-4 vs Lanczos-3 kernels


def test_identity_at_scale_one():
    frames = torch.rand(2, 3, 17, 23)
    result = LanczosUpscaler().upscale(frames, (17, 23))
    assert torch.equal(result, frames)
    assert result.data_ptr() != frames.data_ptr()


@pytest.mark.parametrize("size", [(1, 1), (3, 200), (200, 3), (33, 65), (64, 64), (7, 9)])
def test_exact_output_size_and_range(size):
    frames = torch.rand(2, 3, 16, 24)
    result = create_upscaler("lanczos").upscale(frames, size)
    assert result.shape == (2, 3, *size)
    assert result.dtype == torch.float32
    assert result.min() >= 0 and result.max() <= 1


def test_constant_image_stays_constant_and_weights_sum_to_one():
    frames = torch.full((1, 3, 9, 13), 0.37)
    for size in [(27, 39), (4, 5), (9, 40)]:
        assert torch.allclose(lanczos_resize(frames, size), torch.full((1, 3, *size), 0.37), atol=1e-6)
    indices, weights = lanczos_axis_taps(13, 5)
    assert torch.allclose(weights.sum(dim=1), torch.ones(5, dtype=weights.dtype), atol=1e-6)
    assert indices.min() >= 0 and indices.max() <= 12


def test_downscale_is_antialiased():
    # A one-pixel checkerboard must average to grey when shrunk 4x, not alias into a pattern.
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2
    frames = checker.float().expand(1, 3, 64, 64)
    result = lanczos_resize(frames, (16, 16))
    assert (result[..., 2:-2, 2:-2] - 0.5).abs().max() < 0.02


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="size"):
        lanczos_resize(torch.rand(1, 3, 4, 4), (0, 4))


@pytest.mark.parametrize("size", [(74, 106), (20, 31), (55, 80), (111, 159)])
def test_polyphase_and_gather_paths_agree(size, monkeypatch):
    import restore.upscale.lanczos as lanczos_module

    frames = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(4))
    polyphase = lanczos_resize(frames, size, clamp=False)
    monkeypatch.setattr(lanczos_module, "MAX_POLYPHASE_PERIOD", 0)
    lanczos_module._polyphase_plan.cache_clear()
    gathered = lanczos_resize(frames, size, clamp=False)
    lanczos_module._polyphase_plan.cache_clear()
    assert (polyphase - gathered).abs().max() < 1e-5


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    frames = torch.rand(2, 3, 45, 61, generator=torch.Generator().manual_seed(5))
    for size in [(90, 122), (30, 40), (101, 67)]:
        on_cpu = lanczos_resize(frames, size)
        on_gpu = LanczosUpscaler(device="cuda").upscale(frames.cuda(), size)
        assert on_gpu.device.type == "cuda"
        assert (on_gpu.cpu() - on_cpu).abs().max() < 1e-5
