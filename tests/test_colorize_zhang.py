"""ECCV16 / SIGGRAPH17: official key layout, strict loading, the weight registry, temporal stabilisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restore.config import RestoreConfig
from restore.stages import SourceFrame
from restore.stages.colorize import create_colorize_stage
from restore.stages.colorize.learned import LearnedColorizer, LearnedSettings
from restore.stages.colorize.weights import (
    COLORIZE_WEIGHTS,
    HASH_PREFIXES,
    load_colorizer,
    resolve_colorize_weights,
)
from restore.stages.colorize.zhang import (
    ECCV16Colorizer,
    SIGGRAPH17Colorizer,
    detect_architecture,
    load_zhang_state_dict,
)

# a sample of the official checkpoints' keys and shapes (richzhang/colorization, colorizers/*.py); the tensor
# counts (without num_batches_tracked) are counted by hand from the official layer lists: ECCV16 has 23
# convolutions with bias, model_out without, 7 BatchNorms (23*2 + 1 + 7*4 = 75); SIGGRAPH17 has 31
# convolutions with bias and 9 BatchNorms (31*2 + 9*4 = 98)
ECCV16_KEYS = {
    "model1.0.weight": (64, 1, 3, 3),
    "model1.2.weight": (64, 64, 3, 3),
    "model1.4.running_var": (64,),
    "model3.6.weight": (256,),
    "model5.0.weight": (512, 512, 3, 3),
    "model8.0.weight": (512, 256, 4, 4),
    "model8.6.weight": (313, 256, 1, 1),
    "model_out.weight": (2, 313, 1, 1),
}
SIGGRAPH17_KEYS = {
    "model1.0.weight": (64, 4, 3, 3),
    "model8up.0.weight": (512, 256, 4, 4),
    "model3short8.0.weight": (256, 256, 3, 3),
    "model8.1.weight": (256, 256, 3, 3),
    "model8.5.running_mean": (256,),
    "model9.3.weight": (128,),
    "model10.1.weight": (128, 128, 3, 3),
    "model1short10.0.weight": (128, 64, 3, 3),
    "model_class.0.weight": (529, 256, 1, 1),
    "model_out.0.weight": (2, 128, 1, 1),
}


@pytest.mark.parametrize(
    ("network", "keys", "count"),
    [(ECCV16Colorizer, ECCV16_KEYS, 75), (SIGGRAPH17Colorizer, SIGGRAPH17_KEYS, 98)],
)
def test_official_key_layout(network, keys, count):
    state = network().state_dict()
    for key, shape in keys.items():
        assert tuple(state[key].shape) == shape, key
    assert "model_out.bias" not in state or network is SIGGRAPH17Colorizer
    assert len([k for k in state if not k.endswith("num_batches_tracked")]) == count


def _random_checkpoint(network: type, path, wrap: bool = False):
    torch.manual_seed(0)
    model = network()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    state = {
        k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")
    }  # as old files
    torch.save({"state_dict": state} if wrap else state, path)
    return model.eval()


@pytest.mark.parametrize(
    ("name", "network"), [("eccv16", ECCV16Colorizer), ("siggraph17", SIGGRAPH17Colorizer)]
)
def test_random_checkpoint_loads_and_runs(tmp_path, name, network):
    original = _random_checkpoint(network, tmp_path / "w.pth", wrap=name == "siggraph17")
    detected, model = load_colorizer(tmp_path / "w.pth")
    assert detected == name and type(model) is network
    lightness = torch.rand(1, 1, 32, 48) * 100
    with torch.inference_mode():
        ab = model(lightness)
        assert ab.shape == (1, 2, 32, 48) and torch.isfinite(ab).all()
        assert torch.allclose(ab, original(lightness), atol=1e-5)


def test_wrong_key_fails_loudly(tmp_path):
    state = ECCV16Colorizer().state_dict()
    state["model8.7.weight"] = state.pop("model8.6.weight")
    with pytest.raises(ValueError, match=r"missing \['model8.6.weight'\].*unexpected \['model8.7.weight'\]"):
        load_zhang_state_dict(state, "eccv16")
    state = SIGGRAPH17Colorizer().state_dict()
    state["model_out.0.weight"] = torch.zeros(3, 128, 1, 1)
    with pytest.raises(ValueError, match="wrong shape"):
        load_zhang_state_dict(state)
    with pytest.raises(ValueError, match="not an ECCV16 or SIGGRAPH17"):
        detect_architecture({"conv.weight": torch.zeros(1)})
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="--colorize-weights"):
        load_colorizer(tmp_path / "junk.pth")


def test_registry_uses_the_shared_cache_and_checks_the_published_prefix(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path))
    assert COLORIZE_WEIGHTS["eccv16"].filename.endswith(f"-{HASH_PREFIXES['eccv16']}.pth")
    bad = tmp_path / COLORIZE_WEIGHTS["siggraph17"].filename
    bad.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="checksum"):
        resolve_colorize_weights("siggraph17", None, allow_download=False)
    with pytest.raises(ValueError, match="--colorize-weights"):
        resolve_colorize_weights("eccv16", None, allow_download=False)


class _ShiftingPredictor(torch.nn.Module):
    """A stand-in network whose prediction flickers: +/-10 in a every other call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        a = torch.full_like(lightness, 20.0 + (10.0 if self.calls % 2 else -10.0))
        return torch.cat([a, torch.zeros_like(lightness)], dim=1)


