"""Colourisation: acceptance scores on real colour clips made grey, and seconds per frame on this machine.

Scores (``--scores``): bedroom.mp4, bikes.mp4 (all its shots) and bigbuckbunny.mp4 from ../shared/data/video
at 320x180, first frame of each shot as the only reference; mean chroma error (CIE Lab a,b Euclidean, frames
after the first) of the static-copy and naive-propagation baselines and of the reference engine, and temporal
flicker against the original's (see restore/evaluation/colorize.py).

Steady colour (with ``--scores``): still-region flicker (where the original's colour does not change at
all) against the bar 1.5 x the original's + 0.05; shot starts: chroma error of the first 5 frames of a shot
coloured from a reference 30 frames before it, against that of frames 8-12 (``shot_start_errors``); and the
archival clip coloured from its own reference frames at 216x160: the output's change from a shot's first
frame to its second against the change per frame at frames 8-12 (``shot_start_change``; no truth: a flash is
what the second frame repaints).

Timing (``--timing``): seconds per 432x320 and 1280x720 frame for the reference engine and, with random
weights standing in for the official checkpoints, the ECCV16 / SIGGRAPH17 engines with flow stabilisation.

    .venv/bin/python benchmarks/bench_colorize.py [--scores] [--timing] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restore.evaluation.colorize import (  # noqa: E402
    load_clip,
    naive_propagation,
    reference_colorize,
    score_clip,
    shot_start_change,
    shot_start_errors,
    split_shots,
    static_copy,
)
from restore.media.images import read_image  # noqa: E402
from restore.stages.colorize.lab import rgb_to_lab  # noqa: E402
from restore.stages.colorize.learned import LearnedColorizer  # noqa: E402
from restore.stages.colorize.reference import ColorReference, ReferenceColorizer, ReferenceSettings  # noqa: E402
from restore.stages.colorize.zhang import ECCV16Colorizer, SIGGRAPH17Colorizer  # noqa: E402

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
CLIPS = {
    "bedroom": ("bedroom.mp4", 6.0),
    "bikes": ("bikes.mp4", None),
    "bigbuckbunny": ("bigbuckbunny.mp4", 6.0),
}


def scores(width: int = 320, height: int = 180) -> list[str]:
    methods = {"static": static_copy, "naive": naive_propagation, "ours": reference_colorize()}
    lines = [
        f"### Chroma error at {width}x{height} (first frame of each shot as the only reference)",
        "",
        "| clip | frames | shots | static copy | naive propagation | **reference engine** "
        "| ours / better baseline "
        "| flicker ours | flicker original | still-region flicker ours / original / bar | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    starts = [
        "### Shot starts (reference 30 frames before the coloured part)",
        "",
        "| clip | shots | error frames 0-4 | error frames 8-12 | ratio |",
        "|---|---|---|---|---|",
    ]
    ours_all, best_all = [], []
    for name, (file, seconds) in CLIPS.items():
        rgb = load_clip(VIDEO / file, width, height, seconds)
        start = time.perf_counter()
        score = score_clip(rgb, methods)
        elapsed = time.perf_counter() - start
        lab = np.stack([rgb_to_lab(frame) for frame in rgb])
        head, later, used = shot_start_errors(lab, split_shots(lab))
        starts.append(f"| {name} | {used} | {head:.3f} | {later:.3f} | {head / later:.3f} |")
        best = min(score.error["static"], score.error["naive"])
        ours_all.append(score.error["ours"])
        best_all.append(best)
        lines.append(
            f"| {name} | {score.frames} | {score.shots} | {score.error['static']:.3f} "
            f"| {score.error['naive']:.3f} "
            f"| **{score.error['ours']:.3f}** | {score.error['ours'] / best:.3f} "
            f"| {score.flicker['ours']:.3f} "
            f"| {score.original_flicker:.3f} "
            f"| {score.still_flicker['ours']:.3f} / {score.original_still_flicker:.3f} "
            f"/ {1.5 * score.original_still_flicker + 0.05:.3f} | {elapsed:.1f} |"
        )
        print(lines[-1], starts[-1], flush=True)
    lines.append(
        f"| **mean** | | | | | **{np.mean(ours_all):.3f}** "
        f"| {np.mean(ours_all) / np.mean(best_all):.3f} | | | | |"
    )
    return lines + [""] + starts + [""] + archival_starts()


def archival_starts(width: int = 216, height: int = 160, frames: int = 13) -> list[str]:
    """The archival clip coloured from its own reference frames: each shot's first ``frames`` frames."""
    lab = np.stack([rgb_to_lab(frame) for frame in load_clip(VIDEO / "archival_abomb.mp4", width, height)])
    paths = sorted((VIDEO / "archival_abomb_refs").glob("*.png"))
    references = [ColorReference.from_rgb(read_image(path)) for path in paths]
    lines = [
        f"### Shot starts on archival_abomb.mp4 at {width}x{height} (its 4 reference frames)",
        "",
        "| shot start | change frame 0→1 | change per frame, frames 8-12 |",
        "|---|---|---|",
    ]
    for start, stop in split_shots(lab):
        if stop - start < frames:
            continue
        colorizer = ReferenceColorizer(references)
        shot = lab[start : start + frames, ..., 0]
        chroma = np.stack([colorizer.colorize(np.ascontiguousarray(frame)) for frame in shot])
        first, later = shot_start_change(chroma)
        lines.append(f"| {start} | {first:.2f} | {later:.2f} |")
        print(lines[-1], flush=True)
    return lines


def _time_per_frame(colorizer: object, lightness: list[np.ndarray]) -> float:
    colorizer.colorize(lightness[0])  # type: ignore[attr-defined]  # warm-up, reference choice
    start = time.perf_counter()
    for frame in lightness[1:]:
        colorizer.colorize(frame)  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / (len(lightness) - 1)


def timing(frames: int = 5) -> list[str]:
    lines = ["### Seconds per frame", "", "| engine | 432x320 | 1280x720 |", "|---|---|---|"]
    sizes = [(432, 320), (1280, 720)]
    clips = {
        size: load_clip(VIDEO / "bigbuckbunny.mp4", *size, seconds=frames / 25 + 0.01)[:frames]
        for size in sizes
    }
    lab = {size: [rgb_to_lab(frame) for frame in clip] for size, clip in clips.items()}
    engines = {
        "reference (levin spread, default)": lambda size: ReferenceColorizer(
            [ColorReference(lab[size][0][..., 0], lab[size][0][..., 1:])]
        ),
        "reference (affine spread)": lambda size: ReferenceColorizer(
            [ColorReference(lab[size][0][..., 0], lab[size][0][..., 1:])],
            ReferenceSettings(spread_method="affine"),
        ),
        "eccv16 + stabilisation (random weights)": lambda size: LearnedColorizer(
            ECCV16Colorizer(), torch.device("cpu")
        ),
        "siggraph17 + stabilisation (random weights)": lambda size: LearnedColorizer(
            SIGGRAPH17Colorizer(), torch.device("cpu")
        ),
    }
    for name, make in engines.items():
        cells = []
        for size in sizes:
            lightness = [np.ascontiguousarray(frame[..., 0]) for frame in lab[size]]
            cells.append(f"{_time_per_frame(make(size), lightness):.2f}")
        lines.append(f"| {name} | {' | '.join(cells)} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", action="store_true")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    run_all = not (args.scores or args.timing)
    header = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), CPU only.",
        "",
    ]
    lines = list(header)
    if args.scores or run_all:
        lines += scores() + [""]
    if args.timing or run_all:
        lines += timing() + [""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
