"""Image sequences as output: ``-o out/frame_%06d.png`` (or ``.tif``, ``.dpx``), one file per frame.

Frames are numbered from 1 and written by FFmpeg's ``image2`` muxer into a hidden folder beside the
target (``out/.restore-frame_.partial-PID``); only when every frame is there are the files renamed
into place, so a failed or interrupted job leaves no frame behind. 16-bit files (``rgb48``) are
written where the source has more than 8 bits, 8-bit ones otherwise. A segmented job (``--resume``)
keeps its segments as lossless FFV1 files in its parts folder; :func:`join_segments_as_sequence`
turns them into the frames at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from restore.errors import OutputError, RestoreError
from restore.media.ffmpeg import ffmpeg_exe
from restore.media.litter import process_exists
from restore.media.sequence import PRINTF_RE

__all__ = [
    "SEQUENCE_SUFFIXES",
    "SequenceWriter",
    "check_sequence_output",
    "existing_frames",
    "is_sequence_output",
    "join_segments_as_sequence",
]

SEQUENCE_SUFFIXES = (".png", ".tif", ".tiff", ".dpx")
# pixel formats the image2 muxer writes: (8-bit, 16-bit)
_PIX_FMTS = {".png": ("rgb24", "rgb48be"), ".tif": ("rgb24", "rgb48le"), ".dpx": ("rgb24", "rgb48le")}


def is_sequence_output(path: Path) -> bool:
    """True for ``name_%04d.png``-style outputs (a printf number and an image extension)."""
    return bool(PRINTF_RE.search(path.name)) and path.suffix.lower() in SEQUENCE_SUFFIXES


def _name_pattern(output: Path) -> re.Pattern[str]:
    match = PRINTF_RE.search(output.name)
    assert match is not None
    head, tail = output.name[: match.start()], output.name[match.end() :]
    return re.compile(re.escape(head) + r"\d+" + re.escape(tail) + "$")


def existing_frames(output: Path) -> list[Path]:
    """Files already in the output folder that the pattern would name."""
    folder = output.parent
    if not folder.is_dir():
        return []
    pattern = _name_pattern(output)
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def check_sequence_output(output: Path, overwrite: bool, input_folder: Path | None = None) -> None:
    """Refuse an output pattern whose folder is missing or is ``input_folder`` (an image-sequence
    input's), or whose frames exist (without ``--overwrite``)."""
    folder = output.parent
    if not folder.is_dir():
        raise OutputError(f"output folder does not exist: {folder}")
    if input_folder is not None and folder.resolve() == input_folder.resolve():
        raise OutputError(f"output frames would go into the input's own folder: {folder}")
    found = existing_frames(output)
    if found and not overwrite:
        raise OutputError(f"output frames exist: {found[0]} (pass --overwrite to replace them)")


def _hidden_folder(output: Path, pid: int | None = None) -> Path:
    head = PRINTF_RE.sub("", output.name).replace("%", "")
    return output.with_name(f".restore-{Path(head).stem}.partial-{os.getpid() if pid is None else pid}")


def _new_hidden_folder(output: Path) -> Path:
    """This process's hidden folder for ``output``, made empty; those of dead processes are removed."""
    stale = re.compile(re.escape(_hidden_folder(output, 0).name[:-1]) + r"(\d+)$")
    for entry in output.parent.iterdir() if output.parent.is_dir() else ():
        match = stale.match(entry.name)
        if match and entry.is_dir() and not process_exists(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
    hidden = _hidden_folder(output)
    shutil.rmtree(hidden, ignore_errors=True)
    hidden.mkdir()
    return hidden


def _muxer_arguments(output: Path, hidden: Path, high_bit_depth: bool) -> list[str]:
    suffix = output.suffix.lower().replace(".tiff", ".tif")
    pix_fmt = _PIX_FMTS[suffix][1 if high_bit_depth else 0]
    target = hidden / output.name  # the printf number is FFmpeg's image2 pattern
    return ["-pix_fmt", pix_fmt, "-f", "image2", "-start_number", "1", str(target)]


def _publish(hidden: Path, output: Path, overwrite: bool) -> int:
    """Move the finished frames from ``hidden`` into place; older frames of the pattern go first."""
    frames = sorted(hidden.iterdir())
    if overwrite:
        for old in existing_frames(output):
            old.unlink()
    for frame in frames:
        os.replace(frame, output.parent / frame.name)
    hidden.rmdir()
    return len(frames)


class SequenceWriter:
    """Write (H, W, 3) uint8/uint16 RGB frames as numbered image files, all or nothing.

    The same use as :class:`restore.media.encode.FrameWriter`: ``with SequenceWriter(...) as w:
    w.write(frame)``; the files appear only when the block ends without an exception.
    """

    def __init__(
        self,
        output: str | Path,
        width: int,
        height: int,
        high_bit_depth: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.output = Path(output)
        if not is_sequence_output(self.output):
            raise OutputError(f"not an image-sequence output (name_%04d.png, .tif or .dpx): {self.output}")
        self.width, self.height = width, height
        self.dtype = np.dtype(np.uint16) if high_bit_depth else np.dtype(np.uint8)
        self.overwrite = overwrite
        self.hidden = _hidden_folder(self.output)
        self.frames_written = 0
        in_pix = "rgb48le" if high_bit_depth else "rgb24"
        self.command = [
            ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", in_pix, "-s", f"{width}x{height}", "-framerate", "1", "-i", "pipe:",
            *_muxer_arguments(self.output, self.hidden, high_bit_depth),
        ]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SequenceWriter:
        _new_hidden_folder(self.output)
        try:
            self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            shutil.rmtree(self.hidden, ignore_errors=True)
            raise RestoreError(f"cannot start FFmpeg: {error}") from error
        return self

    def write(self, frame: np.ndarray) -> None:
        """Write one (H, W, 3) frame of the writer's dtype."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != self.dtype:
            expected = f"({self.height}, {self.width}, 3) {self.dtype}"
            raise ValueError(f"frame: expected {expected}, got {frame.shape} {frame.dtype}")
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except (BrokenPipeError, OSError):
            raise RestoreError(f"writing {self.output.name} failed: {self._error_text()}") from None
        self.frames_written += 1

    def _error_text(self) -> str:
        assert self._process is not None and self._process.stderr is not None
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        lines = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self._process.returncode}"

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        process = self._process
        if process is None:
            return
        try:
            if process.stdin is not None:
                try:
                    process.stdin.close()
                except OSError:
                    pass
            if exc_type is not None:
                process.kill()
                process.wait()
                return
            if process.wait() != 0:
                raise RestoreError(f"writing {self.output.name} failed: {self._error_text()}")
            _publish(self.hidden, self.output, self.overwrite)
        finally:
            if self.hidden.exists():
                shutil.rmtree(self.hidden, ignore_errors=True)


def _concat_entry(path: Path) -> str:
    quoted = str(path.resolve()).replace("'", "'\\''")
    return f"file '{quoted}'\n"


def join_segments_as_sequence(
    parts: Sequence[Path], output: Path, high_bit_depth: bool, overwrite: bool = False
) -> int:
    """Decode a segmented job's lossless FFV1 segments into the output frames; returns the frame count."""
    listing = output.with_name(f".restore-segments-{os.getpid()}.txt")
    listing.write_text("".join(_concat_entry(Path(part)) for part in parts))
    hidden = _new_hidden_folder(output)
    command = [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-fps_mode", "passthrough",
        *_muxer_arguments(output, hidden, high_bit_depth),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise RestoreError(f"writing {output.name} failed: {lines[-1] if lines else result.returncode}")
        return _publish(hidden, output, overwrite)
    finally:
        listing.unlink(missing_ok=True)
        shutil.rmtree(hidden, ignore_errors=True)
