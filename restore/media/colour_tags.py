"""Which colour tags an output carries: primaries, transfer, matrix and range, and why.

The tags describe the conversion the encoder really does:

- the **matrix** is the one the encoder's RGB→YUV conversion uses: the source's own when the output
  stays in the source's size class (SD stays SD, HD stays HD), else the output size's standard one:
  BT.709 for HD and larger, SMPTE 170M for NTSC-sized SD, BT.470BG for PAL-sized SD. BT.2020 stays
  BT.2020 at any size. FFV1 stores RGB: its matrix is ``gbr`` and its range full;
- the **primaries** and **transfer** are the source's when it has them (the pictures' RGB is never
  gamut-mapped, so they still hold), else the output size's defaults (BT.709; SMPTE 170M for NTSC SD;
  BT.470BG primaries with the BT.709 curve for PAL SD, as Apple tags PAL);
- the **range** is limited (``tv``) for YUV: every YUV output is encoded to limited range.

What was taken from the source and what was defaulted is said in :attr:`OutputColor.note`.
The tags are set on the frames with FFmpeg's ``setparams`` filter (:meth:`OutputColor.filter`), so
every encoder and container (MP4/MOV ``colr``, Matroska colour elements, the codecs' own headers)
writes all four; AVI has no place for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["OutputColor", "output_color", "SWSCALE_MATRIX"]

#: FFmpeg colour-space tag -> the swscale matrix name that converts with it
SWSCALE_MATRIX = {
    "bt709": "bt709",
    "smpte170m": "bt601",
    "bt470bg": "bt601",
    "bt2020nc": "bt2020",
    "fcc": "fcc",
    "smpte240m": "smpte240m",
}
_PAL_HEIGHTS = (576, 288)
_NTSC_HEIGHTS = (480, 486, 240)
_HD = 720


@dataclass(frozen=True)
class OutputColor:
    """The conversion matrix for swscale and the four tags written into the output.

    matrix: swscale's ``out_color_matrix`` (``bt709``, ``bt601``...; unused for RGB);
    space, primaries, transfer, range: FFmpeg's tag names (``range`` is ``tv`` or ``pc``);
    note: one line for the job summary.
    """

    matrix: str
    space: str
    primaries: str
    transfer: str
    range: str = "tv"
    note: str = ""

    def filter(self) -> str:
        """The ``setparams`` filter that puts the four tags on every frame."""
        return (
            f"setparams=range={self.range}:color_primaries={self.primaries}"
            f":color_trc={self.transfer}:colorspace={self.space}"
        )

    def describe(self) -> str:
        """``primaries/transfer/matrix range`` as FFmpeg names them, then the note."""
        tags = f"{self.primaries}/{self.transfer}/{self.space} {self.range}"
        return f"colour: {tags}" + (f" ({self.note})" if self.note else "")


def _standard(height: int, pal: bool) -> tuple[str, str, str]:
    """(primaries, transfer, matrix) a picture of this height gets when nothing else is known."""
    if height >= _HD:
        return "bt709", "bt709", "bt709"
    if pal:
        return "bt470bg", "bt709", "bt470bg"
    return "smpte170m", "smpte170m", "smpte170m"


def _is_pal(height: int, space: str | None, primaries: str | None, rate: Fraction | None) -> bool:
    """PAL by the output's height, else by the source's tags, else by a 25/50 fps rate."""
    if height in _PAL_HEIGHTS:
        return True
    if height in _NTSC_HEIGHTS:
        return False
    if "bt470bg" in (space, primaries):
        return True
    return rate is not None and rate in (25, 50)


def output_color(
    source_space: str | None,
    source_primaries: str | None,
    out_height: int,
    source_transfer: str | None = None,
    source_height: int | None = None,
    rgb: bool = False,
    rate: Fraction | None = None,
) -> OutputColor:
    """The tags of an output ``out_height`` pixels high made from a source with these tags.

    source_height: the source's picture height (its size class decides whether its matrix is kept;
    None: the same as the output's). rgb: the codec stores RGB (FFV1). rate: the source's frame rate,
    a hint for SD sizes that are neither PAL nor NTSC.
    """
    source_height = out_height if source_height is None else source_height
    pal = _is_pal(out_height, source_space, source_primaries, rate)
    primaries, transfer, space = _standard(out_height, pal)
    defaulted: list[str] = []
    if source_space == "bt2020nc" or source_primaries == "bt2020":  # wide gamut stays wide at any size
        primaries, space = "bt2020", "bt2020nc"
        transfer = source_transfer or "bt2020-10"
        if source_transfer is None:
            defaulted.append("transfer")
    else:
        if source_primaries:
            primaries = source_primaries
        else:
            defaulted.append("primaries")
        if source_transfer:
            transfer = source_transfer
        else:
            defaulted.append("transfer")
        same_class = (source_height >= _HD) == (out_height >= _HD)
        if source_space in SWSCALE_MATRIX and same_class:
            space = source_space
        elif not rgb and source_space is None:
            defaulted.append("matrix")
    matrix = SWSCALE_MATRIX.get(space, "bt709")
    kind = "HD" if out_height >= _HD else ("PAL SD" if pal else "NTSC SD")
    if rgb:
        space, value_range = "gbr", "pc"
    else:
        value_range = "tv"
    if source_space and space not in (source_space, "gbr"):
        note = f"converted from the source's {source_space} matrix"
    else:
        note = ""
    if defaulted:
        note = "; ".join(
            filter(None, [note, f"{', '.join(defaulted)} untagged in the source: {kind} defaults"])
        )
    elif not note:
        note = "as tagged in the source"
    return OutputColor(matrix, space, primaries, transfer, value_range, note)
