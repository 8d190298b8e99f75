#!/usr/bin/env python3
"""What swscale's flags cost and buy on the YUV -> RGB -> YUV round trip of pixel-processing jobs.

  .venv/bin/python benchmarks/bench_conversion.py

For carphone.mp4 (CIF, out-of-gamut colours) and 40 frames of bikes.mp4, each stored losslessly
first: decode to RGB24 and encode back to YUV 4:2:0, once with swscale's default flags and once with
``restore.media.ffmpeg.SWS_FLAGS``; PSNR (RGB, against the source decoded the same accurate way) of the
lossless round trip (FFV1) and through x264 CRF 18, next to the x264 encode of the source's own YUV.
Then the speed of the RGB decode of a 1080p clip with each flag set.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from _util import SHARED_VIDEO, ffmpeg, looped_clip

from restore.evaluation.cleanup import clip_psnr, cut_lossless
from restore.media.decode import open_reader
from restore.media.ffmpeg import SWS_FLAGS, ffmpeg_exe
from restore.media.probe import probe
from restore.media.scan import scan_video

CLIPS = [("carphone.mp4", 0, 40), ("bikes.mp4", 140, 40)]
X264 = ["-c:v", "libx264", "-preset", "medium", "-crf", "18"]


def decode(path: Path) -> list:
    media = probe(path)
    with open_reader(path, media, scan_video(path)) as reader:
        return [frame.copy() for frame in reader]


def round_trip(source: Path, out: Path, flags: str | None, codec: list[str]) -> Path:
    media = probe(source)
    width, height = media.coded_width, media.coded_height
    matrix = "bt709" if height >= 720 else "bt601"
    extra = f":flags={flags}" if flags else ""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(source),
         "-vf", f"scale=in_color_matrix={matrix}:in_range=tv{extra}",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{width}x{height}", "-r", "25", "-i", "-",
         "-vf", f"scale=out_color_matrix={matrix}:out_range=tv{extra},format=yuv420p", *codec, str(out)],
        input=raw, check=True,
    )  # fmt: skip
    return out


def main() -> None:
    lines = [
        "| clip | flags | round trip, lossless | round trip, x264 CRF 18 | source YUV, x264 CRF 18 |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name, start, count in CLIPS:
            source = cut_lossless(SHARED_VIDEO / name, work / f"{name}.mkv", start, count)
            reference = decode(source)
            direct = work / "direct.mkv"
            ffmpeg("-i", str(source), *X264, "-pix_fmt", "yuv420p", str(direct))
            yuv_only = clip_psnr(decode(direct), reference)
            for label, flags in (("swscale defaults", None), ("SWS_FLAGS", SWS_FLAGS)):
                lossless_file = round_trip(source, work / "ll.mkv", flags, ["-c:v", "ffv1"])
                lossless = clip_psnr(decode(lossless_file), reference)
                lossy = clip_psnr(decode(round_trip(source, work / "x264.mkv", flags, X264)), reference)
                lines.append(f"| {name} | {label} | {lossless:.2f} | {lossy:.2f} | {yuv_only:.2f} |")
                print(lines[-1], flush=True)
        clip = looped_clip(SHARED_VIDEO / "bigbuckbunny.mp4", 8.0, work / "bbb1080.mp4", scale="1920:1080")
        lines += ["", "| 1080p RGB decode | flags | fps |", "|---|---|---|"]
        for label, flags in (("swscale defaults", None), ("SWS_FLAGS", SWS_FLAGS)):
            extra = f":flags={flags}" if flags else ""
            started = time.perf_counter()
            subprocess.run(
                [ffmpeg_exe(), "-v", "error", "-i", str(clip), "-vf", f"scale=in_color_matrix=bt709{extra}",
                 "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"],
                check=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            lines.append(f"| 1080p RGB decode | {label} | {200 / seconds:.0f} |")
            print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
