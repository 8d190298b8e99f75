"""The seeded film-damage generator: reproducible, truthful about what it did."""

from __future__ import annotations

import numpy as np

from restore.evaluation.degrade import DegradationSettings, degrade_clip


def _frames(count: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        np.full((90, 120, 3), 100 + 5 * (i % 3), np.uint8) + rng.integers(0, 20, (90, 120, 3), dtype=np.uint8)
        for i in range(count)
    ]


def test_same_seed_same_damage_other_seed_other_damage():
    frames = _frames()
    a, damage_a = degrade_clip(frames, seed=7)
    b, damage_b = degrade_clip(frames, seed=7)
    c, _ = degrade_clip(frames, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert damage_a.gains == damage_b.gains
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    assert len(a) == len(frames) and a[0].dtype == np.uint8 and a[0].shape == frames[0].shape


def test_all_off_is_identity():
    frames = _frames(4)
    off = DegradationSettings(0, 0, 0, 0, 0, 0)
    out, damage = degrade_clip(frames, seed=1, settings=off)
    assert all(np.array_equal(x, y) for x, y in zip(out, frames, strict=True))
    assert damage.gains == [1.0] * 4 and all(not labels.any() for labels in damage.speck_labels)


def test_truth_matches_the_damage():
    frames = _frames(40)
    only_dust = DegradationSettings(
        flicker_gain=0, flicker_offset=0, flicker_tilt=0, scratch_rate=0, grain=0, dust_per_mpx=400
    )
    out, damage = degrade_clip(frames, seed=3, settings=only_dust)
    for damaged, clean, labels, visible in zip(
        out, frames, damage.speck_labels, damage.visible_specks, strict=True
    ):
        changed = np.abs(damaged.astype(int) - clean).max(axis=2) > 0
        assert not (changed & (labels == 0) & ~_near(labels > 0)).any()  # nothing changed away from specks
        for label in visible:
            assert (
                np.abs(damaged[labels == label].astype(int) - clean[labels == label]).mean() >= 0.08 * 255 - 1
            )
    assert sum(len(v) for v in damage.visible_specks) > 40
    only_scratch = DegradationSettings(
        flicker_gain=0, flicker_offset=0, flicker_tilt=0, dust_per_mpx=0, grain=0, scratch_rate=0.5
    )
    out, damage = degrade_clip(frames, seed=3, settings=only_scratch)
    for damaged, clean, columns in zip(out, frames, damage.scratch_columns, strict=True):
        change = np.abs(damaged.astype(int) - clean).mean(axis=(0, 2))
        for x in columns:
            assert change[int(x) - 1 : int(x) + 3].max() > 4  # the scratch is there
        far = np.ones(len(change), bool)
        for x in columns:
            far[max(0, int(x) - 3) : int(x) + 5] = False
        assert change[far].max() == 0  # and nowhere else
    assert any(damage.scratch_columns) and max(len(c) for c in damage.scratch_columns) >= 2


def _near(mask: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
