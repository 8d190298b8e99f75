"""The RIFE v4 layouts this toolkit knows, and telling them apart from a state dict's keys and shapes.

A Practical-RIFE ``flownet.pkl`` holds nothing but tensors, so the version is read from them,
spandrel-style (see ``docs/rife.md``):

- the number of flow blocks (``block0.`` … ``block4.``) and the width of each (the output channels of
  ``blockN.convblock.0.conv.weight``);
- the frame encoder (``encode.cnn0`` … ``encode.cnn3``), absent before 4.7: its width (``cnn0`` output
  channels) and the feature channels per frame (``cnn3``, a transposed convolution, so dimension 1);
- what each block predicts (``block0.lastconv.0.weight`` dimension 1 over 4, the pixel shuffle): 6
  channels (4 flow, 1 mask, 1 unused) or 13 (4 flow, 1 mask, 8 features handed to the next block).

4.25 and 4.26 share every key and shape (they differ in training only), so one layout serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dain.checkpoint import CheckpointError

__all__ = [
    "CARRIED_FEATURES",
    "LAYOUTS",
    "RifeLayout",
    "TRAINING_ONLY_PREFIXES",
    "detect_layout",
    "describe_state",
    "inference_state",
    "layout_for_version",
]

CARRIED_FEATURES = 8  # feature channels a 13-output block hands to the next one
# Sub-networks of the training code that inference never runs (the distillation teacher, called
# block_tea in ECCV2022-RIFE, the time predictor, the context refinement of 3.x): dropped from a
# checkpoint before the strict load.
TRAINING_ONLY_PREFIXES = ("teacher.", "block_tea.", "caltime.", "contextnet.", "unet.")
_MAX_BLOCKS = 8


@dataclass(frozen=True)
class RifeLayout:
    """One IFNet layout of the RIFE v4 family.

    name: the layout's name (its first release); versions: the releases that use it.
    block_widths: channels inside each flow block, coarsest first (4 or 5 blocks).
    encoder_width, encoder_channels: the frame encoder's inner width and the feature channels it
        gives per frame; 0 and 0 when the layout has no encoder (4.6).
    carries_features: each block hands :data:`CARRIED_FEATURES` channels to the next (13 outputs per
        block instead of 6).
    accumulates_mask: the fusion mask is refined additively from block to block (4.6); otherwise each
        block's mask replaces the previous one.
    """

    name: str
    versions: tuple[str, ...]
    block_widths: tuple[int, ...]
    encoder_width: int
    encoder_channels: int
    carries_features: bool
    accumulates_mask: bool

    @property
    def levels(self) -> int:
        """Number of flow blocks."""
        return len(self.block_widths)

    @property
    def coarsest(self) -> int:
        """Downscale factor of the first block at ``scale`` 1: 8 with four blocks, 16 with five."""
        return 2 ** (self.levels - 1)

    @property
    def size_multiple(self) -> int:
        """Frame sides must be multiples of this at ``scale`` 1 (the first block halves twice more)."""
        return 4 * self.coarsest

    def padding_multiple(self, scale: float) -> int:
        """Side multiple of the padded frames at flow ``scale``: ``max(m, int(m / scale))``, as vs-rife."""
        return max(self.size_multiple, int(self.size_multiple / scale))

    @property
    def block_outputs(self) -> int:
        """Channels each block predicts: 4 flow, 1 mask and the carried features, if any (or 1 unused)."""
        return 5 + CARRIED_FEATURES if self.carries_features else 6

    def block_inputs(self, index: int) -> int:
        """Input channels of block ``index``, the flow that every block after the first also gets included."""
        frames = 6 + 2 * self.encoder_channels + 1  # both frames (or their warps), features, timestep
        if index == 0:
            return frames
        return frames + 1 + 4 + (CARRIED_FEATURES if self.carries_features else 0)  # mask, flow, features

    @property
    def label(self) -> str:
        """The versions as users name them: ``"4.25/4.26"``."""
        return "/".join(self.versions)


LAYOUTS: tuple[RifeLayout, ...] = (
    RifeLayout("4.6", ("4.6",), (192, 128, 96, 64), 0, 0, carries_features=False, accumulates_mask=True),
    RifeLayout("4.18", ("4.18",), (192, 128, 96, 64), 32, 8, carries_features=False, accumulates_mask=False),
    RifeLayout("4.22", ("4.22",), (256, 192, 96, 48), 32, 8, carries_features=True, accumulates_mask=False),
    RifeLayout(
        "4.25", ("4.25", "4.26"), (192, 128, 96, 64, 32), 16, 4, carries_features=True, accumulates_mask=False
    ),
)


def layout_for_version(version: str) -> RifeLayout:
    """The layout of a release (``"4.26"`` → the 4.25/4.26 layout); ``KeyError`` for another version."""
    for layout in LAYOUTS:
        if version in layout.versions:
            return layout
    raise KeyError(version)


def inference_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(state for the network, dropped keys)`` from a canonical state dict of a RIFE checkpoint.

    Practical-RIFE's own loader keeps only the keys that carry a ``module.`` prefix when any does; the
    same is done here (the usual all-prefixed file was already stripped by
    :func:`dain.checkpoint.canonical_state_dict`). Keys under :data:`TRAINING_ONLY_PREFIXES` are dropped
    too; everything else goes to the strict load, which reports any key that does not fit.
    """
    dropped: list[str] = []
    if any(key.startswith("module.") for key in state):
        dropped = [key for key in state if not key.startswith("module.")]
        state = {
            key.removeprefix("module."): value for key, value in state.items() if key.startswith("module.")
        }
    kept: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith(TRAINING_ONLY_PREFIXES):
            dropped.append(key)
        else:
            kept[key] = value
    return kept, dropped


