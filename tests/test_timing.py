"""The frame-rate planner: exact phases, durations, cuts, repeats and holds."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restore.plan.timing import PHASE_EPSILON, parse_frame_rate, plan_frames

SOURCE_RATES = ["16", "18", "24000/1001", "24", "25", "30000/1001"]
TARGET_RATES = ["24", "25", "30", "48", "50", "60000/1001", "60", "120"]


def regular_timestamps(rate: Fraction, seconds: float) -> tuple[np.ndarray, float]:
    count = int(round(seconds * rate))
    times = np.array([float(Fraction(i) / rate) for i in range(count)])
    return times, float(Fraction(count) / rate)


def test_24_to_60_uses_the_five_phase_cycle():
    times, end = regular_timestamps(Fraction(24), 1.0)
    plan = plan_frames(times, end, 60)
    assert len(plan) == 60
    expected_phase = [0.0, 0.4, 0.8, 0.2, 0.6] * 12
    # the last source frame has no successor: the final two outputs hold it
    np.testing.assert_allclose(plan.phases[:58], expected_phase[:58], atol=1e-9)
    assert list(plan.sources[58:]) == [23, 23] and list(plan.targets[58:]) == [-1, -1]
    assert list(plan.sources[:6]) == [0, 0, 0, 1, 1, 2]
    assert list(plan.targets[:6]) == [-1, 1, 1, 2, 2, -1]


@pytest.mark.parametrize("source", SOURCE_RATES)
@pytest.mark.parametrize("target", TARGET_RATES)
def test_every_output_frame_sits_at_its_exact_source_time(source, target):
    src, dst = parse_frame_rate(source), parse_frame_rate(target)
    times, end = regular_timestamps(src, 3.0)
    plan = plan_frames(times, end, dst)
    duration = end - times[0]
    # frame count: round(duration * fps), i.e. duration within one output frame
    assert len(plan) == round(Fraction(duration).limit_denominator(10**6) * dst)
    assert abs(len(plan) / float(dst) - duration) <= 1 / float(dst)
    for frame in plan:
        position = frame.time * float(src)  # in source frames
        if frame.is_copy:  # a copy sits on its frame, or within the copy tolerance of it
            assert abs(position - frame.source) <= PHASE_EPSILON or frame.source == len(times) - 1
        else:
            assert frame.target == frame.source + 1
            assert 0 < frame.phase < 1
            assert abs(frame.source + frame.phase - position) < 1e-6


def test_ntsc_rates_are_exact_fractions():
    assert parse_frame_rate("59.94") == Fraction(60000, 1001)
    assert parse_frame_rate("23.976") == Fraction(24000, 1001)
    assert parse_frame_rate("29.97") == Fraction(30000, 1001)
    assert parse_frame_rate("30000/1001") == Fraction(30000, 1001)
    assert parse_frame_rate("25") == 25


@pytest.mark.parametrize("bad", ["0", "-5", "1001", "abc", "1/0"])
def test_bad_rates_are_refused(bad):
    with pytest.raises(ValueError, match="fps"):
        parse_frame_rate(bad)


def test_no_interpolation_across_a_cut():
    times, end = regular_timestamps(Fraction(24), 1.0)
    plan = plan_frames(times, end, 60, cuts=[9])
    for frame in plan:
        if not frame.is_copy:
            assert not (frame.source <= 9 < frame.target)
    # around the cut the nearer frame is used: t = 9.2 -> frame 9, t = 9.6 -> frame 10
    near = {round(f.time * 24, 3): f.source for f in plan if 9 <= f.time * 24 < 10}
    assert near == {9.2: 9, 9.6: 10}


def test_telecine_repeats_are_retimed_evenly():
    # 29 fps where every 5th frame repeats its predecessor (4 distinct images per 5 slots)
    count = 60
    times = np.arange(count) / 29
    repeats = np.array([i % 5 == 4 for i in range(count)])
    plan = plan_frames(times, count / 29, 60, repeats=repeats)
    assert not set(plan.sources.tolist()) & set(np.flatnonzero(repeats).tolist())
    assert not set(plan.targets.tolist()) & set(np.flatnonzero(repeats).tolist())
    spacing = np.diff(plan.motion_times)
    np.testing.assert_allclose(spacing, spacing[0], rtol=1e-9)
    np.testing.assert_allclose(spacing[0], 5 / 4 / 29, rtol=1e-9)
    # motion is continuous: position (distinct index + phase) grows by the same step each frame
    position = np.searchsorted(plan.distinct, plan.sources) + plan.phases
    steps = np.diff(position)
    np.testing.assert_allclose(steps[: len(steps) - 3], steps[0], atol=1e-6)


def test_animation_on_twos_keeps_its_timing():
    times = np.arange(48) / 24
    repeats = np.array([i % 2 == 1 for i in range(48)])
    plan = plan_frames(times, 2.0, 24, repeats=repeats)
    np.testing.assert_allclose(plan.motion_times, np.arange(24) / 12)
    # every output frame moves: half-way frames between drawings (the last drawing has no successor)
    assert plan.interpolated_count == 23
    np.testing.assert_allclose(plan.phases[1:-1:2], 0.5)


def test_a_long_hold_stays_still_then_moves():
    # frame 2 is held for 10 frames (a real hold, not cadence)
    flags = [False, False, False] + [True] * 10 + [False] * 5
    times = np.arange(len(flags)) / 24
    plan = plan_frames(times, len(flags) / 24, 24, repeats=flags)
    held = [f for f in plan if 2 <= round(f.time * 24) <= 12]
    assert all(f.is_copy and f.source == 2 for f in held)
    # the move from the held image to the next takes one source slot
    assert plan[13].source == 13 and plan[13].is_copy


def test_variable_frame_rate_keeps_true_times():
    times = np.array([0.0, 0.030, 0.071, 0.100, 0.150, 0.180])
    plan = plan_frames(times, 0.2, 100)
    for frame in plan:
        if not frame.is_copy:
            t0, t1 = times[frame.source], times[frame.target]
            assert abs(t0 + frame.phase * (t1 - t0) - frame.time) < 1e-9


def test_bad_timelines_are_refused():
    with pytest.raises(ValueError, match="increase"):
        plan_frames([0.0, 0.1, 0.1], 0.2, 30)
    with pytest.raises(ValueError, match="end_time"):
        plan_frames([0.0, 0.1], 0.05, 30)
    with pytest.raises(ValueError, match="no source"):
        plan_frames([], 1.0, 30)


@settings(max_examples=60, deadline=None)
@given(
    intervals=st.lists(st.floats(min_value=0.004, max_value=0.2), min_size=2, max_size=60),
    fps=st.sampled_from([Fraction(24), Fraction(60000, 1001), Fraction(60), Fraction(120), Fraction(15)]),
    repeat_bits=st.lists(st.booleans(), min_size=60, max_size=60),
    cut_at=st.lists(st.integers(min_value=0, max_value=58), max_size=4),
)
def test_plan_invariants(intervals, fps, repeat_bits, cut_at):
    times = np.concatenate([[0.0], np.cumsum(intervals[:-1])])
    end = float(times[-1] + intervals[-1])
    repeats = np.array(repeat_bits[: len(times)])
    repeats[0] = False  # the first frame repeats nothing
    plan = plan_frames(times, end, fps, cuts=cut_at, repeats=repeats)
    # duration within one output frame (a clip shorter than one output frame still gives one)
    assert len(plan) == 1 or abs(len(plan) / float(fps) - (end - times[0])) <= 0.5 / float(fps) + 1e-9
    # never a repeated frame as a pair member, never a pair across a cut, phases in (0, 1)
    pairs = plan.targets >= 0
    assert not repeats[plan.targets[pairs]].any()
    assert not repeats[plan.sources[pairs]].any()
    assert np.all((plan.phases[pairs] > 0) & (plan.phases[pairs] < 1))
    for source, target in zip(plan.sources[pairs], plan.targets[pairs], strict=True):
        assert not any(source <= c < target for c in cut_at)
    # time order: the position along the source never goes back
    position = plan.sources + plan.phases * np.where(pairs, plan.targets - plan.sources, 0)
    assert np.all(np.diff(position) >= -1e-9)
    assert np.all(np.diff(plan.motion_times) > 0)
