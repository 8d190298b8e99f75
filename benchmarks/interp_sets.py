"""The split-by-clip interpolation sets of ``restore.evaluation.triplets``, built once and cached.

Sets: ``tune`` and ``check`` (each clip's triplets at its native size), ``720p`` (the same moments
made 1280×720: bigbuckbunny is native 720p; the other clips are Lanczos-upscaled to cover 720p and
centre-cropped, which enlarges their motion in pixels), each row tagged with its half.
Shared by ``bench_interp_split.py`` (the scored report) and ``tune_classic.py`` (tuning, tune half
only). Metrics are ``shared/tools/eval_interp.py``'s own (PSNR on RGB, SSIM on luma).
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restore.evaluation.triplets import SPLIT, Triplet, resize_triplet, triplets_of_clip  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PER_CLIP = 8
SIZES_720P = {"bigbuckbunny.mp4": None, "bedroom.mp4": (1280, 720), "bikes.mp4": (1280, 720)}


def shared_tool(name: str):
    """Import ``shared/tools/<name>.py`` (the scorer and the baselines) as a module."""
    spec = importlib.util.spec_from_file_location(name, SHARED / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_sets(cache: Path) -> dict[str, list[tuple[str, Triplet]]]:
    """set name -> [(half, triplet)], cached as a pickle under ``cache``."""
    file = cache / "interp_sets.pkl"
    if file.exists():
        return pickle.loads(file.read_bytes())
    sets: dict[str, list[tuple[str, Triplet]]] = {"tune": [], "check": [], "720p": []}
    for clip, half in SPLIT.items():
        path = SHARED / "data" / "video" / clip
        native = triplets_of_clip(path, PER_CLIP)
        sets[half] += [(half, t) for t in native]
        if clip in SIZES_720P:
            size = SIZES_720P[clip]
            sets["720p"] += [(half, t if size is None else resize_triplet(t, size)) for t in native]
    cache.mkdir(parents=True, exist_ok=True)
    file.write_bytes(pickle.dumps(sets))
    return sets


def write_set(triplets: list[tuple[str, Triplet]], folder: Path) -> Path:
    """Write each triplet as ``folder/<name>/f0.png f1.png f2.png`` (eval_interp.py's layout)."""
    for half, triplet in triplets:
        item = folder / triplet.name
        item.mkdir(parents=True, exist_ok=True)
        for stem, frame in zip(("f0", "f1", "f2"), triplet.frames, strict=True):
            cv2.imwrite(str(item / f"{stem}.png"), np.ascontiguousarray(frame[..., ::-1]))
        (item / "meta.json").write_text(
            json.dumps({"clip": triplet.clip, "half": half, "index": triplet.index, "motion": triplet.motion})
        )
    return folder
