"""Run a notebook of ``notebooks/`` top to bottom in a fresh kernel and collect what it printed and drew.

The one notebook executor of the suite (``tests/test_notebooks.py`` runs all four notebooks with it).
The environment is given to the kernel process only, so nothing of the test process changes, and
several notebooks can run at the same time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

__all__ = ["NOTEBOOKS", "NotebookRun", "execute_notebook"]

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass(frozen=True)
class NotebookRun:
    """What an executed notebook left in its code cells.

    text: every stream output (``print``) concatenated in cell order.
    figures: the number of outputs carrying an ``image/png`` (one per figure shown).
    """

    text: str
    figures: int


def execute_notebook(name: str, timeout: float = 600, **environment: str) -> NotebookRun:
    """Execute ``notebooks/<name>`` with its folder as working directory and ``environment`` added.

    Raises nbclient's ``CellExecutionError`` when a cell fails (the test then fails with the cell's
    traceback).
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute(env={**os.environ, **environment})
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    figures = sum(1 for output in outputs if "image/png" in output.get("data", {}))
    return NotebookRun(text=text, figures=figures)
