"""Conversions between decoded arrays and the float tensors that stages work on."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["array_to_tensor", "tensor_to_array", "place_on_canvas"]


def _peak(dtype: np.dtype) -> float:
    return 65535.0 if dtype == np.uint16 else 255.0


def array_to_tensor(frame: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8/uint16 -> (3, H, W) float32 in [0, 1] on ``device``.

    The channel-first reordering happens on the compact integer data, and the widening to
    float happens on the target device.
    """
    planar = np.ascontiguousarray(frame.transpose(2, 0, 1))
    if planar.dtype == np.uint16:  # torch has few uint16 kernels: widen on the host
        tensor = torch.from_numpy(planar.astype(np.float32)).to(device)
    else:
        tensor = torch.from_numpy(planar).to(device).float()
    return tensor.mul_(1.0 / _peak(frame.dtype))


def tensor_to_array(frame: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) array of ``dtype``, rounded half up and clamped."""
    dtype = np.dtype(dtype)
    scaled = frame.detach().float().mul(_peak(dtype)).add_(0.5).clamp_(0.0, _peak(dtype))
    integer = scaled.to(torch.int32 if dtype == np.uint16 else torch.uint8).cpu().numpy()
    return np.ascontiguousarray(integer.transpose(1, 2, 0)).astype(dtype, copy=False)


def place_on_canvas(frame: np.ndarray, canvas: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    """Put an (h, w, 3) picture on a black (H, W) canvas at ``offset`` (x, y); negative offsets crop."""
    canvas_w, canvas_h = canvas
    x, y = offset
    if (frame.shape[1], frame.shape[0]) == canvas and offset == (0, 0):
        return frame
    out = np.zeros((canvas_h, canvas_w, 3), dtype=frame.dtype)
    src_x0, src_y0 = max(0, -x), max(0, -y)
    dst_x0, dst_y0 = max(0, x), max(0, y)
    width = min(frame.shape[1] - src_x0, canvas_w - dst_x0)
    height = min(frame.shape[0] - src_y0, canvas_h - dst_y0)
    out[dst_y0 : dst_y0 + height, dst_x0 : dst_x0 + width] = frame[
        src_y0 : src_y0 + height, src_x0 : src_x0 + width
    ]
    return out
