"""The headline job (issue 18): ours against FFmpeg's own chain, and where our time goes.

``compare_headline`` times ``restore CLIP --fps 60 --scale S`` (classic + Lanczos + libx264 medium
CRF 18, audio copied) against one FFmpeg command doing the same job
(``minterpolate=fps=60:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1,scale=W:H:flags=lanczos``,
the same encoder settings), alternating the two, with the peak resident memory of each process
tree. ``profile_headline`` runs our job in this process with timers around each stage of the
render loop and reports the FFmpeg children's CPU time (decoder and encoder) beside them.
"""

from __future__ import annotations

import collections
import resource
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from _util import ffmpeg, run_measured

from restore.media.ffmpeg import ffmpeg_exe

__all__ = ["HEADLINE_CLIPS", "headline_clip", "compare_headline", "profile_headline"]

# name -> (source size, --scale, output size)
HEADLINE_CLIPS = {
    "720p24 -> 4K60": ((1280, 720), 3, (3840, 2160)),
    "480p24 -> 4K60": ((854, 480), 4, (3416, 1920)),
}


def headline_clip(source: Path, size: tuple[int, int], work: Path, seconds: float = 2.0) -> Path:
    """``seconds`` of ``source`` re-timed to 24 fps at ``size`` (x264 CRF 16, audio kept)."""
    out = work / f"headline_{size[0]}x{size[1]}.mp4"
    if not out.exists():
        scale = "" if size == (1280, 720) else f",scale={size[0]}:{size[1]}:flags=lanczos"
        ffmpeg("-i", str(source), "-t", f"{seconds}", "-vf", f"fps=24{scale}", "-c:v", "libx264",
               "-preset", "veryfast", "-crf", "16", "-c:a", "aac", str(out))  # fmt: skip
    return out


def _ours(clip: Path, scale: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "restore", str(clip), "--fps", "60", "--scale", str(scale),
            "-o", str(out), "-q", "--overwrite"]  # fmt: skip


def _peer(clip: Path, size: tuple[int, int], out: Path) -> list[str]:
    chain = (
        "minterpolate=fps=60:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1,"
        f"scale={size[0]}:{size[1]}:flags=lanczos"
    )
    return [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(clip), "-vf", chain,
            "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "copy", str(out)]  # fmt: skip


def compare_headline(clip: Path, scale: int, size: tuple[int, int], work: Path, repeats: int = 2) -> dict:
    """Best-of-``repeats`` wall time and peak tree RSS (KiB) of ours and the peer, alternated."""
    ours_out, peer_out = work / f"ours_{clip.stem}.mp4", work / f"peer_{clip.stem}.mp4"
    times: dict[str, list[float]] = {"ours": [], "peer": []}
    peaks: dict[str, int] = {"ours": 0, "peer": 0}
    for _ in range(repeats):
        for name, command in (("peer", _peer(clip, size, peer_out)), ("ours", _ours(clip, scale, ours_out))):
            seconds, peak = run_measured(command)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
    return {"ours": min(times["ours"]), "peer": min(times["peer"]), "peaks": peaks, "output": ours_out}


def _timed(table: dict[str, list[float]], label: str, function: Callable) -> Callable:
    """``function`` timed into ``table[label]``, per thread (the finishing thread's rows say so)."""

    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            main = threading.current_thread() is threading.main_thread()
            table[label if main else f"{label}, finishing thread"].append(time.perf_counter() - started)

    return wrapper


def profile_headline(clip: Path, scale: int, out: Path) -> list[tuple[str, float, int]]:
    """(stage, seconds, calls) of our job on ``clip``, run in this process: wall seconds inside each
    stage, in the main thread or the finishing thread, then the CPU seconds of the FFmpeg children
    (decoder + encoder: resize, YUV, x264, mux) and of this process."""
    import restore.jobs.run as run
    import restore.media.frames as frames
    from restore.config import RestoreConfig
    from restore.jobs import prepare_job, run_job
    from restore.media.encode import FrameWriter

    table: dict[str, list[float]] = collections.defaultdict(list)
    patches = [
        (run, "_upscale", "upscale (PyTorch Lanczos)"),
        (frames, "tensor_to_array", "rounding to integers"),
        (frames, "array_to_tensor", "integers to unit floats"),
        (FrameWriter, "write", "hand-over to the encoder (waits when it is behind)"),
        (run._SourceWindow, "get", "source frames (decoder wait, to unit floats, stages)"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, label in patches:
        setattr(owner, name, _timed(table, label, getattr(owner, name)))
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        config = RestoreConfig(input=clip, output=out, fps=Fraction(60), scale=float(scale), overwrite=True)
        prepared = _timed(table, "probe, field analysis, scan, plan", prepare_job)(config)
        from restore.jobs.prepare import build_engines

        prepared = build_engines(prepared)
        engine = prepared.interpolator
        if engine is not None:
            setattr(engine, "interpolate", _timed(table, "interpolation", engine.interpolate))  # noqa: B010
        run_job(prepared)
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = [(label, sum(values), len(values)) for label, values in table.items()]
    rows.sort(key=lambda row: -row[1])
    cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
    rows.append(("FFmpeg children, CPU seconds (decode, resize + YUV, x264, mux)", cpu, 0))
    own = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = (own.ru_utime - own_before.ru_utime) + (own.ru_stime - own_before.ru_stime)
    rows.append(("this process, CPU seconds (all threads)", own_cpu, 0))
    rows.append(("whole job, wall", wall, 1))
    return rows
