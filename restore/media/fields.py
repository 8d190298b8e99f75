"""Field analysis: is a source progressive, interlaced (TFF/BFF) or telecined; what makes it progressive.

Short windows of the film (60 frames each; :func:`window_starts`) go through FFmpeg's ``idet``, which
counts combed frames and repeated fields; a progressive film stops there. A combed one goes once
more through ``idet,fieldmatch,idet``, whose second ``idet`` counts the combed frames left after
field matching. Then:

- under 10 % combed frames: **progressive**, left untouched (no filter, so the job is exactly what it
  was without the analysis);
- a fifth or more repeated fields: **telecined 3:2** (hard pulldown, 24p film in 29.97i): inverse
  telecine, ``fieldmatch`` + ``decimate`` back to the film's own frames at 23.976, with ``bwdif``
  only for the orphan frames field matching could not make clean;
- combing that field matching removes (at most half of it left, and under 10 %): **telecined 2:2**
  (PAL film with shifted fields): ``fieldmatch`` alone, the rate stays;
- otherwise **interlaced video**: ``bwdif`` at field rate (``bob``: 50p from 25i, 59.94p from 29.97i)
  or, with ``--deinterlace single``, at frame rate.

The filter chain runs inside the scan and the decoder (:mod:`restore.media.scan`,
:mod:`restore.media.decode`), so every later step (shots, timing, render) sees the clean
progressive frames and their exact timestamps. This module measures and decides one sample;
:mod:`restore.media.field_sections` samples the film, and where the kind changes along it, gives
each section its own chain in one filtergraph.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, fields
from fractions import Fraction

from restore.errors import UsageError
from restore.media.ffmpeg import ffmpeg_exe
from restore.media.probe import MediaInfo
from restore.media.sequence import ffmpeg_input

__all__ = [
    "DEINTERLACE_MODES",
    "FIELD_ORDERS",
    "FieldStats",
    "FieldDecision",
    "FieldSection",
    "check_field_options",
    "decide_fields",
    "measure_windows",
    "parse_idet_report",
    "pick_order",
    "run_window_filter",
    "stream_rate",
    "window_length",
    "window_starts",
]

DEINTERLACE_MODES = ("auto", "off", "ivtc", "bob", "single")
FIELD_ORDERS = ("auto", "tff", "bff")

COMBED_SHARE = 0.10  # under this share of combed frames a source is progressive
REPEATED_SHARE = 0.20  # 3:2 pulldown repeats 2 fields in 10: 40 % of frames; interlaced video ~0-8 %
WINDOW_FRAMES = 60
WINDOW_SPACING = 30.0  # seconds between the first look's windows (at least the start and the end)
_LONG_FILM_SECONDS = 20.0  # shorter films are sampled at the start (and at the end when it is combed)
MAX_WINDOWS = 40  # a two-hour film: a window every three minutes

_IDET_RE = re.compile(
    r"\[Parsed_idet_(\d+) @ ([^\]]*)\] (Repeated Fields|Single frame detection|Multi frame detection): (.*)$"
)
_COUNT_RE = re.compile(r"(\w+):\s*(\d+)")
_FPS_RE = re.compile(r"(\d+(?:\.\d+)?) fps")
_KINDS = ("TFF", "BFF", "Progressive", "Undetermined")


@dataclass(frozen=True)
class FieldStats:
    """``idet`` counts over the sampled frames: single-frame detection and repeated fields.

    tff, bff, progressive, undetermined: frames of each kind as the source is.
    repeated: frames one of whose fields repeats the previous frame's.
    matched_combed: frames still combed after field matching (multi-frame detection), out of matched_frames
    (0 when field matching was not tried: the first look at a progressive film).
    """

    frames: int
    tff: int
    bff: int
    progressive: int
    undetermined: int
    repeated: int
    matched_combed: int
    matched_frames: int = 0

    @property
    def combed_share(self) -> float:
        return (self.tff + self.bff) / self.frames if self.frames else 0.0

    @property
    def repeated_share(self) -> float:
        return self.repeated / self.frames if self.frames else 0.0

    @property
    def matched_combed_share(self) -> float:
        return self.matched_combed / self.matched_frames if self.matched_frames else 1.0

    @classmethod
    def zero(cls) -> FieldStats:
        """No frames counted (the start of a sum)."""
        return cls(0, 0, 0, 0, 0, 0, 0)

    def __add__(self, other: FieldStats) -> FieldStats:
        """The counts of two samples together."""
        return FieldStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(FieldStats)))

    def summary(self) -> str:
        """``combed 48/60, repeated fields 24/60, combed after field matching 0/60``."""
        text = (
            f"combed {self.tff + self.bff}/{self.frames} (TFF {self.tff}, BFF {self.bff}), "
            f"repeated fields {self.repeated}/{self.frames}"
        )
        if self.matched_frames:
            text += f", combed after field matching {self.matched_combed}/{self.matched_frames}"
        return text


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _rate_text(rate: Fraction) -> str:
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class FieldSection:
    """A stretch of a film of one kind: from ``start`` to ``end`` seconds (source time; ``start`` is
    the time of its first frame), made progressive by ``decision`` (which has no sections itself)."""

    start: float
    end: float
    decision: FieldDecision


@dataclass(frozen=True)
class FieldDecision:
    """What the source is and what is done to it.

    kind: "progressive", "interlaced", "telecined", or "mixed" (then ``sections`` says what each
    part is and ``filter`` is their one filtergraph); pulldown: "3:2" or "2:2" for telecined sources.
    order: "tff" or "bff" (None for progressive). action: "none", "ivtc", "bob", "single" or "sections".
    filter: the FFmpeg filter chain that makes progressive frames ("" for none).
    stats: the measurement (None when the analysis was switched off or not needed).
    """

    kind: str
    order: str | None
    action: str
    filter: str
    pulldown: str | None = None
    stats: FieldStats | None = None
    forced: bool = False
    doubted: bool = False  # combed to idet, but tagged progressive and not telecined: left alone
    sections: tuple[FieldSection, ...] = ()  # a mixed film's parts, in order (empty: one kind)

    def output_rate(self, source_rate: Fraction | None) -> Fraction | None:
        """The rate of the progressive frames made from a source at ``source_rate``: 4/5 of it after
        3:2 inverse telecine, twice it at field rate; for a mixed film, the longest section's."""
        if self.sections:
            longest = max(self.sections, key=lambda section: section.end - section.start)
            return longest.decision.output_rate(source_rate)
        if source_rate is None:
            return None
        if self.action == "ivtc" and self.pulldown == "3:2":
            return source_rate * Fraction(4, 5)
        return source_rate * 2 if self.action == "bob" else source_rate

    def describe(self, source_rate: Fraction | None, output_rate: Fraction | None) -> str:
        """One line for the summary and the batch report: ``telecined 3:2 → 23.976p (IVTC)``; a mixed
        film names each section: ``0–2 s telecined 3:2 (TFF) → 23.976p (IVTC); 2–4 s interlaced …``."""
        if self.sections:
            return "; ".join(
                f"{_seconds(part.start)}–{_seconds(part.end)} s "
                + part.decision.describe(source_rate, part.decision.output_rate(source_rate))
                for part in self.sections
            )
        rate = _rate_text(output_rate) + "p" if output_rate else "progressive"
        how = " (forced)" if self.forced else ""
        if self.action == "none" and self.stats is None:
            return "not analysed, left as they are (--deinterlace off)"
        if (
            self.action == "none"
            and self.doubted
            and self.stats is not None
            and self.stats.combed_share >= 0.5
        ):
            share = f"{100 * self.stats.combed_share:.0f} %"
            return (
                f"progressive as tagged, left as it is ({share} look combed; --deinterlace bob if they are)"
            )
        if self.action == "none":
            what = "progressive" if self.kind == "progressive" else f"{self.kind} {self.order or ''}".strip()
            return f"{what}, left as it is{how}"
        order = self.order.upper() if self.order else ""
        if self.action == "ivtc":
            done = "IVTC" if self.pulldown == "3:2" else "field matching"
            return f"telecined {self.pulldown} ({order}) → {rate} ({done}){how}"
        source = _rate_text(source_rate) if source_rate else "?"
        done = "bwdif, field rate" if self.action == "bob" else "bwdif, frame rate"
        return f"interlaced {order} {source}i → {rate} ({done}){how}"


