"""Model files through spandrel: real key layouts, wrappers, formats, sizes, channels, tiling, chains."""

import math

import pytest
import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact
from spandrel.architectures.SPAN import SPAN

from dain.checkpoint import canonical_state_dict, read_checkpoint
from restore.upscale import create_upscaler
from restore.upscale.chain import ChainUpscaler
from restore.upscale.lanczos import LanczosUpscaler, lanczos_resize
from restore.upscale.model_file import ModelUpscaler, describe_model


def compact_state_dict(num_feat=64, num_conv=16, scale=4, in_ch=3, out_ch=3, seed=0):
    """SRVGGNetCompact; the defaults are the realesr-animevideov3 shape (64 features, 16 convs, x4)."""
    torch.manual_seed(seed)
    model = Compact(num_in_ch=in_ch, num_out_ch=out_ch, num_feat=num_feat, num_conv=num_conv, upscale=scale)
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def realesrgan_rrdb_state_dict(scale, num_feat=32, num_blocks=2, growth=32, seed=0, gain=1.0):
    """RRDBNet in Real-ESRGAN's (BasicSR) key layout; x2 and x1 models pixel-unshuffle their input first."""
    generator = torch.Generator().manual_seed(seed)
    in_channels = 3 * {4: 1, 2: 4, 1: 16}[scale]

    def conv(out_ch, in_ch):
        std = gain / math.sqrt(in_ch * 9)
        return torch.randn(out_ch, in_ch, 3, 3, generator=generator) * std, torch.full((out_ch,), 0.5 * gain)

    layers = {"conv_first": conv(num_feat, in_channels)}
    for block in range(num_blocks):
        for rdb in (1, 2, 3):
            for index in range(1, 6):
                out_ch = num_feat if index == 5 else growth
                layers[f"body.{block}.rdb{rdb}.conv{index}"] = conv(out_ch, num_feat + (index - 1) * growth)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        layers[name] = conv(num_feat, num_feat)
    layers["conv_last"] = conv(3, num_feat)
    state = {}
    for name, (weight, bias) in layers.items():
        state[f"{name}.weight"], state[f"{name}.bias"] = weight, bias
    return state


def span_state_dict(feature_channels=48, scale=4, seed=0):
    torch.manual_seed(seed)
    model = SPAN(num_in_ch=3, num_out_ch=3, feature_channels=feature_channels, upscale=scale)
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


MODELS = {
    "compact_x4": (lambda: compact_state_dict(), "Compact", 4),
    "rrdb_x4": (lambda: realesrgan_rrdb_state_dict(4), "ESRGAN", 4),
    "rrdb_x2": (lambda: realesrgan_rrdb_state_dict(2), "ESRGAN", 2),
    "span_x4": (lambda: span_state_dict(), "SPAN", 4),
}


def save_checkpoint(state_dict, path, wrapper):
    if wrapper == "safetensors":
        save_file({name: tensor.contiguous() for name, tensor in state_dict.items()}, str(path))
    elif wrapper == "plain":
        torch.save(state_dict, path)
    else:
        torch.save({wrapper: state_dict, "iter": 1000}, path)
    return path


