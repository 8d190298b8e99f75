"""The ``dain`` engine: forward at odd sizes, phases, per-pair caching, determinism, wiring, tiling.

The network has random weights and is built once per module; frames are tiny (padded to 128×128
or 128×256) to keep the CPU time low. Tests needing the official weights (env ``DAIN_WEIGHTS``)
or a CUDA GPU skip cleanly without them.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import socket
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dain import hub as weights
from dain.checkpoint import save_checkpoint
from dain.engines import Interpolator, available_interpolators, create_interpolator
from dain.engines.dain import DainInterpolator, create_dain_interpolator
from dain.nets.network import DAIN, official_padding

SUBNETWORKS = (
    "flownets",
    "depthNet",
    "ctxNet",
    "initScaleNets_filter",
    "initScaleNets_filter1",
    "initScaleNets_filter2",
    "rectifyNet",
)
PHASES = [0.2, 0.5, 0.8]
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_WEIGHTS = os.environ.get("DAIN_WEIGHTS")
needs_weights = pytest.mark.skipif(
    not REAL_WEIGHTS or not Path(REAL_WEIGHTS).is_file(), reason="set DAIN_WEIGHTS to the official best.pth"
)
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def network() -> DAIN:
    torch.manual_seed(0)
    return DAIN().eval()


@pytest.fixture(scope="module")
def engine(network) -> DainInterpolator:
    return DainInterpolator.from_network(network, device="cpu")


@pytest.fixture(scope="module")
def frames() -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth random image and a shifted copy, 3×71×93 (odd sizes, padded to 128×128)."""
    generator = torch.Generator().manual_seed(3)
    base = torch.rand(1, 3, 20, 26, generator=generator)
    big = nn.functional.interpolate(base, size=(80, 104), mode="bilinear", align_corners=False)[0]
    return big[:, 2:73, 3:96].contiguous(), big[:, 5:76, 5:98].contiguous()


@contextmanager
def count_calls(network: DAIN):
    counts: Counter[str] = Counter()
    handles = [
        getattr(network, name).register_forward_hook(lambda *_, name=name: counts.update([name]))
        for name in SUBNETWORKS
    ]
    try:
        yield counts
    finally:
        for handle in handles:
            handle.remove()


@pytest.fixture(scope="module")
def three_phase_result(engine, network, frames):
    with count_calls(network) as counts:
        out = engine.interpolate(*frames, PHASES)
    return out, dict(counts)


def test_engine_is_registered():
    assert "dain" in available_interpolators()
    assert isinstance(DainInterpolator.__new__(DainInterpolator), Interpolator)


def test_forward_odd_size_shapes_values_and_per_pair_work_once(three_phase_result):
    out, counts = three_phase_result
    assert out.shape == (3, 3, 71, 93) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    # Per-pair sub-networks ran once for all three phases; only the refinement ran per phase.
    assert counts == {name: 1 for name in SUBNETWORKS[:-1]} | {"rectifyNet": 3}
    # The phases give different frames.
    assert not torch.equal(out[0], out[1]) and not torch.equal(out[1], out[2])


def test_deterministic_and_phases_independent_of_each_other(engine, network, frames, three_phase_result):
    out, _ = three_phase_result
    with count_calls(network) as counts:
        again = engine.interpolate(*frames, [0.8])
    assert counts == {name: 1 for name in SUBNETWORKS[:-1]} | {"rectifyNet": 1}
    assert torch.equal(again[0], out[2])  # bitwise on CPU, and independent of the other phases


def test_endpoints_and_empty_phases_skip_the_network(engine, network, frames):
    frame0, frame1 = frames
    with count_calls(network) as counts:
        ends = engine.interpolate(frame0, frame1, [1.0, 0.0, 1])
        empty = engine.interpolate(frame0, frame1, [])
    assert not counts
    assert torch.equal(ends[0], frame1) and torch.equal(ends[1], frame0) and torch.equal(ends[2], frame1)
    assert empty.shape == (0, 3, 71, 93)


