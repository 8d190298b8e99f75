#!/usr/bin/env python3
"""x264 at 4K: the preset and the lookahead of the headline job (issue 18), as a script.

  .venv/bin/python benchmarks/bench_encoder.py [--frames 60]

Source: ``--frames`` frames of bigbuckbunny (720p) Lanczos-resized to 3840×2160 4:2:0 and kept
lossless (FFV1), as the job hands the encoder. Each row encodes it with libx264 at CRF 18, the
product's default, and reports the encoder's CPU seconds (user + system of the FFmpeg process,
decoding the FFV1 input included), its peak RSS, the file size and the PSNR (luma and chroma,
FFmpeg's ``psnr`` filter) against the lossless source. The product's choice is marked: ``medium``,
as the FFmpeg chain it is compared with, and a lookahead of ``encode.LARGE_FRAME_LOOKAHEAD`` frames
above ``encode.LARGE_FRAME_PIXELS``. CPU seconds, not wall time, so the figures hold on a loaded
machine; the two runs of the product's row show how far they move.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import tempfile
from pathlib import Path

from _util import SHARED_VIDEO, ffmpeg, run_measured

from restore.media.encode import LARGE_FRAME_LOOKAHEAD, LARGE_FRAME_PIXELS
from restore.media.ffmpeg import SWS_FLAGS, ffmpeg_exe

W, H = 3840, 2160
ROWS = (
    ("medium", 40),  # x264 medium's own lookahead
    ("medium", 20),
    ("medium", LARGE_FRAME_LOOKAHEAD),
    ("fast", LARGE_FRAME_LOOKAHEAD),
    ("faster", LARGE_FRAME_LOOKAHEAD),
    ("veryfast", LARGE_FRAME_LOOKAHEAD),
    ("medium", LARGE_FRAME_LOOKAHEAD),  # the product's row again: how far the figures move
)


def lossless_source(folder: Path, frames: int) -> Path:
    source = folder / "source_4k.mkv"
    vf = f"scale={W}:{H}:out_color_matrix=bt709:out_range=tv:flags={SWS_FLAGS}"
    ffmpeg("-i", str(SHARED_VIDEO / "bigbuckbunny.mp4"), "-frames:v", str(frames), "-vf", vf,
           "-pix_fmt", "yuv420p", "-c:v", "ffv1", str(source))  # fmt: skip
    return source


def encode(source: Path, out: Path, preset: str, lookahead: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS KiB) of one x264 encode of ``source``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-c:v", "libx264",
               "-preset", preset, "-crf", "18", "-x264-params", f"rc-lookahead={lookahead}",
               "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    _, peak = run_measured(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, peak


def psnr(encoded: Path, source: Path) -> str:
    run = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(encoded), "-i", str(source),
         "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"y:([\d.]+) u:([\d.]+) v:([\d.]+) average:([\d.]+)", run.stderr)
    return f"{float(found.group(4)):.2f} (y {float(found.group(1)):.2f})" if found else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    product = ("medium", LARGE_FRAME_LOOKAHEAD if W * H > LARGE_FRAME_PIXELS else 40)
    with tempfile.TemporaryDirectory(prefix="bench_encoder_") as folder:
        source = lossless_source(Path(folder), args.frames)
        print(f"{args.frames} frames, {W}x{H}, libx264 CRF 18")
        print("| preset | lookahead | CPU s | peak RSS MiB | MB | PSNR dB (luma) |")
        print("|---|---|---|---|---|---|")
        for preset, lookahead in ROWS:
            out = Path(folder) / f"{preset}_{lookahead}.mp4"
            cpu, peak = encode(source, out, preset, lookahead)
            mark = " (product)" if (preset, lookahead) == product else ""
            print(
                f"| {preset}{mark} | {lookahead} | {cpu:.1f} | {peak / 1024:.0f} | "
                f"{out.stat().st_size / 1e6:.2f} | {psnr(out, source)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
