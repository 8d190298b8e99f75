"""The field analysis of a whole film, per section where its kind changes, and its one filtergraph.

The first look measures each window of :func:`restore.media.fields.window_starts` on its own (the
start, the end, and one every 30 s; a film under 20 s at its start, and at its end too when the
start is combed), and the combed ones once more with field matching. Each window gets its own
decision (:func:`restore.media.fields.decide_fields`). When they all find one kind
(progressive, interlaced or telecined: parity and pulldown may vary with ``idet``'s noise), the film
gets the decision of all windows together, exactly as a film of one kind always has (the same
filter; a progressive film none, so it is neither rescanned nor changed).

When they do not (a telecined film section followed by interlaced video, a progressive film with an
interlaced newsreel insert), the film is cut into sections, each a run of windows of one kind,
decided on all of them together:

1. between two windows that disagree and lie more than a window apart, a window is measured
   half-way, and again, until the change lies between two windows at most two windows apart;
2. those two windows, and the frames between, go once through ``idet,fieldmatch,idet`` with the
   per-frame flags printed (combed, repeated field, combed after matching); the boundary is the
   frame where the flags change from the first window's rates to the second's (the most likely
   change point of the flags that tell the two kinds apart; combed-after-matching, whose multi-frame
   detection lags a change by a few frames, only where the plain flags do not). On the test films
   (3:2 telecined then interlaced 29.97i, boundary at frame 75 or 150; a progressive film with an
   interlaced insert at frames 420–600) it lands on the frame;
3. a section under ten frames joins its neighbour; a 3:2 telecined section that another follows
   keeps a multiple of five frames (the decimation cycle), so its inverse telecine ends exactly at
   the boundary.

:func:`sections_filter` makes one filtergraph of the sections: ``split`` → per section ``trim`` (by
time, half a frame before its first frame) and its own chain → ``concat``. Every section after the
first starts its timestamps at zero (``setpts=PTS-STARTPTS``) and ``concat`` moves it to where the
sections before it end, which is its own start: timestamps stay those of the source (to the
microsecond of ``concat``'s time base), and the timeline is variable-rate where the sections' rates
differ. The chain is a plain ``-vf`` graph, so the scan and the decoder apply it unchanged
(``SourceTimeline.source_filter``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from restore.media.fields import (
    COMBED_SHARE,
    REPEATED_SHARE,
    WINDOW_FRAMES,
    FieldDecision,
    FieldSection,
    FieldStats,
    check_field_options,
    decide_fields,
    measure_windows,
    pick_order,
    run_window_filter,
    stream_rate,
    window_length,
    window_starts,
)
from restore.media.probe import MediaInfo

__all__ = ["analyse_fields", "change_point", "parse_frame_flags", "sections_filter"]

MIN_SECTION_FRAMES = 10
MAX_PROBES = 24  # extra windows to narrow the boundaries, for the whole film
DISTINCT = 0.15  # a per-frame flag places a boundary when its share differs this much across it

_META_RE = re.compile(r"\[Parsed_metadata_(\d+) @ [^\]]*\] (.*)$")
_FRAME_RE = re.compile(r"frame:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)")


@dataclass
class _Window:
    start: float
    stats: FieldStats
    decision: FieldDecision


def analyse_fields(media: MediaInfo, deinterlace: str = "auto", field_order: str = "auto") -> FieldDecision:
    """Measure (unless ``--deinterlace off`` or a forced mode with a known order) and decide, per
    section where the film's kind changes (see the module's rules; forced modes apply to all of it).

    A first, cheap look runs ``idet`` alone: a progressive source stops there. Combed windows are
    measured again with field matching, with the asked parity or the one ``idet`` saw.
    """
    check_field_options(deinterlace, field_order)
    tagged, rate = media.field_order, stream_rate(media)
    if deinterlace == "off" or (deinterlace in ("bob", "single") and field_order != "auto"):
        return decide_fields(None, tagged, deinterlace, field_order, rate)
    starts = window_starts(media)
    first = measure_windows(media, None, starts)
    end = (media.container_duration or 0.0) - window_length(media)
    if len(starts) == 1 and first[0].combed_share >= COMBED_SHARE and end >= window_length(media):
        starts.append(end)  # a short film combed at the start: is it so at the end?
        first += measure_windows(media, None, [end])
    total = sum(first, FieldStats.zero())
    order = pick_order(total, tagged, field_order)
    worth_matching = (
        tagged != "progressive" or total.repeated_share >= REPEATED_SHARE or deinterlace != "auto"
    )
    stats = first
    whole = (total.combed_share >= COMBED_SHARE and worth_matching) or deinterlace == "ivtc"
    if whole:
        stats = measure_windows(media, order, starts)
        if sum(stats, FieldStats.zero()).frames == 0:
            raise RuntimeError(f"field matching of {media.path} gave no frames")  # a bug, not bad input
    film = decide_fields(
        sum(stats, FieldStats.zero()) if whole else total, tagged, deinterlace, field_order, rate
    )
    if deinterlace != "auto" or len(starts) < 2 or rate is None:
        return film
    windows = [
        _Window(start, measured, decide_fields(measured, tagged, "auto", field_order, rate))
        for start, measured in zip(starts, stats, strict=True)
    ]
    windows = [_matched(media, window, order, field_order, rate) for window in windows]
    if len({window.decision.kind for window in windows}) == 1:
        return film
    narrowed = _narrowed(media, windows, order, field_order, rate)
    sections = _sections(media, narrowed, order, field_order, rate)
    if len(sections) < 2:
        return film
    return FieldDecision(
        "mixed",
        None,
        "sections",
        sections_filter(sections, rate),
        stats=sum((window.stats for window in windows), FieldStats.zero()),
        sections=tuple(sections),
    )


def _measure_window(media: MediaInfo, start: float, order: str, field_order: str, rate: Fraction) -> _Window:
    """One window's first look (and field matching when it is combed), decided."""
    (stats,) = measure_windows(media, None, [start])
    window = _Window(start, stats, decide_fields(stats, media.field_order, "auto", field_order, rate))
    return _matched(media, window, order, field_order, rate)


