"""An honest interpolation test set: triplets drawn automatically from real clips, split by clip.

For each clip, every run of three consecutive distinct frames ``(f0, f1, f2)`` with no scene cut in
it is a candidate, ``f1`` being the ground truth at t = 0.5 between ``f0`` and ``f2``. Candidates
are ranked by their motion (the median magnitude of the DIS flow ``f0 → f2`` on a reduced grid)
and those between the clip's 50th and 90th motion percentile are kept: the busier half of the
footage without its few extreme moments. From these, ``per_clip`` triplets are taken evenly spread
over the clip and never sharing a frame.

The split is by clip, fixed once (:data:`SPLIT`): parameters are chosen on the ``tune`` clips and
only reported on the ``check`` clips. Nothing here looks at an interpolator's output.

Frames: (H,W,3) uint8 RGB numpy arrays throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from restore.evaluation.cleanup import read_clip

__all__ = [
    "SPLIT",
    "Triplet",
    "distinct_frames",
    "motion_of",
    "resize_to_cover",
    "resize_triplet",
    "select_triplets",
    "triplets_of_clip",
]

# clip file -> half; chosen before any interpolator was run on them: the tuning half holds the
# small and the old footage, the check half the two larger clips (bigbuckbunny is native 720p)
SPLIT: dict[str, str] = {
    "bikes.mp4": "tune",
    "carphone.mp4": "tune",
    "archival_abomb.mp4": "tune",
    "bigbuckbunny.mp4": "check",
    "bedroom.mp4": "check",
}


@dataclass(frozen=True)
class Triplet:
    """Three consecutive distinct frames of ``clip``: ``frames[1]`` is the truth at t = 0.5.

    index: the position of ``frames[0]`` among the clip's distinct frames; motion: median flow
    magnitude f0 → f2 in pixels of the frames' own size.
    """

    clip: str
    index: int
    motion: float
    frames: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def name(self) -> str:
        return f"{Path(self.clip).stem}_{self.index:05d}"


def distinct_frames(frames: Sequence[np.ndarray], threshold: float = 1.0) -> list[np.ndarray]:
    """The frames that differ from the one kept before them by a mean of more than ``threshold``
    levels: telecine and animation repeats are dropped, so no triplet has a copy as its truth."""
    kept = [frames[0]]
    for frame in frames[1:]:
        if np.abs(frame.astype(np.int16) - kept[-1].astype(np.int16)).mean() > threshold:
            kept.append(frame)
    return kept


def _grey(frame: np.ndarray, max_side: int) -> np.ndarray:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, max_side / max(grey.shape))
    if scale < 1.0:
        size = (max(8, round(grey.shape[1] * scale)), max(8, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def motion_of(frame0: np.ndarray, frame2: np.ndarray, max_side: int = 320) -> float:
    """Median magnitude (pixels at the frames' size) of the DIS flow frame0 → frame2."""
    grey0, grey2 = _grey(frame0, max_side), _grey(frame2, max_side)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(grey0, grey2, None)
    return float(np.median(np.hypot(flow[..., 0], flow[..., 1])) * frame0.shape[1] / grey0.shape[1])


def select_triplets(
    frames: Sequence[np.ndarray],
    per_clip: int,
    low: float = 50.0,
    high: float = 90.0,
    cut_ratio: float = 4.0,
) -> list[tuple[int, float]]:
    """(index of f0, motion) of up to ``per_clip`` triplets of ``frames`` (distinct frames).

    Candidates: every k with no cut in (k, k+1, k+2); kept: motion within the clip's ``low``–``high``
    percentiles; chosen: ``per_clip`` of them evenly spread in time, no two sharing a frame.
    """
    if len(frames) < 3:
        return []
    differences = np.array(
        [
            np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()
            for a, b in zip(frames[:-1], frames[1:], strict=True)
        ]
    )
    # a cut between k and k+1 or k+1 and k+2: a frame difference ``cut_ratio`` times the clip's median
    cut = cut_ratio * (float(np.median(differences)) + 1e-6)
    candidates = [k for k in range(len(frames) - 2) if not (differences[k] > cut or differences[k + 1] > cut)]
    motions = {k: motion_of(frames[k], frames[k + 2]) for k in candidates}
    if not motions:
        return []
    values = np.array(list(motions.values()))
    lower, upper = np.percentile(values, low), np.percentile(values, high)
    eligible = [k for k in candidates if lower <= motions[k] <= upper]
    chosen: list[int] = []
    for target in np.linspace(eligible[0], eligible[-1], num=per_clip):
        free = [k for k in eligible if all(abs(k - c) >= 3 for c in chosen)]
        if not free:
            break
        chosen.append(min(free, key=lambda k: (abs(k - target), k)))
    return [(k, motions[k]) for k in sorted(chosen)]


def resize_to_cover(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale (Lanczos) so the frame covers width×height, then crop the centre to exactly that."""
    scale = max(width / frame.shape[1], height / frame.shape[0])
    size = (max(width, round(frame.shape[1] * scale)), max(height, round(frame.shape[0] * scale)))
    resized = cv2.resize(frame, size, interpolation=cv2.INTER_LANCZOS4) if scale != 1.0 else frame
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def triplets_of_clip(
    path: str | Path,
    per_clip: int,
    max_frames: int = 400,
    size: tuple[int, int] | None = None,
) -> list[Triplet]:
    """The chosen triplets of a clip at its native size, or made to ``size`` = (width, height) with
    :func:`resize_to_cover` (chosen on the native frames, so both sizes hold the same moments)."""
    path = Path(path)
    frames = distinct_frames(read_clip(path, 0, max_frames))
    triplets = [
        Triplet(path.name, k, motion, (frames[k], frames[k + 1], frames[k + 2]))
        for k, motion in select_triplets(frames, per_clip)
    ]
    return triplets if size is None else [resize_triplet(t, size) for t in triplets]


def resize_triplet(triplet: Triplet, size: tuple[int, int]) -> Triplet:
    """The same moment made ``size`` = (width, height) with :func:`resize_to_cover`, its motion scaled."""
    first = triplet.frames[0]
    factor = max(size[0] / first.shape[1], size[1] / first.shape[0])
    f0, f1, f2 = (resize_to_cover(f, *size) for f in triplet.frames)
    return Triplet(triplet.clip, triplet.index, triplet.motion * factor, (f0, f1, f2))
