"""The ``rife`` engine: phase semantics, padding and cropping at odd sizes, batching, options.

Random weights (PyTorch's initialisation, seeded) on tiny crops of a real Vimeo-90K triplet.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dain.engines import Interpolator, create_interpolator
from dain.engines.rife.engine import RifeInterpolator, auto_scale
from dain.engines.rife.layouts import layout_for_version
from dain.engines.rife.network import RifeFlowNet
from dain.errors import EngineOptionError
from restore.media.frames import array_to_tensor
from restore.media.images import read_image
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def frames():
    """Frames 0 and 2 of a real Vimeo-90K triplet (112x64), cropped to an odd 101x61."""
    folder = shared_file("interp", "vimeo_00001_0266")
    pair = [read_image(folder / name)[:61, :101] for name in ("f0.png", "f2.png")]
    return [array_to_tensor(np.ascontiguousarray(image), torch.device("cpu")) for image in pair]


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(1)
    return {name: RifeFlowNet(layout_for_version(name)).eval() for name in ("4.6", "4.25")}


@pytest.fixture(scope="module")
def engine(networks):
    return RifeInterpolator(networks["4.6"])


def test_registered_and_obeys_the_protocol(networks, tmp_path):
    from dain.checkpoint import save_checkpoint

    path = save_checkpoint(networks["4.6"], tmp_path / "flownet.pkl")
    made = create_interpolator("rife", device="cpu", weights=path, scale=0.5)
    assert isinstance(made, Interpolator) and made.name == "rife" and made.scale == 0.5
    assert made.descriptor.supports_half and made.descriptor.size_multiple == 1


def test_endpoints_are_exact_and_the_rest_lies_in_range(engine, frames):
    frame0, frame1 = frames
    out = engine.interpolate(frame0, frame1, [0.0, 0.3, 1.0, 0.7])
    assert out.shape == (4, 3, 61, 101) and out.dtype == torch.float32
    assert torch.equal(out[0], frame0) and torch.equal(out[2], frame1)
    assert 0.0 <= out.min() and out.max() <= 1.0
    # the network did run: the middle frames are neither input nor their blend
    for index, phase in ((1, 0.3), (3, 0.7)):
        blend = (1 - phase) * frame0 + phase * frame1
        assert (out[index] - blend).abs().mean() > 1e-3


def test_identical_frames_come_back_unchanged(engine, frames):
    out = engine.interpolate(frames[0], frames[0].clone(), [0.25, 0.5, 0.75])
    assert all(torch.equal(frame, frames[0]) for frame in out)


def test_phases_are_independent_of_batching_and_order(networks, frames):
    frame0, frame1 = frames
    batched = RifeInterpolator(networks["4.6"], batch=3).interpolate(frame0, frame1, [0.25, 0.5, 0.75])
    single = RifeInterpolator(networks["4.6"])  # one phase per run: the default on a CPU
    assert single.batch is None
    one_by_one = single.interpolate(frame0, frame1, [0.25, 0.5, 0.75])
    assert (one_by_one - batched).abs().max() < 1e-5
    reversed_order = single.interpolate(frame0, frame1, [0.75, 0.25])
    assert torch.equal(reversed_order, one_by_one[[2, 0]])
    # distinct phases give distinct frames, moving from frame0 towards frame1
    distance = [(batched[index] - frame0).abs().mean().item() for index in range(3)]
    assert distance[0] < distance[1] < distance[2]


@pytest.mark.parametrize(
    ("version", "scale", "padded"),
    [("4.6", 1.0, (64, 128)), ("4.6", 0.5, (64, 128)), ("4.6", 0.25, (128, 128)), ("4.25", 1.0, (64, 128)),
     ("4.25", 0.5, (128, 128))],
)  # fmt: skip
def test_odd_sizes_are_zero_padded_to_the_multiple_and_cropped_back(networks, frames, version, scale, padded):
    frame0, frame1 = frames
    engine = RifeInterpolator(networks[version], scale=scale)
    assert engine.padded_size(61, 101) == padded
    out = engine.interpolate(frame0, frame1, [0.5])[0]
    pads = (0, padded[1] - 101, 0, padded[0] - 61)
    with torch.inference_mode():
        first, second = F.pad(frame0[None], pads), F.pad(frame1[None], pads)
        timestep = torch.full((1, 1, *padded), 0.5)
        whole = networks[version](first, second, timestep, scale)[0]
    assert torch.allclose(out, whole[:, :61, :101].clamp(0, 1), atol=1e-6)


def test_a_frame_that_is_already_a_multiple_is_not_padded(networks, frames):
    engine = RifeInterpolator(networks["4.6"])
    assert engine.padded_size(64, 128) == (64, 128) and engine.padded_size(65, 128) == (96, 128)


def test_the_automatic_scale_halves_for_4k_only():
    assert auto_scale(2160, 3840) == 0.5 and auto_scale(4320, 7680) == 0.5
    assert auto_scale(1080, 1920) == 1.0 and auto_scale(1440, 2560) == 1.0


def test_bad_options_and_arguments_are_one_line(networks, frames):
    network = networks["4.6"]
    with pytest.raises(EngineOptionError, match=r"^--rife-scale: must be auto or one of 0.25, 0.5, 1, 2, 4"):
        RifeInterpolator(network, scale=0.3)
    with pytest.raises(EngineOptionError, match="fp16 needs a CUDA device"):
        RifeInterpolator(network, half=True)
    with pytest.raises(EngineOptionError, match="batch: must be a positive number"):
        RifeInterpolator(network, batch=0)
    engine = RifeInterpolator(network)
    with pytest.raises(ValueError, match="phases: every phase must lie in"):
        engine.interpolate(frames[0], frames[1], [1.5])
    with pytest.raises(ValueError, match="frame1: shape"):
        engine.interpolate(frames[0], frames[1][:, :60], [0.5])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_on_cuda_stays_close_to_fp32_on_the_cpu(networks, frames):
    frame0, frame1 = frames
    reference = RifeInterpolator(networks["4.25"]).interpolate(frame0, frame1, [0.5])
    half = RifeInterpolator(RifeFlowNet(layout_for_version("4.25")), device="cuda")
    half.network.load_state_dict(networks["4.25"].state_dict())
    assert half.half and next(half.network.parameters()).dtype == torch.float16
    out = half.interpolate(frame0.cuda(), frame1.cuda(), [0.5]).cpu()
    assert (out - reference).abs().mean() < 5e-3
