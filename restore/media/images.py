"""Still images for ``restore pair``: read as RGB arrays, write PNGs atomically."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from restore.errors import RestoreError

__all__ = ["read_image", "write_image"]


def read_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 or uint16 RGB; grey images are expanded, alpha is dropped."""
    path = Path(path)
    if not path.is_file():
        raise RestoreError(f"image not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise RestoreError(f"cannot read {path} as an image")
    if image.dtype not in (np.uint8, np.uint16):
        raise RestoreError(f"{path}: only 8- and 16-bit images are supported, not {image.dtype}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) RGB array; the file appears only when complete."""
    path = Path(path)
    suffix = path.suffix.lower() or ".png"
    ok, encoded = cv2.imencode(suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RestoreError(f"cannot encode an image as {suffix}: {path}")
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        temporary.write_bytes(encoded.tobytes())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise RestoreError(f"cannot write {path}: {error.strerror or error}") from None
