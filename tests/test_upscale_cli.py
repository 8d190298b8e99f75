"""End to end: ``restore clip --scale N --sr MODEL``, bad model input, and ``restore models``."""

import pickle
import subprocess
import sys

import imageio_ffmpeg
import pytest
import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

from tests.conftest import main_in_process

RESTORE = [sys.executable, "-m", "restore"]


def _run(args, env=None, cwd=None):
    """A real ``restore`` process, for the end-to-end runs."""
    return subprocess.run(
        [*RESTORE, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=180
    )


def _frame_size(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return tuple(meta["size"])


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x24:rate=10",
        "-frames:v", "4", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def compact_x2(tmp_path_factory):
    torch.manual_seed(0)
    model = Compact(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=2)
    path = tmp_path_factory.mktemp("models") / "2x_compact.safetensors"
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(path))
    return path


@pytest.mark.parametrize("scale", [2, 4])
def test_scale_with_model_file_gives_right_size(tmp_path, clip, compact_x2, scale):
    output = tmp_path / f"out_x{scale}.mp4"
    args = [clip, "--scale", scale, "--sr", compact_x2, "-o", output, "--quiet", "--device", "cpu"]
    if scale == 2:  # one run as a real process through ``python -m restore``
        result = _run(args)
        assert result.returncode == 0, result.stderr
    else:
        code, _, stderr = main_in_process(args)
        assert code == 0, stderr
    assert _frame_size(output) == (32 * scale, 24 * scale)


def test_chain_with_anime4k(tmp_path, clip, compact_x2):
    output = tmp_path / "chain.mp4"
    spec = f"{compact_x2},anime4k"
    code, _, stderr = main_in_process(
        [clip, "--scale", 3, "--sr", spec, "-o", output, "--quiet", "--device", "cpu"]
    )
    assert code == 0, stderr
    assert _frame_size(output) == (96, 72)


class _CreatesMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_carrying_pickle_exits_2_and_never_runs(tmp_path, clip):
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as handle:
        pickle.dump({"params": {"w": torch.zeros(1)}, "x": _CreatesMarker(marker)}, handle)
    code, _, stderr = main_in_process([clip, "--scale", 2, "--sr", evil, "-o", tmp_path / "o.mp4", "--quiet"])
    assert code == 2
    assert "refusing to load evil.pth" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize("case", ["not_a_model", "unknown_arch", "missing_chain_element"])
def test_bad_model_input_exits_2_with_one_line(tmp_path, clip, case):
    if case == "not_a_model":
        spec = tmp_path / "notes.pth"
        spec.write_text("hello")
        expected = "not a PyTorch checkpoint"
    elif case == "unknown_arch":
        spec = tmp_path / "mystery.safetensors"
        save_file({"foo.weight": torch.zeros(2, 2)}, str(spec))
        expected = "unknown model architecture"
    else:
        spec = f"lanczos,{tmp_path / 'absent.safetensors'}"
        expected = "absent.safetensors"
    code, _, stderr = main_in_process([clip, "--scale", 2, "--sr", spec, "-o", tmp_path / "o.mp4", "--quiet"])
    assert code == 2, stderr
    assert expected in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_models_lists_cache_and_describes_a_file(tmp_path, compact_x2, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = main_in_process(["models"])
    assert code == 0 and "no model files" in stdout
    (tmp_path / "cache" / "models").mkdir(parents=True)
    (tmp_path / "cache" / "models" / compact_x2.name).write_bytes(compact_x2.read_bytes())
    code, stdout, stderr = main_in_process(["models"])
    assert code == 0, stderr
    assert compact_x2.name in stdout and str(tmp_path / "cache" / "models") in stdout
    code, stdout, stderr = main_in_process(["models", compact_x2.name])
    assert code == 0, stderr
    assert "Compact" in stdout and "2x" in stdout and "3 in, 3 out" in stdout
    code, _, stderr = main_in_process(["models", tmp_path / "nothing.pth"])
    assert code == 2 and "nothing.pth" in stderr and len(stderr.strip().splitlines()) == 1


def test_real_esrgan_x2_layout_at_scale_4(tmp_path, clip):
    from tests.test_upscale_models import realesrgan_rrdb_state_dict

    model = tmp_path / "RealESRGAN_x2_tiny.pth"
    torch.save({"params_ema": realesrgan_rrdb_state_dict(2, num_feat=16, num_blocks=1)}, model)
    output = tmp_path / "x4.mp4"
    code, _, stderr = main_in_process(
        [clip, "--scale", 4, "--sr", model, "-o", output, "--quiet", "--device", "cpu"]
    )
    assert code == 0, stderr
    assert _frame_size(output) == (128, 96)