@pytest.fixture(scope="module")
def frames():
    return torch.rand(1, 3, 12, 15, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("wrapper", ["plain", "params", "params_ema", "safetensors"])
@pytest.mark.parametrize("model_key", sorted(MODELS))
def test_detects_and_upscales_to_exact_sizes(tmp_path, frames, model_key, wrapper):
    build, architecture, scale = MODELS[model_key]
    suffix = ".safetensors" if wrapper == "safetensors" else ".pth"
    path = save_checkpoint(build(), tmp_path / f"{model_key}{suffix}", wrapper)
    upscaler = create_upscaler(str(path), "cpu")
    assert isinstance(upscaler, ModelUpscaler)
    assert upscaler.descriptor.architecture.id == architecture
    assert upscaler.native_scale == scale
    height, width = frames.shape[-2:]
    native = upscaler.run_native(frames)
    assert native.shape == (1, 3, height * scale, width * scale)
    # --scale 2 and --scale 4: model, then Lanczos for whatever factor remains (down or up).
    for factor in (2, 4):
        result = upscaler.upscale(frames, (height * factor, width * factor))
        assert result.shape == (1, 3, height * factor, width * factor)
        assert result.dtype == torch.float32 and result.min() >= 0 and result.max() <= 1
    odd = upscaler.upscale(frames, (37, 41))
    assert odd.shape == (1, 3, 37, 41)


def test_loaded_weights_are_the_saved_ones_and_ema_wins(tmp_path):
    raw, ema = (
        compact_state_dict(num_feat=8, num_conv=2, seed=1),
        compact_state_dict(num_feat=8, num_conv=2, seed=2),
    )
    path = tmp_path / "both.pth"
    torch.save({"params": raw, "params_ema": ema}, path)
    loaded = ModelUpscaler(path).descriptor.model.state_dict()
    for name, tensor in ema.items():
        assert torch.equal(loaded[name], tensor), name


def test_canonicalises_module_prefix_and_state_dict_wrapper(tmp_path):
    state = compact_state_dict(num_feat=8, num_conv=2)
    wrapped = {"state_dict": {f"module.{name}": tensor for name, tensor in state.items()}, "epoch": 3}
    path = tmp_path / "wrapped.pth"
    torch.save(wrapped, path)
    canonical = read_checkpoint(path)
    assert set(canonical) == set(state)
    assert ModelUpscaler(path).descriptor.architecture.id == "Compact"
    with pytest.raises(ValueError, match="no weight tensors"):
        canonical_state_dict({"epoch": 3, "lr": 0.1})


def test_pixel_unshuffle_model_pads_odd_sizes(tmp_path):
    path = save_checkpoint(realesrgan_rrdb_state_dict(2), tmp_path / "x2.safetensors", "safetensors")
    upscaler = ModelUpscaler(path)
    assert upscaler.descriptor.size_requirements.multiple_of == 4
    assert upscaler.descriptor.input_channels == 3
    result = upscaler.run_native(torch.rand(2, 3, 13, 17))
    assert result.shape == (2, 3, 26, 34)


def test_grayscale_model_returns_rgb(tmp_path):
    path = save_checkpoint(compact_state_dict(8, 2, 2, in_ch=1, out_ch=1), tmp_path / "gray.pth", "plain")
    upscaler = ModelUpscaler(path)
    assert upscaler.descriptor.input_channels == 1
    result = upscaler.upscale(torch.rand(1, 3, 10, 12), (20, 24))
    assert result.shape == (1, 3, 20, 24)
    assert torch.equal(result[:, 0], result[:, 1]) and torch.equal(result[:, 1], result[:, 2])


def test_tiled_and_untiled_compact_agree(tmp_path):
    # animevideov3 shape: 18 3x3 convolutions, receptive field radius 18 input pixels.
    path = save_checkpoint(compact_state_dict(), tmp_path / "compact.safetensors", "safetensors")
    frames = torch.rand(1, 3, 40, 52, generator=torch.Generator().manual_seed(3))
    whole = ModelUpscaler(path, tile=0).run_native(frames)
    tiled = ModelUpscaler(path, tile=16, overlap=32).run_native(frames)
    assert tiled.shape == whole.shape == (1, 3, 160, 208)
    assert (tiled - whole).abs().max() < 1e-4
    # With too little context the seams show: proves the tiled path really ran.
    short = ModelUpscaler(path, tile=16, overlap=2).run_native(frames)
    assert (short - whole).abs().max() > 1e-3


def test_chain_runs_models_at_native_scale_and_hits_target(tmp_path):
    x2 = save_checkpoint(realesrgan_rrdb_state_dict(2), tmp_path / "x2.safetensors", "safetensors")
    x1 = save_checkpoint(compact_state_dict(8, 2, 1), tmp_path / "1x_cleanup.pth", "params")
    chain = create_upscaler(f"{x1},{x2},lanczos", "cpu")
    assert isinstance(chain, ChainUpscaler)
    frames = torch.rand(1, 3, 9, 11)
    assert chain.upscale(frames, (36, 44)).shape == (1, 3, 36, 44)
    assert chain.upscale(frames, (27, 33)).shape == (1, 3, 27, 33)
    # Chain result equals doing the steps by hand.
    manual = lanczos_resize(chain.engines[1].run_native(chain.engines[0].run_native(frames)), (36, 44))
    assert torch.allclose(chain.upscale(frames, (36, 44)), manual, atol=1e-6)


def test_weight_free_engine_before_a_model_targets_the_remaining_factor(tmp_path):
    x2 = save_checkpoint(realesrgan_rrdb_state_dict(2), tmp_path / "x2.pth", "plain")
    seen = []

    class Spy(LanczosUpscaler):
        def upscale(self, frames, size):
            seen.append(tuple(size))
            return super().upscale(frames, size)

    chain = ChainUpscaler([Spy(), ModelUpscaler(x2)])
    assert chain.upscale(torch.rand(1, 3, 8, 10), (32, 40)).shape == (1, 3, 32, 40)
    assert seen == [(16, 20)]


def test_model_in_cache_folder_is_found_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "models").mkdir(parents=True)
    save_checkpoint(
        compact_state_dict(8, 2, 2), tmp_path / "cache" / "models" / "2x_tiny.safetensors", "safetensors"
    )
    monkeypatch.chdir(tmp_path)
    upscaler = create_upscaler("2x_tiny.safetensors")
    assert upscaler.native_scale == 2


