"""Image sequences as input: a folder of scans, a printf pattern (``scan_%06d.dpx``) or a glob.

The frames are found and checked here, before anything is decoded: one image format, one size, a
supported bit depth (DPX 8/10/12/16, TIFF and PNG 8/16, JPEG 8), frame numbers from any start,
numbering gaps named in one line (refused unless ``--allow-gaps``). Only the files' headers are
read. FFmpeg's ``image2`` demuxer then decodes them, as a glob matching exactly these files (frame
numbers in file-name order) or, for unpadded numbers, a printf pattern; frame ``n`` is shown at
``(n - first) / rate``, so a gap keeps its time and the planner fills it like any other step.

The result is a :class:`SequenceInfo`: a :class:`restore.media.probe.MediaInfo` (the first frame's
probe: pixel format, colour tags) with the sequence's files, numbers and rate.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from restore.errors import InputError
from restore.media.probe import MediaInfo, probe

__all__ = [
    "DEFAULT_INPUT_FPS",
    "IMAGE_SUFFIXES",
    "PRINTF_RE",
    "SequenceInfo",
    "ffmpeg_input",
    "input_signature",
    "is_sequence_path",
    "open_sequence",
    "read_header",
]

DEFAULT_INPUT_FPS = Fraction(24)
IMAGE_SUFFIXES = (".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg")
_SUPPORTED_BITS = {".dpx": (8, 10, 12, 16), ".tif": (8, 16), ".tiff": (8, 16), ".png": (8, 16)}
#: a printf frame number in a file name (``%06d``, ``%d``): the one pattern, also for outputs
PRINTF_RE = re.compile(r"%(0?)(\d*)d")
_NUMBER_RE = re.compile(r"^(.*?)(\d+)(\D*)$")


@dataclass(frozen=True)
class SequenceInfo(MediaInfo):
    """A probed image sequence: ``path`` is what the user gave (folder, pattern or glob).

    files: the frames in order; numbers: their frame numbers; rate: frames per second (``--input-fps``).
    missing: frame numbers absent between the first and the last (only with ``--allow-gaps``).
    """

    files: tuple[Path, ...] = ()
    numbers: tuple[int, ...] = ()
    rate: Fraction = DEFAULT_INPUT_FPS
    rate_given: bool = False
    missing: tuple[int, ...] = ()
    demuxer: tuple[str, ...] = ()  # FFmpeg input arguments, "-i" included

    def describe(self) -> str:
        """``image sequence: 48 frames f_0001.tif … f_0048.tif at 24 fps (default)``."""
        given = "--input-fps" if self.rate_given else "default; set it with --input-fps"
        gaps = f", {len(self.missing)} missing" if self.missing else ""
        rate = f"{float(self.rate):.3f}".rstrip("0").rstrip(".")
        first, last = self.files[0].name, self.files[-1].name
        return f"image sequence: {len(self.files)} frames {first} … {last}{gaps} at {rate} fps ({given})"


def is_sequence_path(path: Path) -> bool:
    """A folder, a printf pattern or a glob (a name that is not an existing file)."""
    if path.is_dir():
        return True
    if path.is_file():
        return False
    return bool(PRINTF_RE.search(path.name)) or any(char in path.name for char in "*?[")


def _listing(path: Path) -> tuple[list[Path], str]:
    """The candidate files and a short description of where they were looked for."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if not p.name.startswith(".") and p.is_file())
        if not files:
            raise InputError(f"input folder is empty: {path}")
        strays = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
        if strays:
            raise InputError(f"{path} holds a file that is not a frame image: {strays[0]}")
        return files, str(path)
    if match := PRINTF_RE.search(path.name):
        head, tail = path.name[: match.start()], path.name[match.end() :]
        width = int(match.group(2) or 0)
        digits = rf"\d{{{width},}}" if match.group(1) else r"\d+"
        pattern = re.compile(re.escape(head) + f"({digits})" + re.escape(tail) + "$")
        folder = path.parent
        files = sorted(p for p in folder.iterdir() if pattern.match(p.name)) if folder.is_dir() else []
        if not files:
            raise InputError(f"no file matches the pattern {path}")
        return files, str(path)
    files = sorted(Path(name) for name in glob.glob(str(path)) if Path(name).is_file())
    if not files:
        raise InputError(f"no file matches {path}")
    return files, str(path)


