#!/usr/bin/env python3
"""Command template for ``shared/tools/eval_interp.py`` running the ``classic`` engine.

  classic_pair.py pair  IN0 IN2 OUT        the frame at t = 0.5 between IN0 and IN2 (triplet mode)
  classic_pair.py video IN_DIR FPS OUT_DIR double the frame rate of IN_DIR/*.png (video mode):
                                           OUT_DIR/00000.png ... with odd frames interpolated

Prints ``compute_s=<seconds>``: everything after the interpreter and imports are up, PNG decoding
and encoding included (as for the ffmpeg baselines, whose timings include their PNG I/O).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dain.engines.base import create_interpolator  # noqa: E402


def load(path: str) -> torch.Tensor:
    """(3,H,W) float32 RGB in [0,1]."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return torch.from_numpy(bgr[..., ::-1].transpose(2, 0, 1).copy()).float().div_(255.0)


def save(frame: torch.Tensor, path: str) -> None:
    """Round to 8 bits and write a PNG (fast compression, as the baselines do)."""
    rgb = frame.mul(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["pair", "video"])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("out")
    parser.add_argument("--engine", default="classic")
    parser.add_argument("--threads", type=int, default=0, help="torch/OpenCV threads (0 = library default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    engine = create_interpolator(args.engine, device="cpu")
    start = time.perf_counter()
    if args.mode == "pair":
        result = engine.interpolate(load(args.a), load(args.b), [0.5])[0]
        save(result, args.out)
    else:
        inputs = sorted(glob.glob(os.path.join(args.a, "*.png")))
        os.makedirs(args.out, exist_ok=True)
        previous = load(inputs[0])
        shutil.copyfile(inputs[0], os.path.join(args.out, "00000.png"))
        for index in range(1, len(inputs)):
            current = load(inputs[index])
            middle = engine.interpolate(previous, current, [0.5])[0]
            save(middle, os.path.join(args.out, f"{2 * index - 1:05d}.png"))
            shutil.copyfile(inputs[index], os.path.join(args.out, f"{2 * index:05d}.png"))
            previous = current
    print(f"compute_s={time.perf_counter() - start:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
