"""Pure planning, no pixels: shots (cuts and repeats), the output timeline, the output geometry.

Everything here is plain data in, plain data out, and unit-testable without a video.
"""