def _numbered(files: list[Path], where: str) -> tuple[list[Path], list[int]]:
    """The files ordered by their frame number; one prefix, one suffix, no number twice."""
    parsed = []
    for file in files:
        match = _NUMBER_RE.match(file.stem)
        if not match:
            raise InputError(f"{file.name} has no frame number in its name")
        parsed.append((match.group(1), match.group(3), file.suffix.lower(), int(match.group(2)), file))
    kinds = {(head, tail, suffix) for head, tail, suffix, _, _ in parsed}
    if len(kinds) > 1:
        names = sorted({f"{h}N{t}{s}" for h, t, s in kinds})
        raise InputError(f"{where} holds more than one sequence or format: {', '.join(names[:3])}")
    parsed.sort(key=lambda item: item[3])
    numbers = [item[3] for item in parsed]
    for a, b in zip(parsed, parsed[1:], strict=False):
        if a[3] == b[3]:
            raise InputError(f"frame number {a[3]} appears twice: {a[4].name} and {b[4].name}")
    return [item[4] for item in parsed], numbers


def _ranges(numbers: list[int]) -> str:
    """[9, 14, 15, 16] -> ``9, 14-16``."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def read_header(path: Path) -> tuple[int, int, int]:
    """(width, height, bits per sample) from an image file's header; :class:`InputError` if unreadable."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
            suffix = path.suffix.lower()
            if suffix == ".png" and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                width, height, bits = struct.unpack(">IIB", head[16:25])
                return width, height, bits
            if suffix == ".dpx" and head[:4] in (b"SDPX", b"XPDS") and len(head) >= 804:
                order = ">" if head[:4] == b"SDPX" else "<"
                width, height = struct.unpack(order + "II", head[772:780])
                return width, height, head[803]
            if suffix in (".tif", ".tiff") and head[:4] in (b"II*\x00", b"MM\x00*"):
                return _tiff_header(handle, "<" if head[:2] == b"II" else ">", path)
            if suffix in (".jpg", ".jpeg") and head[:2] == b"\xff\xd8":
                return _jpeg_header(handle)
    except (OSError, struct.error):
        pass
    raise InputError(f"cannot read {path} as a {path.suffix.lstrip('.').upper()} image")


def _tiff_header(handle: BinaryIO, order: str, path: Path) -> tuple[int, int, int]:
    """Width, height and bits of a TIFF's first image (BitsPerSample; float samples are refused)."""
    handle.seek(4)
    (offset,) = struct.unpack(order + "I", handle.read(4))
    handle.seek(offset)
    (count,) = struct.unpack(order + "H", handle.read(2))
    tags: dict[int, tuple[int, int, bytes]] = {}
    for _ in range(count):
        tag, kind, number, value = struct.unpack(order + "HHI4s", handle.read(12))
        tags[tag] = (kind, number, value)

    def first_value(tag: int, default: int) -> int:
        if tag not in tags:
            return default
        kind, number, value = tags[tag]
        size = 2 if kind == 3 else 4
        if number * size > 4:
            (where,) = struct.unpack(order + "I", value)
            handle.seek(where)
            value = handle.read(size)
        return struct.unpack(order + ("H" if size == 2 else "I"), value[:size])[0]

    width, height, bits = first_value(256, 0), first_value(257, 0), first_value(258, 1)
    if first_value(339, 1) == 3:
        raise InputError(f"{path}: {bits}-bit floating-point samples are not supported (use 8- or 16-bit)")
    return width, height, bits


def _jpeg_header(handle: BinaryIO) -> tuple[int, int, int]:
    """Width, height and precision from the first SOF marker."""
    handle.seek(2)
    while True:
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise struct.error("no frame header")
        (length,) = struct.unpack(">H", handle.read(2))
        if 0xC0 <= marker[1] <= 0xCF and marker[1] not in (0xC4, 0xC8, 0xCC):
            bits, height, width = struct.unpack(">BHH", handle.read(5))
            return width, height, bits
        handle.seek(length - 2, 1)