def check_field_options(deinterlace: str, field_order: str) -> None:
    """Refuse a ``--deinterlace`` or ``--field-order`` value that is not one of the choices."""
    if deinterlace not in DEINTERLACE_MODES:
        raise UsageError(f"--deinterlace must be one of {', '.join(DEINTERLACE_MODES)}, got {deinterlace!r}")
    if field_order not in FIELD_ORDERS:
        raise UsageError(f"--field-order must be one of {', '.join(FIELD_ORDERS)}, got {field_order!r}")


def stream_rate(media: MediaInfo) -> Fraction | None:
    """The video stream's nominal rate as FFmpeg reports it (``29.97 fps`` → 30000/1001)."""
    match = _FPS_RE.search(media.video.details)
    if not match:
        return None
    rate = Fraction(match.group(1)).limit_denominator(1001)
    for nominal in (24, 30, 48, 60, 120):
        if abs(float(rate) - nominal * 1000 / 1001) < 0.006:
            return Fraction(nominal * 1000, 1001)
    return rate


def parse_idet_report(report: str) -> tuple[dict[str, int], dict[str, int]]:
    """(counts of the first ``idet``, counts of the last): keys TFF, BFF, Progressive, Undetermined
    (single-frame detection; ``multi_TFF`` … for multi-frame detection), Neither, Top, Bottom.

    FFmpeg prints each filter instance's totals when it closes, and may print an empty set for a
    graph it configured and dropped (in either order): the fullest one counts."""
    groups: dict[tuple[int, str], dict[str, int]] = {}
    for line in report.splitlines():
        if match := _IDET_RE.search(line.strip()):
            group = groups.setdefault((int(match.group(1)), match.group(2)), {})
            prefix = "multi_" if match.group(3).startswith("Multi") else ""
            group.update({prefix + key: int(value) for key, value in _COUNT_RE.findall(match.group(4))})
    best: dict[int, dict[str, int]] = {}
    for (instance, _), counts in groups.items():
        if instance not in best or sum(counts.values()) > sum(best[instance].values()):
            best[instance] = counts
    if not best:
        return {}, {}
    ordered = [best[key] for key in sorted(best)]
    return ordered[0], ordered[-1]


