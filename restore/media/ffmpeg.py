"""Where the FFmpeg binary is, and small helpers to run it.

The binary is the one shipped by ``imageio-ffmpeg`` (FFmpeg 9 with libx264, libx265,
prores_ks, ffv1 and svtav1), so the toolkit needs nothing from the system. Set
``RESTORE_FFMPEG`` to use another build.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Sequence

__all__ = ["SWS_FLAGS", "ffmpeg_exe", "run_ffmpeg"]

#: swscale flags for every YUV<->RGB conversion. swscale's defaults (fast rounding, chroma not
#: interpolated at full resolution) lose about 0.7 dB on a YUV 4:2:0 -> RGB -> YUV 4:2:0 round trip
#: through x264 at CRF 18 (45 dB lossless). With these the round trip is 69 dB lossless on bikes and
#: 54 dB on carphone (whose out-of-gamut colours clip in RGB), and x264's output matches a job that
#: never left YUV; of swscale's kernels Lanczos does best here. At a third of the default speed
#: (78 fps of 1080p). ``benchmarks/bench_conversion.py`` measures both.
SWS_FLAGS = "lanczos+accurate_rnd+full_chroma_int"


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the FFmpeg executable (``$RESTORE_FFMPEG`` or imageio-ffmpeg's)."""
    override = os.environ.get("RESTORE_FFMPEG")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: Sequence[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``ffmpeg -nostdin -hide_banner ARGS`` to completion, capturing text output."""
    return subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
