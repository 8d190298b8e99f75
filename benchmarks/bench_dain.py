"""Benchmark the DAIN engine: seconds per frame pair and peak memory (random weights).

Each size runs in its own subprocess so that peak memory is measured per size:
peak RSS (``ru_maxrss``) on CPU, ``torch.cuda.max_memory_allocated`` on CUDA.

    python benchmarks/bench_dain.py --device cpu --sizes 448x256 1280x720
    python benchmarks/bench_dain.py --device cuda --sizes 1920x1080 3840x2160 --half both

Prints one markdown table row per measurement: wall seconds per pair, process CPU seconds per pair
(all threads; on a shared machine the wall time depends on the other jobs, the CPU time much less).
"""

from __future__ import annotations

import argparse
import json
import sys

from _util import run_for_result, time_interpolation


def _measure(args: argparse.Namespace) -> None:
    import torch

    from dain.engines.dain import DainInterpolator
    from dain.nets.network import DAIN

    torch.manual_seed(0)
    width, height = (int(v) for v in args.size.split("x"))
    device = torch.device(args.device)
    engine = DainInterpolator.from_network(
        DAIN(), device=device, tile=args.tile or None, half=args.half == "on"
    )
    frame0 = torch.rand(3, height, width, device=device)
    frame1 = torch.rand(3, height, width, device=device)
    phases = [(k + 1) / (args.phases + 1) for k in range(args.phases)]
    measured = time_interpolation(engine, frame0, frame1, phases, args.warmup, args.repeat)
    result = {
        "size": args.size,
        "device": measured["device"],
        "half": args.half == "on",
        "tile": args.tile,
        "phases": args.phases,
        "seconds": measured["seconds"],
        "cpu_seconds": measured["cpu_seconds"],
        "peak_gib": measured["peak_gib"],
    }
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", nargs="+", default=["448x256", "1280x720"])
    parser.add_argument("--half", choices=["off", "on", "both"], default="off")
    parser.add_argument("--tile", type=int, default=0, help="tile edge in pixels, 0 = untiled")
    parser.add_argument("--phases", type=int, default=1, help="phases per pair")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size:
        _measure(args)
        return
    print("| size | device | fp16 | tile | phases | s / pair (wall) | CPU s / pair | peak memory (GiB) |")
    print("|---|---|---|---|---|---|---|---|")
    halves = ["off", "on"] if args.half == "both" else [args.half]
    for size in args.sizes:
        for half in halves:
            command = [sys.executable, __file__, "--size", size, "--device", args.device, "--half", half]
            command += ["--tile", str(args.tile), "--phases", str(args.phases)]
            command += ["--repeat", str(args.repeat), "--warmup", str(args.warmup)]
            r = run_for_result(command)
            if isinstance(r, str):
                tile = args.tile or "-"
                print(f"| {size} | {args.device} | {half} | {tile} | {args.phases} | failed: {r} | | |")
                continue
            print(
                f"| {r['size']} | {r['device']} | {'yes' if r['half'] else 'no'} | {r['tile'] or '-'} | "
                f"{r['phases']} | {r['seconds']:.2f} | {r['cpu_seconds']:.1f} | {r['peak_gib']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
