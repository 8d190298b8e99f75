"""What a media file holds: streams, codecs, colour tags and container duration.

FFmpeg's own stream report (``ffmpeg -i FILE``) is parsed, so no ``ffprobe`` is needed.
Frame-exact facts (timestamps, decoded size after rotation) come from :mod:`restore.media.scan`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from restore.errors import RestoreError
from restore.media.ffmpeg import run_ffmpeg

__all__ = ["StreamInfo", "MediaInfo", "probe", "bit_depth_of", "split_top_level"]

_STREAM_RE = re.compile(r"^\s*Stream #0:(\d+)(?:\[[^\]]*\])?(?:\(([^)]*)\))?: (\w+): (.*)$")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)(?:, start: (-?\d+(?:\.\d+)?))?")
_ROTATION_RE = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
# the start timecode: a MOV/MP4 tmcd track's, a video stream's or a Matroska TIMECODE tag
_TIMECODE_RE = re.compile(r"^\s*timecode\s*:\s*(\d{1,2}:\d{2}:\d{2}[:;.,]\d{2,3})\s*$", re.I | re.M)
_SIZE_RE = re.compile(r"^(\d+)x(\d+)")
_SAR_RE = re.compile(r"SAR (\d+):(\d+)")
_FFMPEG_NOISE = ("At least one output file must be specified",)


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the input: ``kind`` is video, audio, subtitle, data or attachment."""

    index: int
    kind: str
    codec: str
    language: str | None
    details: str


@dataclass(frozen=True)
class MediaInfo:
    """The input as FFmpeg reports it, before any frame is decoded."""

    path: Path
    container_duration: float | None
    start_time: float
    video: StreamInfo
    coded_width: int
    coded_height: int
    pix_fmt: str
    bit_depth: int
    color_range: str | None
    color_space: str | None
    color_primaries: str | None
    color_transfer: str | None
    rotation: float
    sample_aspect: tuple[int, int] = (1, 1)
    audio: tuple[StreamInfo, ...] = field(default=())
    subtitles: tuple[StreamInfo, ...] = field(default=())
    field_order: str | None = None  # "progressive", "tff" or "bff" as tagged; None when untagged
    timecode: str | None = None  # the start timecode (``01:02:03:04``, ``;`` for drop-frame); None without


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses or brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def bit_depth_of(pix_fmt: str) -> int:
    """Bits per component of an FFmpeg pixel format name (``yuv420p10le`` -> 10, ``rgb48le`` -> 16)."""
    match = re.search(r"(\d+)(le|be)$", pix_fmt)
    if match:
        bits = int(match.group(1))
        return 16 if bits in (48, 64) else bits
    if pix_fmt.startswith(("p010", "p210", "p410")):
        return 10
    if pix_fmt.startswith(("p016", "p216", "p416")):
        return 16
    return 8


def _parse_colour(paren: str) -> tuple[str | None, str | None, str | None, str | None]:
    """``tv, bt709/bt709/bt709, progressive`` -> (range, space, primaries, transfer)."""
    color_range = space = primaries = transfer = None
    for item in (part.strip() for part in paren.split(",")):
        if item in ("tv", "pc"):
            color_range = item
        elif "/" in item:
            fields = item.split("/")
            if len(fields) == 3:
                space, primaries, transfer = fields
        elif item and item not in ("progressive", "top first", "bottom first", "top coded first (swapped)"):
            if not item.startswith(("top", "bottom")):
                space = primaries = transfer = item  # FFmpeg names one value when all three are equal
    unknown = {"unknown", "reserved", "unspecified"}

    def known(value: str | None) -> str | None:
        return None if value in unknown else value

    return color_range, known(space), known(primaries), known(transfer)


