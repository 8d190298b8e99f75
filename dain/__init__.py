"""The model layer: DAIN and its sub-networks, the interpolation engines, and the machinery they share
(weight hub, the one checkpoint reader, the one tiler, optical flow, registries). Knows nothing of video."""