def _check_frames(files: list[Path]) -> tuple[int, int, int]:
    """Every frame readable, one size, one supported depth; the first one names the problem."""
    suffix = files[0].suffix.lower()
    allowed = _SUPPORTED_BITS.get(suffix, (8,))
    first = read_header(files[0])
    for file in files:
        width, height, bits = read_header(file) if file is not files[0] else first
        if bits not in allowed:
            depths = "/".join(str(b) for b in allowed)
            raise InputError(f"{file}: {bits}-bit samples are not supported in {suffix} (use {depths}-bit)")
        if (width, height) != first[:2]:
            raise InputError(
                f"{file}: {width}x{height}, but the sequence starts at {first[0]}x{first[1]}; "
                "every frame must have the same size"
            )
    return first


def _digits(file: Path) -> str:
    match = _NUMBER_RE.match(file.stem)
    if match is None:  # _numbered has refused such names already
        raise InputError(f"{file.name} has no frame number in its name")
    return match.group(2)


def _demuxer(files: list[Path], numbers: list[int], rate: Fraction) -> tuple[str, ...] | None:
    """FFmpeg arguments reading exactly ``files`` in order: a glob when the names sort like their
    numbers and the glob matches nothing else, else a printf pattern for a gapless sequence."""
    framerate = ("-f", "image2", "-framerate", f"{rate.numerator}/{rate.denominator}")
    folder, stem = files[0].parent, files[0].stem
    digits = _digits(files[0])
    cut = stem.rindex(digits)
    head, tail = stem[:cut], stem[cut + len(digits) :] + files[0].suffix
    names = [f.name for f in files]
    if sorted(names) == names:
        pattern = glob.escape(str(folder) + os.sep + head) + "*" + glob.escape(tail)
        if sorted(glob.glob(pattern)) == [str(f) for f in files]:
            return (*framerate, "-pattern_type", "glob", "-i", pattern)
    if numbers[-1] - numbers[0] + 1 != len(numbers):
        return None
    widths = {len(_digits(f)) for f in files}
    number = f"%0{len(digits)}d" if len(widths) == 1 and digits.startswith("0") else "%d"
    printf = str(folder / (head.replace("%", "%%") + number + tail.replace("%", "%%")))
    return (*framerate, "-start_number", str(numbers[0]), "-i", printf)


def open_sequence(path: Path, input_fps: Fraction | None = None, allow_gaps: bool = False) -> SequenceInfo:
    """Find, order and check the frames of ``path``; probe the first one. Refusals are one line."""
    files, where = _listing(path)
    files, numbers = _numbered(files, where)
    if files[0].suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{files[0]} is not a frame image ({', '.join(IMAGE_SUFFIXES)})")
    span = numbers[-1] - numbers[0] + 1
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing and not allow_gaps:
        raise InputError(
            f"{where}: frames {_ranges(missing)} are missing ({len(missing)} of {span}); "
            "pass --allow-gaps to fill them by interpolation"
        )
    _check_frames(files)
    rate = input_fps if input_fps is not None else DEFAULT_INPUT_FPS
    demuxer = _demuxer(files, numbers, rate)
    if demuxer is None:
        raise InputError(f"{where}: with gaps, frame numbers must be zero-padded to one width")
    values = {f.name: getattr(probe(files[0]), f.name) for f in dataclasses.fields(MediaInfo)}
    values.update(
        path=path,
        container_duration=float(span / rate),
        start_time=0.0,
        audio=(),
        subtitles=(),
        field_order="progressive",
    )
    return SequenceInfo(
        **values,
        files=tuple(files),
        numbers=tuple(numbers),
        rate=rate,
        rate_given=input_fps is not None,
        missing=tuple(missing),
        demuxer=demuxer,
    )


def ffmpeg_input(media: MediaInfo, path: str | Path) -> list[str]:
    """The FFmpeg input arguments of a source: ``-i PATH``, or the sequence's image2 demuxer."""
    if isinstance(media, SequenceInfo):
        return list(media.demuxer)
    return ["-i", str(path)]


def input_signature(path: Path) -> tuple[int, int]:
    """(bytes, newest mtime in ns) of a file, or of every frame of a sequence (for job journals)."""
    if not is_sequence_path(path):
        stat = path.stat()
        return stat.st_size, stat.st_mtime_ns
    files, _ = _listing(path)
    stats = [f.stat() for f in files]
    return sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)
