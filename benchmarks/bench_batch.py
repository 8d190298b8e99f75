"""Batch benchmarks (issue 8); prints a Markdown table.

1. Four clips through ``restore batch`` on a 2-worker LocalCluster against the same four run one
   after another with ``restore`` (same options), total wall time.
2. One clip in 2-second segments (journal, per-segment encode, join) against a single pass.

Usage: python benchmarks/bench_batch.py [--work DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _util import SHARED_VIDEO, ffmpeg

OPTIONS = ["--fps", "50", "--interp", "blend", "-q"]


def timed(command: list[str]) -> float:
    import subprocess

    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_batch_"))
    work.mkdir(parents=True, exist_ok=True)
    clips = []
    for i, start in enumerate((0, 2, 4, 6)):
        clip = work / f"clip{i}.mp4"
        if not clip.exists():
            ffmpeg("-ss", str(start), "-i", str(SHARED_VIDEO / "bikes.mp4"), "-t", "4", "-c:v", "libx264",
                   "-crf", "18", "-preset", "veryfast", str(clip))  # fmt: skip
        clips.append(clip)
    restore = [sys.executable, "-m", "restore"]
    sequential_dir, batch_dir = work / "sequential", work / "batch"
    for folder in (sequential_dir, batch_dir):
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
    sequential = sum(
        timed([*restore, str(c), "-o", str(sequential_dir / c.name), *OPTIONS, "--overwrite"]) for c in clips
    )
    batch = timed([*restore, "batch", *map(str, clips), "-o", str(batch_dir), "--workers", "2", *OPTIONS])
    print("| what | peer | ours | ratio |")
    print("|---|---|---|---|")
    print(
        f"| 4 clips (bikes, 4 s each, 25 → 50 fps blend) | one after another {sequential:.1f} s | "
        f"restore batch, 2-worker LocalCluster {batch:.1f} s | **{batch / sequential:.2f}** |"
    )
    clip = SHARED_VIDEO / "bikes.mp4"
    single = timed([*restore, str(clip), "-o", str(work / "single.mp4"), *OPTIONS, "--overwrite"])
    segmented = timed(
        [
            *restore,
            str(clip),
            "-o",
            str(work / "segmented.mp4"),
            *OPTIONS,
            "--overwrite",
            "--segment-seconds",
            "2",
        ]
    )
    print(
        f"| bikes.mp4 (10 s) in 2 s segments (journal, 5 encodes, join) | single pass {single:.1f} s | "
        f"segmented {segmented:.1f} s | **{segmented / single:.2f}** |"
    )


if __name__ == "__main__":
    main()
