"""Acceptance of ``--clean all`` on real clips degraded by the seeded generator, baselines in the same run.

Clips: carphone (176x144, frames 0-39), bedroom (reduced to 480x270, frames 0-29), bikes (640x272,
frames 140-169: a stretch without cuts). Each is damaged with ``degrade_clip(seed=1)``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from restore.cleanup import CleanupSettings, CleanupStage, degrade_clip
from restore.cleanup.evaluate import (
    clip_psnr,
    dust_hits,
    ffmpeg_deflicker_hqdn3d,
    flicker_figure,
    read_clip,
    temporal_median,
)
from restore.stages import SourceFrame
from tests.conftest import decode_all, ffmpeg, run_restore, shared_file

CLIPS = {
    "carphone": ("carphone.mp4", 0, 40, None),
    "bedroom": ("bedroom.mp4", 0, 30, 480),
    "bikes": ("bikes.mp4", 140, 30, None),
}


@functools.cache
def _clip(name: str) -> tuple[list[np.ndarray], list[np.ndarray], object]:
    file, start, count, max_width = CLIPS[name]
    clean = read_clip(shared_file("video", file), start, count, max_width)
    damaged, damage = degrade_clip(clean, seed=1)
    return clean, damaged, damage


def _run(
    frames: list[np.ndarray], settings: CleanupSettings | None = None
) -> tuple[list[np.ndarray], CleanupStage]:
    stage = CleanupStage(settings or CleanupSettings(), keep_diagnostics=True)
    out = [f.image for f in stage.process(SourceFrame(i, f, i == 0) for i, f in enumerate(frames))]
    return out, stage


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CLIPS))
def test_clean_all_beats_degraded_ffmpeg_and_median(name):
    clean, damaged, _ = _clip(name)
    cleaned, stage = _run(damaged)
    ours = clip_psnr(cleaned, clean)
    degraded = clip_psnr(damaged, clean)
    ffmpeg_chain = clip_psnr(ffmpeg_deflicker_hqdn3d(damaged), clean)
    median = clip_psnr(temporal_median(damaged), clean)
    print(
        f"{name}: degraded {degraded:.2f} ffmpeg {ffmpeg_chain:.2f} median {median:.2f} ours {ours:.2f}",
        stage.report(),
    )
    assert ours >= degraded + 5.0
    assert ours >= ffmpeg_chain + 2.5
    assert ours >= median + 1.5
    assert flicker_figure(cleaned) * 5 <= flicker_figure(damaged)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["carphone", "bikes"])
def test_dust_recall_and_false_detections(name):
    clean, damaged, damage = _clip(name)
    _, stage = _run(damaged, CleanupSettings(steps=("deflicker", "dust")))
    hits, total = dust_hits(dict(stage.masks), damage.speck_labels, damage.visible_specks)
    _, clean_stage = _run(clean, CleanupSettings(steps=("deflicker", "dust")))
    false_rate = np.mean([m.mean() for _, m in clean_stage.masks])
    print(f"{name}: dust recall {hits}/{total}, false detections {100 * false_rate:.3f} %")
    assert total > 50 and hits >= 0.9 * total
    assert false_rate <= 0.001


@pytest.mark.slow
def test_scratch_columns_are_found():
    clean, damaged, damage = _clip("bikes")
    _, stage = _run(damaged, CleanupSettings(steps=("deflicker", "scratches")))
    assert stage._counts.scratch_frames > 0
    found = dict(stage.spans_found)
    truth = sum(len(c) for c in damage.scratch_columns)
    hit = sum(
        any(x0 - 2 <= x <= x1 + 2 for x0, x1 in found.get(i, []))
        for i, cols in enumerate(damage.scratch_columns)
        for x in cols
    )
    print(f"scratches found {hit}/{truth}")
    assert truth > 0 and hit >= 0.7 * truth


@pytest.mark.slow
def test_cli_clean_all_on_a_real_clip(tmp_path):
    source, output = tmp_path / "carphone.mkv", tmp_path / "out.mkv"
    carphone = str(shared_file("video", "carphone.mp4"))
    ffmpeg(
        "-i", carphone, "-frames:v", "30", "-c:v", "ffv1", "-an", str(source)
    )  # lossless: decoded == source
    result = run_restore(source, "-o", output, "--codec", "ffv1", "--clean", "all")
    assert result.returncode == 0, result.stderr
    before, after = decode_all(source), decode_all(output)
    assert before.shape == after.shape
    psnr = clip_psnr(list(after), list(before))
    print(f"clean clip through --clean all: {psnr:.2f} dB against itself\n{result.stdout}{result.stderr}")
    assert psnr > 38
    bad = run_restore(source, "-o", tmp_path / "bad.mkv", "--codec", "ffv1", "--clean", "dust,vacuum")
    assert bad.returncode == 2 and "--clean" in bad.stderr