def window_length(media: MediaInfo, frames: int = WINDOW_FRAMES) -> float:
    """Seconds of ``frames`` frames at the stream's rate (25 fps when it has none)."""
    return frames / float(stream_rate(media) or 25)


def window_starts(media: MediaInfo, frames: int = WINDOW_FRAMES) -> list[float]:
    """Where the first look's windows start (seconds). A film of 20 s or more: the start, the end, and
    every :data:`WINDOW_SPACING` s between (at most :data:`MAX_WINDOWS`). A shorter one: the start
    only, as its job is short too (a seek to a second window can cost a decode of the whole clip);
    :mod:`restore.media.field_sections` adds the end when the start is combed."""
    duration = media.container_duration or 0.0
    if duration < _LONG_FILM_SECONDS:
        return [0.0]
    count = min(MAX_WINDOWS, max(2, math.ceil(duration / WINDOW_SPACING) + 1))
    last = duration - window_length(media, frames)
    return [last * k / (count - 1) for k in range(count)]


def run_window_filter(media: MediaInfo, start: float, frames: int, chain: str) -> str:
    """FFmpeg's log (``info`` level) of ``frames`` frames from ``start`` s through the filter ``chain``,
    decoded with the decoder's own input arguments (:func:`restore.media.sequence.ffmpeg_input`)."""
    command = [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "info",
        *(["-ss", f"{start:.3f}"] if start > 0 else []),
        *ffmpeg_input(media, media.path), "-map", "0:v:0", "-an", "-sn", "-dn",
        "-frames:v", str(frames), "-vf", chain, "-f", "null", "-",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, errors="replace", check=False).stderr


