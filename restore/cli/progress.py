"""The progress display of ``restore run`` and ``restore batch``: one bar on stderr, gone when done."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["job_progress"]


class FramesPerSecondColumn(ProgressColumn):
    """The bar's speed in frames per second (``-- fps`` until it is known)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  -- fps" if speed is None else f"{speed:6.1f} fps", style="progress.data.speed")


def job_progress(quiet: bool) -> Progress:
    """A transient progress display on stderr (disabled by ``--quiet``); ``.console`` prints beside it."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        FramesPerSecondColumn(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    )
