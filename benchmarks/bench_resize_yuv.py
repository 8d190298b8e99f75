#!/usr/bin/env python3
"""The 4K resize and YUV conversion of the headline job (issue 18), and the steps around it.

  .venv/bin/python benchmarks/bench_resize_yuv.py

1. Candidates for 720p RGB -> 3840x2160 4:2:0, on 48 real frames (bigbuckbunny at 24 fps): time per
   frame (1 and 2 filter threads) and PSNR of the 4:2:0 planes against the PyTorch Lanczos followed by
   the encoder's conversion (what jobs did before).
2. Rounding one 720p float frame to integers: ``tensor_to_array`` against ``from_unit_float`` + a
   transpose (bit-identical).
3. One ``classic`` 720p pair (two phases) with PyTorch / OpenCV pools of 1 or 2 threads, alone (the
   fight the job's thread sizing avoids shows beside the encoder; the whole job is timed for that).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _util import SHARED_VIDEO, ffmpeg

from restore.media.decode import open_reader
from restore.media.ffmpeg import SWS_FLAGS, ffmpeg_exe
from restore.media.frames import array_to_tensor, from_unit_float, tensor_to_array
from restore.media.probe import probe
from restore.media.scan import scan_video
from restore.upscale.lanczos import lanczos_resize

W, H = 3840, 2160
TO_YUV = f"out_color_matrix=bt709:out_range=tv:flags={SWS_FLAGS},format=yuv420p"
CONVERT = f"scale={TO_YUV}"
CANDIDATES = {
    "swscale, one pass: resize + conversion": f"scale={W}:{H}:{TO_YUV}",
    "swscale, resize in planar RGB, then convert": f"format=gbrp,scale={W}:{H}:flags={SWS_FLAGS},{CONVERT}",
    "zimg (zscale lanczos), then convert": f"zscale=w={W}:h={H}:filter=lanczos,{CONVERT}",
}  # fmt: skip


def _frames(clip: Path) -> list[np.ndarray]:
    media = probe(clip)
    with open_reader(clip, media, scan_video(clip, media=media)) as reader:
        return list(reader)


def _through(vf: str, size: tuple[int, int], data: bytes, threads: int = 1) -> tuple[bytes, float]:
    command = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-filter_threads", str(threads),
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-i", "pipe:",
               "-vf", vf, "-f", "rawvideo", "pipe:"]  # fmt: skip
    started = time.perf_counter()
    out = subprocess.run(command, input=data, capture_output=True, check=True).stdout
    return out, time.perf_counter() - started


def _filter_seconds(vf: str, size: tuple[int, int], data: bytes, threads: int) -> float:
    """Seconds of the filter alone (output discarded inside FFmpeg, not piped back)."""
    command = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-filter_threads", str(threads),
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-i", "pipe:",
               "-vf", vf, "-f", "null", "-"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, input=data, capture_output=True, check=True)
    return time.perf_counter() - started


def _psnr(a: bytes, b: bytes) -> float:
    x, y = np.frombuffer(a, np.uint8).astype(np.float64), np.frombuffer(b, np.uint8).astype(np.float64)
    return float(10 * np.log10(255.0**2 / np.mean((x - y) ** 2)))


def bench_resize(frames: list[np.ndarray]) -> None:
    cpu = torch.device("cpu")
    started = time.perf_counter()
    before = [
        tensor_to_array(lanczos_resize(array_to_tensor(f, cpu)[None], (H, W))[0], np.uint8) for f in frames
    ]
    torch_ms = (time.perf_counter() - started) / len(frames) * 1000
    reference, _ = _through(CONVERT, (W, H), b"".join(f.tobytes() for f in before))
    small = b"".join(f.tobytes() for f in frames)
    print("| candidate | ms per frame, 1 / 2 filter threads | PSNR against before |")
    print("|---|---|---|")
    print(
        f"| PyTorch Lanczos + rounding in Python (before; the conversion comes on top) | {torch_ms:.0f} | – |"
    )
    for name, vf in CANDIDATES.items():
        out, _ = _through(vf, frames[0].shape[1::-1], small)
        one, two = (_filter_seconds(vf, frames[0].shape[1::-1], small, threads) for threads in (1, 2))
        n = len(frames)
        print(
            f"| {name} | {one / n * 1000:.1f} / {two / n * 1000:.1f} | {_psnr(out, reference):.2f} dB |",
            flush=True,
        )


def bench_rounding(frame: np.ndarray) -> None:
    tensor = array_to_tensor(frame, torch.device("cpu"))

    def three_temporaries() -> np.ndarray:
        return np.ascontiguousarray(from_unit_float(tensor.numpy(), np.uint8).transpose(1, 2, 0))

    for name, function in (("from_unit_float + transpose", three_temporaries),
                           ("tensor_to_array", lambda: tensor_to_array(tensor, np.uint8))):  # fmt: skip
        function()
        started = time.perf_counter()
        for _ in range(20):
            function()
        print(f"| rounding a 720p frame: {name} | {(time.perf_counter() - started) / 20 * 1000:.1f} ms |")
    assert np.array_equal(three_temporaries(), tensor_to_array(tensor, np.uint8))


def bench_threads(frames: list[np.ndarray]) -> None:
    import cv2

    from dain.engines.base import create_interpolator

    tensors = [array_to_tensor(f, torch.device("cpu")) for f in frames[:7]]
    engine = create_interpolator("classic")
    for torch_threads, cv_threads in ((1, 1), (2, 2), (1, 2), (2, 1)):
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv_threads)
        started = time.perf_counter()
        for k in range(6):
            engine.interpolate(tensors[k], tensors[k + 1], [0.4, 0.8] if k % 2 == 0 else [0.2, 0.6])
        seconds = (time.perf_counter() - started) / 6
        print(
            f"| classic 720p pair, PyTorch {torch_threads} / OpenCV {cv_threads} threads | {seconds:.3f} s |"
        )


def main() -> None:
    with open("/proc/loadavg") as loadavg:
        print("load average:", " ".join(loadavg.read().split()[:3]))
    clip = Path(tempfile.mkdtemp(prefix="bench_resize_")) / "bbb720p24.mp4"
    ffmpeg("-i", str(SHARED_VIDEO / "bigbuckbunny.mp4"), "-t", "2", "-vf", "fps=24", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "16", "-an", str(clip))  # fmt: skip
    frames = _frames(clip)
    bench_resize(frames)
    print()
    bench_rounding(frames[0])
    bench_threads(frames)


if __name__ == "__main__":
    main()