def measure_windows(
    media: MediaInfo, order: str | None, starts: list[float], frames: int = WINDOW_FRAMES
) -> list[FieldStats]:
    """``idet`` statistics of the windows of ``frames`` frames at ``starts`` (seconds), one each.

    order: None for ``idet`` alone (the cheap first look: ``matched_combed`` is then 0, unmeasured);
    "tff" or "bff" to also count the frames still combed after field matching with that parity.
    The input arguments are the decoder's (:func:`restore.media.sequence.ffmpeg_input`).
    """
    chain = "idet"
    if order is not None:
        chain = f"idet,fieldmatch=order={order}:combmatch=full,idet"
    measured = []
    for start in starts:
        raw, matched = parse_idet_report(run_window_filter(media, start, frames, chain))
        if order is None:
            matched = {}
        measured.append(
            FieldStats(
                frames=sum(raw.get(key, 0) for key in _KINDS),
                tff=raw.get("TFF", 0),
                bff=raw.get("BFF", 0),
                progressive=raw.get("Progressive", 0),
                undetermined=raw.get("Undetermined", 0),
                repeated=raw.get("Top", 0) + raw.get("Bottom", 0),
                # after matching, multi-frame detection: single-frame detection flags a third of clean
                # film frames (measured on the telecined test clip: 23 of 60, multi-frame 0)
                matched_combed=matched.get("multi_TFF", 0) + matched.get("multi_BFF", 0),
                matched_frames=sum(matched.get(f"multi_{key}", 0) for key in _KINDS),
            )
        )
    return measured


def _ivtc_filter(order: str, pulldown: str) -> str:
    chain = f"fieldmatch=order={order}:combmatch=full,bwdif=mode=send_frame:parity={order}:deint=interlaced"
    return chain + (",decimate=cycle=5" if pulldown == "3:2" else "")


def _deinterlace_filter(order: str, action: str) -> str:
    mode = "send_field" if action == "bob" else "send_frame"
    return f"bwdif=mode={mode}:parity={order}:deint=all"


def decide_fields(
    stats: FieldStats | None,
    tagged_order: str | None,
    deinterlace: str = "auto",
    field_order: str = "auto",
    rate: Fraction | None = None,
) -> FieldDecision:
    """The decision from the measurement (pure; see the module's rules).

    tagged_order: the container's field order ("tff", "bff", "progressive" or None).
    rate: the stream's nominal rate, for a forced ``ivtc`` without a measurement (3:2 at 29.97/30).
    """
    check_field_options(deinterlace, field_order)
    order = pick_order(stats, tagged_order, field_order)
    kind, pulldown = "progressive", None
    if stats is not None and stats.frames > 0 and stats.combed_share >= COMBED_SHARE:
        if stats.repeated_share >= REPEATED_SHARE:
            kind, pulldown = "telecined", "3:2"
        elif stats.matched_combed_share <= min(stats.combed_share / 2, COMBED_SHARE):
            kind, pulldown = "telecined", "2:2"
        else:
            kind = "interlaced"
    if kind == "telecined" and tagged_order == "progressive" and stats is not None:
        if stats.matched_combed_share > min(stats.combed_share / 2, COMBED_SHARE):
            kind, pulldown = "interlaced", None  # tagged progressive: telecine must be proven by matching
    doubted = kind == "interlaced" and tagged_order == "progressive"
    if doubted and deinterlace == "auto":  # fine moving detail fools idet; the tag wins
        return FieldDecision("progressive", None, "none", "", None, stats, doubted=True)
    if deinterlace == "off":
        return FieldDecision(kind, order if kind != "progressive" else None, "none", "", pulldown, stats)
    if deinterlace == "auto":
        if kind == "progressive":
            return FieldDecision(kind, None, "none", "", None, stats)
        if kind == "telecined":
            assert pulldown is not None
            return FieldDecision(kind, order, "ivtc", _ivtc_filter(order, pulldown), pulldown, stats)
        return FieldDecision(kind, order, "bob", _deinterlace_filter(order, "bob"), None, stats)
    if deinterlace == "ivtc":
        if pulldown is None:  # forced: 3:2 for NTSC-like rates, field matching alone otherwise
            near_30 = rate is not None and 29.0 < float(rate) < 31.0
            pulldown = "3:2" if near_30 else "2:2"
        return FieldDecision("telecined", order, "ivtc", _ivtc_filter(order, pulldown), pulldown, stats, True)
    return FieldDecision(
        "interlaced", order, deinterlace, _deinterlace_filter(order, deinterlace), None, stats, True
    )


def pick_order(stats: FieldStats | None, tagged_order: str | None, field_order: str) -> str:
    """The parity: asked for, else what ``idet`` saw clearly, else the container's tag, else TFF."""
    if field_order != "auto":
        return field_order
    if stats is not None and stats.tff + stats.bff > 0:
        if stats.tff >= 2 * stats.bff:
            return "tff"
        if stats.bff >= 2 * stats.tff:
            return "bff"
    return tagged_order if tagged_order in ("tff", "bff") else "tff"
