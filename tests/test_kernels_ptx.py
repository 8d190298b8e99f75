"""Every .cu of cuda_kernels compiles to PTX without a GPU (NVRTC via cupy.cuda.nvrtc, else nvcc).

These tests must run (not skip) in CI: a compile error anywhere fails them.
"""

import ast
import re
import shutil
import subprocess
from importlib import resources

import pytest

from cuda_kernels._cupy_launch import kernel_source
from cuda_kernels.testing.cpu_shim import kernel_signatures

CU_FILES = sorted(p.name for p in resources.files("cuda_kernels").iterdir() if p.name.endswith(".cu"))
ARCH = "compute_75"  # the oldest architecture that CUDA 12/13 NVRTC still targets


def compile_to_ptx(source: str, name: str, tmp_path) -> str:
    """PTX for ``source``; NVRTC when CuPy imports, else ``nvcc -ptx``. Raises on compile errors."""
    try:
        from cupy.cuda import nvrtc
    except Exception:  # noqa: BLE001 - CuPy missing or unusable: fall back to nvcc
        nvrtc = None
    if nvrtc is not None:
        program = nvrtc.createProgram(source, name, [], [])
        try:
            nvrtc.compileProgram(program, [f"--gpu-architecture={ARCH}", "--std=c++14"])
        except nvrtc.NVRTCError as error:
            raise RuntimeError(f"NVRTC failed on {name}: {error}\n{nvrtc.getProgramLog(program)}") from error
        try:
            ptx = nvrtc.getPTX(program)
        finally:
            nvrtc.destroyProgram(program)
        return ptx.decode() if isinstance(ptx, bytes) else ptx
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.fail("neither cupy.cuda.nvrtc nor nvcc is available to compile the CUDA sources")
    source_path = tmp_path / name
    source_path.write_text(source)
    ptx_path = tmp_path / (name + ".ptx")
    result = subprocess.run(
        [nvcc, "-ptx", f"-arch={ARCH}", "-std=c++14", "-o", str(ptx_path), str(source_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nvcc failed on {name}:\n{result.stderr}")
    return ptx_path.read_text()


def test_all_three_sources_are_found():
    assert CU_FILES == ["adaptive_warp.cu", "correlation.cu", "depth_flow_projection.cu"]


@pytest.mark.parametrize("scalar_type", ["float", "double"])
@pytest.mark.parametrize("file_name", CU_FILES)
def test_source_compiles_to_ptx_with_every_kernel(file_name, scalar_type, tmp_path):
    source = kernel_source(file_name, scalar_type)
    ptx = compile_to_ptx(source, file_name, tmp_path)
    entries = set(re.findall(r"\.entry\s+(\w+)", ptx))
    expected = {signature.name for signature in kernel_signatures(source)}
    assert expected and expected <= entries
    if scalar_type == "float":
        assert ".f64" not in ptx  # no accidental double-precision arithmetic in float kernels


def test_compile_errors_are_reported(tmp_path):
    broken = (
        kernel_source("correlation.cu", "float")
        + '\nextern "C" __global__ void broken() { undefined_name; }\n'
    )
    with pytest.raises(RuntimeError, match="undefined_name|failed"):
        compile_to_ptx(broken, "broken.cu", tmp_path)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH (the NVRTC tests above still run)")
def test_sources_compile_with_nvcc(tmp_path):
    """The nvcc fallback path of compile_to_ptx, on one source (NVRTC covers all of them above)."""
    source_path = tmp_path / "depth_flow_projection.cu"
    source_path.write_text(kernel_source("depth_flow_projection.cu", "float"))
    result = subprocess.run(
        ["nvcc", "-ptx", f"-arch={ARCH}", "-std=c++14", "-o", str(tmp_path / "out.ptx"), str(source_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ".entry projection_splat" in (tmp_path / "out.ptx").read_text()


def test_cupy_is_only_imported_lazily_inside_functions():
    """CuPy is an optional extra: no module of the package imports it at module level."""
    for entry in resources.files("cuda_kernels").iterdir():
        if not entry.name.endswith(".py"):
            continue
        tree = ast.parse(entry.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level statements only
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "cupy" for name in names), (
                f"{entry.name} imports cupy eagerly"
            )


def test_launch_arguments_are_pointers_and_int32():
    import numpy as np
    import torch

    from cuda_kernels._cupy_launch import _argument

    tensor = torch.zeros(3)
    assert _argument(tensor) == np.uint64(tensor.data_ptr()) and _argument(tensor).dtype == np.uint64
    assert _argument(None) == 0 and _argument(None).dtype == np.uint64
    assert _argument(7).dtype == np.int32 and _argument(True) == 1
    with pytest.raises(TypeError):
        _argument(1.5)  # float scalars would not match scalar_t reliably: never passed


def test_compile_failure_on_a_device_falls_back_with_one_warning(monkeypatch):
    """The loader compiles once per (source, dtype, device); a failure warns once and says 'unusable'."""
    import contextlib
    import types
    import warnings

    import torch

    from cuda_kernels import _cupy_launch

    compiled = []

    class FakeRawModule:
        def __init__(self, code, options):
            self.prelude = code.splitlines()[0]

        def compile(self):
            if "double" in self.prelude:
                raise RuntimeError("nvrtc: simulated failure")
            compiled.append(self.prelude)

    fake_cupy = types.SimpleNamespace(
        RawModule=FakeRawModule, cuda=types.SimpleNamespace(Device=lambda index: contextlib.nullcontext())
    )
    monkeypatch.setattr(_cupy_launch, "_import_cupy", lambda: fake_cupy)
    _cupy_launch._module.cache_clear()
    _cupy_launch._UNUSABLE.clear()
    device = torch.device("cuda", 0)  # only its index is used: no GPU needed
    try:
        assert _cupy_launch.kernels_usable("correlation.cu", torch.float32, device)
        assert _cupy_launch.kernels_usable("correlation.cu", torch.float32, device)
        assert compiled == ["typedef float scalar_t;"]  # compiled once
        with pytest.warns(RuntimeWarning, match="simulated failure"):
            assert not _cupy_launch.kernels_usable("correlation.cu", torch.float64, device)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no second warning
            assert not _cupy_launch.kernels_usable("correlation.cu", torch.float64, device)
    finally:
        _cupy_launch._module.cache_clear()
        _cupy_launch._UNUSABLE.clear()
