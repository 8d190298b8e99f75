"""How many threads the job's own computing uses, so that it shares the cores with the codecs.

A job runs three things at once: the FFmpeg decoder, this process's computing (PyTorch ops and the
OpenCV flow in the interpolator, the stages) and the FFmpeg encoder, which at 4K needs as much CPU
as the rest together. PyTorch's and OpenCV's default thread pools each take every core and, called
one after the other from one thread, fight each other and the encoder: PyTorch's OpenMP workers
spin while OpenCV's run. Measured on 2 cores (``benchmarks/RESULTS.md``, issue 18): the 720p →
4K60 job took 36 s with the pools at half the cores and 41 s with their defaults; under other jobs'
load one classic pair took 2.5 s with both pools at 2 threads and 0.40 s with both at 1.

So the job's computing gets half the cores (at least one) in each pool and the codecs the rest.
Like the allocator setting of :mod:`restore.jobs.memory` this is process-wide, set once by the job
entries; an ``OMP_NUM_THREADS`` the user set is respected for PyTorch.
"""

from __future__ import annotations

import functools
import os

__all__ = ["compute_threads", "share_cores_with_codecs"]


def compute_threads() -> int:
    """Threads for the job's computing: half the cores this process may use, at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


@functools.cache  # once per process
def share_cores_with_codecs() -> int:
    """Size PyTorch's and OpenCV's thread pools to :func:`compute_threads`; returns that number."""
    threads = compute_threads()
    import cv2
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return threads