def test_bad_arguments_are_value_errors_naming_the_argument(engine, network, frames):
    frame0, frame1 = frames
    with pytest.raises(ValueError, match="frame0"):
        engine.interpolate(frame0[None], frame1, [0.5])
    with pytest.raises(ValueError, match="frame1"):
        engine.interpolate(frame0, frame1[:, :-1], [0.5])
    with pytest.raises(ValueError, match="phases"):
        engine.interpolate(frame0, frame1, [1.5])
    with pytest.raises(ValueError, match="tile"):
        DainInterpolator.from_network(network, tile=100)
    with pytest.raises(ValueError, match="tile_overlap"):
        DainInterpolator.from_network(network, tile=128, tile_overlap=64)
    assert DainInterpolator.from_network(network, tile=128).tile_overlap == 32
    assert DainInterpolator.from_network(network, tile=1024).tile_overlap == 64
    with pytest.raises(ValueError, match="half"):
        DainInterpolator.from_network(network, device="cpu", half=True)


def _force_bilinear_identity_flow(model: DAIN) -> DAIN:
    """Flow output 0, kernels = pure bilinear (1 on channels 5, 6, 9, 10), refinement output 0."""
    with torch.no_grad():
        for layer in (model.flownets.predict_flow2, model.flownets.dc_conv7, model.rectifyNet.block5[0]):
            layer.weight.zero_()
            layer.bias.zero_()
        for head in (model.initScaleNets_filter1, model.initScaleNets_filter2):
            head[2].weight.zero_()
            head[2].bias.zero_()
            head[2].bias[[5, 6, 9, 10]] = 1.0
    return model


def test_wiring_gives_the_linear_blend_exactly(network, frames):
    model = _force_bilinear_identity_flow(copy.deepcopy(network))
    engine = DainInterpolator.from_network(model)
    frame0, frame1 = frames
    phases = [0.2, 0.8]
    out = engine.interpolate(frame0, frame1, phases)
    for index, phase in enumerate(phases):
        assert torch.equal(out[index], (1 - phase) * frame0 + phase * frame1), phase


