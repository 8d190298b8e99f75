"""The thread pools a job entry sizes (:mod:`restore.jobs.threads`), in a fresh process.

The test process keeps PyTorch's and OpenCV's defaults (see ``tests/conftest.py``), so the sizing
is checked where a job really runs: in an interpreter of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import cv2, torch
from restore.jobs.threads import compute_threads, share_cores_with_codecs
before = torch.get_num_threads()
print(compute_threads(), share_cores_with_codecs(), torch.get_num_threads(), cv2.getNumThreads(), before)
"""


def _probe(**environment: str) -> list[int]:
    # without the *_NUM_THREADS variables Dask sets in this process once imported (for its workers)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")} | environment
    command = [sys.executable, "-c", PROBE]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return [int(value) for value in result.stdout.split()]


def test_the_job_computes_on_half_the_cores():
    cores = len(os.sched_getaffinity(0))
    threads = _probe()
    assert threads[:4] == [max(1, cores // 2)] * 4
    assert threads[4] == cores  # PyTorch's own default, changed by the call


def test_a_users_omp_num_threads_is_kept_for_pytorch():
    cores = len(os.sched_getaffinity(0))
    threads = _probe(OMP_NUM_THREADS=str(max(1, cores // 2) + 1))
    assert threads[2] == threads[4]  # PyTorch as the variable set it; OpenCV sized as usual
    assert threads[3] == threads[0]
    assert cores == 1 or threads[2] != threads[0]  # (so the first check can fail)
