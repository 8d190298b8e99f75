"""Argument checks, dtype policy and device dispatch shared by the ops.

Policy: every op computes in float32 (float64 when an input is float64, so that ``gradcheck`` can
run), casts half/bfloat16 inputs in and casts the result back to the dtype of the op's first tensor
argument. CUDA tensors use the CuPy kernels when CuPy imports, everything else the PyTorch reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

__all__ = [
    "BACKEND_ENV",
    "Launcher",
    "check_same_device",
    "check_tensor",
    "compute_dtype",
    "use_cuda_kernels",
]

#: Set to ``reference`` to force the PyTorch reference even for CUDA tensors.
BACKEND_ENV = "CUDA_KERNELS_BACKEND"

#: ``launch(file_name, function_name, work_items, dtype, *arguments)``: runs one kernel of a ``.cu``
#: file over ``work_items`` grid-stride items; arguments are contiguous tensors (or None for a null
#: pointer) and ints. ``cuda_kernels._cupy_launch.launch`` (CUDA) and ``cpu_shim.ShimLauncher`` (CPU).
Launcher = Callable[..., None]

_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_tensor(name: str, value: object, channels: int | None = None) -> torch.Tensor:
    """Check that ``value`` is a floating (B, C, H, W) tensor, with ``channels`` channels if given."""
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype not in _FLOATING:
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.dim() != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(value.shape)}")
    if channels is not None and value.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s) in dim 1, got shape {tuple(value.shape)}")
    if value.shape[2] == 0 or value.shape[3] == 0:
        raise ValueError(f"{name} must have a non-empty image plane, got shape {tuple(value.shape)}")
    return value


def check_same_device(reference_name: str, reference: torch.Tensor, **others: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the first tensor of ``others`` not on ``reference``'s device."""
    for name, tensor in others.items():
        if tensor.device != reference.device:
            raise ValueError(
                f"{name} is on {tensor.device} but {reference_name} is on {reference.device}; "
                "move them to the same device"
            )


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """float64 if any tensor is float64, else float32."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def use_cuda_kernels(tensor: torch.Tensor, file_name: str, dtype: torch.dtype) -> bool:
    """True when ``tensor`` is on a CUDA device and the CuPy kernels of ``file_name`` work there.

    False on CPU, without CuPy, with ``CUDA_KERNELS_BACKEND=reference``, or (with a one-time
    RuntimeWarning) when the source does not compile on that device.
    """
    if not tensor.is_cuda or os.environ.get(BACKEND_ENV, "").strip().lower() == "reference":
        return False
    from cuda_kernels._cupy_launch import cupy_available, kernels_usable

    return cupy_available() and kernels_usable(file_name, dtype, tensor.device)