class _ConstantFlow(nn.Module):
    """Stands in for PWC-Net: a constant flow (pixels / 20) at 1/4 resolution."""

    def __init__(self, flow_x: float, flow_y: float) -> None:
        super().__init__()
        self.flow = (flow_x / 20.0, flow_y / 20.0)

    def forward(self, image_pair: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = image_pair.shape
        flow = image_pair.new_empty(batch, 2, height // 4, width // 4)
        flow[:, 0], flow[:, 1] = self.flow
        return flow


class _Zeros(nn.Module):
    """Stands in for a network whose output is forced to zero (saves its CPU time)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.channels, *x.shape[2:])


class _BrightnessDepth(nn.Module):
    """Stands in for MegaDepth: a per-pixel log-depth (local, so tiling cannot change it)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image.mean(dim=1, keepdim=True) * 2.0


def test_tiled_matches_untiled_on_a_frame_larger_than_the_tile(network):
    """Slow (about 2 s): a frame must be larger than the 128-pixel minimum tile to be cut into four."""
    # Local configuration: constant flow, bilinear kernels, no refinement; the depth-aware
    # projection, adaptive warping, padding, tile placement and blending all still run.
    model = _force_bilinear_identity_flow(copy.deepcopy(network))
    model.flownets = _ConstantFlow(3.3, -1.7)
    model.depthNet = _BrightnessDepth()
    model.initScaleNets_filter = _Zeros(16)  # the heads then output their bias: the bilinear kernel
    model.rectifyNet = _Zeros(3)
    generator = torch.Generator().manual_seed(9)
    frame0 = torch.rand(3, 140, 170, generator=generator)
    frame1 = torch.rand(3, 140, 170, generator=generator)
    untiled = DainInterpolator.from_network(model).interpolate(frame0, frame1, [0.3])
    tiled_engine = DainInterpolator.from_network(model, tile=128, tile_overlap=32)
    with count_calls(model) as counts:
        tiled = tiled_engine.interpolate(frame0, frame1, [0.3])
    tiles = 4  # 2x2: cores of at most tile - overlap = 96 pixels, each seen with 16 pixels of context
    assert counts["initScaleNets_filter"] == tiles and counts["rectifyNet"] == tiles
    difference = (tiled - untiled).abs().max().item()
    assert difference < 1e-4, difference
    # Sanity: the warp really moved content (the result is not just the cross-fade).
    assert (untiled[0] - (0.7 * frame0 + 0.3 * frame1)).abs().max() > 0.1


def test_tiles_never_exceed_the_tile_and_share_the_overlap(network):
    """What the network sees in tiles: at most ``tile`` pixels a side, neighbours sharing the overlap,
    and weights that sum to one (a tile function returning its input stitches back to the input)."""
    engine = DainInterpolator.from_network(network, tile=128, tile_overlap=32)
    seen: list[tuple[int, int]] = []

    def recording_run(frame0, frame1, phases):
        seen.append(tuple(frame0.shape[-2:]))
        return frame0.expand(len(phases), -1, -1, -1)

    engine._run_padded = recording_run
    frame0 = torch.rand(3, 100, 300, generator=torch.Generator().manual_seed(3))
    out = engine.interpolate(frame0, torch.rand(3, 100, 300), [0.5])
    assert len(seen) == 2 * 4 and all(h <= 128 and w <= 128 for h, w in seen)
    assert {h for h, _ in seen} == {50 + 16} and {w for _, w in seen} == {75 + 16, 75 + 32}
    assert (out[0] - frame0).abs().max() < 1e-6


def test_out_of_memory_on_cuda_retries_in_smaller_tiles_then_says_so(network):
    """The untiled run first, then 1024/512/256-pixel tiles (those below the frame), then one clear error.

    Simulated: the network "runs out of memory" above a size; ``_run`` only reads the device type.
    """
    engine = DainInterpolator.from_network(network)
    sides: list[int] = []

    def limited_memory(frame0, frame1, phases):
        sides.append(max(frame0.shape[-2:]))
        if sides[-1] > limit:
            raise torch.OutOfMemoryError("pretend the GPU is full")
        return frame0.expand(len(phases), -1, -1, -1)

    engine._run_padded = limited_memory
    engine.device = torch.device("cuda")  # the retry policy only; nothing is moved to a GPU
    frame0, frame1 = torch.rand(1, 3, 300, 600), torch.rand(1, 3, 300, 600)
    limit = 220
    out = engine._run(frame0, frame1, [0.5])
    assert sides[0] == 600  # whole pair first
    # the first 512-pixel tile (332 with context) failed, then the 8 tiles of 256 fit
    assert sides[1] == 332 and len(sides) == 1 + 1 + 8 and max(sides[2:]) <= 256
    assert (out - frame0).abs().max() < 1e-6
    limit, sides[:] = 100, []
    with pytest.raises(
        torch.OutOfMemoryError, match=r"^DAIN ran out of GPU memory on a 300x600 pair even in 256"
    ):
        engine._run(frame0, frame1, [0.5])


def test_create_interpolator_with_weights_file(network, tmp_path):
    path = save_checkpoint(network, tmp_path / "random.safetensors")
    engine = create_interpolator("dain", device="cpu", weights=str(path), tile=256)
    assert engine.name == "dain" and engine.tile == 256 and engine.weights_path == path
    assert torch.equal(engine.network.rectifyNet.block5[0].bias, network.rectifyNet.block5[0].bias)


def test_missing_weights_offline_is_a_one_line_value_error(tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(
        weights,
        "DAIN_BEST",
        dataclasses.replace(weights.DAIN_BEST, urls=(f"http://127.0.0.1:{port}/best.pth",)),
    )
    with pytest.raises(ValueError, match="--dain-weights PATH") as error:
        create_dain_interpolator(device=torch.device("cpu"), weights=None)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="--dain-weights: file not found"):
        DainInterpolator(weights=tmp_path / "nope.pth")


def test_cached_official_checkpoint_is_used_when_weights_is_none(network, tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path))
    save_checkpoint(network, tmp_path / weights.DAIN_BEST.filename)
    engine = create_dain_interpolator(device=torch.device("cpu"))
    assert engine.weights_path == tmp_path / weights.DAIN_BEST.filename


# ---------------------------------------------------------------- official weights / GPU only


def _read_triplet(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from PIL import Image

    folder = SHARED_DATA / "interp" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    images = [
        np.asarray(Image.open(folder / f"f{i}.png").convert("RGB"), dtype=np.float32) / 255 for i in range(3)
    ]
    return tuple(torch.from_numpy(image).permute(2, 0, 1).contiguous() for image in images)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    a = (a.clamp(0, 1) * 255).round()
    b = (b.clamp(0, 1) * 255).round()
    return float(10 * torch.log10(255.0**2 / ((a - b) ** 2).mean()))


@needs_weights
@pytest.mark.slow
def test_official_weights_load_strictly_and_beat_the_blend():
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    engine = DainInterpolator(device=device, weights=REAL_WEIGHTS, half=False)
    frame0, truth, frame2 = _read_triplet("middlebury_urban")
    middle = engine.interpolate(frame0.to(device), frame2.to(device), [0.5])[0].cpu()
    blend_psnr = _psnr(0.5 * frame0 + 0.5 * frame2, truth)
    dain_psnr = _psnr(middle, truth)
    assert dain_psnr > max(32.0, blend_psnr + 4.0), (dain_psnr, blend_psnr)


@needs_weights
@needs_gpu
def test_official_weights_fp16_and_tiling_agree_with_fp32_on_gpu():
    device = torch.device("cuda")
    frame0, truth, frame2 = _read_triplet("sam2_bedroom_00030")
    frame0, frame2 = frame0.to(device), frame2.to(device)
    full = DainInterpolator(device=device, weights=REAL_WEIGHTS, half=False).interpolate(
        frame0, frame2, [0.5]
    )
    half = DainInterpolator(device=device, weights=REAL_WEIGHTS, half=True).interpolate(frame0, frame2, [0.5])
    tiled = DainInterpolator(device=device, weights=REAL_WEIGHTS, half=False, tile=512, tile_overlap=96)
    tiled_out = tiled.interpolate(frame0, frame2, [0.5])
    assert (half - full).abs().mean() < 2e-3
    assert (tiled_out - full).abs().mean() < 5e-3
    assert _psnr(full[0].cpu(), truth) > 28.0


@needs_gpu
def test_gpu_matches_cpu_with_random_weights(network, frames):
    cpu = DainInterpolator.from_network(copy.deepcopy(network), device="cpu").interpolate(*frames, [0.5])
    gpu_engine = DainInterpolator.from_network(copy.deepcopy(network), device="cuda", half=False)
    gpu = gpu_engine.interpolate(frames[0].cuda(), frames[1].cuda(), [0.5]).cpu()
    # cuDNN may use TF32 convolutions: compare loosely, but far below the random output's spread.
    assert (gpu - cpu).abs().mean() < 1e-3 and (gpu - cpu).abs().max() < 2e-2
    half_engine = DainInterpolator.from_network(copy.deepcopy(network), device="cuda", half=True)
    half = half_engine.interpolate(frames[0].cuda(), frames[1].cuda(), [0.5]).cpu()
    assert torch.isfinite(half).all() and (half - cpu).abs().mean() < 2e-2


@pytest.mark.parametrize(("height", "width"), [(97, 131), (104, 128)])
def test_forward_at_the_issue_sizes(engine, network, height, width):
    """Padded to multiples of 64 internally, cropped back, per-pair work once.

    97×131 is a size the acceptance names (odd padding on both axes: 15+16 rows, 62+63 columns).
    104×128 stands in for the other one, 360×640: ``official_padding`` depends only on the length
    modulo 128, so it pads exactly as 360×640 does (12+12 rows; a multiple of 128 still gets 32+32
    columns) and crops back the same way, at a tenth of the pixels (the 360×640 forward took 44 s of
    CPU and checked nothing more). ``test_official_padding`` pins the padding of 360 and 640 themselves.
    """
    generator = torch.Generator().manual_seed(height)
    base = torch.rand(1, 3, 12, 16, generator=generator)
    big = nn.functional.interpolate(base, size=(height + 4, width + 4), mode="bilinear", align_corners=False)[
        0
    ]
    frame0, frame1 = big[:, :height, :width].contiguous(), big[:, 4:, 4:].contiguous()
    with count_calls(network) as counts:
        out = engine.interpolate(frame0, frame1, PHASES)
    assert out.shape == (3, 3, height, width)
    assert torch.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert dict(counts) == {name: 1 for name in SUBNETWORKS[:-1]} | {"rectifyNet": 3}


def test_the_stand_in_size_pads_like_360x640():
    """Keeps the 104×128 forward above a valid stand-in for 360×640 if the padding rule changes."""
    assert official_padding(104) == official_padding(360) == (12, 12)
    assert official_padding(128) == official_padding(640) == (32, 32)
