"""Benchmark the RIFE engine beside classic: seconds per frame pair and peak memory (random weights).

    python benchmarks/bench_rife.py --device cpu --sizes 1280x720
    python benchmarks/bench_rife.py --device cuda --sizes 1920x1080 3840x2160 --half both

The pair is two consecutive frames of ``bigbuckbunny.mp4`` (../shared/data/video) resized to each
size (random frames when the clip is absent); the RIFE weights are PyTorch's random initialisation
(speed does not depend on them). Each engine and size runs in its own subprocess so that peak memory
is per measurement: peak RSS on CPU, ``torch.cuda.max_memory_allocated`` on CUDA. ``classic`` (the
default engine) runs on the same pair in the same way; DAIN's figure is ``bench_dain.py``'s.

Prints one markdown row per measurement: wall seconds per pair and process CPU seconds per pair (all
threads; on a shared machine the CPU time is the steadier figure, and with ``--threads 1`` it is
nearly free of the other jobs' influence), for ``--phases`` phases per pair.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from _util import run_for_result, time_interpolation

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "data" / "video" / "bigbuckbunny.mp4"
ENGINES = ("rife-4.6", "rife-4.18", "rife-4.22", "rife-4.25", "classic")


def _pair(width: int, height: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Two consecutive real frames (H,W,3) uint8 at the size, and where they came from."""
    if not CLIP.is_file():
        rng = np.random.default_rng(0)
        return (*(rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(2)), "random")
    from restore.media.ffmpeg import ffmpeg_exe

    raw = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-ss", "2", "-i", str(CLIP), "-frames:v", "2",
         "-vf", f"scale={width}:{height}:flags=lanczos", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(2, height, width, 3)
    return frames[0], frames[1], CLIP.name


def _engine(name: str, device: object, half: bool) -> object:
    import torch

    from dain.engines import create_interpolator

    if name == "classic":
        return create_interpolator("classic", device=device)
    from dain.engines.rife.engine import RifeInterpolator
    from dain.engines.rife.layouts import layout_for_version
    from dain.engines.rife.network import RifeFlowNet

    torch.manual_seed(0)
    return RifeInterpolator(
        RifeFlowNet(layout_for_version(name.removeprefix("rife-"))), device=device, half=half
    )


def _measure(args: argparse.Namespace) -> None:
    import torch

    from restore.media.frames import array_to_tensor

    if args.threads:
        import cv2

        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    width, height = (int(v) for v in args.size.split("x"))
    device = torch.device(args.device)
    engine = _engine(args.engine, device, args.half == "on")
    image0, image1, source = _pair(width, height)
    frame0, frame1 = array_to_tensor(image0, device), array_to_tensor(image1, device)
    phases = [(k + 1) / (args.phases + 1) for k in range(args.phases)]
    measured = time_interpolation(engine, frame0, frame1, phases, args.warmup, args.repeat)
    result = {
        "engine": args.engine,
        "size": args.size,
        "device": measured["device"],
        "half": args.half == "on",
        "phases": args.phases,
        "source": source,
        "seconds": measured["seconds"],
        "cpu_seconds": measured["cpu_seconds"],
        "peak_gib": measured["peak_gib"],
    }
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", nargs="+", default=["1280x720"])
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--half", choices=["off", "on", "both"], default="off")
    parser.add_argument("--phases", type=int, default=1, help="phases per pair")
    parser.add_argument("--threads", type=int, default=0, help="torch and OpenCV threads (0: their defaults)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size:
        _measure(args)
        return
    print("| engine | size | device | fp16 | phases | s / pair (wall) | CPU s / pair | peak memory (GiB) |")
    print("|---|---|---|---|---|---|---|---|")
    halves = ["off", "on"] if args.half == "both" else [args.half]
    for size in args.sizes:
        for engine in args.engines:
            for half in halves if engine != "classic" else ["off"]:
                command = [
                    sys.executable,
                    __file__,
                    "--size",
                    size,
                    "--engine",
                    engine,
                    "--device",
                    args.device,
                ]
                command += ["--half", half, "--phases", str(args.phases), "--threads", str(args.threads)]
                command += ["--repeat", str(args.repeat), "--warmup", str(args.warmup)]
                r = run_for_result(command, cwd=REPO)
                if isinstance(r, str):
                    print(f"| {engine} | {size} | {args.device} | {half} | {args.phases} | failed: {r} | | |")
                    continue
                print(
                    f"| {r['engine']} | {r['size']} | {r['device']} | {'yes' if r['half'] else 'no'} | "
                    f"{r['phases']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {r['peak_gib']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
