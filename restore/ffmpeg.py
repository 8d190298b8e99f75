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

__all__ = ["ffmpeg_exe", "run_ffmpeg"]


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
