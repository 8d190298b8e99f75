"""Streaming decode: full-size RGB frames from FFmpeg, one at a time, in constant memory.

FFmpeg (imageio-ffmpeg's binary) decodes every frame as it is stored
(``-fps_mode passthrough``: no frame dropped or duplicated, so frame ``i`` here is
frame ``i`` of :func:`restore.media.scan.scan_video`), applies rotation metadata, and
converts to RGB with the source's own matrix (BT.709 assumed for untagged HD,
BT.601 for untagged SD). Sources above 8 bits come out as 16-bit RGB.

A reader thread keeps a few frames ready so decoding overlaps processing.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from restore.media.ffmpeg import SWS_FLAGS, ffmpeg_exe
from restore.media.probe import MediaInfo
from restore.media.scan import SourceTimeline
from restore.media.sequence import SequenceInfo, ffmpeg_input

__all__ = [
    "FrameReader",
    "PASSTHROUGH_FORMATS",
    "input_color_matrix",
    "is_rgb_format",
    "open_reader",
    "raw_frame_bytes",
]

# Native formats a copy-only job can move from decoder to encoder untouched:
# name -> (bytes per sample, horizontal chroma subsampling, vertical chroma subsampling)
PASSTHROUGH_FORMATS: dict[str, tuple[int, int, int]] = {
    "yuv420p": (1, 2, 2),
    "yuv422p": (1, 2, 1),
    "yuv444p": (1, 1, 1),
    "yuv420p10le": (2, 2, 2),
    "yuv422p10le": (2, 2, 1),
    "yuv444p10le": (2, 1, 1),
}


def raw_frame_bytes(pix_fmt: str, width: int, height: int) -> int:
    """Bytes of one planar frame of a :data:`PASSTHROUGH_FORMATS` format."""
    sample, sub_x, sub_y = PASSTHROUGH_FORMATS[pix_fmt]
    chroma = -(-width // sub_x) * -(-height // sub_y)
    return sample * (width * height + 2 * chroma)


_SENTINEL = object()


def input_color_matrix(color_space: str | None, height: int) -> str:
    """The YUV→RGB matrix for swscale: the tagged one, else BT.709 for HD and BT.601 for SD."""
    known = {"bt709": "bt709", "bt470bg": "bt601", "smpte170m": "bt601", "bt2020nc": "bt2020", "fcc": "fcc"}
    if color_space in known:
        return known[color_space]
    return "bt709" if height >= 720 else "bt601"


def is_rgb_format(pix_fmt: str) -> bool:
    """True for RGB, grey and palette formats, which need no YUV matrix."""
    return pix_fmt.startswith(
        ("gbr", "rgb", "bgr", "argb", "abgr", "gray", "ya", "pal", "0rgb", "0bgr", "x2")
    )


def open_reader(
    path: str | Path, media: MediaInfo, timeline: SourceTimeline, native: bool = False, first_frame: int = 0
) -> FrameReader:
    """A reader set up for this source: bit depth, matrix and range from its tags.

    ``native``: frames come out in the source's own planar format (one flat uint8 array per
    frame), for jobs that copy frames without touching pixels. The timeline's source filter (field
    analysis) is applied first, as in the scan, so frame ``i`` here is frame ``i`` of the timeline.
    """
    seek, skip = 0.0, 0
    if first_frame > 0 and timeline.source_filter:
        skip = first_frame  # filters with state (field matching, decimation cycles) run from the start
    elif first_frame > 0 and isinstance(media, SequenceInfo):  # the demuxer's clock: file n at n / rate
        seek = (first_frame - 0.5) / float(media.rate)
    elif first_frame > 0:  # frame-exact: FFmpeg's accurate seek returns the first frame at or after this time
        gap = float(timeline.timestamps[first_frame] - timeline.timestamps[first_frame - 1])
        seek = float(timeline.timestamps[first_frame]) - media.start_time - gap / 2
    common = {
        "seek": seek,
        "input_args": ffmpeg_input(media, path),
        "source_filter": timeline.source_filter,
        "skip_frames": skip,
    }
    if native:
        return FrameReader(path, timeline.width, timeline.height, native_pix_fmt=timeline.pix_fmt, **common)
    rgb = is_rgb_format(timeline.pix_fmt)
    return FrameReader(
        path,
        timeline.width,
        timeline.height,
        high_bit_depth=media.bit_depth > 8,
        color_matrix=None if rgb else input_color_matrix(media.color_space, timeline.height),
        full_range=None if rgb else (media.color_range == "pc" or timeline.pix_fmt.startswith("yuvj")),
        **common,
    )


class FrameReader:
    """Iterate over the decoded frames of ``path`` as (H, W, 3) uint8 or uint16 arrays.

    ``color_matrix``/``full_range`` describe a YUV source (None: leave it to FFmpeg, as for RGB).
    ``input_args``: FFmpeg's input arguments (default ``-i PATH``; an image sequence's demuxer).
    ``source_filter``: filters applied before the conversion; ``skip_frames``: frames of their
    output dropped first (a segment's start when the filters must run from the beginning).

    Use as a context manager so the FFmpeg process is always reaped.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        high_bit_depth: bool = False,
        color_matrix: str | None = "bt709",
        full_range: bool | None = False,
        prefetch: int = 4,
        native_pix_fmt: str | None = None,
        seek: float = 0.0,
        input_args: list[str] | None = None,
        source_filter: str = "",
        skip_frames: int = 0,
    ) -> None:
        self.path = Path(path)
        self.width = width
        self.height = height
        self.dtype = np.dtype(np.uint16) if high_bit_depth else np.dtype(np.uint8)
        self.frame_bytes = width * height * 3 * self.dtype.itemsize
        self.native = native_pix_fmt is not None
        pix_fmt = "rgb48le" if high_bit_depth else "rgb24"
        if native_pix_fmt is not None:
            self.dtype = np.dtype(np.uint8)
            self.frame_bytes = raw_frame_bytes(native_pix_fmt, width, height)
            pix_fmt = native_pix_fmt
        options = []
        if color_matrix is not None:
            options.append(f"in_color_matrix={color_matrix}")
        if full_range is not None:
            options.append(f"in_range={'pc' if full_range else 'tv'}")
        conversion = "null" if self.native else f"scale={':'.join([*options, f'flags={SWS_FLAGS}'])}"
        if skip_frames > 0:
            conversion = f"trim=start_frame={skip_frames},{conversion}"
        if source_filter:
            conversion = f"{source_filter},{conversion}"
        self._command = [
            ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
            *(["-ss", f"{seek:.6f}"] if seek > 0 else []),
            *(input_args if input_args is not None else ["-i", str(self.path)]),
            "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", conversion,
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:",
        ]  # fmt: skip
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, prefetch))
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.error_text = ""

    def __enter__(self) -> FrameReader:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=self.frame_bytes
        )
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        try:
            while not self._stop.is_set():
                buffer = bytearray(self.frame_bytes)
                view = memoryview(buffer)
                filled = 0
                while filled < self.frame_bytes:
                    got = stdout.readinto(view[filled:])
                    if not got:
                        break
                    filled += got
                if filled < self.frame_bytes:
                    break
                frame = np.frombuffer(buffer, dtype=self.dtype)
                if not self.native:
                    frame = frame.reshape(self.height, self.width, 3)
                while not self._stop.is_set():
                    try:
                        self._queue.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        finally:
            while True:
                try:
                    self._queue.put(_SENTINEL, timeout=0.1)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        break

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._process is None:
            raise RuntimeError("FrameReader must be used as a context manager")
        while True:
            item = self._queue.get()
            if item is _SENTINEL:
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop decoding and reap FFmpeg."""
        self._stop.set()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            if self._process.stderr is not None:
                self.error_text = self._process.stderr.read().decode("utf-8", "replace").strip()
            if self._process.stdout is not None:
                self._process.stdout.close()
        if self._thread is not None:
            while self._thread.is_alive():
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    self._thread.join(timeout=0.05)
