#!/usr/bin/env python3
"""Benchmark of the ``classic`` engine against the baselines, all measured in the same run.

  .venv/bin/python benchmarks/bench_classic.py [--shared ../shared] [--out FILE]
(the report is printed; its tables go into benchmarks/RESULTS.md)

1. Triplet mode (``shared/tools/eval_interp.py``) on the 8 triplets of ``shared/data/interp``:
   blend, OpenCV DIS warp, ffmpeg minterpolate (preset "best") and classic.
2. Video mode (drop every other frame, restore, score the dropped ones) on ``bedroom.mp4`` and on the
   archival clip with its telecine repeats removed (a frame whose mean absolute difference to the
   previous kept frame is below 1/255 is a repeat): blend, DIS warp, minterpolate, classic.
3. Timing at 1280x720 in video mode on the first 61 frames of ``bigbuckbunny.mp4``: minterpolate and
   classic (and the DIS warp for reference).

Every command runs single-threaded (``OMP_NUM_THREADS=1``, classic ``--threads 1``; ffmpeg's
minterpolate filter is single-threaded): on a shared machine two OpenMP threads can be many times
slower than one, which would measure the neighbours rather than the methods.
Writes a Markdown report (tables and the acceptance checks); ``--json`` keeps the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def decode(video: Path, out_dir: Path, max_frames: int = 0) -> None:
    """All frames of ``video`` as out_dir/00000.png ... (ffmpeg from imageio-ffmpeg)."""
    import imageio_ffmpeg

    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(video)]
    if max_frames:
        cmd += ["-frames:v", str(max_frames)]
    subprocess.run(cmd + ["-start_number", "0", str(out_dir / "%05d.png")], check=True)


def drop_repeats(frames_dir: Path, out_dir: Path, threshold: float = 1.0) -> int:
    """Copy the frames that differ from the previous kept one (mean abs diff >= threshold of 255)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = 0
    previous = None
    for path in sorted(frames_dir.glob("*.png")):
        frame = cv2.imread(str(path)).astype(np.float32)
        if previous is not None and float(np.abs(frame - previous).mean()) < threshold:
            continue
        shutil.copyfile(path, out_dir / f"{kept:05d}.png")
        previous = frame
        kept += 1
    return kept


