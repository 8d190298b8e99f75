"""Colourisation: acceptance scores on real colour clips made grey, and seconds per frame on this machine.

Scores (``--scores``): bedroom.mp4, bikes.mp4 (all its shots) and bigbuckbunny.mp4 from ../shared/data/video
at 320x180, first frame of each shot as the only reference; mean chroma error (CIE Lab a,b Euclidean, frames
after the first) of the static-copy and naive-propagation baselines and of the reference engine, and temporal
flicker against the original's (see restore/evaluation/colorize.py).

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
    static_copy,
)
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
        "| flicker ours | flicker original | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ours_all, best_all = [], []
    for name, (file, seconds) in CLIPS.items():
        rgb = load_clip(VIDEO / file, width, height, seconds)
        start = time.perf_counter()
        score = score_clip(rgb, methods)
        elapsed = time.perf_counter() - start
        best = min(score.error["static"], score.error["naive"])
        ours_all.append(score.error["ours"])
        best_all.append(best)
        lines.append(
            f"| {name} | {score.frames} | {score.shots} | {score.error['static']:.3f} "
            f"| {score.error['naive']:.3f} "
            f"| **{score.error['ours']:.3f}** | {score.error['ours'] / best:.3f} "
            f"| {score.flicker['ours']:.3f} "
            f"| {score.original_flicker:.3f} | {elapsed:.1f} |"
        )
        print(lines[-1], flush=True)
    lines.append(
        f"| **mean** | | | | | **{np.mean(ours_all):.3f}** "
        f"| {np.mean(ours_all) / np.mean(best_all):.3f} | | | |"
    )
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
