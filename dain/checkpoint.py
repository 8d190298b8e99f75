"""The one checkpoint reader of the toolkit: safe reading, one canonicaliser, strict loading.

- ``.safetensors`` files are read with :mod:`safetensors` (a pure tensor container).
- Anything else is read with ``torch.load(map_location="cpu", weights_only=True)``: a restricted
  unpickler that refuses any pickle referencing code (classes, functions) *before* it could run,
  which is reported as :class:`CheckpointError`. This is the only ``torch.load`` of the toolkit.
- Wrappers are undone in one place (:func:`canonical_state_dict`): the keys of :data:`WRAPPER_KEYS`
  (``params_ema`` before ``params``, so EMA weights win), single-entry dicts, and a ``module.``
  (DataParallel) or ``netG.`` prefix shared by every key (:data:`COMMON_PREFIXES`).
- :func:`load_into` is strict: every missing or unexpected key and every shape mismatch is listed
  (missing ``*.num_batches_tracked`` buffers are tolerated: pre-0.4.1 checkpoints lack them).

Every error is a :class:`CheckpointError` (a :class:`dain.errors.UserError` and a ``ValueError``) with a
one-line message; ``label`` (e.g. ``"--colorize-weights"``) names the option the file came from.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from dain.errors import UserError

__all__ = [
    "COMMON_PREFIXES",
    "MODEL_SUFFIXES",
    "PICKLE_SUFFIXES",
    "WRAPPER_KEYS",
    "CheckpointError",
    "NonTensorPolicy",
    "canonical_state_dict",
    "load_into",
    "read_checkpoint",
    "save_checkpoint",
    "state_dict_mismatches",
]

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".pkl")  # .pkl: Practical-RIFE's flownet.pkl
MODEL_SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)
# Searched in this order: the EMA weights win over the raw training weights when both are present.
WRAPPER_KEYS = (
    "params_ema",
    "params-ema",
    "params",
    "state_dict",
    "model_state_dict",
    "model",
    "net",
    "generator",
)
COMMON_PREFIXES = ("module.", "netG.")
_MAX_WRAPPER_DEPTH = 4  # wrappers nest at most a few levels deep ({"model": {"state_dict": ...}})
_TOLERATED_MISSING_SUFFIX = ".num_batches_tracked"
_LISTED = 6  # keys named per category in an error message

# What to do with entries of the state dict that are not tensors (epoch counters, optimiser settings):
# "refuse" them (a CheckpointError naming the first one) or "drop" them silently.
NonTensorPolicy = Literal["refuse", "drop"]


class CheckpointError(UserError, ValueError):
    """A weights file that cannot be used: unreadable, code-carrying, or not matching the model."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _read_safetensors(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as error:  # noqa: BLE001 - safetensors raises its own SafetensorError and others
        raise CheckpointError(
            f"{prefix}{path.name} is not a valid safetensors model file ({_first_line(error)})"
        ) from None


def _read_pickle(path: Path, prefix: str) -> object:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = _first_line(error)
        if "invalid load key" in reason or "could not find MARK" in reason:
            raise CheckpointError(f"{prefix}{path.name} is not a PyTorch checkpoint ({reason})") from None
        # The restricted unpickler met a global it does not allow: the file carries code or arbitrary
        # Python objects. It was refused before anything ran.
        raise CheckpointError(
            f"{prefix}refusing to load {path.name}: it contains Python objects or code, not just weights "
            "(only weights_only checkpoints are accepted; convert it to .safetensors)"
        ) from None
    except Exception as error:  # noqa: BLE001 - corrupt or foreign files fail in many ways
        raise CheckpointError(
            f"{prefix}{path.name} is not a PyTorch checkpoint ({_first_line(error)})"
        ) from None


def read_checkpoint(
    path: str | Path,
    *,
    label: str = "",
    non_tensors: NonTensorPolicy = "refuse",
) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` or pickle checkpoint into a flat, canonical CPU state dict.

    The suffix must be one of :data:`MODEL_SUFFIXES`; ``.safetensors`` is read with safetensors, the
    others as a ``weights_only`` pickle.

    label: prefix of every message (``"--dain-weights"`` gives ``"--dain-weights: ..."``); none if empty.
    non_tensors: see :func:`canonical_state_dict`.

    Never executes code from the file. Raises :class:`CheckpointError` with a one-line message for a
    missing file, another suffix, a file that is not a checkpoint, a pickle that would need to run
    code to load, or a checkpoint without a state dict of tensors.
    """
    path = Path(path)
    prefix = f"{label}: " if label else ""
    if not path.is_file():
        raise CheckpointError(f"{prefix}file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise CheckpointError(
            f"{prefix}unsupported model file type {suffix or '(none)'!r} for {path.name}; "
            f"expected one of {', '.join(MODEL_SUFFIXES)}"
        )
    raw = _read_safetensors(path, prefix) if suffix == ".safetensors" else _read_pickle(path, prefix)
    return canonical_state_dict(raw, source=f"{prefix}{path.name}", non_tensors=non_tensors)


def _unwrap(raw: object) -> object:
    """Descend through :data:`WRAPPER_KEYS` (in order) and single-entry dicts."""
    current = raw
    for _ in range(_MAX_WRAPPER_DEPTH):
        if not isinstance(current, Mapping):
            break
        inner = next((current[key] for key in WRAPPER_KEYS if isinstance(current.get(key), Mapping)), None)
        if inner is None and len(current) == 1:
            only = next(iter(current.values()))
            inner = only if isinstance(only, Mapping) else None
        if inner is None:
            break
        current = inner
    return current


def canonical_state_dict(
    raw: object, source: str = "checkpoint", *, non_tensors: NonTensorPolicy = "refuse"
) -> dict[str, torch.Tensor]:
    """Unwrap a loaded checkpoint into ``{parameter name: tensor}``.

    Descends through :data:`WRAPPER_KEYS` (``params_ema`` before ``params``; their sibling entries such
    as ``epoch`` are ignored) and single-entry dicts, then strips each of :data:`COMMON_PREFIXES` that
    every key shares. Entries of the state dict that are not tensors are refused (``non_tensors=
    "refuse"``: a file that is not a flat state dict) or dropped (``"drop"``). :class:`CheckpointError`
    when ``raw`` holds no mapping or no tensors; ``source`` starts every message.
    """
    state = _unwrap(raw)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source} holds a {type(state).__name__}, not a state dict of weights")
    tensors = {str(key): value for key, value in state.items() if isinstance(value, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{source} contains no weight tensors")
    if non_tensors == "refuse":
        for key, value in state.items():
            if not isinstance(key, str) or not isinstance(value, torch.Tensor):
                raise CheckpointError(
                    f"{source} is not a flat state dict (entry {key!r} is a {type(value).__name__})"
                )
    for prefix in COMMON_PREFIXES:
        if all(key.startswith(prefix) for key in tensors):
            tensors = {key[len(prefix) :]: value for key, value in tensors.items()}
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

    The message is one line: counts and the first few keys of each kind of mismatch. Tolerated
    absentees (``num_batches_tracked``) keep the model's own values.
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
