#!/usr/bin/env python3
"""Field analysis (issue 14): what it costs on progressive films, and what IVTC / bwdif give back.

  .venv/bin/python benchmarks/bench_fields.py [--skip-jobs]

1. Cost: the analysis (``restore.media.field_sections.analyse_fields``) timed on progressive real clips,
   next to the whole job it precedes (``restore CLIP --fps 50`` with the default classic engine,
   and a copy-only ``--codec ffv1`` job), each run in a fresh interpreter.
2. Overhead inside the job (where the analysis runs beside the scan): copy-only jobs, the worst
   case, timed with ``--deinterlace off`` and with the default, alternately.
3. Quality: a DVD-like NTSC source (bedroom.mp4 frames as 23.976p film at 720x480, telecined 3:2,
   MPEG-2) and a PAL one (50p interlaced to 25i), restored with the default ``--deinterlace auto``:
   PSNR against the film's / the 50p frames and the combing metric, next to the frames as stored.
4. Sections (``--only-sections``): the cost of the first look on a long progressive film (a window
   every 30 s), and a DVD-sized mixed film (bedroom.mp4 as 23.976p film telecined 3:2, then
   bikes.mp4 at 59.94p interlaced to 29.97i, MPEG-2 at 8 Mb/s): the sections found, the boundary
   against the true one, and each section's decoded frames against its own progressive frames.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _util import SHARED_VIDEO, ffmpeg, looped_clip

from restore.evaluation.cleanup import psnr
from restore.evaluation.combing import clip_combed_share
from restore.media.decode import open_reader
from restore.media.field_sections import analyse_fields
from restore.media.fields import stream_rate, window_starts
from restore.media.probe import probe
from restore.media.scan import scan_video

REPO = Path(__file__).resolve().parents[1]


def decode(path: Path) -> list[np.ndarray]:
    media = probe(path)
    with open_reader(path, media, scan_video(path, media=media)) as reader:
        return [frame.copy() for frame in reader]


def job_seconds(*args: str | Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "restore", *map(str, args), "-q", "--overwrite"], check=True, cwd=REPO
    )
    return time.perf_counter() - started


def analysis_seconds(path: Path, repeats: int = 3) -> tuple[float, str]:
    media = probe(path)
    times, decision = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        decision = analyse_fields(media)
        times.append(time.perf_counter() - started)
    assert decision is not None
    return float(np.median(times)), decision.kind


#: (clip, job options): a classic-interpolation job, a cheap pixel job and copy-only jobs
COST_JOBS = (
    ("carphone.mp4", ("--fps", "50")),
    ("bikes.mp4", ("--fps", "50", "--interp", "blend")),
    ("bikes.mp4", ("--codec", "ffv1")),
    ("bedroom.mp4", ("--codec", "ffv1")),
)


def cost(folder: Path, skip_jobs: bool) -> None:
    print("| clip | analysis s | decision | job | job s | analysis share |")
    print("|---|---|---|---|---|---|")
    for name, extra in COST_JOBS:
        clip = SHARED_VIDEO / name
        seconds, kind = analysis_seconds(clip)
        if skip_jobs:
            print(f"| {name} | {seconds:.3f} | {kind} | – | – | – |")
            continue
        suffix = ".mkv" if "ffv1" in extra else ".mp4"
        total = job_seconds(clip, "-o", folder / f"{clip.stem}{suffix}", *extra)
        share = 100 * seconds / total
        print(
            f"| {name} | {seconds:.3f} | {kind} | `{' '.join(extra)}` | {total:.1f} | {share:.1f} % |",
            flush=True,
        )


def overhead(folder: Path, repeats: int = 3) -> None:
    """The analysis inside the job, where it runs beside the scan: wall time with and without it."""
    print("| clip | job | `--deinterlace off` s | `auto` s | overhead |")
    print("|---|---|---|---|---|")
    for name, extra in (("bikes.mp4", ("--codec", "ffv1")), ("bedroom.mp4", ("--codec", "ffv1"))):
        clip = SHARED_VIDEO / name
        off, auto = [], []
        for _ in range(repeats):  # alternating, so load drift hits both
            off.append(job_seconds(clip, "-o", folder / "off.mkv", *extra, "--deinterlace", "off"))
            auto.append(job_seconds(clip, "-o", folder / "auto.mkv", *extra))
        a, b = float(np.median(off)), float(np.median(auto))
        print(
            f"| {name} | `{' '.join(extra)}` | {a:.2f} | {b:.2f} | {100 * (b - a) / a:+.1f} % |", flush=True
        )


def quality(folder: Path) -> None:
    bedroom = SHARED_VIDEO / "bedroom.mp4"
    film, p50 = folder / "film.mkv", folder / "p50.mkv"
    ffmpeg("-r", "24000/1001", "-i", str(bedroom), "-frames:v", "96", "-vf", "scale=720:480,setsar=8/9",
           "-c:v", "ffv1", str(film))  # fmt: skip
    ffmpeg("-r", "50", "-i", str(bedroom), "-frames:v", "100", "-vf", "scale=720:576,setsar=16/15",
           "-c:v", "ffv1", str(p50))  # fmt: skip
    mpeg2 = [
        "-c:v",
        "mpeg2video",
        "-b:v",
        "8M",
        "-maxrate",
        "9M",
        "-bufsize",
        "1835k",
        "-flags",
        "+ilme+ildct",
    ]
    ntsc, pal = folder / "ntsc.vob", folder / "pal.mpg"
    ffmpeg("-i", str(film), "-vf", "telecine=first_field=top:pattern=23,setfield=tff", *mpeg2, str(ntsc))
    ffmpeg("-i", str(p50), "-vf", "interlace=scan=tff:lowpass=off,setfield=tff", *mpeg2, str(pal))
    print(
        "| source | frames in → out | PSNR mean / min dB | combing: stored → restored (reference) "
        "| analysis s |"
    )
    print("|---|---|---|---|---|")
    for source, reference, label in (
        (ntsc, film, "NTSC 3:2 telecined 29.97i"),
        (pal, p50, "PAL 25i from 50p"),
    ):
        out = folder / f"{source.stem}.restored.mkv"
        seconds, kind = analysis_seconds(source, repeats=1)
        job_seconds(source, "-o", out, "--codec", "ffv1")
        stored, restored, truth = decode(source), decode(out), decode(reference)
        scores = [psnr(a, b) for a, b in zip(restored, truth, strict=False)]
        print(
            f"| {label} ({kind}) | {len(stored)} → {len(restored)} (reference {len(truth)}) | "
            f"{np.mean(scores):.2f} / {min(scores):.2f} | {clip_combed_share(stored):.3f} → "
            f"{clip_combed_share(restored):.3f} ({clip_combed_share(truth):.3f}) | {seconds:.2f} |",
            flush=True,
        )


def sections(folder: Path) -> None:
    """The first look on a long progressive film, and a DVD-sized mixed film section by section."""
    long_film = looped_clip(SHARED_VIDEO / "bikes.mp4", 300, folder / "bikes300.mp4")
    seconds, kind = analysis_seconds(long_film, repeats=3)
    windows = len(window_starts(probe(long_film)))
    total = job_seconds(long_film, "-o", folder / "bikes300.mkv", "--codec", "ffv1")
    print("| film | windows | analysis s | decision | copy-only job s | analysis share |")
    print("|---|---|---|---|---|---|")
    print(f"| bikes.mp4 looped to 300 s | {windows} | {seconds:.2f} | {kind} | {total:.1f} | "
          f"{100 * seconds / total:.1f} % |", flush=True)  # fmt: skip
    film, p60, vob = folder / "mfilm.mkv", folder / "mp60.mkv", folder / "mixed.vob"
    ffmpeg("-r", "24000/1001", "-i", str(SHARED_VIDEO / "bedroom.mp4"), "-frames:v", "120",
           "-vf", "scale=720:480,setsar=8/9", "-c:v", "ffv1", str(film))  # fmt: skip
    ffmpeg("-r", "60000/1001", "-i", str(SHARED_VIDEO / "bikes.mp4"), "-frames:v", "180",
           "-vf", "scale=720:480,setsar=8/9", "-c:v", "ffv1", str(p60))  # fmt: skip
    ffmpeg("-i", str(film), "-i", str(p60), "-filter_complex",
           "[0:v]telecine=first_field=top:pattern=23,setfield=tff[a];"
           "[1:v]interlace=scan=tff:lowpass=off,setfield=tff[b];[a][b]concat=n=2:v=1,setfield=tff[v]",
           "-map", "[v]", "-c:v", "mpeg2video", "-b:v", "8M", "-maxrate", "9M", "-bufsize", "1835k",
           "-flags", "+ilme+ildct", "-r", "30000/1001", str(vob))  # fmt: skip
    media = probe(vob)
    started = time.perf_counter()
    decision = analyse_fields(media)
    seconds = time.perf_counter() - started
    print()
    print(f"mixed film, 150 + 90 frames of 29.97i, true boundary at frame 150 ({150 * 1001 / 30000:.3f} s); "
          f"analysis {seconds:.2f} s:")  # fmt: skip
    print(f"  fields: {decision.describe(stream_rate(media), None)}")
    if not decision.sections:
        return
    boundary = decision.sections[1].start
    print(f"  boundary found at {boundary:.4f} s: frame {boundary * 30000 / 1001:.2f}")
    timeline = scan_video(vob, media=media, source_filter=decision.filter)
    with open_reader(vob, media, timeline) as reader:
        frames = [frame.copy() for frame in reader]
    truth = decode(film) + decode(p60)
    count = len(decode(film))
    for label, mine, theirs in (("telecined → IVTC", frames[:count], truth[:count]),
                                ("interlaced → bwdif", frames[count:], truth[count:])):  # fmt: skip
        scores = [psnr(a, b) for a, b in zip(mine, theirs, strict=False)]
        print(f"  {label}: {len(mine)} frames (truth {len(theirs)}), PSNR {np.mean(scores):.2f} / "
              f"{min(scores):.2f} dB, combing {clip_combed_share(mine):.3f} "
              f"(truth {clip_combed_share(theirs):.3f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-jobs", action="store_true", help="time the analysis only")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--only-overhead", action="store_true")
    parser.add_argument("--only-sections", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only_sections:
            sections(folder)
            return
        if args.only_overhead:
            overhead(folder)
            return
        cost(folder, args.skip_jobs)
        if not args.skip_jobs:
            print()
            overhead(folder)
        if not args.skip_quality:
            print()
            quality(folder)


if __name__ == "__main__":
    main()
