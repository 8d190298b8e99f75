"""Compile the ``.cu`` sources with CuPy (lazily imported) and launch them on PyTorch's stream.

Each source is specialised by a one-line prelude defining ``scalar_t`` and compiled once per
(source, dtype, device); kernels are one grid-stride loop, launched 1-D with 256 threads per block.
Arguments are passed as raw device pointers (``data_ptr()``, or 0 for "not wanted") and int32 sizes.
"""

from __future__ import annotations

import functools
import warnings
from importlib import resources

import numpy as np
import torch

__all__ = ["SCALAR_TYPES", "cupy_available", "kernel_source", "kernels_usable", "launch"]

#: C type of ``scalar_t`` for each supported compute dtype.
SCALAR_TYPES = {torch.float32: "float", torch.float64: "double"}

_THREADS_PER_BLOCK = 256
_MAX_BLOCKS = 65535 * 16


@functools.lru_cache(maxsize=1)
def _import_cupy() -> object | None:
    try:
        import cupy
    except Exception:  # noqa: BLE001 - any import failure (missing package, missing CUDA libs) means "no CuPy"
        return None
    return cupy


def cupy_available() -> bool:
    """True when CuPy imports (it is an optional extra: ``pip install dain-restore[cuda]``)."""
    return _import_cupy() is not None


def kernel_source(file_name: str, scalar_type: str) -> str:
    """The CUDA source ``file_name`` (in this package) prefixed with ``typedef <scalar_type> scalar_t;``."""
    text = resources.files("cuda_kernels").joinpath(file_name).read_text(encoding="utf-8")
    return f"typedef {scalar_type} scalar_t;\n{text}"


@functools.cache
def _module(file_name: str, scalar_type: str, device_index: int) -> object:
    """The compiled CuPy module of ``file_name`` for ``scalar_type`` on one device (cached)."""
    cupy = _import_cupy()
    if cupy is None:
        raise RuntimeError("CuPy is not installed; install the 'cuda' extra to use the CUDA kernels")
    with cupy.cuda.Device(device_index):
        module = cupy.RawModule(code=kernel_source(file_name, scalar_type), options=("--std=c++14",))
        module.compile()  # compile now, for this device, so that errors surface in kernels_usable
    return module


@functools.cache
def _kernel(file_name: str, function_name: str, scalar_type: str, device_index: int) -> object:
    cupy = _import_cupy()
    with cupy.cuda.Device(device_index):
        return _module(file_name, scalar_type, device_index).get_function(function_name)


_UNUSABLE: set[tuple[str, torch.dtype, int]] = set()


def kernels_usable(file_name: str, dtype: torch.dtype, device: torch.device) -> bool:
    """True when ``file_name`` compiles for ``dtype`` on CUDA ``device`` (compiling it if needed).

    A compile failure (e.g. a CuPy/driver/toolkit mismatch) is reported once as a RuntimeWarning and
    the caller falls back to the PyTorch reference.
    """
    key = (file_name, dtype, device.index)
    if key in _UNUSABLE:
        return False
    try:
        _module(file_name, SCALAR_TYPES[dtype], device.index)
    except Exception as error:  # noqa: BLE001 - any CuPy/NVRTC failure means "use the reference"
        _UNUSABLE.add(key)
        warnings.warn(
            f"cuda_kernels: CuPy could not compile {file_name} ({SCALAR_TYPES[dtype]}) for {device}; "
            f"using the PyTorch reference instead ({type(error).__name__}: {error})",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _argument(value: object) -> object:
    if value is None:
        return np.uint64(0)
    if isinstance(value, torch.Tensor):
        return np.uint64(value.data_ptr())
    if isinstance(value, (bool, int)):
        return np.int32(value)
    raise TypeError(f"unsupported kernel argument type {type(value).__name__}")


def launch(
    file_name: str, function_name: str, work_items: int, dtype: torch.dtype, *arguments: object
) -> None:
    """Run ``function_name`` from ``file_name`` over ``work_items`` on the current CUDA stream.

    ``arguments``: contiguous CUDA tensors of ``dtype`` (or None for a null pointer) and Python ints
    (passed as int32), in the kernel's parameter order. The device is taken from the first tensor.
    """
    if work_items <= 0:
        return
    device = next(a.device for a in arguments if isinstance(a, torch.Tensor))
    kernel = _kernel(file_name, function_name, SCALAR_TYPES[dtype], device.index)
    cupy = _import_cupy()
    blocks = min((work_items + _THREADS_PER_BLOCK - 1) // _THREADS_PER_BLOCK, _MAX_BLOCKS)
    stream = cupy.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream, device.index)
    with cupy.cuda.Device(device.index), stream:
        kernel((blocks,), (_THREADS_PER_BLOCK,), tuple(_argument(a) for a in arguments))
