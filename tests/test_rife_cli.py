"""``restore CLIP --interp rife --rife-weights FILE --fps 60`` end to end on a real clip, and its errors.

The clip is six frames of ``bedroom.mp4`` narrowed to 120 pixels (120x68: not a multiple of the
network's 32), the weights a random 4.6 checkpoint in the official form. The output is lossless
(FFV1), so each interpolated frame is compared with the engine's own result for its pair and phase.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from dain.checkpoint import save_checkpoint
from dain.engines.rife.engine import RifeInterpolator
from dain.engines.rife.layouts import layout_for_version
from dain.engines.rife.network import RifeFlowNet
from restore.config import RestoreConfig
from restore.evaluation.cleanup import cut_lossless
from restore.jobs import prepare_job
from restore.media.frames import array_to_tensor, tensor_to_array
from tests.conftest import decode_all, main_in_process, shared_file


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rife_cli")
    return cut_lossless(shared_file("video", "bedroom.mp4"), folder / "bedroom6.mkv", 0, 6, 120)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(3)
    state = RifeFlowNet(layout_for_version("4.6")).state_dict()
    path = tmp_path_factory.mktemp("rife_weights") / "flownet.pkl"
    return save_checkpoint({f"module.{key}": value for key, value in state.items()}, path)


def test_restore_with_rife_at_60_fps(clip, weights, tmp_path):
    out = tmp_path / "out60.mkv"
    code, _, err = main_in_process(
        [
            clip,
            "-o",
            out,
            "--fps",
            "60",
            "--interp",
            "rife",
            "--rife-weights",
            weights,
            "--codec",
            "ffv1",
            "-q",
        ]
    )
    assert code == 0, err
    source, made = decode_all(clip), decode_all(out)
    plan = prepare_job(RestoreConfig(input=clip, output=tmp_path / "plan.mkv", fps=Fraction(60))).plan
    assert made.shape[1:] == source.shape[1:] == (68, 120, 3)
    assert len(made) == len(plan) and plan.interpolated_count >= 4
    engine = RifeInterpolator(weights)
    rife_error, blend_error = [], []
    for k in range(len(plan)):
        i, j, t = int(plan.sources[k]), int(plan.targets[k]), float(plan.phases[k])
        if j < 0 or t == 0.0:
            assert np.abs(made[k].astype(int) - source[i]).mean() < 1.0  # a copy, through YUV and back
            continue
        frame0, frame1 = (array_to_tensor(source[n], torch.device("cpu")) for n in (i, j))
        expected = tensor_to_array(engine.interpolate(frame0, frame1, [t])[0], np.uint8).astype(int)
        blend = (1 - t) * source[i].astype(float) + t * source[j]
        rife_error.append(np.abs(made[k] - expected).mean())
        blend_error.append(np.abs(made[k] - blend).mean())
    # each interpolated frame is RIFE's for its pair and phase (up to the YUV round trip), not a blend
    assert max(rife_error) < 0.5, rife_error  # measured: 0 (the RGB frames survive FFV1 exactly)
    assert min(blend_error) > 2.0, blend_error  # measured: about 8 levels


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--interp", "dain", "--rife-scale", "0.5"], "--rife-scale is only used with --interp rife"),
        (
            ["--interp", "rife", "--rife-scale", "0.3"],
            "--rife-scale: must be auto or one of 0.25, 0.5, 1, 2, 4",
        ),
        (["--interp", "rife", "--rife-scale", "big"], "--rife-scale must be auto or a number"),
        (["--interp", "rife", "--rife-model", "3.9"], "--rife-model: unknown RIFE version '3.9'"),
        (["--interp", "rife", "--dain-weights", "x.pth"], "--dain-weights is only used with --interp dain"),
    ],
)
def test_bad_rife_options_are_one_line_exit_2(clip, tmp_path, options, message):
    code, _, err = main_in_process([clip, "-o", tmp_path / "x.mkv", "--fps", "60", *options])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())


def test_a_code_carrying_weights_file_is_refused_with_one_line(clip, tmp_path):
    import pickle

    evil = tmp_path / "flownet.pkl"
    evil.write_bytes(pickle.dumps({"block0.conv0.0.0.weight": print}))
    out = tmp_path / "x.mkv"
    code, _, err = main_in_process(
        [clip, "-o", out, "--fps", "60", "--interp", "rife", "--rife-weights", evil]
    )
    assert code == 2 and "refusing to load flownet.pkl" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["flownet.pkl"]


def test_restore_pair_with_rife_weights(clip, weights, tmp_path):
    """``restore pair A B --interp rife --rife-weights FILE``: the engine's own frame at t = 0.5."""
    from restore.media.images import read_image, write_image

    frames = decode_all(clip)
    write_image(tmp_path / "a.png", frames[0])
    write_image(tmp_path / "b.png", frames[1])
    out = tmp_path / "mid.png"
    code, _, err = main_in_process(
        [
            "pair",
            tmp_path / "a.png",
            tmp_path / "b.png",
            "-o",
            out,
            "--interp",
            "rife",
            "--rife-weights",
            weights,
        ]
    )
    assert code == 0, err
    engine = RifeInterpolator(weights)
    cpu = torch.device("cpu")
    expected = engine.interpolate(array_to_tensor(frames[0], cpu), array_to_tensor(frames[1], cpu), [0.5])
    assert np.array_equal(read_image(out), tensor_to_array(expected[0], np.uint8))


def test_half_reaches_rife_and_fp16_on_cpu_is_one_line(clip, weights, tmp_path):
    from restore.cli.options import interpolator_options

    assert interpolator_options("rife", None, half=False) == {"half": False}
    assert interpolator_options("classic", None, half=True) == {}  # no half-precision path there
    out = tmp_path / "x.mkv"
    code, _, err = main_in_process(
        [clip, "-o", out, "--fps", "60", "--interp", "rife", "--rife-weights", weights, "--half", "-q"]
    )
    assert code == 2 and "fp16 needs a CUDA device" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
