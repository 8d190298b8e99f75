"""Reference-based colourisation: colour space, warping, edge-aware spread, the tracker on motion."""

from __future__ import annotations

import numpy as np
import pytest

from dain.flow import warp
from restore.evaluation.colorize import chroma_error, naive_propagation, static_copy
from restore.media.frames import from_unit_float
from restore.stages.colorize.lab import lab_to_rgb, merge_lab, rgb_to_lab
from restore.stages.colorize.reference import ColorReference, ReferenceColorizer, ReferenceSettings
from restore.stages.colorize.spread import solve_chroma_levin, spread_chroma
from restore.stages.colorize.temporal import StillSettings, hold_still, stillness


def _textured_scene(height: int = 72, width: int = 96, seed: int = 0) -> np.ndarray:
    """A colourful, textured RGB float image (smooth blobs of colour, luminance texture)."""
    rng = np.random.default_rng(seed)
    import cv2

    base = rng.random((height // 8, width // 8, 3)).astype(np.float32)
    colour = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 1.5)
    return np.clip(colour * (0.6 + 0.8 * texture[..., None]), 0, 1)


def test_lab_round_trip_and_grey_has_no_chroma():
    rgb = _textured_scene()
    lab = rgb_to_lab(rgb)
    assert np.abs(lab_to_rgb(lab) - rgb).max() < 5e-3
    grey = merge_lab(lab[..., 0], np.zeros((*lab.shape[:2], 2), np.float32))
    assert np.abs(rgb_to_lab(grey)[..., 1:]).max() < 0.5
    assert from_unit_float(np.array([0.0, 1.0]), np.uint16).tolist() == [0, 65535]


def test_warp_follows_flow():
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    flow = np.zeros((20, 30, 2), np.float32)
    assert np.array_equal(warp(image, flow), image)
    flow[..., 0] = 2.0  # target pixel x sits at x + 2 in the source
    np.testing.assert_allclose(warp(image, flow)[:, :-2], image[:, 2:])


def test_spread_fills_holes_along_edges():
    lightness = np.full((40, 60), 30.0, np.float32)
    lightness[:, 30:] = 70.0  # a hard edge between a dark and a bright region
    chroma = np.zeros((40, 60, 2), np.float32)
    chroma[:, :30] = (40.0, -20.0)
    chroma[:, 30:] = (-30.0, 50.0)
    confidence = np.ones((40, 60), np.float32)
    confidence[10:30, 20:40] = 0.0  # a hole straddling the edge
    corrupted = chroma.copy()
    corrupted[10:30, 20:40] = 0.0
    filled = spread_chroma(lightness, corrupted, confidence)
    assert chroma_error(filled[10:30, 20:40], chroma[10:30, 20:40]) < 3.0
    blurred = spread_chroma(lightness, corrupted, confidence, eps=10.0)  # no edge-following: much worse
    assert chroma_error(blurred[10:30, 20:40], chroma[10:30, 20:40]) > 10.0


def test_levin_solver_fills_holes_along_edges():
    lightness = np.full((40, 60), 30.0, np.float32)
    lightness[:, 30:] = 70.0
    chroma = np.zeros((40, 60, 2), np.float32)
    chroma[:, :30] = (40.0, -20.0)
    chroma[:, 30:] = (-30.0, 50.0)
    confidence = np.ones((40, 60), np.float32)
    confidence[10:30, 20:40] = 0.0
    corrupted = np.where(confidence[..., None] > 0, chroma, 0.0).astype(np.float32)
    solved = solve_chroma_levin(lightness, corrupted, confidence)
    assert chroma_error(solved[10:30, 20:40], chroma[10:30, 20:40]) < 3.0
    flat = solve_chroma_levin(np.full_like(lightness, 50.0), corrupted, confidence)  # no edge to follow
    assert chroma_error(flat[10:30, 20:40], chroma[10:30, 20:40]) > 10.0


def test_levin_solver_of_an_isolated_speck_is_finite():
    lightness = np.zeros((32, 32), np.float32)
    lightness[16, 16] = 100.0  # every affinity to its neighbours underflows to 0, and no data there: 0/0
    chroma = np.full((32, 32, 2), 10.0, np.float32)
    confidence = np.ones((32, 32), np.float32)
    confidence[16, 16] = 0.0
    solved = solve_chroma_levin(lightness, chroma, confidence)
    assert np.isfinite(solved).all()
    assert np.abs(solved - 10.0).max() < 1e-3


def test_still_filter_holds_unchanged_pixels_only():
    lightness = np.full((8, 8), 50.0, np.float32)
    changed = lightness.copy()
    changed[:, 4:] += 5.0  # the right half changed by 5 L units
    still = stillness(changed, lightness, sigma=1.0)
    assert np.allclose(still[:, :4], 1.0) and still[:, 4:].max() < 1e-6
    assert np.isclose(stillness(lightness + 1.0, lightness, sigma=1.0)[0, 0], np.exp(-1.0))
    previous, estimate = np.zeros((8, 8, 2), np.float32), np.full((8, 8, 2), 10.0, np.float32)
    held = hold_still(estimate, previous, still, 0.85)
    assert np.allclose(held[:, :4], 1.5) and np.allclose(held[:, 4:], 10.0)
    with pytest.raises(ValueError, match="carry and hold"):
        StillSettings(hold=1.0)


def test_spread_of_nothing_trusted_is_finite():
    out = spread_chroma(
        np.full((16, 16), 50.0, np.float32), np.ones((16, 16, 2), np.float32), np.zeros((16, 16))
    )
    assert np.isfinite(out).all()


def _pan_clip(offsets: list[int], height: int = 72, width: int = 96) -> np.ndarray:
    """Lab frames of a camera moving over a textured colourful scene; offsets: left edge per frame."""
    scene = _textured_scene(height, width + max(offsets), seed=3)
    return np.stack([rgb_to_lab(scene[:, x : x + width]) for x in offsets])


def _run(colorizer: ReferenceColorizer, lightness: np.ndarray) -> np.ndarray:
    return np.stack([colorizer.colorize(frame) for frame in lightness])


@pytest.mark.parametrize("spread_method", ["affine", "levin"])
def test_tracker_follows_a_pan_without_drift(spread_method):
    offsets = [3 * i for i in range(12)]
    lab = _pan_clip(offsets)
    lightness, reference_chroma = lab[..., 0], lab[0, ..., 1:]
    settings = ReferenceSettings(spread_method=spread_method)
    ours = _run(ReferenceColorizer([ColorReference(lightness[0], reference_chroma)], settings), lightness)
    static = static_copy(lightness, reference_chroma)
    for index, offset in enumerate(offsets[1:], start=1):  # only what the reference shows can be known
        seen = slice(0, 96 - offset)
        truth = lab[index, :, seen, 1:]
        assert chroma_error(ours[index, :, seen], truth) < 1.5
        assert chroma_error(static[index, :, seen], truth) > 10.0


def test_tracker_reanchors_where_naive_propagation_loses_colour():
    offsets = [
        0,
        4,
        8,
        12,
        16,
        20,
        24,
        20,
        16,
        12,
        8,
        4,
        0,
    ]  # out and back: the right strip leaves and returns
    lab = _pan_clip(offsets)
    lightness, reference_chroma = lab[..., 0], lab[0, ..., 1:]
    ours = _run(ReferenceColorizer([ColorReference(lightness[0], reference_chroma)]), lightness)
    naive = naive_propagation(lightness, reference_chroma)
    truth = lab[1:, ..., 1:]
    error_ours, error_naive = chroma_error(ours[1:], truth), chroma_error(naive[1:], truth)
    error_static = chroma_error(static_copy(lightness, reference_chroma)[1:], truth)
    assert error_ours < 0.8 * min(error_naive, error_static), (error_ours, error_naive, error_static)
    assert chroma_error(ours[-1], lab[-1, ..., 1:]) < 1.0  # back at the reference framing: back to its colour


def test_best_reference_is_chosen_and_shots_reset():
    lab_a = _pan_clip([0, 3, 6])
    lab_b = np.stack([rgb_to_lab(_textured_scene(72, 96, seed=9))] * 2)
    references = [
        ColorReference(lab_b[0, ..., 0], lab_b[0, ..., 1:]),
        ColorReference(lab_a[0, ..., 0], lab_a[0, ..., 1:]),
    ]
    colorizer = ReferenceColorizer(references)
    for frame in lab_a[..., 0]:
        colorizer.colorize(frame)
    colorizer.start_shot()
    out = colorizer.colorize(lab_b[1, ..., 0])
    assert colorizer.chosen == [1, 0]
    assert chroma_error(out, lab_b[1, ..., 1:]) < 2.0


def test_no_reference_is_a_value_error():
    with pytest.raises(ValueError, match="--color-ref"):
        ReferenceColorizer([])
    with pytest.raises(ValueError, match="spread_method"):
        ReferenceSettings(spread_method="magic")