def _matched(media: MediaInfo, window: _Window, order: str, field_order: str, rate: Fraction) -> _Window:
    """The window measured with field matching too, where its first look is combed and worth it."""
    stats = window.stats
    worth = media.field_order != "progressive" or stats.repeated_share >= REPEATED_SHARE
    if stats.matched_frames or stats.combed_share < COMBED_SHARE or not worth:
        return window
    (matched,) = measure_windows(media, order, [window.start])
    if not matched.frames:
        return window
    return _Window(
        window.start, matched, decide_fields(matched, media.field_order, "auto", field_order, rate)
    )


def _narrowed(
    media: MediaInfo, windows: list[_Window], order: str, field_order: str, rate: Fraction
) -> list[_Window]:
    """The windows with more between those that disagree, until each change lies within a window."""
    length = window_length(media)
    windows = list(windows)
    for _ in range(MAX_PROBES):
        wide = [
            k
            for k in range(len(windows) - 1)
            if windows[k].decision.kind != windows[k + 1].decision.kind
            and windows[k + 1].start - windows[k].start > 2 * length
        ]
        if not wide:
            break
        k = wide[0]
        middle = 0.5 * (windows[k].start + windows[k + 1].start)
        windows.insert(k + 1, _measure_window(media, middle, order, field_order, rate))
    return windows


def _sections(
    media: MediaInfo, windows: list[_Window], order: str, field_order: str, rate: Fraction
) -> list[FieldSection]:
    """Runs of windows of one kind → sections, each decided on all its windows together (as a whole
    film is, so idet's noise on parity or pulldown within a kind does not cut it), their boundaries
    placed by :func:`change_point`."""
    runs: list[list[_Window]] = [[windows[0]]]
    for window in windows[1:]:
        if window.decision.kind == runs[-1][-1].decision.kind:
            runs[-1].append(window)
        else:
            runs.append([window])
    period = 1 / float(rate)
    starts: list[tuple[float, FieldDecision]] = []
    for k, run in enumerate(runs):
        measured = sum((window.stats for window in run), FieldStats.zero())
        decision = decide_fields(measured, media.field_order, "auto", field_order, rate)
        if k == 0:
            starts.append((0.0, decision))
            continue
        before, after = runs[k - 1][-1], run[0]
        frames = round((after.start - before.start) * float(rate)) + WINDOW_FRAMES
        times, flags = _frame_flags(media, before.start, frames, order)
        at = change_point(flags, _rates(before.stats), _rates(after.stats)) if len(flags) > 1 else 0
        boundary = times[at] if times else after.start
        if boundary > starts[-1][0] + MIN_SECTION_FRAMES * period:
            starts.append((boundary, decision))
        else:  # too short a section: the later decision takes its place
            starts[-1] = (starts[-1][0], decision)
    merged: list[tuple[float, FieldDecision]] = []
    for start, decision in starts:
        if not merged or merged[-1][1].filter != decision.filter:
            merged.append((start, decision))
    end = media.container_duration or merged[-1][0]
    sections: list[FieldSection] = []
    for k, (start, decision) in enumerate(merged):
        stop = merged[k + 1][0] if k + 1 < len(merged) else end
        if k > 0:
            start = sections[-1].end
        if decision.action == "ivtc" and decision.pulldown == "3:2" and k + 1 < len(merged):
            stop = start + 5 * max(1, round((stop - start) * float(rate) / 5)) * period
        sections.append(FieldSection(start, stop, decision))
    return sections


