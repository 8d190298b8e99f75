"""Safe, loud checkpoint loading for DAIN.

- ``.safetensors`` files are read with :mod:`safetensors` (a pure tensor container).
- Anything else is read with ``torch.load(map_location="cpu", weights_only=True)``: a restricted
  unpickler that refuses any pickle referencing code (classes, functions) *before* it could run,
  which is reported as :class:`CheckpointError`.
- Wrappers are undone in one place (:func:`canonical_state_dict`): ``{"state_dict": ...}``
  (also ``"model"``, ``"params_ema"``, ``"params"``, ``"net"``) and a DataParallel ``module.`` prefix.
- :func:`load_into` is strict: every missing or unexpected key and every shape mismatch is listed
  (missing ``*.num_batches_tracked`` buffers are tolerated: pre-0.4.1 checkpoints lack them).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "CheckpointError",
    "read_checkpoint",
    "canonical_state_dict",
    "state_dict_mismatches",
    "load_into",
    "save_checkpoint",
]

_WRAPPER_KEYS = ("state_dict", "model", "params_ema", "params", "net")
_TOLERATED_MISSING_SUFFIX = ".num_batches_tracked"
_LISTED = 6  # keys named per category in an error message


class CheckpointError(ValueError):
    """A weights file that cannot be used: unreadable, code-carrying, or not matching the model."""


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a ``.pth``/``.pt``/``.ckpt`` or ``.safetensors`` file into a flat CPU state dict.

    Never executes code from the file. Raises :class:`CheckpointError` with a one-line message.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights: file not found: {path}")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as error:  # pragma: no cover - safetensors is a declared dependency
            raise CheckpointError(f"weights: reading {path.name} needs the 'safetensors' package") from error
        try:
            raw: object = load_file(str(path), device="cpu")
        except Exception as error:  # safetensors raises its own SafetensorError
            raise CheckpointError(f"weights: {path} is not a valid safetensors file ({error})") from error
    else:
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(
                f"weights: refused {path}: it is not a plain tensor checkpoint (it would run code when "
                f"unpickled: {first_line})"
            ) from error
        except Exception as error:  # corrupt or foreign files fail in many ways inside the unpickler
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(f"weights: cannot read {path} ({first_line})") from error
    return canonical_state_dict(raw, source=str(path))


def canonical_state_dict(raw: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Undo the usual wrappers: ``{"state_dict": {...}}`` (and similar) and a ``module.`` prefix."""
    state = raw
    for _ in range(3):  # wrappers can nest ({"model": {"state_dict": ...}})
        if isinstance(state, Mapping):
            inner = next((state[k] for k in _WRAPPER_KEYS if isinstance(state.get(k), Mapping)), None)
            if inner is not None and not any(isinstance(v, torch.Tensor) for v in state.values()):
                state = inner
                continue
        break
    if not isinstance(state, Mapping):
        raise CheckpointError(f"weights: {source} holds a {type(state).__name__}, not a state dict")
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"weights: {source} is not a flat state dict (entry {key!r} is a {type(value).__name__})"
            )
        tensors[key] = value
    if tensors and all(key.startswith("module.") for key in tensors):
        tensors = {key[len("module.") :]: value for key, value in tensors.items()}
    return tensors


def _name_some(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (f" … and {len(keys) - _LISTED} more" if len(keys) > _LISTED else "")


def state_dict_mismatches(
    model: nn.Module, state: Mapping[str, torch.Tensor]
) -> tuple[list[str], list[str], list[str]]:
    """``(missing, unexpected, wrong_shape)`` key lists of ``state`` against ``model``.

    Missing ``*.num_batches_tracked`` buffers are not reported. ``wrong_shape`` entries read
    ``"key: checkpoint (a, b) vs model (c, d)"``.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(_TOLERATED_MISSING_SUFFIX)]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    return missing, unexpected, wrong_shape


def load_into(model: nn.Module, state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Strictly load ``state`` into ``model``, or raise :class:`CheckpointError` naming the bad keys.

    The message is one line: counts and the first few keys of each kind of mismatch.
    """
    missing, unexpected, wrong_shape = state_dict_mismatches(model, state)
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_name_some(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_name_some(unexpected)}")
        if wrong_shape:
            parts.append(f"{len(wrong_shape)} shape mismatch(es): {_name_some(wrong_shape)}")
        raise CheckpointError(f"weights: {source} does not fit {type(model).__name__}: " + "; ".join(parts))
    # Tolerated absentees (num_batches_tracked) keep the model's own values.
    full = dict(model.state_dict())
    full.update(state)
    model.load_state_dict(full, strict=True)


def save_checkpoint(model_or_state: nn.Module | Mapping[str, torch.Tensor], path: str | Path) -> Path:
    """Write a flat state dict as ``.safetensors`` (by suffix) or as a plain ``torch.save`` file."""
    path = Path(path)
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    state = {key: value.detach().cpu().contiguous() for key, value in state.items()}
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path
