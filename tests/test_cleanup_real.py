"""Acceptance of ``--clean all`` on real clips degraded by the seeded generator, baselines in the same run.

Clips: carphone (176x144, frames 0-39), bedroom (reduced to 480x270, frames 0-29), bikes (640x272,
frames 140-169: a stretch without cuts). Each is damaged with ``degrade_clip(seed=1)``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator

import numpy as np
import pytest

from restore.evaluation.cleanup import (
    clip_psnr,
    cut_lossless,
    dust_hits,
    ffmpeg_deflicker_hqdn3d,
    flicker_figure,
    read_clip,
    temporal_median,
)
from restore.evaluation.degrade import degrade_clip
from restore.stages import SourceFrame
from restore.stages.cleanup import CleanupSettings, CleanupStage
from restore.stages.cleanup import stage as cleanup_stage
from tests.conftest import decode_all, ffmpeg, flickering_clip, run_restore, run_restore_together, shared_file

CLIPS = {
    "carphone": ("carphone.mp4", 0, 40, None),
    "bedroom": ("bedroom.mp4", 0, 30, 480),
    "bikes": ("bikes.mp4", 140, 30, None),
}


@pytest.fixture(scope="module", autouse=True)
def _flows_computed_once_per_frame_pair() -> Iterator[None]:
    """The tests run the stage several times over the same frames (every step, then single steps; the
    damaged and the undamaged clip): a pair of flow images met before gets its flows from a memo keyed
    by the images' bytes, so each distinct pair is computed once (427 flow calls → 194, half the
    module's flow time). DIS is deterministic, so the stage sees exactly the flows it would compute.
    """
    compute = cleanup_stage.reduced_flows
    memo: dict[tuple[bytes, tuple[int, ...], object], tuple[np.ndarray, np.ndarray]] = {}

    def reduced_flows_once(luma0: np.ndarray, luma1: np.ndarray, *settings: object):
        digest = hashlib.blake2b(luma0.tobytes() + luma1.tobytes(), digest_size=16).digest()
        key = (digest, luma0.shape, settings)
        if key not in memo:
            memo[key] = compute(luma0, luma1, *settings)
        flow_ab, flow_ba = memo[key]
        return flow_ab.copy(), flow_ba.copy()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cleanup_stage, "reduced_flows", reduced_flows_once)
        yield


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
    source = (SourceFrame.from_array(i, f, i == 0) for i, f in enumerate(frames))
    out = [f.to_array(frames[0].dtype) for f in stage.process(source)]
    return out, stage


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CLIPS))
def test_clean_all_beats_degraded_ffmpeg_and_median(name):
    """Slow (1-5 s a clip): the figures need the whole stage on 30-40 real frames and both baselines."""
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
    """Slow (1-5 s a clip): detection on the damaged frames and, for false detections, the clean ones."""
    clean, damaged, damage = _clip(name)
    _, stage = _run(damaged, CleanupSettings(steps=("deflicker", "dust")))
    hits, total = dust_hits(dict(stage.masks), damage.speck_labels, damage.visible_specks)
    _, clean_stage = _run(clean, CleanupSettings(steps=("deflicker", "dust")))
    false_rate = np.mean([m.mean() for _, m in clean_stage.masks])
    print(f"{name}: dust recall {hits}/{total}, false detections {100 * false_rate:.3f} %")
    assert total > 50 and hits >= 0.9 * total
    assert false_rate <= 0.001


@pytest.mark.slow
def test_scratch_columns_are_found_and_picture_lines_are_not():
    """Slow (about 8 s): six runs, damaged and undamaged, of all three clips; the railings of bikes are the
    case that matters, and recall is counted over every clip's scratches together."""
    hit = truth = false_spans = 0
    for name in CLIPS:
        clean, damaged, damage = _clip(name)
        _, stage = _run(damaged, CleanupSettings(steps=("deflicker", "scratches")))
        found = dict(stage.spans_found)
        truth += sum(len(c) for c in damage.scratch_columns)
        hit += sum(
            any(x0 - 2 <= x <= x1 + 2 for x0, x1 in found.get(i, []))
            for i, cols in enumerate(damage.scratch_columns)
            for x in cols
        )
        _, clean_stage = _run(clean, CleanupSettings(steps=("deflicker", "scratches")))
        false_spans += sum(len(spans) for _, spans in clean_stage.spans_found)
    print(f"scratches found {hit}/{truth}; spans on the undamaged clips {false_spans}")
    assert truth >= 20 and hit >= 0.7 * truth
    assert false_spans == 0  # the railings of bikes, filmed from a tripod, are no scratch


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CLIPS))
def test_cli_clean_all_does_no_harm_to_an_undamaged_clip(name, tmp_path):
    """``--clean all`` on a clip with no film damage costs at most 0.5 dB against the same job without it.

    Both jobs go through the CLI with its default encoder (h264, CRF 18); the PSNR of each output is
    taken against the lossless source. Slow (two real jobs per clip); the two run side by side.
    """
    file, start, count, max_width = CLIPS[name]
    source = cut_lossless(shared_file("video", file), tmp_path / f"{name}.mkv", start, count, max_width)
    plain, cleaned = tmp_path / "plain.mp4", tmp_path / "cleaned.mp4"
    without, result = run_restore_together(
        (source, "-o", plain, "-q"), (source, "-o", cleaned, "--clean", "all")
    )
    assert without.returncode == 0, without.stderr
    assert result.returncode == 0, result.stderr
    reference = list(decode_all(source))
    psnr_plain = clip_psnr(list(decode_all(plain)), reference)
    psnr_cleaned = clip_psnr(list(decode_all(cleaned)), reference)
    print(f"{name}: without --clean {psnr_plain:.2f} dB, with --clean all {psnr_cleaned:.2f} dB")
    print(result.stderr)
    assert psnr_cleaned >= psnr_plain - 0.5
    assert "clean:" in result.stderr and "dust" in result.stderr  # the stage reported what it did


