#!/usr/bin/env python3
"""Compare ``classic`` variants in process on the TUNE half only (never the check half).

  tune_classic.py [--set tune|720p-tune] [--hd-grid] [--variant NAME ...]

Prints mean PSNR/SSIM per variant beside the DIS warp baseline, and the worst triplet against DIS.
``--hd-grid`` analyses each triplet on a grid as coarse, relative to its frame, as a 1280×720 frame's
(``max_analysis_pixels`` × the frame's pixels / 921 600): the tune clips are small, so without it
their flow runs at full resolution, unlike the HD footage of the check half.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_sets import build_sets, shared_tool  # noqa: E402

from dain.engines.classic.engine import (  # noqa: E402
    DEFAULT_FLOW,
    FAST_SETTINGS,
    ClassicInterpolator,
    ClassicSettings,
)
from dain.flow import FlowSettings  # noqa: E402
from restore.media.frames import tensor_to_array, to_unit_float  # noqa: E402

CACHE = Path(os.environ.get("INTERP_CACHE", "/tmp/interp_split"))


def variants() -> dict[str, object]:
    base = ClassicSettings()
    guided = replace(base, flow=DEFAULT_FLOW)
    base = replace(base, flow=FlowSettings(patch_size=12), fallback_power=0.3)  # before step 2

    def grid(pixels: int, **flow: object) -> ClassicSettings:
        return replace(base, max_analysis_pixels=pixels, flow=replace(base.flow, **flow))

    def guide(scale: float, fallback: float = 0.75, **fields: object) -> ClassicSettings:
        flow = replace(DEFAULT_FLOW, guide_scale=scale, guide=replace(DEFAULT_FLOW.guide, **fields))
        return replace(guided, flow=flow, fallback_power=fallback)

    return {  # the rows of docs/classic.md's tuning tables
        "default (guided 8x8, fallback 0.75)": ClassicSettings(),
        "guided, fallback 0.3": guide(0.55, 0.3),
        "guided 0.5, fallback 0.3": guide(0.5, 0.3),
        "guided 0.5, guide 25 its, fallback 0.3": guide(0.5, 0.3, descent_iterations=25),
        "guided 0.5, 16x16 guide, fallback 0.3": guide(0.5, 0.3, patch_size=16, descent_iterations=25),
        "guided 0.45, fallback 0.3": guide(0.45, 0.3),
        "guided 0.6, fallback 0.3": guide(0.6, 0.3),
        "guided, fallback 0.5": guide(0.55, 0.5),
        "guided, fallback 1.0": guide(0.55, 1.0),
        "previous default (0.2 MP, 12x12)": base,
        "classic-fast (0.12 MP, 8x8)": FAST_SETTINGS,
        "full, 8x8": grid(0, patch_size=8),
        "full, 12x12": grid(0),
        "0.3 MP, 12x12": grid(300_000),
        "0.2 MP, 12x12, stride 5": grid(200_000, patch_stride=5),
        "0.45 MP, 12x12, finest 1": grid(450_000, finest_scale=1),
        "0.45 MP, 16x16, finest 1": grid(450_000, patch_size=16, finest_scale=1),
        "0.3 MP, 10x10": grid(300_000, patch_size=10),
        "full, 8x8, 10 refinements": grid(0, patch_size=8, refine_iterations=10),
    }


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    """As ``classic_pair.py`` reads a frame: (H,W,3) uint8 -> (3,H,W) float32, x / 255."""
    return torch.from_numpy(to_unit_float(np.ascontiguousarray(frame.transpose(2, 0, 1)), divide=True))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="tune", choices=["tune", "720p-tune"])
    parser.add_argument("--variant", nargs="*")
    parser.add_argument("--detail", action="store_true")
    parser.add_argument("--hd-grid", action="store_true", help="analysis grid as coarse as at 720p")
    parser.add_argument(
        "--grid-fraction", type=float, help="analysis grid of at most this share of each frame's pixels"
    )
    args = parser.parse_args()
    scorer, baselines = shared_tool("eval_interp"), shared_tool("baselines")
    sets = build_sets(CACHE)
    rows = sets["tune"] if args.set == "tune" else [r for r in sets["720p"] if r[0] == "tune"]
    chosen = {k: v for k, v in variants().items() if not args.variant or k in args.variant}
    dis = [scorer.psnr(baselines.dis_interp(t.frames[0], t.frames[2]), t.frames[1]) for _, t in rows]
    dis_ssim = [scorer.ssim(baselines.dis_interp(t.frames[0], t.frames[2]), t.frames[1]) for _, t in rows]
    print(f"{len(rows)} triplets; DIS warp {np.mean(dis):.3f} dB / {np.mean(dis_ssim):.4f}")
    for name, settings in chosen.items():
        engine = ClassicInterpolator(settings=settings) if not callable(settings) else settings()
        start, scores, ssims = time.perf_counter(), [], []
        for _, t in rows:
            height, width = t.frames[0].shape[:2]
            if args.hd_grid:
                pixels = settings.max_analysis_pixels * height * width // (1280 * 720)
                engine.settings = replace(settings, max_analysis_pixels=pixels)
            elif args.grid_fraction:
                pixels = min(settings.max_analysis_pixels, int(args.grid_fraction * height * width))
                engine.settings = replace(settings, max_analysis_pixels=pixels)
            out = engine.interpolate(to_tensor(t.frames[0]), to_tensor(t.frames[2]), [0.5])[0]
            out = tensor_to_array(out, np.uint8)
            scores.append(scorer.psnr(out, t.frames[1]))
            ssims.append(scorer.ssim(out, t.frames[1]))
        delta = np.array(scores) - np.array(dis)
        per_clip = {}
        for (_, t), d in zip(rows, delta, strict=True):
            per_clip.setdefault(t.clip.split(".")[0], []).append(d)
        clips = " ".join(f"{c} {np.mean(v):+.2f}" for c, v in per_clip.items())
        print(
            f"{name:24s} {np.mean(scores):.3f} dB ({np.mean(delta):+.3f} vs DIS, worst {delta.min():+.2f}) "
            f"ssim {np.mean(ssims):.4f}  [{clips}]  {(time.perf_counter() - start) / len(rows):.2f} s/frame"
        )
        if args.detail:
            print("   ", " ".join(f"{t.name}:{d:+.2f}" for (_, t), d in zip(rows, delta, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