def evaluate(shared: Path, data: Path, mode: str, name: str, cmd: str, json_path: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            str(shared / "tools" / "eval_interp.py"),
            "--mode",
            mode,
            "--data",
            str(data),
            "--cmd",
            cmd,
            "--name",
            name,
            "--json",
            str(json_path),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    print(proc.stdout, proc.stderr[-2000:], sep="", flush=True)
    with open(json_path) as handle:
        return json.loads(handle.read().strip().splitlines()[-1])


def table(results: list[dict], title: str) -> list[str]:
    items = [row["name"] for row in results[0]["rows"]]
    lines = [
        f"### {title}",
        "",
        "| item | " + " | ".join(r["method"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for item in items:
        cells = []
        for result in results:
            row = next(r for r in result["rows"] if r["name"] == item)
            cells.append(
                f"{row['psnr']:.2f} / {row['ssim']:.4f} / {row['compute_s']:.3f}"
                if row.get("ok")
                else "FAILED"
            )
        lines.append(f"| {item} | " + " | ".join(cells) + " |")
    means = []
    for result in results:
        ok = [r for r in result["rows"] if r.get("ok")]
        means.append(
            f"**{np.mean([r['psnr'] for r in ok]):.2f} / {np.mean([r['ssim'] for r in ok]):.4f} / "
            f"{np.mean([r['compute_s'] for r in ok]):.3f}**"
        )
    lines.append("| **mean** | " + " | ".join(means) + " |")
    lines += ["", "PSNR dB (RGB) / SSIM (luma) / compute seconds per interpolated frame.", ""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    parser.add_argument("--skip-video", action="store_true", help="triplets only")
    parser.add_argument("--json", type=Path, default=None, help="also keep the raw eval_interp JSON here")
    args = parser.parse_args()
    shared = args.shared.resolve()
    python = sys.executable
    baselines = shared / "tools" / "baselines.py"
    classic = ROOT / "benchmarks" / "classic_pair.py"
    work = Path(tempfile.mkdtemp(prefix="bench_classic_"))
    json_path = args.json or work / "results.json"
    json_path.unlink(missing_ok=True)
    report = [
        "# classic engine: measured results",
        "",
        f"Machine: {os.cpu_count()} CPU cores, single-threaded runs; command: "
        "`.venv/bin/python benchmarks/bench_classic.py`.",
        "",
    ]
    try:
        triplet_methods = [
            ("blend", f"{python} {baselines} blend {{in0}} {{in2}} {{out}}"),
            ("DIS warp", f"{python} {baselines} dis {{in0}} {{in2}} {{out}}"),
            ("minterpolate", f"{python} {baselines} minterp {{in0}} {{in2}} {{out}}"),
            (
                "classic-fast",
                f"{python} {classic} pair {{in0}} {{in2}} {{out}} --threads 1 --engine classic-fast",
            ),
            ("classic", f"{python} {classic} pair {{in0}} {{in2}} {{out}} --threads 1"),
        ]
        triplets = [
            evaluate(shared, shared / "data" / "interp", "triplet", name, cmd, json_path)
            for name, cmd in triplet_methods
        ]
        report += table(triplets, "Triplets (t = 0.5), shared/data/interp")
        means = {r["method"]: np.mean([row["psnr"] for row in r["rows"]]) for r in triplets}
        ssims = {r["method"]: np.mean([row["ssim"] for row in r["rows"]]) for r in triplets}
        worst = min(
            c["psnr"] - m["psnr"] for c, m in zip(triplets[4]["rows"], triplets[2]["rows"], strict=True)
        )
        report += [
            "Acceptance (triplets):",
            "",
            f"- classic − DIS warp: {means['classic'] - means['DIS warp']:+.2f} dB (needs ≥ +0.70)",
            f"- classic − minterpolate: {means['classic'] - means['minterpolate']:+.2f} dB (needs ≥ +1.00)",
            f"- SSIM classic {ssims['classic']:.4f} vs DIS warp {ssims['DIS warp']:.4f} (needs ≥)",
            f"- worst triplet vs minterpolate: {worst:+.2f} dB (needs ≥ −0.50)",
            "",
        ]
        if not args.skip_video:
            videos = work / "videos"
            decode(shared / "data" / "video" / "bedroom.mp4", videos / "bedroom")
            (videos / "bedroom" / "fps.txt").write_text("30\n")
            decode(shared / "data" / "video" / "archival_abomb.mp4", work / "abomb_all")
            kept = drop_repeats(work / "abomb_all", videos / "archival_abomb_dedup")
            (videos / "archival_abomb_dedup" / "fps.txt").write_text(f"{29.0 * kept / 360:.3f}\n")
            for clip, rate in (("bikes", "25"), ("carphone", "29.97")):
                decode(shared / "data" / "video" / f"{clip}.mp4", videos / clip)
                (videos / clip / "fps.txt").write_text(f"{rate}\n")
            video_methods = [
                ("blend", f"{python} {baselines} vblend {{in_dir}} {{fps}} {{out_dir}}"),
                ("DIS warp", f"{python} {baselines} vdis {{in_dir}} {{fps}} {{out_dir}}"),
                ("minterpolate", f"{python} {baselines} vminterp {{in_dir}} {{fps}} {{out_dir}}"),
                (
                    "classic-fast",
                    f"{python} {classic} video {{in_dir}} {{fps}} {{out_dir}} --threads 1 "
                    "--engine classic-fast",
                ),
                ("classic", f"{python} {classic} video {{in_dir}} {{fps}} {{out_dir}} --threads 1"),
            ]
            video = [evaluate(shared, videos, "video", name, cmd, json_path) for name, cmd in video_methods]
            video_psnr = {r["method"]: {row["name"]: row["psnr"] for row in r["rows"]} for r in video}
            report += table(
                video,
                f"Video mode (every other frame dropped and restored; archival: {kept} "
                "distinct frames of 360)",
            )
            report += (
                ["Acceptance (video mode):", ""]
                + [
                    f"- {clip}: classic − minterpolate {gain:+.2f} dB, − DIS warp "
                    f"{video_psnr['classic'][clip] - video_psnr['DIS warp'][clip]:+.2f} dB (both need > 0)"
                    for clip, gain in (
                        (name, video_psnr["classic"][name] - psnr)
                        for name, psnr in video_psnr["minterpolate"].items()
                    )
                ]
                + [""]
            )
            hd = work / "hd"
            decode(shared / "data" / "video" / "bigbuckbunny.mp4", hd / "bigbuckbunny_61", max_frames=61)
            (hd / "bigbuckbunny_61" / "fps.txt").write_text("25\n")
            timing = [evaluate(shared, hd, "video", name, cmd, json_path) for name, cmd in video_methods[1:]]
            report += table(timing, "1280x720 timing, video mode (bigbuckbunny.mp4, first 61 frames)")
            per_frame = {r["method"]: r["rows"][0]["compute_s"] for r in timing}
            report += [
                f"- classic / minterpolate time at 720p: "
                f"{per_frame['classic'] / per_frame['minterpolate']:.2f} (needs ≤ 1.00); classic-fast "
                f"{per_frame['classic-fast'] / per_frame['minterpolate']:.2f} (the earlier default's speed)",
                "",
            ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.out is not None:
        args.out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
