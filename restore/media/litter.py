"""Hidden work files of an output, and the removal of those a dead process left behind.

An output ``film.mp4`` is written as ``.film.partial-PID.mp4`` and renamed when complete; a join of
segments lists them in ``.film.mp4.segments-PID.txt``. A process killed outright (SIGKILL, power
loss) cannot remove its own. When the same output is made again, :func:`remove_stale_work_files`
deletes exactly these names whose PID is no process on this machine any more; nothing else is ever
touched (a file of a live process, another output's, or one with any other name stays).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["partial_path_for", "listing_path_for", "remove_stale_work_files", "process_exists"]


def partial_path_for(output: Path, pid: int | None = None) -> Path:
    """The hidden name ``output`` is written under by process ``pid`` (this one by default)."""
    pid = os.getpid() if pid is None else pid
    return output.with_name(f".{output.stem}.partial-{pid}{output.suffix}")


def listing_path_for(output: Path, pid: int | None = None) -> Path:
    """The hidden concat list of a join of segments into ``output``."""
    pid = os.getpid() if pid is None else pid
    return output.with_name(f".{output.name}.segments-{pid}.txt")


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists on this machine (one of another user's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_work_files(output: Path) -> list[Path]:
    """Delete the partial files and join lists of ``output`` whose process is gone; returns them."""
    patterns = (
        re.compile(rf"^\.{re.escape(output.stem)}\.partial-(\d+){re.escape(output.suffix)}$"),
        re.compile(rf"^\.{re.escape(output.name)}\.segments-(\d+)\.txt$"),
    )
    folder = output.parent if str(output.parent) else Path(".")
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        for pattern in patterns:
            match = pattern.match(name)
            if match and int(match.group(1)) != os.getpid() and not process_exists(int(match.group(1))):
                path = folder / name
                try:
                    if path.is_file() and not path.is_symlink():
                        path.unlink()
                        removed.append(path)
                except OSError:
                    pass  # someone else's to remove, or gone already
    return removed
