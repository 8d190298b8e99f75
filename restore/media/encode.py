"""Streaming encode through FFmpeg, muxing the source's audio, subtitles and timecode.

Frames go to FFmpeg's stdin as raw RGB from a writer thread. The video is encoded
with one of the archive-grade settings below; every audio track of the source is
copied, or re-encoded (losslessly for MOV/MKV masters) only where the container cannot
hold its codec (:mod:`restore.media.audio`), and stays in sync because the video keeps
the source's start time and duration. The start timecode is written (a ``tmcd`` track
in MOV/MP4, a tag in MKV) as :mod:`restore.media.timecode` expresses it at the output
rate. All four colour tags are written on the frames (:mod:`restore.media.colour_tags`).
The file is written under a hidden temporary name in the output folder and renamed when
complete; a failed or interrupted encode leaves nothing behind, and the partial files of
processes killed outright are removed when the same output is made again
(:mod:`restore.media.litter`).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from restore.errors import RestoreError
from restore.media.audio import audio_arguments, plan_audio
from restore.media.colour_tags import OutputColor, output_color
from restore.media.decode import raw_frame_bytes
from restore.media.ffmpeg import SWS_FLAGS, ffmpeg_exe
from restore.media.litter import listing_path_for, partial_path_for, remove_stale_work_files
from restore.media.probe import MediaInfo, StreamInfo
from restore.media.timecode import output_timecode

__all__ = [
    "CodecSpec",
    "CODECS",
    "FrameWriter",
    "OutputColor",
    "output_color",
    "container_of",
    "crf_for",
    "OutputTags",
    "output_tags",
    "check_container",
    "temporary_path_for",
    "join_segments",
]


@dataclass(frozen=True)
class CodecSpec:
    """How one ``--codec`` choice is encoded."""

    encoder: str
    pix_fmt: str
    high_pix_fmt: str
    options: tuple[str, ...]
    default_crf: int | None
    extensions: tuple[str, ...]
    even_size: bool
    rgb: bool = False


CODECS: dict[str, CodecSpec] = {
    "h264": CodecSpec(
        "libx264", "yuv420p", "yuv420p", ("-preset", "medium"), 18, (".mp4", ".mov", ".mkv", ".m4v"), True
    ),
    "h265": CodecSpec(
        "libx265",
        "yuv420p10le",
        "yuv420p10le",
        ("-preset", "medium", "-x265-params", "log-level=error"),
        20,
        (".mp4", ".mov", ".mkv", ".m4v"),
        True,
    ),
    "prores": CodecSpec(
        "prores_ks",
        "yuv422p10le",
        "yuv422p10le",
        ("-profile:v", "3", "-vendor", "apl0"),
        None,
        (".mov", ".mkv"),
        True,
    ),
    "ffv1": CodecSpec(
        "ffv1",
        "gbrp",
        "gbrp16le",
        ("-level", "3", "-g", "1", "-slicecrc", "1", "-slices", "4"),
        None,
        (".mkv", ".avi"),
        False,
        rgb=True,
    ),
}

# Above 1080p x264's lookahead is shortened from medium's 40 frames to 10: at 4K each frame it holds
# costs about 22 MiB, and 10 frames keep the encoder at 0.95 GiB instead of 1.6 GiB, so the whole job
# stays under 2 GiB. benchmarks/bench_encoder.py (60 frames at 4K, CRF 18; benchmarks/RESULTS.md,
# issue 18): 49.04 dB PSNR against 49.24 with 40 frames, 5 % fewer bytes, 10-20 % less CPU.
LARGE_FRAME_PIXELS = 1920 * 1080 * 2
LARGE_FRAME_LOOKAHEAD = 10

_TEXT_SUBTITLES = {"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"}
_CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}


def crf_for(codec: str, crf: int | None) -> int | None:
    """The CRF ``codec`` is encoded with: ``crf``, else the codec's default; None for a codec without
    one (ProRes, FFV1), which ignores ``--crf``."""
    default = CODECS[codec].default_crf
    return None if default is None else (default if crf is None else crf)


def container_of(output: Path) -> str:
    """FFmpeg's muxer name for the output's extension (Matroska for an unknown one)."""
    return _CONTAINER_FORMATS.get(output.suffix.lower(), "matroska")


def check_container(codec: str, output: Path) -> None:
    """Refuse a codec/extension pair the container cannot hold."""
    if codec not in CODECS:
        raise RestoreError(f"--codec must be one of {', '.join(CODECS)}, got {codec!r}")
    suffix = output.suffix.lower()
    if suffix not in CODECS[codec].extensions:
        allowed = ", ".join(CODECS[codec].extensions)
        raise RestoreError(
            f"--codec {codec} cannot be written to a {suffix or 'extension-less'} file; use {allowed}"
        )


@dataclass(frozen=True)
class OutputTags:
    """What an output says besides its pictures: colour tags, start timecode, and the summary lines
    (each audio track copied or re-encoded, the colour tags and where they came from, the timecode)."""

    color: OutputColor
    timecode: str | None
    notes: tuple[str, ...]


def output_tags(
    codec: str,
    output: Path,
    media: MediaInfo,
    source_height: int,
    source_rate: Fraction | None,
    output_rate: Fraction,
    out_height: int,
) -> OutputTags:
    """The tags of ``output`` (``out_height`` high, at ``output_rate``) made from ``media``."""
    container = container_of(output)
    color = output_color(
        media.color_space,
        media.color_primaries,
        out_height,
        source_transfer=media.color_transfer,
        source_height=source_height,
        rgb=CODECS[codec].rgb if codec in CODECS else False,
        rate=source_rate,
    )
    timecode, timecode_note = output_timecode(media.timecode, source_rate, output_rate)
    notes = [track.describe(container) for track in plan_audio(container, media.audio)]
    notes.append(color.describe() + (" (AVI cannot store them)" if container == "avi" else ""))
    if timecode_note is not None:
        notes.append(timecode_note)
    return OutputTags(color, timecode, tuple(notes))


def temporary_path_for(output: Path) -> Path:
    """The hidden name an output is written under until it is complete (this process's)."""
    return partial_path_for(output)


def _stream_arguments(
    container: str, audio: Sequence[StreamInfo], subtitles: Sequence[StreamInfo]
) -> list[str]:
    args = audio_arguments(plan_audio(container, audio))
    kept = 0
    for stream in subtitles:
        if container in ("mp4", "mov"):
            if stream.codec not in _TEXT_SUBTITLES:
                continue  # bitmap subtitles cannot live in MP4/MOV; a .mkv output keeps them
            args += ["-map", f"1:{stream.index}", f"-c:s:{kept}", "mov_text"]
        else:
            args += ["-map", f"1:{stream.index}", f"-c:s:{kept}", "copy"]
        kept += 1
    return args


def _explain_failure(stderr: str, returncode: int | None) -> str:
    """FFmpeg's last word, with disk-full and file-size-limit failures said plainly."""
    again = "then run again (--resume continues a segmented job)"
    if returncode == -signal.SIGXFSZ or "File too large" in stderr:
        return f"the file-size limit was reached; make room, {again}"
    if "No space left on device" in stderr:
        return f"the disk is full; free some space, {again}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {returncode}"


class FrameWriter:
    """Encode (H, W, 3) uint8/uint16 RGB frames to ``output`` atomically.

    ``with FrameWriter(...) as writer: writer.write(frame)``; the file appears at
    ``output`` only when the block ends without an exception. With ``frame_size`` (w, h) different
    from (width, height) the frames are written at that size and the encoder's swscale resizes them
    with Lanczos-3 (``SWS_FLAGS``), in the same pass as the conversion to YUV where it can.
    """

    def __init__(
        self,
        output: str | Path,
        width: int,
        height: int,
        fps: Fraction,
        codec: str = "h264",
        crf: int | None = None,
        high_bit_depth: bool = False,
        color: OutputColor | None = None,
        source: Path | None = None,
        audio: Sequence[StreamInfo] = (),
        subtitles: Sequence[StreamInfo] = (),
        start_offset: float = 0.0,
        sample_aspect: tuple[int, int] = (1, 1),
        queue_size: int = 4,
        native_pix_fmt: str | None = None,
        timecode: str | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        self.output = Path(output)
        check_container(codec, self.output)
        spec = CODECS[codec]
        # frames arrive at frame_size (w, h) and are resized to width x height by swscale's Lanczos
        self.frame_width, self.frame_height = frame_size or (width, height)
        resize = (self.frame_width, self.frame_height) != (width, height)
        if resize and native_pix_fmt is not None:
            raise ValueError("native (YUV) frames go to the encoder at the output size")
        self.width, self.height = width, height
        self.dtype = np.dtype(np.uint16) if high_bit_depth else np.dtype(np.uint8)
        self.native_pix_fmt = native_pix_fmt
        self.native_bytes = raw_frame_bytes(native_pix_fmt, width, height) if native_pix_fmt else 0
        self.temporary = temporary_path_for(self.output)
        self.frames_written = 0
        color = color or output_color(None, None, height, rgb=spec.rgb)
        if spec.rgb and color.space != "gbr":  # RGB stored: tagged as RGB, full range, whatever asked
            color = dataclasses.replace(color, space="gbr", range="pc")
        container = container_of(self.output)

        filters = []
        padded = spec.even_size and bool(width % 2 or height % 2)
        converted = not spec.rgb and native_pix_fmt is None
        if resize and (padded or not converted):  # resized in RGB, then padded and converted
            filters.append(f"scale={width}:{height}:flags={SWS_FLAGS}")
        if padded:
            # 4:2:0 / 4:2:2 need even sizes: extend by one row/column, replicating the edge
            pad_w, pad_h = width + width % 2, height + height % 2
            filters.append(f"pad={pad_w}:{pad_h}:0:0")
            filters.append(f"fillborders=right={pad_w - width}:bottom={pad_h - height}:mode=smear")
        out_pix = spec.high_pix_fmt if high_bit_depth else spec.pix_fmt
        if converted:
            # with a resize and nothing in between, one swscale pass resizes and converts: it turns
            # the RGB into YUV at the frames' size and resamples the planes (4:2:0 chroma at half size)
            size = f"{width}:{height}:" if resize and not padded else ""
            filters.append(f"scale={size}out_color_matrix={color.matrix}:out_range=tv:flags={SWS_FLAGS}")
        filters.append(f"format={out_pix}")
        # max=65535: the ratio exactly (128:117 stays 128:117, not the nearest with terms under 100)
        filters.append(f"setsar=sar={sample_aspect[0]}/{sample_aspect[1]}:max=65535")
        filters.append(color.filter())  # all four tags on every frame: the encoders write them all

        command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        in_pix = native_pix_fmt or ("rgb48le" if high_bit_depth else "rgb24")
        command += ["-f", "rawvideo", "-pix_fmt", in_pix]
        command += ["-s", f"{self.frame_width}x{self.frame_height}"]
        command += ["-framerate", f"{fps.numerator}/{fps.denominator}"]
        if abs(start_offset) > 1e-9:
            command += ["-itsoffset", f"{start_offset:.6f}"]
        command += ["-i", "pipe:"]
        with_source = source is not None and (len(audio) > 0 or len(subtitles) > 0)
        if with_source:
            command += ["-i", str(source)]
        command += ["-map", "0:v:0"]
        if with_source:
            command += _stream_arguments(container, audio, subtitles)
            command += ["-map_metadata", "1", "-map_chapters", "1"]
        command += ["-vf", ",".join(filters), "-c:v", spec.encoder, *spec.options]
        if spec.encoder == "libx264" and width * height > LARGE_FRAME_PIXELS:
            command += ["-x264-params", f"rc-lookahead={LARGE_FRAME_LOOKAHEAD}"]
        quality = crf_for(codec, crf)
        if quality is not None:
            command += ["-crf", str(quality)]
        command += _container_arguments(container, codec, timecode)
        command += ["-f", container, str(self.temporary)]
        self.command = command
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=max(1, queue_size))
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def __enter__(self) -> FrameWriter:
        remove_stale_work_files(self.output)
        try:
            self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise RestoreError(f"cannot start FFmpeg: {error}") from error
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        return self

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdin is not None
        stdin = self._process.stdin
        while True:
            frame = self._queue.get()
            if frame is None:
                break
            if self._write_error is not None:
                continue
            try:
                stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
            except (BrokenPipeError, OSError) as error:
                self._write_error = error

    def write(self, frame: np.ndarray) -> None:
        """Queue one (H, W, 3) frame of the writer's dtype (a flat uint8 frame for native input)."""
        if self.native_pix_fmt is not None:
            if frame.shape != (self.native_bytes,) or frame.dtype != np.uint8:
                raise ValueError(f"frame: expected {self.native_bytes} bytes of {self.native_pix_fmt}")
        elif frame.shape != (self.frame_height, self.frame_width, 3) or frame.dtype != self.dtype:
            expected = f"({self.frame_height}, {self.frame_width}, 3) {self.dtype}"
            raise ValueError(f"frame: expected {expected}, got {frame.shape} {frame.dtype}")
        if self._write_error is not None:
            raise RestoreError(f"the encoder stopped: {self._encoder_message()}")
        self._queue.put(frame)
        self.frames_written += 1

    def _encoder_message(self) -> str:
        if self._process is None or self._process.stderr is None:
            return "unknown error"
        if self._process.poll() is None:
            self._process.wait(timeout=30)
        text = self._process.stderr.read().decode("utf-8", "replace").strip()
        return _explain_failure(text, self._process.returncode)

    def _finish(self) -> int:
        assert self._process is not None and self._thread is not None
        self._queue.put(None)
        self._thread.join()
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        return self._process.wait()

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if self._process is None:
            return
        if exc_type is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._finish()
            self.temporary.unlink(missing_ok=True)
            return
        code = self._finish()
        if code != 0 or self._write_error is not None:
            message = self._encoder_message()
            self.temporary.unlink(missing_ok=True)
            raise RestoreError(f"encoding {self.output.name} failed: {message}")
        os.replace(self.temporary, self.output)


def _container_arguments(container: str, codec: str, timecode: str | None) -> list[str]:
    """Muxer options: fast start and the HEVC tag for MP4/MOV, and the start timecode."""
    args: list[str] = []
    if container in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
        if codec == "h265":
            args += ["-tag:v", "hvc1"]
    if timecode is not None:
        args += ["-timecode", timecode]  # a tmcd track in MOV/MP4, a TIMECODE tag in Matroska
    return args


def _concat_entry(path: Path) -> str:
    """One line of an FFmpeg concat list; a quote in the path is closed, escaped and reopened."""
    quoted = str(path.resolve()).replace("'", "'\\''")
    return f"file '{quoted}'\n"


def join_segments(
    parts: Sequence[Path],
    output: Path,
    codec: str,
    source: Path | None = None,
    audio: Sequence[StreamInfo] = (),
    subtitles: Sequence[StreamInfo] = (),
    start_offset: float = 0.0,
    timecode: str | None = None,
) -> None:
    """Concatenate encoded segments without re-encoding, mux the source's audio and subtitles.

    The result appears at ``output`` only when complete; ``timecode`` is its first frame's label.
    """
    container = container_of(output)
    remove_stale_work_files(output)
    temporary = temporary_path_for(output)
    listing = listing_path_for(output)
    listing.write_text("".join(_concat_entry(Path(part)) for part in parts))
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if abs(start_offset) > 1e-9:
        command += ["-itsoffset", f"{start_offset:.6f}"]
    command += ["-f", "concat", "-safe", "0", "-i", str(listing)]
    with_source = source is not None and (len(audio) > 0 or len(subtitles) > 0)
    if with_source:
        command += ["-i", str(source)]
    command += ["-map", "0:v:0", "-c:v", "copy"]
    if with_source:
        command += _stream_arguments(container, audio, subtitles)
        command += ["-map_metadata", "1", "-map_chapters", "1"]
    command += _container_arguments(container, codec, timecode)
    command += ["-f", container, str(temporary)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
        if result.returncode != 0:
            reason = _explain_failure(result.stderr, result.returncode)
            raise RestoreError(f"joining the segments of {output.name} failed: {reason}")
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