def _parse_field_order(paren: str) -> str | None:
    """``tv, bt470bg, top first`` -> "tff"; "bff" for bottom first; "progressive"; None untagged."""
    items = {part.strip() for part in paren.split(",")}
    if "progressive" in items:
        return "progressive"
    # the swapped forms (Matroska FieldOrder 9 and 14, QuickTime fiel) name the field shown first
    # as current practice and FFmpeg's encoder write them: a top-field-first FFV1 is "top coded first"
    if items & {"top first", "top coded first (swapped)"}:
        return "tff"
    if items & {"bottom first", "bottom coded first (swapped)"}:
        return "bff"
    return None


def _describe_failure(path: Path, stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not any(noise in line for noise in _FFMPEG_NOISE)]
    reason = lines[-1] if lines else "unknown format"
    reason = reason.replace(str(path), "").strip(" :")
    return f"cannot read {path} as a video ({reason})"


def probe(path: str | Path) -> MediaInfo:
    """Describe the streams of ``path``; :class:`RestoreError` when it is not a usable video."""
    path = Path(path)
    if not path.exists():
        raise RestoreError(f"input not found: {path}")
    if path.is_dir():
        raise RestoreError(f"input is a folder, not a video file: {path}")
    if path.stat().st_size == 0:
        raise RestoreError(f"input is empty (0 bytes): {path}")
    result = run_ffmpeg(["-i", str(path)], timeout=120)
    report = result.stderr
    if "Input #0" not in report:
        raise RestoreError(_describe_failure(path, report))

    duration = start = None
    if match := _DURATION_RE.search(report):
        hours, minutes, seconds = match.group(1, 2, 3)
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        start = float(match.group(4)) if match.group(4) else 0.0

    streams: list[StreamInfo] = []
    rotation_by_stream: dict[int, float] = {}
    for line in report.splitlines():
        if match := _STREAM_RE.match(line):
            index, language, kind, details = match.groups()
            codec = details.split(" ", 1)[0].rstrip(",")
            streams.append(StreamInfo(int(index), kind.lower(), codec, language, details))
        elif (match := _ROTATION_RE.search(line)) and streams and streams[-1].kind == "video":
            rotation_by_stream.setdefault(streams[-1].index, float(match.group(1)))

    videos = [s for s in streams if s.kind == "video" and "attached pic" not in s.details]
    if not videos:
        kinds = ", ".join(sorted({s.kind for s in streams})) or "no streams"
        raise RestoreError(f"{path} has no video stream ({kinds})")
    video = videos[0]
    parts = split_top_level(video.details)
    pix_part = parts[1] if len(parts) > 1 else ""
    pix_fmt = pix_part.split("(", 1)[0].strip()
    paren = pix_part.split("(", 1)[1].rsplit(")", 1)[0] if "(" in pix_part else ""
    color_range, space, primaries, transfer = _parse_colour(paren)
    field_order = _parse_field_order(paren)
    width = height = 0
    for part in parts[2:]:
        if match := _SIZE_RE.match(part):
            width, height = int(match.group(1)), int(match.group(2))
            break
    sample_aspect = (1, 1)
    if (match := _SAR_RE.search(video.details)) and int(match.group(1)) > 0 and int(match.group(2)) > 0:
        sample_aspect = (int(match.group(1)), int(match.group(2)))
    if width <= 0 or height <= 0:
        raise RestoreError(f"cannot read {path} as a video (no frame size in its video stream)")

    return MediaInfo(
        path=path,
        container_duration=duration,
        start_time=start or 0.0,
        video=video,
        coded_width=width,
        coded_height=height,
        pix_fmt=pix_fmt,
        bit_depth=bit_depth_of(pix_fmt),
        color_range=color_range,
        color_space=space,
        color_primaries=primaries,
        color_transfer=transfer,
        rotation=rotation_by_stream.get(video.index, 0.0),
        sample_aspect=sample_aspect,
        audio=tuple(s for s in streams if s.kind == "audio"),
        subtitles=tuple(s for s in streams if s.kind == "subtitle"),
        field_order=field_order,
        timecode=match.group(1) if (match := _TIMECODE_RE.search(report)) else None,
    )
