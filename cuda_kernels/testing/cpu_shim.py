"""Run the package's CUDA sources on the CPU: a development and test tool (needs g++, no GPU).

The same ``.cu`` text that CuPy compiles is prefixed with ``shim/cuda_cpu_shim.h`` (which defines
``__global__``/``__device__`` away, provides ``dim3`` and thread-local ``blockIdx``/``threadIdx``/
``blockDim``/``gridDim``, and a plain-add ``atomicAdd``), followed by one generated launcher per
``extern "C" __global__`` kernel that loops over the whole grid serially. The result is built with
g++ into a shared library and called through ctypes on numpy buffers.

Example::

    library = build_shim_library("adaptive_warp.cu", "float")
    library.launch("adaptive_warp_forward", (4,), (64,), image, flow, kernel, out, 1, 3, 8, 9)
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from cuda_kernels._cupy_launch import kernel_source

__all__ = [
    "KernelSignature",
    "ShimLauncher",
    "ShimLibrary",
    "build_shim_from_source",
    "build_shim_library",
    "kernel_signatures",
]

_KERNEL_PATTERN = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)', re.MULTILINE)
_NUMPY_SCALARS = {"float": np.float32, "double": np.float64}


@dataclass(frozen=True)
class KernelSignature:
    """One ``extern "C" __global__`` kernel: its name and (type, name) parameters as written."""

    name: str
    parameters: tuple[tuple[str, str], ...]


def kernel_signatures(source: str) -> list[KernelSignature]:
    """Parse every ``extern "C" __global__ void name(...)`` of a CUDA source."""
    signatures = []
    for match in _KERNEL_PATTERN.finditer(source):
        parameters = []
        for declaration in match.group(2).split(","):
            declaration = " ".join(declaration.split())
            name_match = re.search(r"(\w+)$", declaration)
            if name_match is None:
                raise ValueError(f"cannot parse parameter {declaration!r} of kernel {match.group(1)}")
            parameters.append((declaration[: name_match.start()].strip(), name_match.group(1)))
        signatures.append(KernelSignature(match.group(1), tuple(parameters)))
    return signatures


def _ctype(declared_type: str, scalar_type: str) -> type:
    if "*" in declared_type:
        return ctypes.c_void_p
    words = set(declared_type.replace("const", "").split())
    if words == {"int"}:
        return ctypes.c_int
    if words == {"long"}:
        return ctypes.c_longlong
    if words == {"scalar_t"}:
        return ctypes.c_float if scalar_type == "float" else ctypes.c_double
    raise ValueError(f"unsupported kernel parameter type {declared_type!r}")


def _launcher_source(signature: KernelSignature) -> str:
    parameters = ", ".join(f"{kind} {name}" for kind, name in signature.parameters)
    arguments = ", ".join(name for _, name in signature.parameters)
    return (
        f'extern "C" void shim_launch_{signature.name}(unsigned int grid_x, unsigned int grid_y, '
        f"unsigned int grid_z, unsigned int block_x, unsigned int block_y, unsigned int block_z,\n"
        f"    {parameters}) {{\n"
        f"    shim_launch(dim3(grid_x, grid_y, grid_z), dim3(block_x, block_y, block_z), "
        f"[&]() {{ {signature.name}({arguments}); }});\n}}\n"
    )


class ShimLibrary:
    """A CUDA source built for the CPU; :meth:`launch` runs one of its kernels over a grid."""

    def __init__(self, path: Path, signatures: list[KernelSignature], scalar_type: str) -> None:
        self.path = path
        self.scalar_type = scalar_type
        self.dtype = np.dtype(_NUMPY_SCALARS[scalar_type])
        self._library = ctypes.CDLL(str(path))
        self._signatures = {s.name: s for s in signatures}
        self._functions = {}
        for signature in signatures:
            function = getattr(self._library, f"shim_launch_{signature.name}")
            function.restype = None
            function.argtypes = [ctypes.c_uint] * 6 + [
                _ctype(kind, scalar_type) for kind, _ in signature.parameters
            ]
            self._functions[signature.name] = function

    @property
    def kernel_names(self) -> list[str]:
        return list(self._signatures)

    def launch(self, name: str, grid: tuple[int, ...], block: tuple[int, ...], *arguments: object) -> None:
        """Run kernel ``name`` serially over ``grid`` x ``block`` (1 to 3 dims each).

        ``arguments`` in the kernel's order: C-contiguous numpy arrays of the library's scalar dtype
        for pointers (None for a null pointer), Python ints for integer parameters.
        """
        signature = self._signatures[name]
        if len(arguments) != len(signature.parameters):
            raise ValueError(f"{name} takes {len(signature.parameters)} arguments, got {len(arguments)}")
        converted = []
        for (kind, parameter), value in zip(signature.parameters, arguments, strict=True):
            if "*" in kind:
                if value is None:
                    converted.append(None)
                    continue
                if (
                    not isinstance(value, np.ndarray)
                    or value.dtype != self.dtype
                    or not value.flags.c_contiguous
                ):
                    raise ValueError(f"{parameter} must be a C-contiguous {self.dtype} numpy array")
                if "const" not in kind and not value.flags.writeable:
                    raise ValueError(f"{parameter} must be writeable")
                converted.append(value.ctypes.data)
            else:
                converted.append(int(value))
        grid3 = (tuple(grid) + (1, 1, 1))[:3]
        block3 = (tuple(block) + (1, 1, 1))[:3]
        self._functions[name](*grid3, *block3, *converted)


def _compiler() -> str:
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        raise RuntimeError("the CPU shim needs a C++ compiler (g++) on PATH")
    return compiler


@functools.cache
def _build_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="cuda_kernels_shim_"))


@functools.cache
def build_shim_library(file_name: str, scalar_type: str = "float") -> ShimLibrary:
    """Build ``file_name`` (a ``.cu`` of this package) for the CPU with ``scalar_t = scalar_type``.

    Built once per process into a temporary directory; raises ``RuntimeError`` with the compiler's
    output when g++ fails.
    """
    if scalar_type not in _NUMPY_SCALARS:
        raise ValueError(f"scalar_type must be one of {sorted(_NUMPY_SCALARS)}, got {scalar_type!r}")
    return build_shim_from_source(kernel_source(file_name, scalar_type), Path(file_name).stem, scalar_type)


def build_shim_from_source(source: str, name: str, scalar_type: str) -> ShimLibrary:
    """Build CUDA ``source`` (which must already define ``scalar_t``) for the CPU; see module docs."""
    header = (
        resources.files("cuda_kernels.testing")
        .joinpath("shim", "cuda_cpu_shim.h")
        .read_text(encoding="utf-8")
    )
    signatures = kernel_signatures(source)
    if not signatures:
        raise ValueError(f'{name} defines no extern "C" __global__ kernel')
    text = header + "\n" + source + "\n" + "".join(_launcher_source(s) for s in signatures)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    source_path = _build_dir() / f"{name}_{scalar_type}_{digest}.cpp"
    library_path = source_path.with_suffix(".so")
    source_path.write_text(text, encoding="utf-8")
    command = [
        _compiler(),
        "-O2",
        "-std=c++17",
        "-shared",
        "-fPIC",
        "-Wall",
        "-Werror",
        "-Wno-unused-function",
    ]
    command += ["-o", str(library_path), str(source_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"g++ failed to build {name} ({scalar_type}):\n{result.stderr}")
    return ShimLibrary(library_path, signatures, scalar_type)


class ShimLauncher:
    """A :data:`cuda_kernels._common.Launcher` that runs kernels through the shim on CPU tensors.

    Pass it where the ops' autograd Functions take a launcher to run the exact CUDA code path
    (forward and backward) on the CPU. ``max_blocks`` caps the grid so that the kernels' grid-stride
    loops take several strides.
    """

    def __init__(self, threads_per_block: int = 256, max_blocks: int | None = None) -> None:
        self.threads_per_block = threads_per_block
        self.max_blocks = max_blocks

    def __call__(
        self, file_name: str, function_name: str, work_items: int, dtype: object, *arguments: object
    ) -> None:
        import torch

        from cuda_kernels._cupy_launch import SCALAR_TYPES

        if work_items <= 0:
            return
        library = build_shim_library(file_name, SCALAR_TYPES[dtype])
        blocks = -(-work_items // self.threads_per_block)
        if self.max_blocks is not None:
            blocks = min(blocks, self.max_blocks)
        converted = []
        for value in arguments:
            if isinstance(value, torch.Tensor):
                if value.device.type != "cpu" or not value.is_contiguous() or value.dtype != dtype:
                    raise ValueError(f"shim arguments must be contiguous CPU {dtype} tensors")
                value = value.detach().numpy()
            converted.append(value)
        library.launch(function_name, (blocks,), (self.threads_per_block,), *converted)
