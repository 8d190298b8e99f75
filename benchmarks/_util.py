"""Helpers shared by the benchmark scripts: clips, timing, process-tree memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEO = REPO.parent / "shared" / "data" / "video"
sys.path.insert(0, str(REPO))

from restore.media.ffmpeg import ffmpeg_exe  # noqa: E402


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def looped_clip(source: Path, seconds: float, out: Path, scale: str | None = None) -> Path:
    """``source`` looped to ``seconds`` (re-encoded x264 crf 18, audio kept), optionally rescaled."""
    if out.exists():
        return out
    args = ["-stream_loop", "-1", "-i", str(source), "-t", f"{seconds}"]
    if scale:
        args += ["-vf", f"scale={scale}:flags=lanczos"]
    args += [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(out),
    ]
    ffmpeg(*args)
    return out


def _tree_rss_kib(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(command: list[str]) -> tuple[float, int]:
    """Run ``command``; return (wall seconds, peak RSS of its whole process tree in KiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kib(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed: {stderr.decode()[-500:]}")
    return time.perf_counter() - started, peak[0]


def time_interpolation(engine, frame0, frame1, phases, warmup: int, repeat: int) -> dict:  # noqa: ANN001
    """Best wall and process-CPU seconds of ``engine.interpolate(frame0, frame1, phases)`` after
    ``warmup`` runs, with the peak memory (CUDA: allocated by torch; CPU: this process's RSS) and the
    device's name; the output is checked for shape and finite values."""
    import resource

    import torch

    device = frame0.device
    timings, cpu_timings = [], []
    for _ in range(warmup + repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start, cpu_start = time.perf_counter(), time.process_time()
        out = engine.interpolate(frame0, frame1, phases)
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - start)
        cpu_timings.append(time.process_time() - cpu_start)
    assert out.shape == (len(phases), *frame0.shape) and torch.isfinite(out).all()
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**30
        name = torch.cuda.get_device_name()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        name = f"CPU, {torch.get_num_threads()} threads"
    return {
        "device": name,
        "seconds": min(timings[warmup:]),
        "cpu_seconds": min(cpu_timings[warmup:]),
        "peak_gib": peak,
    }


def run_for_result(command: list[str], cwd: Path | None = None) -> dict | str:
    """Run a benchmark's own measuring process; its last ``RESULT {json}`` line as a dict, or the
    last line of its error output when it failed."""
    import json

    run = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode or not lines:
        return (run.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(lines[-1].removeprefix("RESULT "))
