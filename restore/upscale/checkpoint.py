"""Safe reading of model checkpoints into a plain ``{name: tensor}`` state dict.

Only two loaders are ever used: ``safetensors`` (preferred: pure data) and
``torch.load(..., weights_only=True)``, whose restricted unpickler refuses any object other than tensors
and plain containers, so a checkpoint that would run code when unpickled is rejected before anything
runs. Common training wrappers (``params_ema``, ``params``, ``state_dict``, ``model``, ``net``,
``module.``/``netG.`` prefixes) are removed by :func:`canonical_state_dict`.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

__all__ = [
    "MODEL_SUFFIXES",
    "PICKLE_SUFFIXES",
    "WRAPPER_KEYS",
    "canonical_state_dict",
    "read_state_dict",
]

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
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


def canonical_state_dict(checkpoint: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap a loaded checkpoint into ``{parameter name: tensor}``.

    Descends through known wrapper keys (``params_ema`` before ``params``) and single-entry dicts,
    keeps tensor entries only (epoch counters, optimiser settings and the like are dropped) and strips a
    ``module.`` (DataParallel) or ``netG.`` prefix shared by every key. ``ValueError`` if no tensors remain.
    """
    current = checkpoint
    for _ in range(4):  # wrappers nest at most a few levels deep
        if not isinstance(current, Mapping):
            break
        inner = next((current[key] for key in WRAPPER_KEYS if isinstance(current.get(key), Mapping)), None)
        if inner is None and len(current) == 1:
            only = next(iter(current.values()))
            inner = only if isinstance(only, Mapping) else None
        if inner is None:
            break
        current = inner
    if not isinstance(current, Mapping):
        raise ValueError(f"{source} holds a {type(current).__name__}, not a state dict of weights")
    state_dict = {str(name): value for name, value in current.items() if isinstance(value, torch.Tensor)}
    if not state_dict:
        raise ValueError(f"{source} contains no weight tensors")
    for prefix in COMMON_PREFIXES:
        if all(name.startswith(prefix) for name in state_dict):
            state_dict = {name[len(prefix) :]: value for name, value in state_dict.items()}
    return state_dict


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = _first_line(error)
        raise ValueError(f"{path.name} is not a valid safetensors model file ({reason})") from None


def _read_pickle_checkpoint(path: Path) -> object:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # The restricted unpickler met a global it does not allow: the file carries code or arbitrary
        # Python objects. It was refused before anything ran.
        reason = _first_line(error)
        if "invalid load key" in reason or "could not find MARK" in reason:
            raise ValueError(f"{path.name} is not a PyTorch checkpoint ({reason})") from None
        raise ValueError(
            f"refusing to load {path.name}: it contains Python objects or code, not just weights "
            "(only weights_only checkpoints are accepted; convert it to .safetensors)"
        ) from None
    except Exception as error:  # noqa: BLE001 - any other failure means the file is not a checkpoint
        raise ValueError(f"{path.name} is not a PyTorch checkpoint ({_first_line(error)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the weights of a ``.safetensors``/``.pth``/``.pt``/``.ckpt``/``.bin`` file safely, on CPU.

    Returns the canonical state dict (see :func:`canonical_state_dict`). ``ValueError`` with a one-line
    message for a missing file, an unknown suffix, a file that is not a checkpoint, or a pickle that
    would need to run code to load.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        checkpoint: object = _read_safetensors(path)
    elif suffix in PICKLE_SUFFIXES:
        checkpoint = _read_pickle_checkpoint(path)
    else:
        raise ValueError(
            f"unsupported model file type {suffix or '(none)'!r} for {path.name}; "
            f"expected one of {', '.join(MODEL_SUFFIXES)}"
        )
    return canonical_state_dict(checkpoint, source=path.name)
