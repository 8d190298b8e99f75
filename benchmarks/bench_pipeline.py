"""Pipeline benchmarks of the foundation (issue 2); prints a Markdown table.

1. Overhead: ``restore --interp repeat`` at scale 1 against a plain FFmpeg transcode with the
   same codec settings (libx264 medium, crf 18, yuv420p, audio copied) on a 1080p clip.
2. Memory: peak RSS of the whole process tree (Python + FFmpeg) for a 60 s against a 10 s
   720p clip, converted from 25 to 50 fps with ``--interp blend`` (every other frame synthesised).
3. Decode throughput of the readers we compared, on the same 720p and 1080p clips.
4. The headline job (issue 18, ``--only headline``): 720p24 -> 4K60 (``--scale 3``) and 480p24 -> 4K
   (``--scale 4``), ours against FFmpeg's own chain, with the ratio and peak RSS of each process
   tree; ``--only profile``: where our time goes, stage by stage (see ``headline.py``).

Usage: python benchmarks/bench_pipeline.py [--work DIR] [--skip-memory] [--only ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _util import SHARED_VIDEO, looped_clip, run_measured
from headline import HEADLINE_CLIPS, compare_headline, headline_clip, profile_headline

from restore.media.ffmpeg import ffmpeg_exe


def restore_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "restore", *args, "-q", "--overwrite"]


def bench_overhead(work: Path) -> list[str]:
    clip = looped_clip(SHARED_VIDEO / "bigbuckbunny.mp4", 10.0, work / "bbb_1080p_10s.mp4", scale="1920:1080")
    plain = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(clip),
             "-map", "0:v:0", "-map", "0:a?", "-c:v", "libx264", "-preset", "medium", "-crf", "18",
             "-pix_fmt", "yuv420p", "-c:a", "copy", str(work / "plain.mp4")]  # fmt: skip
    ours = restore_command(str(clip), "-o", str(work / "ours.mp4"), "--interp", "repeat")
    rows = []
    times_plain, times_ours = [], []
    for _ in range(2):
        times_plain.append(run_measured(plain)[0])
        times_ours.append(run_measured(ours)[0])
    best_plain, best_ours = min(times_plain), min(times_ours)
    rows.append(
        f"| overhead, 1080p 10 s (250 frames) | ffmpeg transcode {best_plain:.2f} s | "
        f"restore --interp repeat {best_ours:.2f} s | **{best_ours / best_plain:.2f}** (target ≤ 1.3) |"
    )
    return rows


def bench_memory(work: Path) -> list[str]:
    short = looped_clip(SHARED_VIDEO / "bigbuckbunny.mp4", 10.0, work / "bbb_720p_10s.mp4")
    long = looped_clip(SHARED_VIDEO / "bigbuckbunny.mp4", 60.0, work / "bbb_720p_60s.mp4")
    results = {}
    for name, clip in (("10 s", short), ("60 s", long)):
        seconds, peak = run_measured(
            restore_command(
                str(clip), "-o", str(work / f"mem_{name[:2]}.mp4"), "--fps", "60", "--interp", "blend"
            )
        )
        results[name] = (seconds, peak)
    ratio = results["60 s"][1] / results["10 s"][1]
    return [
        f"| peak RSS, 720p 25 → 50 fps blend | 10 s clip {results['10 s'][1] / 1024:.0f} MiB "
        f"({results['10 s'][0]:.0f} s) | 60 s clip {results['60 s'][1] / 1024:.0f} MiB "
        f"({results['60 s'][0]:.0f} s) | **{ratio:.3f}** (target ≤ 1.15) |"
    ]


def _count_frames_ours(path: Path) -> int:
    from restore.media.decode import open_reader
    from restore.media.probe import probe
    from restore.media.scan import scan_video

    with open_reader(path, probe(path), scan_video(path)) as reader:
        return sum(1 for _ in reader)


def _count_frames_ours_decode_only(path: Path, width: int, height: int) -> int:
    from restore.media.decode import FrameReader

    with FrameReader(path, width, height, color_matrix="bt709", full_range=False) as reader:
        return sum(1 for _ in reader)


def _count_frames_opencv(path: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        count += 1
    capture.release()
    return count


def _count_frames_imageio(path: Path) -> int:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)  # metadata
    return sum(1 for _ in reader)


def _count_frames_decord(path: Path) -> int:
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    count = 0
    for i in range(len(reader)):
        reader[i].asnumpy()
        count += 1
    return count


def bench_decoders(work: Path) -> list[str]:
    clips = {
        "720p": looped_clip(SHARED_VIDEO / "bigbuckbunny.mp4", 10.0, work / "bbb_720p_10s.mp4"),
        "1080p": looped_clip(
            SHARED_VIDEO / "bigbuckbunny.mp4", 10.0, work / "bbb_1080p_10s.mp4", "1920:1080"
        ),
    }
    sizes = {"720p": (1280, 720), "1080p": (1920, 1080)}
    readers = {
        "ours (FFmpeg pipe, scan + decode)": _count_frames_ours,
        "ours, decode pass only": lambda p: _count_frames_ours_decode_only(
            p, *sizes["1080p" if "1080" in p.name else "720p"]
        ),
        "OpenCV VideoCapture": _count_frames_opencv,
        "imageio-ffmpeg read_frames": _count_frames_imageio,
        "decord VideoReader": _count_frames_decord,
    }
    rows = []
    for label, clip in clips.items():
        for name, count_frames in readers.items():
            started = time.perf_counter()
            try:
                frames = count_frames(clip)
            except Exception as error:  # noqa: BLE001 - a reader that cannot is a result too
                rows.append(f"| decode {label} | {name} | failed: {type(error).__name__} | |")
                continue
            seconds = time.perf_counter() - started
            rows.append(f"| decode {label} | {name} | {frames} frames | {frames / seconds:.0f} fps |")
    return rows


def bench_headline(work: Path, repeats: int) -> list[str]:
    rows = []
    for label, (size, scale, out_size) in HEADLINE_CLIPS.items():
        clip = headline_clip(SHARED_VIDEO / "bigbuckbunny.mp4", size, work)
        result = compare_headline(clip, scale, out_size, work, repeats)
        ours, peer = result["ours"], result["peer"]
        rows.append(
            f"| {label} (2 s, 120 frames, --scale {scale}) | ffmpeg minterpolate + lanczos + x264 "
            f"{peer:.1f} s, {result['peaks']['peer'] / 1024:.0f} MiB | restore {ours:.1f} s, "
            f"{result['peaks']['ours'] / 1024:.0f} MiB | **{ours / peer:.2f}** (target ≤ 1.0) |"
        )
    return rows


def bench_profile(work: Path) -> list[str]:
    size, scale, _ = HEADLINE_CLIPS["720p24 -> 4K60"]
    clip = headline_clip(SHARED_VIDEO / "bigbuckbunny.mp4", size, work)
    rows = []
    for stage, seconds, calls in profile_headline(clip, scale, work / "profiled.mp4"):
        rows.append(f"| {stage} | {seconds:.2f} s | {calls or ''} |")
    return rows


def _load() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--only", choices=["overhead", "memory", "decode", "headline", "profile"], default=None
    )
    parser.add_argument("--repeats", type=int, default=2, help="headline: runs of each, best kept")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {_load()}")
    if args.only == "profile":
        print("| stage (wall s inside it; the source frames include their conversion) | seconds | calls |")
        print("|---|---|---|")
        for row in bench_profile(work):
            print(row, flush=True)
        print(f"load average after: {_load()}")
        return
    print("| what | peer | ours | ratio |")
    print("|---|---|---|---|")
    if args.only in (None, "headline"):
        for row in bench_headline(work, args.repeats):
            print(row, flush=True)
    if args.only in (None, "overhead"):
        for row in bench_overhead(work):
            print(row, flush=True)
    if args.only in (None, "memory") and not args.skip_memory:
        for row in bench_memory(work):
            print(row, flush=True)
    if args.only in (None, "decode"):
        print()
        print("| clip | reader | frames | throughput |")
        print("|---|---|---|---|")
        for row in bench_decoders(work):
            print(row, flush=True)
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