def test_describe_model_reports_descriptor(tmp_path):
    path = save_checkpoint(span_state_dict(), tmp_path / "span.safetensors", "safetensors")
    info = describe_model(path)
    assert (info.architecture, info.scale, info.input_channels, info.output_channels) == ("SPAN", 4, 3, 3)
    assert info.supports_half and info.tiling == "supported" and info.parameters > 0


def test_cpu_defaults_to_float32(tmp_path):
    path = save_checkpoint(compact_state_dict(8, 2, 2), tmp_path / "c.pth", "plain")
    assert ModelUpscaler(path).dtype == torch.float32
    assert ModelUpscaler(path, half=False).dtype == torch.float32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_half_matches_float32(tmp_path):
    path = save_checkpoint(compact_state_dict(), tmp_path / "c.safetensors", "safetensors")
    frames = torch.rand(1, 3, 64, 80, device="cuda")
    full = ModelUpscaler(path, device="cuda", half=False).upscale(frames, (256, 320))
    half_model = ModelUpscaler(path, device="cuda", half=True)
    assert half_model.dtype == torch.float16
    half = half_model.upscale(frames, (256, 320))
    assert half.dtype == torch.float32 and half.device.type == "cuda"
    assert (half - full).abs().mean() < 5e-3
    auto = ModelUpscaler(path, device="cuda", tile=48).upscale(frames, (256, 320))
    assert auto.shape == (1, 3, 256, 320)


def test_tiles_of_a_pixel_unshuffle_model_stay_on_its_grid(tmp_path):
    # Real-ESRGAN x2 regroups 2x2 pixels: tiles must start on multiples of 4 (its multiple_of) to agree.
    path = save_checkpoint(
        realesrgan_rrdb_state_dict(2, num_feat=16, num_blocks=1), tmp_path / "x2.pth", "plain"
    )
    frames = torch.rand(1, 3, 45, 53, generator=torch.Generator().manual_seed(5))
    whole = ModelUpscaler(path, tile=0).run_native(frames)
    tiled = ModelUpscaler(path, tile=14, overlap=45).run_native(frames)
    assert tiled.shape == whole.shape == (1, 3, 90, 106)
    assert whole.std() > 0.1  # a non-trivial output
    assert (tiled - whole).abs().max() < 1e-4