def _rates(stats: FieldStats) -> tuple[float, float, float]:
    """(combed, repeated, combed after matching) shares of a window, as per-frame probabilities."""
    matched = stats.matched_combed_share if stats.matched_frames else stats.combed_share
    return stats.combed_share, stats.repeated_share, matched


def _frame_flags(
    media: MediaInfo, start: float, frames: int, order: str
) -> tuple[list[float], list[tuple[bool, bool, bool]]]:
    """(source times, per-frame flags: combed, repeated field, combed after matching) of ``frames``
    frames from ``start`` s."""
    chain = f"idet,metadata=mode=print,fieldmatch=order={order}:combmatch=full,idet,metadata=mode=print"
    times, flags = parse_frame_flags(run_window_filter(media, start, frames, chain))
    return [start + time for time in times], flags


def parse_frame_flags(report: str) -> tuple[list[float], list[tuple[bool, bool, bool]]]:
    """(pts_time of each frame, (combed, repeated field, combed after matching) of each) from the
    report of ``idet,metadata=mode=print,fieldmatch,idet,metadata=mode=print``."""
    frames: dict[int, list[dict[str, str]]] = {}
    for line in report.splitlines():
        if not (match := _META_RE.search(line.strip())):
            continue
        instance, text = int(match.group(1)), match.group(2)
        if time := _FRAME_RE.match(text):
            frames.setdefault(instance, []).append({"time": time.group(1)})
        elif "=" in text and instance in frames:
            key, value = text.split("=", 1)
            frames[instance][-1][key] = value
    if len(frames) < 2:
        return [], []
    raw, matched = (frames[key] for key in (min(frames), max(frames)))
    times, flags = [], []
    for before, after in zip(raw, matched, strict=False):
        times.append(float(before["time"]))
        flags.append(
            (
                before.get("lavfi.idet.single.current_frame") in ("tff", "bff"),
                before.get("lavfi.idet.repeated.current_frame") in ("top", "bottom"),
                after.get("lavfi.idet.multiple.current_frame") in ("tff", "bff"),
            )
        )
    return times, flags


def change_point(flags: list[tuple[bool, ...]], before: tuple[float, ...], after: tuple[float, ...]) -> int:
    """The index of the first frame after the change: the split that makes the flags most likely,
    each flag a Bernoulli draw with the ``before`` probabilities up to the change and ``after`` from it."""

    def log_likelihood(flag: tuple[bool, ...], rates: tuple[float, ...]) -> float:
        total = 0.0
        for value, rate in zip(flag, rates, strict=True):
            rate = min(max(rate, 0.02), 0.98)
            total += math.log(rate if value else 1 - rate)
        return total

    # the flags that tell the two apart; combed-after-matching (multi-frame detection, which lags
    # the change by a few frames) only where the plain flags do not (2:2 telecine against video)
    telling = [k for k in range(min(2, len(before))) if abs(before[k] - after[k]) >= DISTINCT]
    telling = telling or [k for k in range(len(before)) if abs(before[k] - after[k]) >= DISTINCT] or [0]

    def picked(values: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(values[k] for k in telling)

    before, after = picked(before), picked(after)
    gain = [log_likelihood(picked(flag), after) - log_likelihood(picked(flag), before) for flag in flags]
    best, best_score, score = 1, -math.inf, sum(gain)  # score: frames k.. under ``after``
    for k in range(1, len(flags)):
        score -= gain[k - 1]
        if score > best_score:
            best, best_score = k, score
    return best


def sections_filter(sections: list[FieldSection], rate: Fraction) -> str:
    """One ``-vf`` filtergraph: ``split``, per section ``trim`` by time and its chain, ``concat``."""
    half = 0.5 / float(rate)
    count = len(sections)
    parts = [f"split={count}" + "".join(f"[f{k}]" for k in range(count))]
    for k, section in enumerate(sections):
        bounds = ([f"start={section.start - half:.6f}"] if k > 0 else []) + (
            [f"end={section.end - half:.6f}"] if k + 1 < count else []
        )
        chain = [f"trim={':'.join(bounds)}", section.decision.filter or "null"]
        if k > 0:  # concat puts it where the sections before end: its own start
            chain.append("setpts=PTS-STARTPTS")
        parts.append(f"[f{k}]{','.join(chain)}[v{k}]")
    parts.append("".join(f"[v{k}]" for k in range(count)) + f"concat=n={count}:v=1:a=0")
    return ";".join(parts)
