"""A plain Lanczos resize left to the encoder's swscale (issue 18): the same pictures, measured.

The job then hands source-size frames to the encoder, whose one swscale pass resizes them and
converts them to YUV; these tests hold that to the PyTorch Lanczos it replaces.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from restore.media.encode import FrameWriter
from tests.conftest import decode_all, ffmpeg, run_restore_here, shared_file


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


@pytest.fixture(scope="module")
def real_frames(tmp_path_factory) -> np.ndarray:
    """Four frames of a real clip at 320x180, as (4, 180, 320, 3) uint8."""
    clip = tmp_path_factory.mktemp("resize") / "bbb.mkv"
    ffmpeg("-i", str(shared_file("video", "bigbuckbunny.mp4")), "-vf", "scale=320:180:flags=area",
           "-frames:v", "4", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(clip))  # fmt: skip
    return decode_all(clip)


def _write(path, frames, size, frame_size=None, codec="ffv1"):
    crf = 0 if codec == "h264" else None  # lossless H.264: only the 4:2:0 conversion remains
    with FrameWriter(path, *size, Fraction(24), codec=codec, crf=crf, frame_size=frame_size) as writer:
        for frame in frames:
            writer.write(frame)
    return decode_all(path)


def _torch_resize(frames: np.ndarray, size: tuple[int, int], mode: str = "lanczos") -> np.ndarray:
    import torch
    import torch.nn.functional as F

    from restore.media.frames import array_to_tensor, tensor_to_array
    from restore.upscale.lanczos import lanczos_resize

    out = []
    for frame in frames:
        tensor = array_to_tensor(frame, torch.device("cpu"))[None]
        if mode == "lanczos":
            resized = lanczos_resize(tensor, (size[1], size[0]))
        else:
            resized = F.interpolate(tensor, size=(size[1], size[0]), mode=mode, align_corners=False)
        out.append(tensor_to_array(resized[0].clamp(0, 1), np.uint8))
    return np.stack(out)


def test_one_swscale_pass_resizes_and_converts(tmp_path):
    even = FrameWriter(tmp_path / "a.mp4", 128, 72, Fraction(24), frame_size=(64, 36)).command
    assert even[even.index("-s") + 1] == "64x36"
    chain = even[even.index("-vf") + 1].split(",")
    assert chain[0].startswith("scale=128:72:out_color_matrix=") and "flags=lanczos" in chain[0]
    odd = FrameWriter(tmp_path / "b.mp4", 127, 71, Fraction(24), frame_size=(64, 36)).command
    chain = odd[odd.index("-vf") + 1].split(",")  # resized in RGB first, then padded to even, converted
    assert chain[0].startswith("scale=127:71:flags=lanczos") and chain[1].startswith("pad=128:72")
    assert chain[3].startswith("scale=out_color_matrix")
    with pytest.raises(ValueError, match="native"):
        FrameWriter(tmp_path / "c.mp4", 128, 72, Fraction(24), frame_size=(64, 36), native_pix_fmt="yuv420p")


@pytest.mark.parametrize("size", [(640, 360), (960, 540), (213, 120)], ids=["2x", "3x", "down"])
def test_encoder_resize_matches_the_pytorch_lanczos(real_frames, tmp_path, size):
    reference = _torch_resize(real_frames, size)
    resized = _write(tmp_path / "enc.mkv", real_frames, size, frame_size=(320, 180))
    assert resized.shape == reference.shape
    scores = [psnr(a, b) for a, b in zip(resized, reference, strict=True)]
    assert min(scores) >= 45.0, scores
    # a different kernel is told apart: bilinear is much further from the PyTorch Lanczos
    bilinear = _torch_resize(real_frames, size, mode="bilinear")
    assert np.mean(scores) > np.mean([psnr(a, b) for a, b in zip(bilinear, reference, strict=True)]) + 3


def test_encoder_resize_in_yuv_matches_resizing_first(real_frames, tmp_path):
    """H.264 (lossless): the one resize + 4:2:0 pass against the PyTorch resize, then conversion."""
    resized_first = _torch_resize(real_frames, (640, 360))
    reference = _write(tmp_path / "ref.mkv", resized_first, (640, 360), codec="h264")
    resized = _write(tmp_path / "enc.mkv", real_frames, (640, 360), frame_size=(320, 180), codec="h264")
    assert min(psnr(a, b) for a, b in zip(resized, reference, strict=True)) >= 45.0


def test_jobs_leave_a_plain_resize_to_the_encoder(tmp_path, monkeypatch):
    """The same job with and without the hand-over: same frames within 45 dB, the same size."""
    import restore.jobs.run as run

    clip = tmp_path / "clip.mp4"
    ffmpeg("-i", str(shared_file("video", "bigbuckbunny.mp4")), "-vf", "scale=192:108:flags=area,fps=12",
           "-t", "1", "-c:v", "libx264", "-crf", "12", "-an", str(clip))  # fmt: skip
    seen = []
    original = run.resize_in_encoder

    def spy(job):
        seen.append(original(job))
        return seen[-1]

    monkeypatch.setattr(run, "resize_in_encoder", spy)
    common = ("--fps", "24", "--interp", "blend", "--scale", "3", "--codec", "ffv1", "-q")
    assert run_restore_here(clip, "-o", tmp_path / "encoder.mkv", *common).returncode == 0
    monkeypatch.setattr(run, "resize_in_encoder", lambda job: False)
    assert run_restore_here(clip, "-o", tmp_path / "torch.mkv", *common).returncode == 0
    assert seen == [True]
    encoder, torch_path = decode_all(tmp_path / "encoder.mkv"), decode_all(tmp_path / "torch.mkv")
    assert encoder.shape == torch_path.shape == (24, 324, 576, 3)
    assert min(psnr(a, b) for a, b in zip(encoder, torch_path, strict=True)) >= 45.0


@pytest.mark.parametrize(
    "options",
    [
        {"size": (400, 300), "fit": "pad"},
        {"scale": 2.0, "sr": "anime4k"},
        {"scale": 2.0, "output": "seq/f_%04d.png"},
    ],
    ids=["letterbox", "another-upscaler", "image-sequence"],
)
def test_other_resizes_stay_in_pytorch(clip_factory, tmp_path, options):
    from restore.config import RestoreConfig
    from restore.jobs import prepare_job
    from restore.jobs.prepare import build_engines
    from restore.jobs.run import resize_in_encoder

    clip = clip_factory("resize_rules.mp4", seconds=0.5, audio=False)
    output = tmp_path / options.pop("output", "out.mp4")
    output.parent.mkdir(exist_ok=True)
    job = build_engines(prepare_job(RestoreConfig(input=clip, output=output, fps=Fraction(24), **options)))
    assert job.upscaler is not None and not resize_in_encoder(job)
    plain = build_engines(prepare_job(RestoreConfig(input=clip, output=tmp_path / "o.mp4", scale=2.0)))
    assert resize_in_encoder(plain)
