"""The device a job runs on: ``--device auto|cpu|cuda[:N]`` checked by name, then resolved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore.errors import UsageError

if TYPE_CHECKING:  # torch loads only when a job touches pixels
    import torch

__all__ = ["check_device_name", "resolve_device"]


def check_device_name(name: str) -> None:
    """Refuse a ``--device`` value that is not auto, cpu, cuda or cuda:N (no torch needed)."""
    if name not in ("auto", "cpu") and not name.startswith("cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {name!r}")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is available here (use --device cpu or auto)")
    return torch.device(name)
