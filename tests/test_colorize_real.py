"""Acceptance on real colour clips made grey: first frame of each shot as the only reference.

Ours (the reference engine) against the static-copy and naive-propagation baselines measured in the same
run, at 192x108 to bound CPU time (benchmarks/bench_colorize.py reports the same at 320x180).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from restore.evaluation.colorize import (
    ClipScore,
    load_clip,
    naive_propagation,
    reference_colorize,
    score_clip,
    static_copy,
)
from tests.conftest import shared_file

CLIPS = {
    "bedroom": ("bedroom.mp4", 5.0),
    "bikes": ("bikes.mp4", None),
    "bigbuckbunny": ("bigbuckbunny.mp4", 5.0),
}
WIDTH, HEIGHT = 192, 108


def _score(path: Path, seconds: float | None) -> ClipScore:
    """Decode one clip at WIDTH x HEIGHT and score the three methods on it (runs in a worker process)."""
    methods = {"static": static_copy, "naive": naive_propagation, "ours": reference_colorize()}
    return score_clip(load_clip(path, WIDTH, HEIGHT, seconds), methods)


@pytest.fixture(scope="module")
def scores() -> dict[str, ClipScore]:
    """Every clip scored once for the module (about 25 s of CPU: flow and the chroma solve per frame).

    The clips are independent, so they are scored in two worker processes (spawned, so nothing of this
    process is shared): the longest clip (bikes) in one, the two others in the other. The scores are
    the same numbers as one after the other; only the wall time halves on a machine with two cores.
    """
    paths = {name: shared_file("video", file) for name, (file, _) in CLIPS.items()}
    longest_first = sorted(CLIPS, key=lambda name: CLIPS[name][1] is not None)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {name: pool.submit(_score, paths[name], CLIPS[name][1]) for name in longest_first}
        results = {name: futures[name].result() for name in CLIPS}
    for score in results.values():
        assert score.frames >= 5 * 24, "at least 5 s of footage per clip"
    return results


@pytest.mark.slow
def test_bikes_is_scored_shot_by_shot(scores):
    assert scores["bikes"].shots >= 3


@pytest.mark.slow
@pytest.mark.parametrize("clip", list(CLIPS))
def test_no_worse_than_the_better_baseline_and_steady(scores, clip):
    score = scores[clip]
    best = min(score.error["static"], score.error["naive"])
    assert score.error["ours"] <= best, score
    assert score.flicker["ours"] <= 1.2 * score.original_flicker, score


@pytest.mark.slow
def test_mean_chroma_error_beats_the_better_baseline_by_a_fifth(scores):
    ours = np.mean([score.error["ours"] for score in scores.values()])
    best = np.mean([min(score.error["static"], score.error["naive"]) for score in scores.values()])
    assert ours <= 0.8 * best, (ours, best)
