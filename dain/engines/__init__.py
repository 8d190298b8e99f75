"""Interpolation engines: ``(frame0, frame1, phases) -> frames``, chosen by name.

Adding an engine is one module plus one line in :data:`ENGINE_FACTORIES`.
"""

from dain.engines.base import Interpolator, available_interpolators, create_interpolator

__all__ = ["Interpolator", "available_interpolators", "create_interpolator"]
