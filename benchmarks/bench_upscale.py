"""Upscaling throughput: milliseconds per 1280x720 -> 2560x1440 frame for each engine.

Engines: Lanczos-3, Anime4K v0.9, and a Compact model (realesr-animevideov3 shape: 64 features,
16 convolutions, here x2) with random weights standing in for a real model file, whole-frame and tiled.
On a CUDA machine the Compact model is also timed in fp16.

    .venv/bin/python benchmarks/bench_upscale.py [--device cpu|cuda] [--repeats N] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

from restore.upscale import create_upscaler

SOURCE = (720, 1280)
TARGET = (1440, 2560)


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_engine(upscaler, frames: torch.Tensor, repeats: int) -> float:
    """Median milliseconds per frame over ``repeats`` runs after one warm-up run."""
    device = frames.device
    with torch.inference_mode():
        upscaler.upscale(frames, TARGET)
        timings = []
        for _ in range(repeats):
            _synchronise(device)
            start = time.perf_counter()
            output = upscaler.upscale(frames, TARGET)
            _synchronise(device)
            timings.append((time.perf_counter() - start) * 1000.0)
    assert output.shape == (1, 3, *TARGET)
    return sorted(timings)[len(timings) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    frames = torch.rand(1, 3, *SOURCE, generator=torch.Generator().manual_seed(0)).to(device)

    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        model = Compact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=2)
        model_path = Path(folder) / "2x_compact_random.safetensors"
        save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(model_path))

        cases = [
            ("lanczos", "lanczos", {}, args.repeats),
            ("anime4k", "anime4k", {}, args.repeats),
            ("Compact x2 fp32, whole frame", str(model_path), {"tile": 0, "half": False}, args.model_repeats),
            (
                "Compact x2 fp32, 256 px tiles",
                str(model_path),
                {"tile": 256, "half": False},
                args.model_repeats,
            ),
        ]
        if device.type == "cuda":
            cases += [
                (
                    "Compact x2 fp16, whole frame",
                    str(model_path),
                    {"tile": 0, "half": True},
                    args.model_repeats,
                ),
                (
                    "Compact x2 fp16, 256 px tiles",
                    str(model_path),
                    {"tile": 256, "half": True},
                    args.model_repeats,
                ),
            ]
        rows = []
        for label, spec, options, repeats in cases:
            upscaler = create_upscaler(spec, device, **options)
            milliseconds = time_engine(upscaler, frames, repeats)
            rows.append((label, milliseconds))
            print(f"{label:32s} {milliseconds:10.1f} ms/frame  ({1000.0 / milliseconds:.2f} fps)", flush=True)

    if device.type == "cuda":
        where = torch.cuda.get_device_name(device)
    else:
        processor = platform.processor() or platform.machine()
        where = f"CPU ({processor}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    lines = [
        f"Upscaling 1280x720 -> 2560x1440, one frame per call, median of runs after a warm-up; {where}, "
        f"torch {torch.__version__}.",
        "",
        "| engine | ms / frame | frames / s |",
        "|---|---:|---:|",
        *(f"| {label} | {ms:.1f} | {1000.0 / ms:.2f} |" for label, ms in rows),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
