"""The process-wide allocator setting of a job entry (:mod:`restore.jobs.memory`), in a fresh process.

The test process itself is kept on glibc's default allocator (see ``tests/conftest.py``), so the
pinning is checked where a job really runs: in an interpreter of its own.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, numpy
from restore.jobs.memory import pin_large_allocations_to_mmap
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]
libc.mallinfo2.restype = Info
def mapped_after_churn():
    # free a 4 MiB block (glibc then raises its threshold past it unless pinned), then hold 2 MiB
    libc.free(libc.malloc(4 << 20))
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(2 << 20)
    mapped = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return mapped
import sys
if sys.argv[1] == "pin":
    print(pin_large_allocations_to_mmap(), pin_large_allocations_to_mmap())
print(mapped_after_churn() >= 2 << 20)
"""


@pytest.mark.skipif(not ctypes.util.find_library("c") or sys.platform != "linux", reason="needs glibc")
@pytest.mark.parametrize("mode", ["pin", "default"])
def test_pinning_serves_frame_sized_blocks_by_mmap(mode):
    # without the MALLOC_* variables some libraries set for their workers (Dask sets
    # MALLOC_TRIM_THRESHOLD_ once imported, which also fixes glibc's mmap threshold)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=environment
    )
    lines = result.stdout.split()
    if mode == "pin":
        assert lines == ["True", "True", "True"]  # took effect, idempotent, 2 MiB blocks are mapped
    else:
        assert lines == ["False"]  # glibc's dynamic threshold put the 2 MiB block on the heap
