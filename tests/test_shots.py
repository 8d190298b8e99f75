"""Cut and repeat detection on pair differences."""

from __future__ import annotations

import numpy as np

from restore.media.scan import scan_video
from restore.plan.shots import ShotSettings, analyse_shots
from tests.conftest import flickering_clip, shared_file


def _motion(count: int, level: float = 6.0, seed: int = 0) -> np.ndarray:
    return level * np.random.default_rng(seed).uniform(0.75, 1.25, count)


def test_isolated_spike_is_a_cut_and_fast_motion_is_not():
    difference = _motion(60)
    difference[20] = 60.0  # a cut
    difference[40:43] = 30.0  # a fast pan over three frames
    analysis = analyse_shots(difference, np.full(60, 0.02))
    assert analysis.cuts == (20,)


def test_histogram_change_alone_is_a_cut():
    histogram = np.full(60, 0.02)
    histogram[33] = 0.6  # a dissolve-free change of lighting and colour, small pixel change
    assert analyse_shots(_motion(60), histogram).cuts == (33,)


def test_telecine_repeats_are_found_in_quiet_and_busy_passages():
    difference = np.concatenate([_motion(50, 8.0), _motion(50, 1.2, seed=1)])
    repeat_pairs = np.arange(2, 100, 5)
    difference[repeat_pairs] = np.random.default_rng(2).uniform(0.02, 0.3, repeat_pairs.size)
    analysis = analyse_shots(difference, np.full(100, 0.02))
    assert set(np.flatnonzero(analysis.repeats)) == set(repeat_pairs + 1)
    assert analysis.cuts == ()


def test_static_scene_is_not_a_string_of_repeats_unless_identical():
    noise = np.random.default_rng(3).uniform(0.4, 0.6, 80)  # compression noise of a still scene
    assert not analyse_shots(noise, np.zeros(80)).repeats.any()
    identical = np.full(80, 0.01)
    assert analyse_shots(identical, np.zeros(80)).repeats[1:].all()


def test_detection_can_be_switched_off():
    difference = _motion(30)
    difference[10] = 80.0
    difference[5] = 0.01
    analysis = analyse_shots(
        difference, np.zeros(30), ShotSettings(detect_cuts=False, detect_duplicates=False)
    )
    assert analysis.cuts == () and not analysis.repeats.any()


def test_real_clips():
    bikes = scan_video(shared_file("video", "bikes.mp4"))
    assert analyse_shots(bikes.pair_difference, bikes.pair_histogram_distance).cuts == (29, 75, 136, 186, 241)
    bedroom = scan_video(shared_file("video", "bedroom.mp4"))
    analysis = analyse_shots(bedroom.pair_difference, bedroom.pair_histogram_distance)
    assert analysis.cuts == () and not analysis.repeats.any()


def test_flicker_is_no_cut(tmp_path):
    """Old film's frame-to-frame brightness flicker must not split a shot into many."""
    path, _, _ = flickering_clip(tmp_path, 120)
    timeline = scan_video(path)
    assert analyse_shots(timeline.pair_difference, timeline.pair_histogram_distance).cuts == ()
