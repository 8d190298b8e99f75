"""Differentiable low-level ops of DAIN: CuPy CUDA kernels with pure-PyTorch references.

- :func:`correlation`: PWC-Net cost volume.
- :func:`depth_flow_projection`: DAIN's depth-aware flow projection with hole filling.
- :func:`adaptive_warp`: DAIN's adaptive warping layer (FilterInterpolation).

CUDA tensors run the CuPy kernels when CuPy is installed (the ``cuda`` extra); everything else runs
the vectorised PyTorch references (``*_reference``), which are also the test oracles. Set the
environment variable ``CUDA_KERNELS_BACKEND=reference`` to force the references on CUDA.
Nothing is compiled or imported from CuPy until a CUDA kernel is first needed; a source that does
not compile on a device falls back to the reference there with a one-time RuntimeWarning.
See docs/kernels.md for the exact conventions of each op.
"""

from cuda_kernels.adaptive_warp_op import KERNEL_CHANNELS, adaptive_warp, adaptive_warp_reference
from cuda_kernels.correlation_op import correlation, correlation_reference
from cuda_kernels.depth_flow_projection_op import (
    depth_flow_projection,
    depth_flow_projection_reference,
    fill_projection_holes,
)

__all__ = [
    "KERNEL_CHANNELS",
    "adaptive_warp",
    "adaptive_warp_reference",
    "correlation",
    "correlation_reference",
    "depth_flow_projection",
    "depth_flow_projection_reference",
    "fill_projection_holes",
]