def _dimension(state: Mapping[str, Any], key: str, axis: int) -> int | None:
    value = state.get(key)
    shape = getattr(value, "shape", None)
    if shape is None or len(shape) <= axis:
        return None
    return int(shape[axis])


def _signature(state: Mapping[str, Any]) -> tuple[tuple[int, ...], int, int, int | None]:
    """(block widths, encoder width, encoder channels, block outputs) read from the shapes."""
    widths: list[int] = []
    for index in range(_MAX_BLOCKS):
        width = _dimension(state, f"block{index}.convblock.0.conv.weight", 0)
        if width is None:
            break
        widths.append(width)
    encoder_width = _dimension(state, "encode.cnn0.weight", 0) or 0
    encoder_channels = _dimension(state, "encode.cnn3.weight", 1) or 0
    lastconv = _dimension(state, "block0.lastconv.0.weight", 1)
    outputs = lastconv // 4 if lastconv is not None else None
    return tuple(widths), encoder_width, encoder_channels, outputs


def describe_state(state: Mapping[str, Any]) -> str:
    """The layout a state dict has, in words (for the message about an unknown one)."""
    widths, encoder_width, encoder_channels, outputs = _signature(state)
    encoder = f"encoder 3→{encoder_width}→{encoder_channels}" if encoder_width else "no encoder"
    return (
        f"{len(widths)} flow blocks of {'/'.join(map(str, widths)) or '?'} channels, {encoder}, "
        f"{outputs if outputs is not None else '?'} outputs per block"
    )


def detect_layout(state: Mapping[str, Any], source: str = "checkpoint") -> RifeLayout:
    """The :class:`RifeLayout` of an inference state dict (see :func:`inference_state`).

    :class:`~dain.checkpoint.CheckpointError` with one line for a file that is not a RIFE flownet, or a
    RIFE layout not in :data:`LAYOUTS` (naming what it has and what is supported).
    """
    widths, encoder_width, encoder_channels, outputs = _signature(state)
    supported = ", ".join(layout.label for layout in LAYOUTS)
    if not widths or outputs is None:
        raise CheckpointError(
            f"{source} is not a RIFE flownet checkpoint (no block0.* weights); "
            f"supported versions: {supported}"
        )
    for layout in LAYOUTS:
        if (
            layout.block_widths == widths
            and layout.encoder_width == encoder_width
            and layout.encoder_channels == encoder_channels
            and layout.block_outputs == outputs
        ):
            return layout
    raise CheckpointError(
        f"{source} has a RIFE layout this toolkit does not know ({describe_state(state)}); "
        f"supported versions: {supported}"
    )