def test_cli_cleanup_options_are_checked(tmp_path):
    """Four CLI runs in fresh interpreters (as a user runs them), side by side."""
    source = tmp_path / "clip.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-frames:v", "6", "-c:v", "ffv1", str(source))
    bad, grain, lonely, good = run_restore_together(  # four independent jobs, side by side
        (source, "-o", tmp_path / "bad.mkv", "--clean", "dust,vacuum"),
        (source, "-o", tmp_path / "bad.mkv", "--clean", "all", "--keep-grain", "2"),
        (source, "-o", tmp_path / "bad.mkv", "--clean", "dust", "--denoise-strength", "2"),
        (
            source, "-o", tmp_path / "ok.mkv", "--codec", "ffv1", "--clean", "all",
            "--denoise-strength", "2", "--keep-grain", "0.3",
        ),
    )  # fmt: skip
    assert bad.returncode == 2 and "--clean" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert grain.returncode == 2 and "--keep-grain" in grain.stderr
    assert lonely.returncode == 2 and "--clean denoise" in lonely.stderr
    assert good.returncode == 0, good.stderr
    assert "denoise strength 2" in good.stderr and "grain kept 0.3" in good.stderr
    assert not (tmp_path / "bad.mkv").exists()


@pytest.mark.slow
def test_cli_deflickers_a_flickering_film_end_to_end(tmp_path):
    """Through the CLI, where the scan (not the test) finds the shots: flicker must not be taken for cuts.

    Slow (about 6 s): 90 frames, as the scan needs a long shot to tell flicker from cuts.
    """
    damaged, frames, flickering = flickering_clip(tmp_path, 90)
    output = tmp_path / "out.mkv"
    result = run_restore(damaged, "-o", output, "--codec", "ffv1", "--clean", "deflicker")
    assert result.returncode == 0, result.stderr
    assert " 0 cuts" in result.stderr or "0 cuts" in result.stdout, result.stderr
    cleaned = list(decode_all(output))
    before, after = flicker_figure(flickering), flicker_figure(cleaned)
    print(f"flicker {before:.2f} -> {after:.2f} (undamaged {flicker_figure(frames):.2f})")
    assert after * 5 <= before
