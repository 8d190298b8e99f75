"""ncnn super-resolution models (``model.param`` + ``model.bin``) run through PyTorch.

The models Upscayl, Video2X, waifu2x-ncnn-vulkan and Real-CUGAN-ncnn-vulkan ship: the ``.param`` text
graph is parsed (:mod:`.param`), the ``.bin`` weights read blob by blob, fp32 or fp16 (:mod:`.blobs`),
and the network rebuilt from PyTorch modules (:mod:`.conv`, :mod:`.pointwise`, :mod:`.spatial`,
:mod:`.graph`). :func:`load_ncnn_descriptor` wraps it in a spandrel descriptor (:mod:`.model`), so
``--sr model.param`` runs through the same model upscaler, tiler and precision choice as spandrel
model files. Nothing in either file is executed: both are read as data.
"""

from restore.upscale.ncnn.model import load_ncnn_descriptor
from restore.upscale.ncnn.param import NcnnModelError

__all__ = ["NcnnModelError", "load_ncnn_descriptor"]
