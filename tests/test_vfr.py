"""Variable frame rate without ``--fps``: the average rate, snapped to a standard one within 1 %.

The clip is made once from real bikes.mp4 frames whose timestamps run at 24, then 12, then 30 fps
(the issue's case: MP4 guesses 120 fps for it, and planning at that rate invented 3 frames in 4).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from restore.media.scan import scan_video
from restore.plan.timing import STANDARD_RATES, source_frame_rate
from tests.conftest import ffmpeg, main_in_process, shared_file


def said(*texts: str) -> str:
    """What the command printed, as one line (the console wraps long lines)."""
    return " ".join(" ".join(texts).split())


# 1 s at 24 fps, 1 s at 12 fps, 2 s at 30 fps: 96 frames in 4 s, an average of exactly 24
_TIMES = "if(lt(N,24),N/24,if(lt(N,36),1+(N-24)/12,2+(N-36)/30))"


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    ffmpeg("-i", str(shared_file("video", "bikes.mp4")), "-frames:v", "96",
           "-vf", f"scale=160:68,setpts='{_TIMES}/TB'", "-fps_mode", "passthrough", "-enc_time_base", "1/120",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", str(out))  # fmt: skip
    return out


def test_the_clip_is_variable_and_its_container_guesses_high(vfr_clip):
    timeline = scan_video(vfr_clip)
    steps = np.round(1 / np.diff(timeline.timestamps))
    assert {24, 30, 12} <= set(steps.tolist())
    assert timeline.frame_rate is None or timeline.frame_rate > 30  # the guess the job must not use


def test_no_fps_gives_a_standard_rate_from_the_average(vfr_clip, tmp_path):
    out = tmp_path / "out.mp4"
    code, stdout, stderr = main_in_process([vfr_clip, "-o", out, "--interp", "blend"])
    assert code == 0, stderr
    # the last frame's duration is the container's guess (1/24 s here), so the average is 23.95
    assert "variable frame rate: average 23.95" in said(stdout, stderr)
    restored = scan_video(out)
    assert 12 <= restored.frame_rate <= 30 and restored.frame_rate in STANDARD_RATES
    assert abs(float(restored.frame_rate) - 24) < 0.1
    assert abs(restored.frame_count - 96) <= 1


def test_source_rate_rules():
    cfr = np.arange(50) / 25
    assert source_frame_rate(cfr, 2.0, Fraction(25)) == (Fraction(25), None)
    vfr = np.concatenate([np.arange(24) / 24, 1 + np.arange(60) / 30, 3 + np.arange(12) / 12])
    assert source_frame_rate(vfr, 4.0, Fraction(120))[0] == 24
    ntsc = np.arange(300) * 1001 / 30000
    assert source_frame_rate(ntsc, 300 * 1001 / 30000, None)[0] == Fraction(30000, 1001)
    odd = np.concatenate([np.arange(20) / 20, 1 + np.arange(10) / 10])  # 30 frames in 2 s: 15 fps
    rate, note = source_frame_rate(odd, 2.0, Fraction(1000))
    assert rate == 15 and note is not None and "average 15.000" in note
