"""Upscaling engines: ``frames -> frames`` at a target size, chosen by name or model file."""

from restore.upscale.base import Upscaler, available_upscalers, create_upscaler

__all__ = ["Upscaler", "available_upscalers", "create_upscaler"]
