#!/usr/bin/env python3
"""Benchmark of the archival cleanup stage: quality against the baselines and seconds per frame.

  .venv/bin/python benchmarks/bench_cleanup.py [--frames 40] [--out FILE]

1. Quality: real clips (carphone 0-39, bedroom 0-39 reduced to 480x270, bikes 140-179 without cuts)
   damaged by ``restore.evaluation.degrade.degrade_clip(seed=1)``; PSNR against the clean clip of the damaged
   clip, FFmpeg ``deflicker,hqdn3d``, a naive 3-frame temporal median and ``--clean all``; the flicker
   figure before and after; dust recall and false detections; PSNR of ``--clean all`` on the
   undamaged clip against itself. All in the same run.
2. No harm: each undamaged clip (stored losslessly) through the CLI with its default encoder (h264,
   CRF 18), without and with ``--clean all``; PSNR of both against the source, and the difference.
3. End to end through the CLI, where the scan finds the shots: bedroom.mp4 (480 wide, 200 frames)
   with the generator's flicker only (seed 3) through ``restore --clean deflicker --codec ffv1``:
   cuts found, flicker figure and PSNR; and the peak resident memory of the whole process tree of
   ``restore bigbuckbunny.mp4 --clean all`` (1280x720).
4. Speed: seconds per frame of each step alone (motion estimation included, as each step needs it),
   of the motion estimation alone, and of all steps, at 432x320 (archival_abomb.mp4) and 1280x720
   (bigbuckbunny.mp4), with OpenCV limited to ``--threads`` threads.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._util import SHARED_VIDEO, run_measured  # noqa: E402
from restore.evaluation.cleanup import (  # noqa: E402
    clip_psnr,
    cut_lossless,
    dust_hits,
    ffmpeg_deflicker_hqdn3d,
    flicker_figure,
    read_clip,
    temporal_median,
    write_lossless,
)
from restore.evaluation.degrade import DegradationSettings, degrade_clip  # noqa: E402
from restore.media.scan import scan_video  # noqa: E402
from restore.plan.shots import analyse_shots  # noqa: E402
from restore.stages import SourceFrame  # noqa: E402
from restore.stages.cleanup import CleanupSettings, CleanupStage  # noqa: E402

QUALITY_CLIPS = [("carphone.mp4", 0, None), ("bedroom.mp4", 0, 480), ("bikes.mp4", 140, None)]
SPEED_CLIPS = [("archival_abomb.mp4", "432x320"), ("bigbuckbunny.mp4", "1280x720")]


def run_stage(
    frames: list[np.ndarray], settings: CleanupSettings
) -> tuple[list[np.ndarray], CleanupStage, float]:
    stage = CleanupStage(settings, keep_diagnostics=True)
    start = time.perf_counter()
    source = (SourceFrame.from_array(i, f, i == 0) for i, f in enumerate(frames))
    out = [f.to_array(frames[0].dtype) for f in stage.process(source)]
    return out, stage, (time.perf_counter() - start) / len(frames)


def dust_scores(frames, clean, damage) -> tuple[float, float]:
    _, stage, _ = run_stage(frames, CleanupSettings(steps=("deflicker", "dust")))
    hits, total = dust_hits(dict(stage.masks), damage.speck_labels, damage.visible_specks)
    _, clean_stage, _ = run_stage(clean, CleanupSettings(steps=("deflicker", "dust")))
    false_rate = float(np.mean([m.mean() for _, m in clean_stage.masks]))
    return hits / max(total, 1), false_rate


def no_harm(name: str, start: int, max_width: int | None, frames: int) -> tuple[float, float]:
    """PSNR against the lossless source of the CLI's h264 output without and with ``--clean all``."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = cut_lossless(SHARED_VIDEO / name, work / "source.mkv", start, frames, max_width)
        reference = read_clip(source, 0, frames)
        scores = []
        for label, extra in (("plain", []), ("cleaned", ["--clean", "all"])):
            output = work / f"{label}.mp4"
            command = [sys.executable, "-m", "restore", str(source), "-o", str(output), "-q", *extra]
            subprocess.run(command, check=True, capture_output=True)
            scores.append(clip_psnr(read_clip(output, 0, frames), reference))
    return scores[0], scores[1]


