"""The headline command, ``restore <archival clip> --fps 60 --scale 4 --colorize``, with nothing else.

On a short cut of the real black-and-white archival film, with a loopback server standing in for the
official SIGGRAPH17 download: the colouriser is downloaded into the cache (with progress), the film is
coloured, interpolated to 60 fps and upscaled ×4, exit 0. Offline: one line, exit 2, nothing written.

The served checkpoint is a SIGGRAPH17 network with seeded random weights (the official file cannot be
fetched here); the spec's published SHA-256 prefix is replaced by that file's, so the check still runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from fractions import Fraction

import numpy as np
import pytest
import torch

from dain import hub
from restore.media.scan import scan_video
from restore.stages.colorize.lab import rgb_to_lab
from restore.stages.colorize.weights import COLORIZE_WEIGHTS, DEFAULT_ENGINE
from restore.stages.colorize.zhang import SIGGRAPH17Colorizer
from tests.conftest import decode_all, ffmpeg, main_in_process, shared_file
from tests.loopback import LoopbackServer, closed_port_url

FRAMES = 4  # source frames of the cut (29.97 fps), few: SIGGRAPH17 costs 2-4 s a frame on 2 CPU cores


@pytest.fixture(scope="module")
def archival(tmp_path_factory):
    path = tmp_path_factory.mktemp("archival") / "archival.mp4"
    source = shared_file("video", "archival_abomb.mp4")
    ffmpeg("-i", str(source), "-vf", "scale=144:-2", "-frames:v", str(FRAMES), "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p", "-an", str(path))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def checkpoint() -> bytes:
    torch.manual_seed(16)
    buffer = io.BytesIO()
    torch.save(SIGGRAPH17Colorizer().state_dict(), buffer)
    return buffer.getvalue()


def _chroma(frames: np.ndarray) -> float:
    """Mean |a| + |b| (CIE Lab) over every frame."""
    return float(np.mean([np.abs(rgb_to_lab(frame)[..., 1:]).sum(axis=-1).mean() for frame in frames]))


def test_headline_command_downloads_colours_and_exits_0(archival, checkpoint, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(hub.CACHE_ENV, str(cache))
    spec = COLORIZE_WEIGHTS[DEFAULT_ENGINE]
    with LoopbackServer({"/" + spec.filename: checkpoint}) as server:
        served = dataclasses.replace(
            spec,
            urls=(server.url("/" + spec.filename),),
            sha256_prefix=hashlib.sha256(checkpoint).hexdigest()[:8],
        )
        monkeypatch.setitem(COLORIZE_WEIGHTS, DEFAULT_ENGINE, served)
        output = tmp_path / "restored.mp4"
        code, _, err = main_in_process([archival, "--fps", "60", "--scale", "4", "--colorize", "-o", output])
        assert code == 0, err
        assert server.requests == ["/" + spec.filename]
    assert f"downloading {spec.filename}" in err and "(100%)" in err
    assert (cache / spec.filename).read_bytes() == checkpoint and (
        cache / f"{spec.filename}.sha256"
    ).is_file()

    source, restored = scan_video(archival), scan_video(output)
    assert restored.frame_rate == Fraction(60) and restored.frame_count > source.frame_count
    assert (restored.width, restored.height) == (4 * source.width, 4 * source.height)
    grey, coloured = _chroma(decode_all(archival)), _chroma(decode_all(output))
    assert grey < 1.0 and coloured > 3.0, (
        grey,
        coloured,
    )  # the film was grey; the output is not  # measured 0.04 / 12.1


def test_headline_command_offline_is_one_line_exit_2_and_writes_nothing(archival, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(hub.CACHE_ENV, str(cache))
    spec = COLORIZE_WEIGHTS[DEFAULT_ENGINE]
    offline = closed_port_url("/" + spec.filename)
    monkeypatch.setitem(COLORIZE_WEIGHTS, DEFAULT_ENGINE, dataclasses.replace(spec, urls=(offline,)))
    work = tmp_path / "work"
    work.mkdir()
    code, out, err = main_in_process(
        [archival, "--fps", "60", "--scale", "4", "--colorize", "-o", work / "o.mp4"]
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(
        "restore: error: --colorize without --color-ref uses the learned colouriser siggraph17"
    )
    assert f"cannot download {offline}" in line and "pass --colorize-weights PATH" in line
    assert line.endswith("(or give colour references with --color-ref IMG)")
    assert list(work.iterdir()) == [] and not cache.exists()
