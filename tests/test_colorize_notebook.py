"""The colourisation notebook runs top to bottom on small real data, so it cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import shared_file

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_colorize_notebook_executes(monkeypatch):
    shared_file("video", "archival_abomb_refs")
    monkeypatch.setenv("RESTORE_NOTEBOOK_DATA", str(shared_file("video").parent))
    monkeypatch.setenv("RESTORE_NOTEBOOK_SECONDS", "1")
    monkeypatch.setenv("RESTORE_NOTEBOOK_WIDTH", "216")
    notebook = nbformat.read(NOTEBOOKS / "03_colorize.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "4 reference images" in outputs and "references chosen: ['ref_" in outputs
    images = sum(
        "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert images == 2, "the contact sheet and the score plot"
    ratio = float(re.search(r"reference engine / better baseline: ([0-9.]+)", outputs).group(1))
    assert ratio < 1.0
