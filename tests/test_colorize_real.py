"""Acceptance on real colour clips made grey: first frame of each shot as the only reference.

Ours (the reference engine) against the static-copy and naive-propagation baselines measured in the same
run, at 192x108 to bound CPU time (benchmarks/bench_colorize.py reports the same at 320x180).
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def scores() -> dict[str, ClipScore]:
    methods = {"static": static_copy, "naive": naive_propagation, "ours": reference_colorize()}
    results = {}
    for name, (file, seconds) in CLIPS.items():
        rgb = load_clip(shared_file("video", file), WIDTH, HEIGHT, seconds)
        assert rgb.shape[0] >= 5 * 24, "at least 5 s of footage per clip"
        results[name] = score_clip(rgb, methods)
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
