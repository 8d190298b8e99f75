"""Interpolation engines: ``(frame0, frame1, phases) -> frames``, chosen by name.

Adding an engine is one module plus one entry in :data:`dain.engines.base.INTERPOLATORS`; each engine
class carries an :class:`InterpolatorDescriptor` (size multiple, fp16 support, tiling policy).
"""

from dain.engines.base import (
    INTERPOLATORS,
    Interpolator,
    InterpolatorDescriptor,
    available_interpolators,
    create_interpolator,
)

__all__ = [
    "INTERPOLATORS",
    "Interpolator",
    "InterpolatorDescriptor",
    "available_interpolators",
    "create_interpolator",
]
