"""RIFE checkpoints: the official key layouts per version, detection from keys and shapes, strict loading.

The expected layouts are written down from the official model files (``HolyWu/vs-rife``
``IFNet_HDv3_v4_{6,18,22,25,26}.py``): parameter counts, tensor counts and the shapes that tell the
versions apart. Random checkpoints are saved as the official ``flownet.pkl`` is (every key under
``module.``) and read back through the one checkpoint reader.
"""

from __future__ import annotations

import pickle

import pytest
import torch

from dain.checkpoint import CheckpointError, save_checkpoint
from dain.engines.rife.engine import RifeInterpolator, load_rife_network
from dain.engines.rife.layouts import LAYOUTS, detect_layout, inference_state, layout_for_version
from dain.engines.rife.network import RifeFlowNet

# version -> (parameters, tensors, {key: shape}) of the official IFNet (measured on the official code)
OFFICIAL = {
    "4.6": (
        5_306_256,
        120,
        {
            "block0.conv0.0.0.weight": (96, 7, 3, 3),
            "block1.conv0.0.0.weight": (64, 12, 3, 3),
            "block3.convblock.7.beta": (1, 64, 1, 1),
            "block0.lastconv.0.weight": (192, 24, 4, 4),
        },
    ),
    "4.18": (
        5_364_312,
        128,
        {
            "encode.cnn0.weight": (32, 3, 3, 3),
            "encode.cnn3.weight": (32, 8, 4, 4),
            "block0.conv0.0.0.weight": (96, 23, 3, 3),
            "block1.conv0.0.0.weight": (64, 28, 3, 3),
            "block0.lastconv.0.weight": (192, 24, 4, 4),
        },
    ),
    "4.22": (
        9_322_416,
        128,
        {
            "encode.cnn0.weight": (32, 3, 3, 3),
            "encode.cnn3.weight": (32, 8, 4, 4),
            "block0.conv0.0.0.weight": (128, 23, 3, 3),
            "block3.conv0.0.0.weight": (24, 36, 3, 3),
            "block0.lastconv.0.weight": (256, 52, 4, 4),
        },
    ),
    "4.25": (
        5_664_776,
        158,
        {
            "encode.cnn0.weight": (16, 3, 3, 3),
            "encode.cnn3.weight": (16, 4, 4, 4),
            "block0.conv0.0.0.weight": (96, 15, 3, 3),
            "block4.conv0.0.0.weight": (16, 28, 3, 3),
            "block4.lastconv.0.weight": (32, 52, 4, 4),
        },
    ),
}
OFFICIAL["4.26"] = OFFICIAL["4.25"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """version -> a random flownet_v<version>.pkl in the official form, and its state dict."""
    folder = tmp_path_factory.mktemp("rife")
    torch.manual_seed(0)
    made = {}
    for layout in LAYOUTS:
        state = RifeFlowNet(layout).state_dict()
        path = save_checkpoint({f"module.{key}": value for key, value in state.items()}, folder / "x.pkl")
        path = path.rename(folder / f"flownet_v{layout.name}.pkl")
        made[layout.name] = (path, state)
    return made


@pytest.mark.parametrize("version", ["4.6", "4.18", "4.22", "4.25", "4.26"])
def test_each_version_has_the_official_keys_and_shapes(version):
    parameters, tensors, shapes = OFFICIAL[version]
    network = RifeFlowNet(layout_for_version(version))
    state = network.state_dict()
    assert sum(p.numel() for p in network.parameters()) == parameters
    assert len(state) == tensors
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key


@pytest.mark.parametrize("version", ["4.6", "4.18", "4.22", "4.25"])
def test_official_files_are_detected_and_load_strictly(checkpoints, version):
    path, state = checkpoints[version]
    network, dropped = load_rife_network(path)
    assert network.layout is layout_for_version(version) and dropped == []
    loaded = network.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in state.items())


def test_4_25_and_4_26_share_a_layout_and_the_named_version_is_checked(checkpoints):
    path, _ = checkpoints["4.25"]
    assert layout_for_version("4.26") is layout_for_version("4.25")
    assert RifeInterpolator(path, version="4.26").version == "4.26"
    with pytest.raises(CheckpointError, match=r"holds the RIFE 4.25/4.26 layout, not 4.6$"):
        RifeInterpolator(path, version="4.6")


def test_missing_and_unexpected_keys_are_listed_in_one_line(checkpoints, tmp_path):
    _, state = checkpoints["4.6"]
    broken = {f"module.{key}": value for key, value in state.items() if key != "block3.lastconv.0.bias"}
    broken["module.block3.extra.weight"] = torch.zeros(1)
    path = save_checkpoint(broken, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError) as error:
        load_rife_network(path)
    message = str(error.value)
    assert "\n" not in message
    assert "1 missing key(s): block3.lastconv.0.bias" in message
    assert "1 unexpected key(s): block3.extra.weight" in message


def test_a_shape_mismatch_is_reported(checkpoints, tmp_path):
    _, state = checkpoints["4.22"]
    bent = dict(state)
    bent["block2.conv0.1.0.bias"] = torch.zeros(95)
    with pytest.raises(
        CheckpointError, match=r"1 shape mismatch\(es\): block2.conv0.1.0.bias: checkpoint \(95,\)"
    ):
        load_rife_network(save_checkpoint(bent, tmp_path / "bent.safetensors"))


def test_unknown_layouts_and_other_files_are_one_line(checkpoints, tmp_path):
    _, state = checkpoints["4.6"]
    other = {key: value for key, value in state.items() if not key.startswith("block3.")}  # three blocks
    with pytest.raises(CheckpointError) as error:
        detect_layout(other, source="x.pkl")
    assert str(error.value) == (
        "x.pkl has a RIFE layout this toolkit does not know (3 flow blocks of 192/128/96 channels, "
        "no encoder, 6 outputs per block); supported versions: 4.6, 4.18, 4.22, 4.25/4.26"
    )
    path = save_checkpoint({"conv.weight": torch.zeros(4, 3, 3, 3)}, tmp_path / "sr.pth")
    with pytest.raises(CheckpointError, match=r"^--rife-weights: sr.pth is not a RIFE flownet checkpoint"):
        load_rife_network(path)


def test_training_only_and_unprefixed_keys_are_dropped_as_the_official_loader_does(checkpoints, tmp_path):
    _, state = checkpoints["4.6"]
    raw = {f"module.{key}": value for key, value in state.items()}
    raw["module.teacher.conv0.0.0.weight"] = torch.zeros(2)
    raw["epoch_counter"] = torch.zeros(1)  # no module. prefix: the official convert() skips it
    kept, dropped = inference_state(raw)
    assert set(kept) == set(state) and sorted(dropped) == ["epoch_counter", "teacher.conv0.0.0.weight"]
    network, dropped = load_rife_network(save_checkpoint(raw, tmp_path / "flownet.pkl"))
    assert network.layout.name == "4.6" and len(dropped) == 2


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: a stand-in for code in a checkpoint."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_code_carrying_pickle_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "flownet.pkl"
    with open(path, "wb") as handle:
        pickle.dump({"block0.conv0.0.0.weight": _Payload(str(marker))}, handle)
    with pytest.raises(CheckpointError) as error:
        load_rife_network(path)
    assert "refusing to load flownet.pkl: it contains Python objects or code" in str(error.value)
    assert str(error.value).startswith("--rife-weights: ") and "\n" not in str(error.value)
    assert not marker.exists()
