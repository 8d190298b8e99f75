"""The cleanup notebook runs top to bottom on the real archival clip and shows its figures."""

from __future__ import annotations

import re

import pytest

from tests.conftest import shared_file
from tests.test_notebooks import execute


@pytest.mark.slow
def test_cleanup_notebook_executes(monkeypatch):
    clip = shared_file("video", "archival_abomb.mp4")
    text, figures = execute(
        "04_cleanup.ipynb", monkeypatch, RESTORE_NOTEBOOK_CLIP=str(clip), RESTORE_NOTEBOOK_FRAMES="24"
    )
    assert "24 frames of 432x320" in text
    before, after = (
        float(v)
        for v in re.search(
            r"shot 1 \(frames 0-23\) flicker figure: before ([\d.]+), after ([\d.]+)", text
        ).groups()
    )
    assert after <= 1.1 * before  # its brightness changes are picture and a fade: kept, no flicker added
    damaged = float(re.search(r"damaged: [\d.]+ dB, flicker \(shot 1\) ([\d.]+)", text).group(1))
    deflickered = float(re.search(r"deflicker +[\d.]+ dB, flicker \(shot 1\) ([\d.]+)", text).group(1))
    every_step = r"deflicker\+dust\+scratches\+denoise +[\d.]+ dB, flicker \(shot 1\) ([\d.]+)"
    cleaned = float(re.search(every_step, text).group(1))
    assert deflickered * 3 <= damaged and cleaned * 3 <= damaged  # added flicker goes
    assert figures >= 3, "contact sheet, flicker plot, damaged/cleaned comparison"
