"""Upscaling engines: ``frames -> frames`` at a target size, chosen by name, model file or chain.

Engines: ``lanczos`` (Lanczos-3, weight-free), ``anime4k`` (Anime4K v0.9 edge refinement on Lanczos),
any model file spandrel can load (``.safetensors`` preferred, ``.pth`` loaded with ``weights_only``),
and comma-separated chains of these. See ``docs/upscale.md``.
"""

from restore.upscale.base import Upscaler, available_upscalers, create_upscaler

__all__ = ["Upscaler", "available_upscalers", "create_upscaler"]