def test_out_of_memory_halves_the_tile_and_retries(tmp_path, monkeypatch):
    path = save_checkpoint(compact_state_dict(8, 2, 2), tmp_path / "c.pth", "plain")
    upscaler = ModelUpscaler(path, tile=0)
    frames = torch.rand(1, 3, 150, 170)
    expected = upscaler.run_native(frames)
    real_run, sides = upscaler._run_model, []

    def limited_memory(inputs):
        sides.append(max(inputs.shape[-2:]))
        if max(inputs.shape[-2:]) > 130:
            raise torch.OutOfMemoryError("pretend the GPU is full")
        return real_run(inputs)

    monkeypatch.setattr(upscaler, "_run_model", limited_memory)
    result = upscaler.run_native(frames)
    assert sides[0] == 170 and max(sides[1:]) <= 130  # whole frame failed, then tiles
    assert (result - expected).abs().max() < 1e-4


def test_automatic_tile_follows_free_gpu_memory(tmp_path, monkeypatch):
    path = save_checkpoint(compact_state_dict(), tmp_path / "c.safetensors", "safetensors")
    upscaler = ModelUpscaler(path)
    assert upscaler._auto_tile(720, 1280, 1) == 0  # CPU: a 720p frame runs whole
    assert upscaler._auto_tile(2160, 3840, 1) == 512
    upscaler.device = torch.device("cuda")  # only _auto_tile is exercised: no GPU needed
    gib = 1024**3
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (80 * gib, 80 * gib))
    assert upscaler._auto_tile(720, 1280, 1) == 0  # plenty of memory: whole frame
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2 * gib, 8 * gib))
    small = upscaler._auto_tile(2160, 3840, 1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (gib // 2, 8 * gib))
    smaller = upscaler._auto_tile(2160, 3840, 1)
    assert 0 < smaller < small < 3840 and small % 8 == 0


def test_rgba_model_gets_opaque_alpha_and_returns_rgb(tmp_path):
    path = save_checkpoint(
        compact_state_dict(8, 2, 2, in_ch=4, out_ch=4), tmp_path / "rgba.safetensors", "safetensors"
    )
    upscaler = ModelUpscaler(path)
    assert (upscaler.descriptor.input_channels, upscaler.descriptor.output_channels) == (4, 4)
    seen = []
    real_run = upscaler._run_model
    upscaler._run_model = lambda inputs: seen.append(inputs) or real_run(inputs)
    result = upscaler.upscale(torch.rand(1, 3, 10, 12), (20, 24))
    assert result.shape == (1, 3, 20, 24)
    assert seen[0].shape[1] == 4 and torch.equal(seen[0][:, 3], torch.ones_like(seen[0][:, 3]))


TILING_CASES = [
    ("INTERNAL", 32, False),
    ("DISCOURAGED", None, False),
    ("DISCOURAGED", 32, True),
    ("SUPPORTED", 32, True),
]


@pytest.mark.parametrize(("tiling", "tile", "expect_tiles"), TILING_CASES)
def test_descriptor_tiling_policy(tmp_path, tiling, tile, expect_tiles):
    import spandrel

    path = save_checkpoint(compact_state_dict(8, 2, 2), tmp_path / "c.pth", "plain")
    upscaler = ModelUpscaler(path, tile=tile)
    upscaler.descriptor.tiling = getattr(spandrel.ModelTiling, tiling)
    upscaler.tiling_allowed = ModelUpscaler._tiling_allowed(upscaler.descriptor.tiling, upscaler.tile)
    sides = []
    real_run = upscaler._run_model
    upscaler._run_model = lambda inputs: sides.append(max(inputs.shape[-2:])) or real_run(inputs)
    upscaler.run_native(torch.rand(1, 3, 100, 120))
    assert (len(sides) > 1) == expect_tiles
