"""Colourisation of black-and-white film: reference-based (weight-free, default) and learned engines.

The film's own lightness is always kept; only chroma (a, b of CIE Lab) is predicted, per shot, carried
along optical flow so that it neither flickers nor drifts. See ``docs/colorize.md``.
"""

from restore.stages.colorize.stage import ColorizeStage, create_colorize_stage

__all__ = ["ColorizeStage", "create_colorize_stage"]
