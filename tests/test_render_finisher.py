"""The render loop's finishing thread (``restore.jobs.run._Finisher``): order, bound, errors."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from restore.errors import RestoreError
from restore.jobs.run import _Finisher
from restore.plan.geometry import OutputGeometry


class RecordingWriter:
    """Keeps what it is given, optionally slowly, failing at write number ``fail_at``."""

    def __init__(self, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.frames: list[np.ndarray] = []
        self.threads: set[str] = set()
        self.fail_at, self.delay = fail_at, delay

    def write(self, frame: np.ndarray) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if self.fail_at is not None and len(self.frames) + 1 == self.fail_at:
            raise RestoreError("the encoder stopped: disk full")
        self.frames.append(frame)


def _job(width: int = 8, height: int = 4) -> SimpleNamespace:
    geometry = OutputGeometry(
        inner=(width, height), canvas=(width, height), offset=(0, 0), sample_aspect=(1, 1)
    )
    return SimpleNamespace(geometry=geometry, media=SimpleNamespace(bit_depth=8))


def _group(values: list[float]) -> torch.Tensor:
    return torch.stack([torch.full((3, 4, 8), v) for v in values])


def test_frames_come_out_in_order_from_another_thread():
    writer = RecordingWriter(delay=0.002)
    seen = []
    with _Finisher(_job(), writer, None, lambda done, total: seen.append((done, total)), total=7) as finisher:
        finisher.submit(_group([0.0, 0.1, 0.2]))
        finisher.submit(_group([0.3]), copies=2)  # one frame written twice
        finisher.submit(_group([0.5, 0.6]))
    assert finisher.done == 7 and seen[-1] == (7, 7) and len(seen) == 7
    written = [int(frame[0, 0, 0]) for frame in writer.frames]
    assert written == [int(np.float32(v) * 255 + 0.5) for v in (0.0, 0.1, 0.2, 0.3, 0.3, 0.5, 0.6)]  # half up
    assert writer.threads and threading.current_thread().name not in writer.threads


def test_at_most_depth_groups_wait():
    writer = RecordingWriter(delay=0.05)
    finisher = _Finisher(_job(), writer, None, None, total=6, depth=1)
    with finisher:
        for value in range(6):
            finisher.submit(_group([value / 10]))
            assert len(finisher._pending) <= 1
    assert len(writer.frames) == 6


def test_an_error_of_the_thread_reaches_the_loop_and_stops_it():
    writer = RecordingWriter(fail_at=3)
    with pytest.raises(RestoreError, match="disk full"):
        with _Finisher(_job(), writer, None, None, total=40) as finisher:
            for value in range(40):
                finisher.submit(_group([value / 100]))
    assert len(writer.frames) == 2  # nothing written after the failure
