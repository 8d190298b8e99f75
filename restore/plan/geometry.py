"""Output frame size: ``--scale S`` or ``--size WxH`` with ``--fit pad|crop``."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OutputGeometry", "parse_size", "plan_geometry", "MAX_SCALE"]

MAX_SCALE = 16.0


@dataclass(frozen=True)
class OutputGeometry:
    """The picture is resized to ``inner`` (w, h), then placed on ``canvas`` (w, h).

    ``offset`` (x, y) is where the inner picture's top-left lands on the canvas; negative
    values crop (``--fit crop``), positive ones pad with black (``--fit pad``).
    """

    inner: tuple[int, int]
    canvas: tuple[int, int]
    offset: tuple[int, int]
    sample_aspect: tuple[int, int]

    @property
    def resizes(self) -> bool:
        return self.inner != self.canvas or self.offset != (0, 0)


def parse_size(text: str) -> tuple[int, int]:
    """``"3840x2160"`` -> (3840, 2160)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX:]\s*(\d+)\s*", text)
    if not match or int(match.group(1)) <= 0 or int(match.group(2)) <= 0:
        raise ValueError(f"--size must look like 3840x2160, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if width > 16384 or height > 16384:
        raise ValueError(f"--size {width}x{height} is larger than 16384 pixels")
    return width, height


def plan_geometry(
    source: tuple[int, int],
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    fit: str = "pad",
    sample_aspect: tuple[int, int] = (1, 1),
) -> OutputGeometry:
    """Where the source picture (w, h) goes in the output."""
    width, height = source
    if scale is not None and size is not None:
        raise ValueError("--scale and --size cannot be used together")
    if size is None:
        factor = 1.0 if scale is None else float(scale)
        if not 0 < factor <= MAX_SCALE:
            raise ValueError(f"--scale must be above 0 and at most {MAX_SCALE:g}, got {scale}")
        inner = (max(1, round(width * factor)), max(1, round(height * factor)))
        return OutputGeometry(inner=inner, canvas=inner, offset=(0, 0), sample_aspect=sample_aspect)
    if fit not in ("pad", "crop"):
        raise ValueError(f"--fit must be pad or crop, got {fit!r}")
    canvas_w, canvas_h = size
    display_w = width * sample_aspect[0] / sample_aspect[1]  # the output has square pixels
    ratio = min(canvas_w / display_w, canvas_h / height)
    if fit == "crop":
        ratio = max(canvas_w / display_w, canvas_h / height)
    inner = (max(1, round(display_w * ratio)), max(1, round(height * ratio)))
    if fit == "pad":
        inner = (min(inner[0], canvas_w), min(inner[1], canvas_h))
    else:
        inner = (max(inner[0], canvas_w), max(inner[1], canvas_h))
    offset = ((canvas_w - inner[0]) // 2, (canvas_h - inner[1]) // 2)
    return OutputGeometry(inner=inner, canvas=(canvas_w, canvas_h), offset=offset, sample_aspect=(1, 1))
