"""The process-wide allocator setting of a job entry (:mod:`restore.jobs.memory`), in a fresh process.

The test process itself is kept on glibc's default allocator (see ``tests/conftest.py``), so the
setting is checked where a job really runs: in an interpreter of its own.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, numpy
from restore.jobs.memory import fix_mmap_threshold
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]
libc.mallinfo2.restype = Info
def churn():
    # free a mapped 4 MiB block (glibc's dynamic thresholds then rise: mmap 4 MiB, trim 8 MiB), then
    # take a 2 MiB frame-sized block and free it
    libc.free(libc.malloc(4 << 20))
    block = libc.malloc(2 << 20)
    mapped = libc.mallinfo2().hblkhd >= 2 << 20
    libc.free(block)
    return mapped, libc.mallinfo2().fordblks  # the block was mapped; free bytes the heap kept
import sys
if sys.argv[1] == "fix":
    print(fix_mmap_threshold(), fix_mmap_threshold())
mapped, kept = churn()
print(mapped, kept >= 2 << 20)
"""


@pytest.mark.skipif(not ctypes.util.find_library("c") or sys.platform != "linux", reason="needs glibc")
@pytest.mark.parametrize("mode", ["fix", "default"])
def test_frame_sized_blocks_come_from_a_heap_that_is_given_back(mode):
    # without the MALLOC_* variables some libraries set for their workers (Dask sets
    # MALLOC_TRIM_THRESHOLD_ once imported, which also fixes glibc's mmap threshold)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=environment
    )
    lines = result.stdout.split()
    if mode == "fix":
        # took effect, idempotent; the 2 MiB block came from the heap, and the heap gave it back
        assert lines == ["True", "True", "False", "False"]
    else:
        assert lines == ["False", "True"]  # glibc's dynamic thresholds: from the heap, and kept there
