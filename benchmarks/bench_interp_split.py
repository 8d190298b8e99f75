#!/usr/bin/env python3
"""Interpolation quality on triplets nobody tuned on: the split-by-clip sets, scored by eval_interp.py.

  bench_interp_split.py [--sets tune check 720p] [--work DIR] [--markdown FILE]

The triplets come from ``restore.evaluation.triplets`` (drawn automatically from every real clip of
``shared/data/video``, split by clip, fixed in ``SPLIT``); ``benchmarks/interp_sets.py`` writes them
in eval_interp.py's layout. Every engine runs as a command under ``shared/tools/eval_interp.py``,
the baselines beside ours in the same run: blend, OpenCV DIS warp, ffmpeg minterpolate ("best"),
``classic-fast`` (the earlier default) and ``classic``. Parameters are chosen on the tune half only
(``benchmarks/tune_classic.py``); the check half is reported, never tuned on. The synthetic
Middlebury/Sintel triplets are not part of these sets (``bench_classic.py`` reports them apart).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interp_sets import REPO, SHARED, build_sets, write_set  # noqa: E402

BASELINES = SHARED / "tools" / "baselines.py"
PAIR = REPO / "benchmarks" / "classic_pair.py"
ENGINES = {
    "blend": f"{sys.executable} {BASELINES} blend {{in0}} {{in2}} {{out}}",
    "DIS warp": f"{sys.executable} {BASELINES} dis {{in0}} {{in2}} {{out}}",
    "minterpolate": f"{sys.executable} {BASELINES} minterp {{in0}} {{in2}} {{out}} --preset best",
    "classic-fast": f"{sys.executable} {PAIR} pair {{in0}} {{in2}} {{out}} --engine classic-fast",
    "classic": f"{sys.executable} {PAIR} pair {{in0}} {{in2}} {{out}}",
}


def evaluate(data: Path, name: str, command: str, json_path: Path) -> dict[str, dict]:
    """Run eval_interp.py (triplet mode) on ``data``: item name -> its row."""
    subprocess.run(
        [sys.executable, str(SHARED / "tools" / "eval_interp.py"), "--data", str(data), "--cmd", command,
         "--name", name, "--json", str(json_path)],
        check=True, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )  # fmt: skip
    result = json.loads(json_path.read_text().strip().splitlines()[-1])
    return {row["name"]: row for row in result["rows"]}


def report(title: str, halves: dict[str, str], clips: dict[str, str], scores: dict[str, dict]) -> list[str]:
    """A markdown table: per clip and overall means per engine, worst triplet against DIS warp."""
    names = sorted(halves)
    lines = [f"### {title} ({len(names)} triplets)", "", "| | " + " | ".join(ENGINES) + " |",
             "|---|" + "---|" * len(ENGINES)]  # fmt: skip
    for clip in sorted(set(clips.values())):
        items = [n for n in names if clips[n] == clip]
        cells = [f"{np.mean([scores[e][n]['psnr'] for n in items]):.2f}" for e in ENGINES]
        lines.append(f"| {clip} ({halves[items[0]]}, {len(items)}) | " + " | ".join(cells) + " |")
    mean = [f"**{np.mean([scores[e][n]['psnr'] for n in names]):.2f}**" for e in ENGINES]
    ssim = [f"{np.mean([scores[e][n]['ssim'] for n in names]):.4f}" for e in ENGINES]
    seconds = [f"{np.mean([scores[e][n]['compute_s'] or np.nan for n in names]):.3f}" for e in ENGINES]
    dis = scores["DIS warp"]
    worst = [f"{min(scores[e][n]['psnr'] - dis[n]['psnr'] for n in names):+.2f}" for e in ENGINES]
    lines += [
        "| **mean PSNR** | " + " | ".join(mean) + " |",
        "| mean SSIM (luma) | " + " | ".join(ssim) + " |",
        "| worst triplet − DIS warp (dB) | " + " | ".join(worst) + " |",
        "| compute s per frame | " + " | ".join(seconds) + " |",
        "",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="*", default=["tune", "check", "720p"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "interp_split")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    sets = build_sets(args.work)
    lines = ["Triplets drawn by `restore.evaluation.triplets` (motion between each clip's 50th and 90th "
             "percentile, no cut inside, 8 a clip); PSNR dB on RGB, SSIM on luma, both by "
             "`shared/tools/eval_interp.py`.", ""]  # fmt: skip
    for set_name in args.sets:
        rows = sets[set_name]
        folder = write_set(rows, args.work / set_name)
        halves = {t.name: half for half, t in rows}
        clips = {t.name: t.clip.split(".")[0] for _, t in rows}
        scores = {}
        for engine, command in ENGINES.items():
            json_path = args.work / f"{set_name}-{engine.replace(' ', '_')}.json"
            json_path.unlink(missing_ok=True)
            scores[engine] = evaluate(folder, engine, command, json_path)
            print(f"{set_name}: {engine} done", file=sys.stderr, flush=True)
        title = {
            "tune": "Tune half (native sizes)",
            "check": "Check half (native sizes)",
            "720p": "1280×720 (bigbuckbunny native; bedroom and bikes upscaled to cover, centre crop)",
        }
        lines += report(title[set_name], halves, clips, scores)  # fmt: skip
        print("\n".join(lines[-9 - len(set(clips.values())) :]), flush=True)
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
