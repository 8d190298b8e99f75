"""The ``rife`` interpolation engine: Practical-RIFE v4 (IFNet with a timestep input).

- :mod:`~dain.engines.rife.layouts`: the known layouts (4.6, 4.18, 4.22, 4.25/4.26) and their detection
  from a state dict's keys and shapes;
- :mod:`~dain.engines.rife.network`: IFNet built from a layout, with the official key names;
- :mod:`~dain.engines.rife.weights`: the published weights by version (through :mod:`dain.hub`);
- :mod:`~dain.engines.rife.engine`: the engine (padding, flow scale, batched phases, fp16 on CUDA).

Importing the package loads no torch; the engine module does.
"""