def test_temporal_stabilisation_damps_flicker():
    rng = np.random.default_rng(0)
    import cv2

    lightness = cv2.GaussianBlur((rng.random((48, 64)) * 100).astype(np.float32), (0, 0), 2.0)
    stable = LearnedColorizer(_ShiftingPredictor(), torch.device("cpu"), LearnedSettings(input_size=32))
    raw = LearnedColorizer(
        _ShiftingPredictor(), torch.device("cpu"), LearnedSettings(input_size=32, prediction_weight=1.0)
    )
    outputs = {"stable": [], "raw": []}
    for _ in range(8):
        outputs["stable"].append(stable.colorize(lightness)[..., 0].mean())
        outputs["raw"].append(raw.colorize(lightness)[..., 0].mean())
    assert np.ptp(outputs["raw"][4:]) == pytest.approx(20.0, abs=0.1)
    assert np.ptp(outputs["stable"][4:]) < 6.0


def test_weights_file_drives_the_auto_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    _random_checkpoint(ECCV16Colorizer, tmp_path / "w.pth")
    config = RestoreConfig(input=tmp_path / "in.mp4", output=tmp_path / "o.mp4", colorize=True,
                           colorize_weights=tmp_path / "w.pth")  # fmt: skip
    stage = create_colorize_stage(config, torch.device("cpu"))
    grey = np.repeat(
        np.linspace(0, 255, 32 * 48, dtype=np.float32).reshape(32, 48, 1).astype(np.uint8), 3, axis=2
    )
    frames = [SourceFrame.from_array(i, grey, i == 0) for i in range(2)]
    out = list(stage.process(iter(frames)))
    assert [f.to_array(np.uint8).shape for f in out] == [(32, 48, 3)] * 2
    assert out[0].image.dtype == torch.float32
    assert stage.report().startswith("eccv16 (w.pth)") and "2 frames in 1 shots" in stage.report()


def test_colour_checkpoints_go_through_the_one_safe_reader(tmp_path):
    """Code-carrying pickles are refused before running, naming the option; wrappers and prefixes undone."""
    import pathlib

    marker = tmp_path / "ran"

    class _Touch:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))

    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": ECCV16Colorizer().state_dict(), "hook": _Touch()}, evil)
    with pytest.raises(ValueError, match="^--colorize-weights: refusing to load evil.pth"):
        load_colorizer(evil)
    assert not marker.exists()
    state = {f"module.{k}": v for k, v in ECCV16Colorizer().state_dict().items()}
    torch.save({"params_ema": state, "epoch": 4}, tmp_path / "wrapped.pth")
    assert load_colorizer(tmp_path / "wrapped.pth")[0] == "eccv16"
