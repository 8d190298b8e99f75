"""The interpolation test set's triplet selection (``restore.evaluation.triplets``) on made-up clips."""

from __future__ import annotations

import cv2
import numpy as np

from restore.evaluation.triplets import SPLIT, distinct_frames, resize_to_cover, select_triplets


def _texture(seed: int, height: int = 96, width: int = 128) -> np.ndarray:
    """Smooth random texture (blurred noise stretched to 0–255): a shift changes it little, a cut a lot."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(size=(height, width, 3)).astype(np.float32), (0, 0), 8)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (noise * 255).astype(np.uint8)


def _panning_clip(steps: list[int], cut_at: int | None = None) -> list[np.ndarray]:
    """A texture panned right by ``steps[k]`` pixels from frame k to k+1; another after ``cut_at``."""
    base, other = _texture(1, 96, 512), _texture(2, 96, 512)
    frames, x = [], 0
    for k in range(len(steps) + 1):
        source = other if cut_at is not None and k > cut_at else base
        frames.append(np.ascontiguousarray(source[:, x : x + 128]))
        x += steps[k] if k < len(steps) else 0
    return frames


def test_repeats_are_dropped_so_no_truth_is_a_copy():
    a, b = _texture(1), _texture(2)
    assert [f is a or f is b for f in distinct_frames([a, a.copy(), b, b.copy(), a])] == [True] * 3
    assert len(distinct_frames([a, a.copy(), b, b.copy(), a])) == 3


def test_chosen_triplets_hold_no_cut_and_the_busier_motion():
    steps = [1, 2, 3, 4] * 8
    frames = _panning_clip(steps, cut_at=12)
    chosen = select_triplets(frames, per_clip=4)
    assert chosen, "some triplets qualify"
    motions = sorted(2 * (steps[k] + steps[k + 1]) / 2 for k in range(len(steps) - 1))
    for k, motion in chosen:
        assert not (k <= 12 < k + 2), f"triplet {k} spans the cut after frame 12"
        assert 0.5 * np.percentile(motions, 50) <= motion <= 1.5 * np.percentile(motions, 90)
    starts = [k for k, _ in chosen]
    assert all(b - a >= 3 for a, b in zip(starts[:-1], starts[1:], strict=True)), "no shared frames"
    assert starts[-1] - starts[0] >= len(frames) // 3, "spread over the clip"


def test_the_split_is_by_clip_and_fixed():
    assert set(SPLIT.values()) == {"tune", "check"}
    assert SPLIT["bigbuckbunny.mp4"] == "check", "the native 720p clip is never tuned on"
    assert sum(h == "check" for h in SPLIT.values()) >= 2


def test_resize_to_cover_gives_exactly_the_size():
    frame = _texture(3, 96, 128)
    out = resize_to_cover(frame, 320, 180)
    assert out.shape == (180, 320, 3) and out.dtype == np.uint8
