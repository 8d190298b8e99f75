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
    assert after < before
    assert "deflicker+dust+scratches+denoise" in text
    assert figures >= 3, "contact sheet, flicker plot, damaged/cleaned comparison"
