"""SMPTE timecodes: parse, count frames (drop-frame included), express at another frame rate.

A label ``HH:MM:SS:FF`` counts frames at the rate's nominal integer rate (24 for 23.976, 30 for
29.97); a drop-frame label ``HH:MM:SS;FF`` (29.97 and 59.94 only) skips the first 2 (4 at 59.94)
frame numbers of every minute except each tenth, so the label follows the clock. An output at a new
frame rate keeps the instant of its first frame: source frame ``n`` is output frame
``round(n * output_rate / source_rate)``, labelled in the output's own counting (drop-frame at
29.97 and 59.94): ``01:02:03:04`` at 24 fps is ``01:02:03:08`` at 48 fps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from restore.errors import InputError

__all__ = ["Timecode", "parse_timecode", "convert_timecode", "is_drop_frame_rate", "output_timecode"]

_LABEL = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")
_DAY = 24 * 3600


def is_drop_frame_rate(rate: Fraction) -> bool:
    """29.97 and 59.94 (30000/1001, 60000/1001): the rates whose labels drop frame numbers."""
    return rate in (Fraction(30000, 1001), Fraction(60000, 1001))


def _nominal(rate: Fraction) -> int:
    return max(1, round(rate))


@dataclass(frozen=True)
class Timecode:
    """A frame count at a frame rate, labelled in that rate's counting (drop-frame or not)."""

    frames: int
    rate: Fraction
    drop_frame: bool = False

    @property
    def _dropped_per_minute(self) -> int:
        return 2 * (_nominal(self.rate) // 30) if self.drop_frame else 0

    def label(self) -> str:
        """``HH:MM:SS:FF``, or ``HH:MM:SS;FF`` for drop-frame; hours wrap at 24."""
        nominal, drop = _nominal(self.rate), self._dropped_per_minute
        count = self.frames % (_DAY * nominal - (drop * (24 * 60 - 24 * 6)))
        if drop:
            per_ten = 10 * 60 * nominal - 9 * drop
            per_minute = 60 * nominal - drop
            tens, rest = divmod(count, per_ten)
            count += 9 * drop * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
        frames = count % nominal
        seconds = count // nominal
        separator = ";" if drop else ":"
        hours, minutes, secs = seconds // 3600 % 24, seconds // 60 % 60, seconds % 60
        return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{frames:02d}"

    def at_rate(self, rate: Fraction) -> Timecode:
        """The same instant at ``rate``, in that rate's counting (unchanged when the rate is the same)."""
        if rate == self.rate:
            return self
        frames = round(self.frames * rate / self.rate)
        return Timecode(int(frames), rate, is_drop_frame_rate(rate))


def parse_timecode(label: str, rate: Fraction) -> Timecode:
    """``01:02:03:04`` (or ``01:02:03;04``, drop-frame) at ``rate`` -> a :class:`Timecode`.

    :class:`InputError` for a label that is not a timecode at this rate.
    """
    match = _LABEL.match(label.strip())
    if match is None:
        raise InputError(f"timecode {label!r} is not HH:MM:SS:FF")
    hours, minutes, seconds, separator, frames = match.groups()
    nominal = _nominal(rate)
    drop = separator in ";.," and nominal % 30 == 0
    values = int(hours), int(minutes), int(seconds), int(frames)
    if values[1] > 59 or values[2] > 59 or values[3] >= nominal:
        raise InputError(f"timecode {label!r} is not a valid label at {float(rate):g} fps")
    code = Timecode(0, rate, drop)
    total_minutes = 60 * values[0] + values[1]
    count = (3600 * values[0] + 60 * values[1] + values[2]) * nominal + values[3]
    count -= code._dropped_per_minute * (total_minutes - total_minutes // 10)
    return Timecode(count, rate, drop)


def convert_timecode(label: str, source_rate: Fraction, output_rate: Fraction) -> str:
    """The label of the output's first frame: ``label`` at ``source_rate`` expressed at ``output_rate``."""
    return parse_timecode(label, source_rate).at_rate(output_rate).label()


def output_timecode(
    label: str | None, source_rate: Fraction | None, output_rate: Fraction
) -> tuple[str | None, str | None]:
    """(the output's start label or None, a line for the job summary or None without a timecode).

    source_rate None (a variable-rate source): the output rate stands in for it. A label that is
    not a valid timecode at the rate is not written, and the summary says so.
    """
    if label is None:
        return None, None
    rate = source_rate if source_rate is not None else output_rate
    try:
        converted = convert_timecode(label, rate, output_rate)
    except InputError as error:
        return None, f"timecode: {error}; not written"
    if converted == label:
        return converted, f"timecode {label} kept"
    return (
        converted,
        f"timecode {label} at {float(rate):.6g} fps → {converted} at {float(output_rate):.6g} fps",
    )
