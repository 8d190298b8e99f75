"""Integer pictures ↔ unit floats, the one conversion: numpy for the stages, tensors for the engines.

In a job a decoded picture becomes a (3,H,W) float32 tensor once (:func:`array_to_tensor`), flows
through the stages and engines as such, and is rounded back once before the encoder
(:func:`tensor_to_array`). Stages that compute with OpenCV view it channels-last on the host
(:func:`tensor_to_float_array`, :func:`float_array_to_tensor`), without rounding.

Decoded pictures are (H,W,3) uint8 or uint16; everything that computes on them works in float32 in
[0, 1]. ``peak_of(dtype)`` is the integer that stands for 1.0. To float, an integer is multiplied by
the float32 reciprocal of the peak (the tensor path and cleanup) or divided by the peak (colour, dust
inpainting, the damage generator); back, it is rounded half up after ``x * peak + 0.5`` (the tensor
path, cleanup, dust, damage) or to nearest-even (colour), then clipped. Each caller keeps the variant it
has always used, so outputs stay bit-identical: multiplying and dividing differ by one float32 ulp on
about half the values, and the two roundings differ at exact halves.

torch is imported only by the tensor functions, so the numpy stages stay free of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "peak_of",
    "to_unit_float",
    "from_unit_float",
    "array_to_tensor",
    "tensor_to_array",
    "tensor_to_float_array",
    "float_array_to_tensor",
    "place_on_canvas",
]

#: How :func:`from_unit_float` rounds: ``"half_up"`` (``floor(x * peak + 0.5)`` in the array's float
#: type) or ``"half_even"`` (``numpy.rint``).
Rounding = Literal["half_up", "half_even"]


def peak_of(dtype: np.dtype | type) -> float:
    """The value of full intensity: 255.0 for uint8, 65535.0 for uint16; ``TypeError`` otherwise."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    raise TypeError(f"pictures are uint8 or uint16, not {dtype}")


def to_unit_float(image: np.ndarray, *, divide: bool = False) -> np.ndarray:
    """uint8/uint16 (any shape) -> float32 in [0, 1]; a float array is clipped to [0, 1] as float32.

    divide: compute ``x / peak`` (correctly rounded) instead of ``x * float32(1 / peak)`` (what
    :func:`array_to_tensor` does); see the module docstring for who uses which.
    """
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(image.astype(np.float32), 0.0, 1.0)
    peak = peak_of(image.dtype)
    if divide:
        return image.astype(np.float32) / peak
    return image.astype(np.float32) * np.float32(1.0 / peak)


def from_unit_float(
    image: np.ndarray, dtype: np.dtype | type, *, rounding: Rounding = "half_up"
) -> np.ndarray:
    """float in [0, 1] (any shape) -> ``dtype`` (uint8 or uint16), rounded (see :data:`Rounding`) and clipped.

    The arithmetic runs in ``image``'s own float type (float32 stays float32), in one scratch array;
    the result is C-contiguous, so a transposed view (``chw.transpose(1, 2, 0)``) is read in its own
    memory order and reordered in the one pass that converts it.
    """
    peak = peak_of(dtype)
    if rounding == "half_up":
        scaled = np.multiply(image, peak)
        np.add(scaled, 0.5, out=scaled)
        np.clip(scaled, 0, peak, out=scaled)
        return scaled.astype(dtype, order="C")
    if rounding == "half_even":
        return np.clip(np.rint(image * peak), 0, peak).astype(dtype)
    raise ValueError(f"rounding must be 'half_up' or 'half_even', not {rounding!r}")


def array_to_tensor(frame: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8/uint16 -> (3, H, W) float32 in [0, 1] on ``device``.

    The channel-first reordering happens on the compact integer data; the scaling is
    :func:`to_unit_float`'s default (times the float32 reciprocal of the peak). For a CPU target it
    is done by numpy, single-threaded: in a job the decoder and encoder run beside it on the same
    cores, and torch's thread pool then made these light element-wise passes several times slower.
    On a GPU the integers are uploaded and widened there.
    """
    import torch

    planar = np.ascontiguousarray(frame.transpose(2, 0, 1))
    if device.type == "cpu" or planar.dtype == np.uint16:  # torch has few uint16 kernels
        return torch.from_numpy(to_unit_float(planar)).to(device)
    return torch.from_numpy(planar).to(device).float().mul_(1.0 / peak_of(frame.dtype))


def tensor_to_array(frame: torch.Tensor, dtype: np.dtype | type) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) array of ``dtype``, rounded half up and clamped
    (:func:`from_unit_float`'s default); on a GPU the rounding runs there and only integers travel."""
    import torch

    dtype = np.dtype(dtype)
    peak = peak_of(dtype)
    if frame.device.type == "cpu":  # numpy, single-threaded (see array_to_tensor)
        return from_unit_float(frame.detach().float().numpy().transpose(1, 2, 0), dtype)
    scaled = frame.detach().float().mul(peak).add_(0.5).clamp_(0.0, peak)
    integer = scaled.to(torch.int32 if dtype == np.uint16 else torch.uint8).cpu().numpy()
    return np.ascontiguousarray(integer.transpose(1, 2, 0)).astype(dtype, copy=False)


def tensor_to_float_array(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) float tensor on any device -> (H, W, 3) float32 host array, contiguous (a copy).

    For the stages that compute with OpenCV on the host; the values are not changed.
    """
    return np.ascontiguousarray(frame.detach().float().permute(1, 2, 0).cpu().numpy())


def float_array_to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) float host array -> (3, H, W) float32 contiguous tensor on ``device``; values kept."""
    import torch

    planar = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    return torch.from_numpy(planar).to(device)


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
