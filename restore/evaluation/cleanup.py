"""Measuring cleanup: PSNR, the flicker figure, and the two baselines it must beat.

Baselines: FFmpeg's own ``deflicker`` + ``hqdn3d`` chain, and a naive 3-frame temporal median
(no motion compensation). Everything works on lists of (H,W,3) uint8 RGB frames.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from restore.media.ffmpeg import ffmpeg_exe

__all__ = [
    "psnr",
    "clip_psnr",
    "flicker_figure",
    "temporal_median",
    "ffmpeg_deflicker_hqdn3d",
    "read_clip",
    "cut_lossless",
    "write_lossless",
]


def dust_hits(
    masks: dict[int, np.ndarray], speck_labels: Sequence[np.ndarray], visible: Sequence
) -> tuple[int, int]:
    """(specks found, visible specks): a speck is found when half its pixels lie in the (3x3-dilated) mask.

    masks: frame index -> (H,W) bool dust mask; speck_labels, visible: from :class:`Damage`.
    """
    hits = total = 0
    for index, (labels, labels_visible) in enumerate(zip(speck_labels, visible, strict=True)):
        filled = (
            cv2.dilate(masks[index].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            if index in masks
            else None
        )
        for label in labels_visible:
            total += 1
            hits += filled is not None and filled[labels == label].mean() >= 0.5
    return hits, total


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def clip_psnr(frames: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """PSNR of a whole clip (mean squared error over all frames) against ``reference``."""
    mse = np.mean(
        [
            np.mean((f.astype(np.float64) - r.astype(np.float64)) ** 2)
            for f, r in zip(frames, reference, strict=True)
        ]
    )
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def flicker_figure(frames: list[np.ndarray], trend_sigma: float = 5.0) -> float:
    """Std (8-bit levels) of per-frame mean luma after removing the clip's slow trend (Gaussian, frames)."""
    means = np.array([float((f.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).mean()) for f in frames])
    t = np.arange(len(means), dtype=np.float64)
    weights = np.exp(-0.5 * ((t[:, None] - t[None, :]) / trend_sigma) ** 2)
    trend = weights @ means / weights.sum(axis=1)
    return float(np.std(means - trend))


def temporal_median(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Naive 3-frame temporal median, no motion compensation (ends use the 2 available frames' first)."""
    out = []
    for i in range(len(frames)):
        window = frames[max(0, i - 1) : i + 2]
        if len(window) < 3:
            out.append(frames[i].copy())
        else:
            out.append(np.median(np.stack(window), axis=0).astype(np.uint8))
    return out


def ffmpeg_deflicker_hqdn3d(
    frames: list[np.ndarray], deflicker: str = "deflicker", denoise: str = "hqdn3d"
) -> list[np.ndarray]:
    """Run frames through ``ffmpeg -vf deflicker,hqdn3d`` (default settings), raw RGB in and out."""
    height, width = frames[0].shape[:2]
    command = [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", "25", "-i", "-",
        "-vf", f"{deflicker},{denoise}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    result = subprocess.run(
        command, input=b"".join(f.tobytes() for f in frames), capture_output=True, check=True
    )
    data = np.frombuffer(result.stdout, np.uint8).reshape(-1, height, width, 3)
    return [frame.copy() for frame in data]


def read_clip(
    path: str | Path, start: int = 0, count: int = 50, max_width: int | None = None
) -> list[np.ndarray]:
    """Decode ``count`` frames from frame ``start`` of a video as (H,W,3) uint8 RGB (optionally narrowed)."""
    scale = f",scale='min(iw,{max_width})':-2" if max_width else ""
    result = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
         "-vf", f"select='gte(n,{start})'{scale}", "-fps_mode", "passthrough", "-frames:v", str(count),
         "-f", "image2pipe", "-c:v", "ppm", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    data, frames, position = result.stdout, [], 0
    while position < len(data):
        fields = []
        while len(fields) < 4:  # P6 width height maxval, whitespace separated
            end = position
            while data[end : end + 1] not in (b" ", b"\n", b"\t", b"\r"):
                end += 1
            fields.append(data[position:end])
            position = end + 1
        width, height = int(fields[1]), int(fields[2])
        size = width * height * 3
        frames.append(
            np.frombuffer(data[position : position + size], np.uint8).reshape(height, width, 3).copy()
        )
        position += size
    return frames


def cut_lossless(
    path: str | Path, out: str | Path, start: int = 0, count: int = 50, max_width: int | None = None
) -> Path:
    """Frames ``start`` .. ``start + count - 1`` of a video (narrowed as :func:`read_clip` does) into an
    FFV1 file ``out`` in the source's own pixel format, without audio: a lossless test source."""
    scale = f",scale='min(iw,{max_width})':-2" if max_width else ""
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(path),
         "-vf", f"select='gte(n,{start})',setpts=PTS-STARTPTS{scale}", "-frames:v", str(count),
         "-c:v", "ffv1", "-an", str(out)],
        capture_output=True, check=True,
    )  # fmt: skip
    return Path(out)


def write_lossless(frames: list[np.ndarray], out: str | Path, rate: str = "30") -> Path:
    """(H,W,3) uint8 RGB frames into an FFV1 file ``out`` at ``rate`` frames per second."""
    height, width = frames[0].shape[:2]
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", rate, "-i", "-",
         "-c:v", "ffv1", str(out)],
        input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), capture_output=True, check=True,
    )  # fmt: skip
    return Path(out)