def end_to_end() -> list[str]:
    """The CLI on a flickering film (cuts, flicker, PSNR) and the memory of ``--clean all`` at 720p."""
    lines = ["| what | figure |", "|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = cut_lossless(SHARED_VIDEO / "bedroom.mp4", work / "bedroom.mkv", 0, 200, 480)
        frames = read_clip(source, 0, 200)
        settings = DegradationSettings(scratch_rate=0, dust_per_mpx=0, grain=0)
        flickering, _ = degrade_clip(frames, seed=3, settings=settings)
        damaged = write_lossless(flickering, work / "flicker.mkv")
        timeline = scan_video(damaged)
        cuts = analyse_shots(timeline.pair_difference, timeline.pair_histogram_distance).cuts
        output = work / "out.mkv"
        command = [sys.executable, "-m", "restore", str(damaged), "-o", str(output), "-q"]
        subprocess.run([*command, "--codec", "ffv1", "--clean", "deflicker"], check=True, capture_output=True)
        cleaned = read_clip(output, 0, 200)
        lines += [
            f"| flickering bedroom, 200 frames: cuts the scan finds | {len(cuts)} |",
            "| its flicker figure: undamaged / damaged / `--clean deflicker` "
            f"| {flicker_figure(frames):.2f} / {flicker_figure(flickering):.2f} "
            f"/ {flicker_figure(cleaned):.2f} |",
            f"| its PSNR: damaged / `--clean deflicker` | {clip_psnr(flickering, frames):.2f} / "
            f"{clip_psnr(cleaned, frames):.2f} dB |",
        ]
        clip = SHARED_VIDEO / "bigbuckbunny.mp4"
        seconds, peak = run_measured(
            [sys.executable, "-m", "restore", str(clip), "-o", str(work / "bbb.mp4"), "-q", "--clean", "all"]
        )
        lines.append(
            "| `restore bigbuckbunny.mp4 --clean all` (1280x720): peak RSS of the process tree, time "
            f"| {peak / 1024**2:.2f} GiB, {seconds:.0f} s |"
        )
    for line in lines:
        print(line, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--speed-frames", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    lines = ["## Cleanup (`--clean`): quality on damaged real clips (seeded generator, seed 1)", ""]
    lines += [
        "| clip | frames | damaged | ffmpeg deflicker+hqdn3d | 3-frame median | `--clean all` | gain "
        "| vs ffmpeg | vs median "
        "| flicker before → after | dust recall / false | clean clip through `--clean all` |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, start, max_width in QUALITY_CLIPS:
        clean = read_clip(SHARED_VIDEO / name, start, args.frames, max_width)
        damaged, damage = degrade_clip(clean, seed=1)
        ours, stage, _ = run_stage(damaged, CleanupSettings())
        p_damaged, p_ours = clip_psnr(damaged, clean), clip_psnr(ours, clean)
        p_ffmpeg = clip_psnr(ffmpeg_deflicker_hqdn3d(damaged), clean)
        p_median = clip_psnr(temporal_median(damaged), clean)
        recall, false_rate = dust_scores(damaged, clean, damage)
        untouched, _, _ = run_stage(clean, CleanupSettings())
        height, width = clean[0].shape[:2]
        lines.append(
            f"| {name} {width}x{height} from {start} | {len(clean)} | {p_damaged:.2f} | {p_ffmpeg:.2f} "
            f"| {p_median:.2f} "
            f"| **{p_ours:.2f}** | +{p_ours - p_damaged:.2f} | +{p_ours - p_ffmpeg:.2f} "
            f"| +{p_ours - p_median:.2f} "
            f"| {flicker_figure(damaged):.2f} → {flicker_figure(ours):.2f} "
            f"(clean {flicker_figure(clean):.2f}) "
            f"| {100 * recall:.1f} % / {100 * false_rate:.3f} % | {clip_psnr(untouched, clean):.2f} |"
        )
        print(lines[-1], "\n   ", stage.report(), flush=True)
    lines += [
        "",
        "## Cleanup: no harm to undamaged clips (CLI, h264 CRF 18, PSNR against the lossless source)",
        "",
        "| clip | without `--clean` | with `--clean all` | cost |",
        "|---|---|---|---|",
    ]
    for name, start, max_width in QUALITY_CLIPS:
        plain, cleaned = no_harm(name, start, max_width, args.frames)
        lines.append(f"| {name} | {plain:.2f} | {cleaned:.2f} | {plain - cleaned:.2f} dB |")
        print(lines[-1], flush=True)
    lines += ["", "## Cleanup: end to end through the CLI", ""]
    lines += end_to_end()
    lines += [
        "",
        f"## Cleanup: seconds per frame ({args.threads} OpenCV thread(s), {args.speed_frames} frames)",
        "",
    ]
    lines += [
        "| size | motion only | deflicker | dust | scratches | denoise | all |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, size in SPEED_CLIPS:
        frames = read_clip(SHARED_VIDEO / name, 0, args.speed_frames)
        frames, _ = degrade_clip(frames, seed=2)
        cells = []
        for steps in [
            (),
            ("deflicker",),
            ("dust",),
            ("scratches",),
            ("denoise",),
            ("deflicker", "dust", "scratches", "denoise"),
        ]:
            _, _, seconds = run_stage(frames, CleanupSettings(steps=steps))
            cells.append(f"{seconds:.3f}")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    report = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
