"""The colour stage: engine choice and errors, the frame loop, and ``restore --colorize`` end to end."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from restore.config import RestoreConfig
from restore.evaluation.colorize import chroma_error
from restore.media.ffmpeg import ffmpeg_exe
from restore.media.frames import from_unit_float
from restore.media.images import write_image
from restore.stages import SourceFrame
from restore.stages.colorize import create_colorize_stage
from restore.stages.colorize.lab import merge_lab, rgb_to_lab
from restore.stages.colorize.stage import ColorizeStage, collect_references
from restore.stages.colorize.weights import COLORIZE_WEIGHTS
from tests.conftest import decode_all, ffmpeg, run_restore_here
from tests.loopback import closed_port_url

CPU = torch.device("cpu")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty cache, and every official colouriser source offline (a closed loopback port)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(cache))
    for name, spec in COLORIZE_WEIGHTS.items():
        monkeypatch.setitem(COLORIZE_WEIGHTS, name, dataclasses.replace(spec, urls=(closed_port_url(),)))
    return cache


def _config(**options: object) -> RestoreConfig:
    return RestoreConfig(input=Path("in.mp4"), output=Path("out.mp4"), colorize=True, **options)  # type: ignore[arg-type]


def test_nothing_to_colour_from_offline_names_the_download_and_both_options(empty_cache):
    with pytest.raises(
        ValueError, match="^--colorize without --color-ref uses the learned colouriser"
    ) as caught:
        create_colorize_stage(_config(), CPU)
    message = str(caught.value)
    assert COLORIZE_WEIGHTS["siggraph17"].url in message and "--colorize-weights PATH" in message
    assert "--color-ref IMG" in message and "\n" not in message
    assert not empty_cache.exists()  # nothing written


def test_auto_uses_a_cached_official_checkpoint_before_downloading(empty_cache, monkeypatch):
    from dain.checkpoint import save_checkpoint
    from restore.stages.colorize.zhang import ECCV16Colorizer

    empty_cache.mkdir()
    save_checkpoint(ECCV16Colorizer(), empty_cache / COLORIZE_WEIGHTS["eccv16"].filename)
    spec = dataclasses.replace(COLORIZE_WEIGHTS["eccv16"], sha256_prefix=None)  # a stand-in for the real file
    monkeypatch.setitem(COLORIZE_WEIGHTS, "eccv16", spec)
    stage = create_colorize_stage(_config(), CPU)
    assert stage.description.startswith("eccv16 (colorization_release_v2-9b330a0b.pth)")


def test_bad_engine_and_missing_files_are_value_errors(tmp_path, empty_cache):
    with pytest.raises(ValueError, match="--colorize-engine"):
        create_colorize_stage(_config(colorize_engine="magic"), CPU)
    with pytest.raises(ValueError, match="--color-ref"):
        create_colorize_stage(_config(color_refs=(tmp_path / "nope.png",)), CPU)
    with pytest.raises(ValueError, match="--color-ref"):
        create_colorize_stage(_config(colorize_engine="reference"), CPU)
    with pytest.raises(ValueError, match="--colorize-weights"):
        create_colorize_stage(_config(colorize_weights=tmp_path / "nope.pth"), CPU)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        collect_references((tmp_path / "empty",))


def test_reference_folder_is_expanded_in_order(tmp_path):
    folder = tmp_path / "refs"
    folder.mkdir()
    for name in ("b.png", "a.jpg", "notes.txt"):
        (folder / name).write_bytes(b"x")
    single = tmp_path / "c.png"
    single.write_bytes(b"x")
    assert [p.name for p in collect_references((folder, single))] == ["a.jpg", "b.png", "c.png"]


class _RecordingColorizer:
    def __init__(self) -> None:
        self.starts: list[int] = []
        self.seen = 0

    def start_shot(self) -> None:
        self.starts.append(self.seen)

    def colorize(self, lightness: np.ndarray) -> np.ndarray:
        self.seen += 1
        return np.full((*lightness.shape, 2), 20.0, np.float32)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_stage_keeps_frames_order_lightness_and_resets_at_cuts(dtype):
    peak = np.iinfo(dtype).max
    rng = np.random.default_rng(1)
    greys = [np.repeat((rng.random((24, 32, 1)) * peak).astype(dtype), 3, axis=2) for _ in range(5)]
    frames = [SourceFrame.from_array(i, image, i in (0, 3)) for i, image in enumerate(greys)]
    colorizer = _RecordingColorizer()
    stage = ColorizeStage(colorizer, "test")
    out = list(stage.process(iter(frames)))
    assert [f.index for f in out] == [0, 1, 2, 3, 4] and [f.shot_start for f in out] == [
        True,
        False,
        False,
        True,
        False,
    ]
    assert colorizer.starts == [0, 3]
    for before, after in zip(greys, out, strict=True):
        assert after.image.dtype == torch.float32 and after.image.shape == (3, *before.shape[:2])
        picture = after.to_array(dtype)
        lab_in, lab_out = rgb_to_lab(before), rgb_to_lab(picture)
        inside = (lab_in[..., 0] > 15) & (lab_in[..., 0] < 85)  # (20, 20) chroma stays in gamut here
        assert np.abs(lab_out[..., 0] - lab_in[..., 0])[inside].mean() < 1.0
        assert chroma_error(lab_out[inside][:, 1:], np.array([20.0, 20.0])) < 3.0
    assert stage.report() == "test, 5 frames in 2 shots"  # the pipeline adds "colorize: "


def _encode_grey(frames: np.ndarray, path: Path) -> Path:
    lightness = [rgb_to_lab(frame)[..., 0] for frame in frames]
    greys = [
        from_unit_float(merge_lab(l, np.zeros((*l.shape, 2), np.float32)), np.uint8, rounding="half_even")
        for l in lightness
    ]
    height, width = frames.shape[1:3]
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
         f"{width}x{height}", "-r", "12", "-i", "pipe:", "-c:v", "libx264", "-preset", "ultrafast",
         "-crf", "12", "-pix_fmt", "yuv444p", str(path)],
        input=np.stack(greys).tobytes(), check=True,
    )  # fmt: skip
    return path


def test_restore_colorize_end_to_end(tmp_path, empty_cache):
    colour = tmp_path / "colour.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=12:duration=1", "-c:v", "libx264", "-preset",
           "ultrafast", "-crf", "12", "-pix_fmt", "yuv444p", str(colour))  # fmt: skip
    original = decode_all(colour)
    grey = _encode_grey(original, tmp_path / "grey.mp4")  # the original's own CIE L, no chroma
    reference = tmp_path / "ref.png"
    write_image(reference, original[0])

    result = run_restore_here(grey, "-o", tmp_path / "none.mp4", "--colorize", "-q")
    assert result.returncode == 2
    assert "--color-ref" in result.stderr and "--colorize-weights" in result.stderr

    out = tmp_path / "out.mp4"
    result = run_restore_here(grey, "-o", out, "--colorize", "--color-ref", reference, "-q")
    assert result.returncode == 0, result.stderr
    restored = decode_all(out)
    assert restored.shape == original.shape
    truth = np.stack([rgb_to_lab(f)[..., 1:] for f in original])
    ours = np.stack([rgb_to_lab(f)[..., 1:] for f in restored])
    no_colour = chroma_error(np.stack([rgb_to_lab(f)[..., 1:] for f in decode_all(grey)]), truth)
    assert chroma_error(ours, truth) < 0.25 * no_colour, (chroma_error(ours, truth), no_colour)
