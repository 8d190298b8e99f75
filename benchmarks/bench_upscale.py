"""Upscaling throughput: milliseconds per 1280x720 -> 2560x1440 frame for each engine.

Engines: Lanczos-3, Anime4K v0.9, and a Compact model (realesr-animevideov3 shape: 64 features,
16 convolutions, here x2) with random weights standing in for a real model file, whole-frame and tiled.
On a CUDA machine the Compact model is also timed in fp16.

Real model: the real Real-ESRGAN AnimeVideo v3 ×4 weights of ``../shared/data/models/`` (when present)
on the real 320×180 frame there, ×4 to 1280×720, as ``.pth`` and as the ncnn ``.param``/``.bin`` pair,
against Lanczos on the same frame; ``--picture FILE``
writes a side-by-side crop (Lanczos | model) of that frame.

    .venv/bin/python benchmarks/bench_upscale.py [--device cpu|cuda] [--repeats N] [--out FILE.md]
        [--picture docs/images/upscale_animevideov3_vs_lanczos.png]
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


def time_engine(
    upscaler, frames: torch.Tensor, repeats: int, target: tuple[int, int] = TARGET
) -> tuple[float, torch.Tensor]:
    """Median milliseconds per frame over ``repeats`` runs after one warm-up run, and the output."""
    device = frames.device
    with torch.inference_mode():
        output = upscaler.upscale(frames, target)
        timings = []
        for _ in range(repeats):
            _synchronise(device)
            start = time.perf_counter()
            output = upscaler.upscale(frames, target)
            _synchronise(device)
            timings.append((time.perf_counter() - start) * 1000.0)
    assert output.shape == (1, 3, *target)
    return sorted(timings)[len(timings) // 2], output


REAL_MODEL = Path(__file__).resolve().parents[2] / "shared" / "data" / "models" / "realesr-animevideov3-x4"


def real_model_rows(device: torch.device, repeats: int, picture: Path | None) -> list[tuple[str, float]]:
    """Lanczos and the real animevideov3 x4 model on the real 320x180 frame (median ms per frame);
    with ``picture``, a side-by-side crop of both x4 outputs (Lanczos left, model right) as an 8-bit PNG."""
    from restore.media.images import read_image, write_image

    weights, source = REAL_MODEL / "realesr-animevideov3-x4.pth", REAL_MODEL / "input_bbb_320x180.png"
    if not weights.is_file():
        print(f"real model not found ({weights}); skipping its rows", flush=True)
        return []
    image = torch.from_numpy(read_image(source).astype("float32") / 255.0).permute(2, 0, 1)[None].to(device)
    target = (4 * image.shape[-2], 4 * image.shape[-1])
    rows, outputs = [], {}
    for label, spec in (
        ("lanczos x4, 320x180 real frame", "lanczos"),
        ("realesr-animevideov3 x4 (real weights), 320x180 real frame", str(weights)),
        ("realesr-animevideov3 x4 (ncnn .param), 320x180 real frame", str(weights.with_suffix(".param"))),
    ):
        upscaler = create_upscaler(spec, device, tile=0)  # whole frame (weight-free engines ignore it)
        milliseconds, outputs[spec] = time_engine(upscaler, image, repeats, target)
        rows.append((label, milliseconds))
        print(f"{label:32s} {milliseconds:10.1f} ms/frame  ({1000.0 / milliseconds:.2f} fps)", flush=True)
    if picture is not None:
        top, left, height, width = 0, 320, 320, 400  # output pixels: the Bunny's head, arm and the trees
        crops = [
            outputs[spec][0, :, top : top + height, left : left + width] for spec in ("lanczos", str(weights))
        ]
        gap = torch.ones(3, height, 8, device=device)
        side_by_side = torch.cat([crops[0], gap, crops[1]], dim=2).clamp(0, 1)
        picture.parent.mkdir(parents=True, exist_ok=True)
        write_image(picture, (side_by_side.permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype("uint8"))
        print(f"wrote {picture}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--picture", type=Path, default=None, help="side-by-side PNG of the real-model row")
    parser.add_argument("--skip-synthetic", action="store_true", help="only the real-model rows")
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
        for label, spec, options, repeats in [] if args.skip_synthetic else cases:
            upscaler = create_upscaler(spec, device, **options)
            milliseconds, _ = time_engine(upscaler, frames, repeats)
            rows.append((label, milliseconds))
            print(f"{label:32s} {milliseconds:10.1f} ms/frame  ({1000.0 / milliseconds:.2f} fps)", flush=True)

    real_rows = real_model_rows(device, args.repeats, args.picture)
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
    if real_rows:
        lanczos_ms = real_rows[0][1]
        lines += [
            "",
            "Real model, 320x180 -> 1280x720 (the real frame in ../shared/data/models/):",
            "",
            "| engine | ms / frame | frames / s | x Lanczos time |",
            "|---|---:|---:|---:|",
            *(
                f"| {label} | {ms:.1f} | {1000.0 / ms:.2f} | {ms / lanczos_ms:.1f} |"
                for label, ms in real_rows
            ),
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
