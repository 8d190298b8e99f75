"""Keep the heap from growing with a film's length: one process-wide allocator setting.

glibc adjusts its thresholds as a program runs: each time a block above the mmap threshold is
freed, the threshold rises to that block's size and the trim threshold to twice that, so after a
few frames the multi-megabyte frame buffers come from a heap that is no longer given back, where
fragmentation makes the resident size creep up over a long job (measured: +15 % from a 10 s to a
60 s 720p clip). Setting the mmap threshold by hand turns that adjustment off and leaves the trim
threshold at its small default, so freed frame memory at the top of the heap goes back to the
system.

The threshold is fixed at 32 MiB, glibc's own upper bound: frame buffers up to 1080p float32 (25
MiB) stay on the heap and are reused without page faults, larger ones are mapped as glibc always
maps them. A 1 MiB threshold, which mapped every frame buffer afresh, held memory as flat but cost
the page faults of every buffer: 38.0 s against 28.2 s for a 10 s 720p job (``benchmarks/RESULTS.md``,
issue 18). Elsewhere than glibc this does nothing.

``mallopt`` changes the whole process for good, so it is not a per-frame or per-stage concern: the
job entries call it once (:func:`restore.jobs.run_job` in the CLI's or the API's process, the
segment task in a batch worker). It is idempotent: the first call per threshold does the work and
later calls return the recorded outcome.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["MMAP_THRESHOLD", "fix_mmap_threshold"]

_M_MMAP_THRESHOLD = -3
#: glibc's largest mmap threshold on 64-bit systems (HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD = 32 << 20


@functools.cache  # idempotent: mallopt runs at most once per process (and threshold)
def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes, process-wide (its dynamic adjustment and the
    trim threshold's with it are turned off); True when it took effect."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
