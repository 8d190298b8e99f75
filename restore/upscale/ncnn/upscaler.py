"""The upscaler for ncnn model files: the model upscaler with the ncnn descriptor.

``--sr model.param`` (``model.bin`` beside it) is registered in
:data:`restore.upscale.base.MODEL_FILE_FACTORIES`. Everything after loading is the spandrel model
upscaler's (:class:`restore.upscale.model_file.ModelUpscaler`): channels, padding to the size multiple,
tiling through :mod:`dain.tiling` with the out-of-memory fallback, fp16 on CUDA (``half``), Lanczos to
the exact size, on whatever device it is given.
"""

from __future__ import annotations

from restore.upscale.model_file import ModelUpscaler
from restore.upscale.ncnn.model import load_ncnn_descriptor

__all__ = ["NcnnUpscaler"]


class NcnnUpscaler(ModelUpscaler):
    """Runs an ncnn ``.param``/``.bin`` model; arguments as :class:`ModelUpscaler`."""

    load_descriptor = staticmethod(load_ncnn_descriptor)
