"""Streaming decode (``restore.media.decode``): exact RGB at 8 and 16 bits, frame-exact start, native frames.

The clips are made here from known pixels with the bundled FFmpeg (FFV1 RGB is lossless, so decoded
frames must equal what went in, bit for bit).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from restore.media import decode
from restore.media.decode import (
    PASSTHROUGH_FORMATS,
    FrameReader,
    input_color_matrix,
    is_rgb_format,
    open_reader,
    raw_frame_bytes,
)
from restore.media.ffmpeg import ffmpeg_exe
from restore.media.probe import probe
from restore.media.scan import scan_video

WIDTH, HEIGHT, COUNT = 48, 32, 12


def encode_raw(frames: np.ndarray, path: Path, in_pix: str, *codec: str) -> Path:
    """Pipe (N,H,W,3) RGB frames (uint8 as rgb24, uint16 as rgb48le) through FFmpeg into ``path``."""
    height, width = frames.shape[1:3]
    command = [
        ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", in_pix, "-s", f"{width}x{height}", "-framerate", "24", "-i", "pipe:",
        *codec, str(path),
    ]  # fmt: skip
    subprocess.run(command, input=np.ascontiguousarray(frames).tobytes(), check=True)
    return path


def read(path: Path, native: bool = False, first_frame: int = 0) -> list[np.ndarray]:
    """Every frame from ``first_frame`` on, read the way a job reads its source."""
    with open_reader(path, probe(path), scan_video(path), native=native, first_frame=first_frame) as reader:
        return list(reader)


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    """(N,H,W,3) uint16 frames, every one different; the 8-bit clip uses their top bytes."""
    return np.random.default_rng(5).integers(0, 65536, (COUNT, HEIGHT, WIDTH, 3), dtype=np.uint16)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("decode")


def test_public_names():
    assert set(decode.__all__) == {
        "FrameReader",
        "PASSTHROUGH_FORMATS",
        "input_color_matrix",
        "is_rgb_format",
        "open_reader",
        "raw_frame_bytes",
    }


def test_eight_bit_rgb_comes_back_exactly(pixels, folder):
    frames = (pixels >> 8).astype(np.uint8)
    path = encode_raw(frames, folder / "rgb8.mkv", "rgb24", "-c:v", "ffv1", "-pix_fmt", "gbrp")
    decoded = read(path)
    assert len(decoded) == COUNT
    assert all(frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8 for frame in decoded)
    np.testing.assert_array_equal(np.stack(decoded), frames)


def test_sixteen_bit_rgb_comes_back_exactly_as_uint16(pixels, folder):
    path = encode_raw(pixels, folder / "rgb16.mkv", "rgb48le", "-c:v", "ffv1", "-pix_fmt", "gbrp16le")
    assert probe(path).bit_depth == 16
    decoded = read(path)
    assert all(frame.dtype == np.uint16 for frame in decoded)
    np.testing.assert_array_equal(np.stack(decoded), pixels)


@pytest.fixture(scope="module")
def h264_clip(pixels, folder) -> Path:
    """8-bit frames as H.264 with B-frames and a keyframe every 5 frames (a seek must decode from one)."""
    frames = (pixels >> 8).astype(np.uint8)
    return encode_raw(
        frames, folder / "gop.mp4", "rgb24",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-bf", "2", "-pix_fmt", "yuv420p",
    )  # fmt: skip


@pytest.mark.parametrize("first", [1, 4, 7, 11])
def test_first_frame_starts_exactly_there(h264_clip, first):
    everything = read(h264_clip)
    assert len(everything) == COUNT
    from_first = read(h264_clip, first_frame=first)
    assert len(from_first) == COUNT - first
    np.testing.assert_array_equal(np.stack(from_first), np.stack(everything[first:]))


def test_yuv_is_converted_with_the_source_matrix(folder):
    # A flat colour stored as BT.709 limited-range YUV, tagged so: RGB (0, 200, 0) within rounding.
    green = folder / "green.mkv"
    command = [
        ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x00C800:s=32x720:d=0.2",
        "-vf", "scale=out_color_matrix=bt709:out_range=tv", "-c:v", "ffv1", "-pix_fmt", "yuv444p",
        "-colorspace", "bt709", "-color_range", "tv", str(green),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    frame = read(green)[0].astype(int)
    assert np.abs(frame - [0, 200, 0]).max() <= 2
    with FrameReader(green, 32, 720, color_matrix="bt601", full_range=False) as reader:
        wrong = list(reader)[0].astype(int)
    assert np.abs(wrong - [0, 200, 0]).max() > 10  # the matrix matters: the test can tell


@pytest.mark.parametrize(
    ("space", "height", "matrix"),
    [
        ("bt709", 480, "bt709"),
        ("bt470bg", 1080, "bt601"),
        ("smpte170m", 480, "bt601"),
        ("bt2020nc", 2160, "bt2020"),
        (None, 720, "bt709"),  # untagged HD
        (None, 576, "bt601"),  # untagged SD
        ("unknown", 1080, "bt709"),
    ],
)
def test_input_color_matrix(space, height, matrix):
    assert input_color_matrix(space, height) == matrix


@pytest.mark.parametrize(
    ("pix_fmt", "rgb"),
    [("gbrp", True), ("rgb24", True), ("gray16le", True), ("pal8", True), ("bgra", True)]
    + [("yuv420p", False), ("yuvj422p", False), ("nv12", False), ("yuv444p10le", False)],
)
def test_is_rgb_format(pix_fmt, rgb):
    assert is_rgb_format(pix_fmt) is rgb


def test_raw_frame_bytes_of_the_passthrough_formats():
    assert raw_frame_bytes("yuv420p", 48, 32) == 48 * 32 + 2 * 24 * 16
    assert raw_frame_bytes("yuv420p", 33, 17) == 33 * 17 + 2 * 17 * 9  # chroma rounds up
    assert raw_frame_bytes("yuv422p", 33, 17) == 33 * 17 + 2 * 17 * 17
    assert raw_frame_bytes("yuv444p10le", 33, 17) == 2 * 3 * 33 * 17
    assert set(PASSTHROUGH_FORMATS) == {
        "yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le",
    }  # fmt: skip


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p10le"])
def test_native_frames_are_the_stored_planes_untouched(pixels, folder, pix_fmt):
    height, width = 17, 33  # odd: chroma planes round up
    frames = (pixels[:4, :height, :width] >> 8).astype(np.uint8)
    path = encode_raw(frames, folder / f"{pix_fmt}.mkv", "rgb24", "-c:v", "ffv1", "-pix_fmt", pix_fmt)
    native = read(path, native=True)
    expected_bytes = raw_frame_bytes(pix_fmt, width, height)
    assert len(native) == 4
    assert all(frame.shape == (expected_bytes,) and frame.dtype == np.uint8 for frame in native)
    command = [
        ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-f",
        "rawvideo",
        "-pix_fmt",
        pix_fmt,
    ]
    planes = subprocess.run([*command, "pipe:"], capture_output=True, check=True).stdout
    assert b"".join(frame.tobytes() for frame in native) == planes
    later = read(path, native=True, first_frame=2)
    assert [frame.tobytes() for frame in later] == [frame.tobytes() for frame in native[2:]]


def test_a_reader_must_be_entered_and_can_stop_early(clip_factory):
    # 48 frames of 160x96: more than a pipe holds, so closing early must stop FFmpeg, not wait for it
    path = clip_factory("early.mp4", audio=False)
    reader = FrameReader(path, 160, 96, prefetch=1)
    with pytest.raises(RuntimeError, match="context manager"):
        next(iter(reader))
    with reader:
        first = next(iter(reader))
    assert first.shape == (96, 160, 3) and first.dtype == np.uint8


@pytest.mark.parametrize("first", [1, 5])
def test_a_filtered_source_starts_exactly_at_its_first_frame(h264_clip, first):
    """With a source filter (field analysis) a segment starts by frame count, not by seeking."""
    media = probe(h264_clip)
    timeline = scan_video(h264_clip, media=media, source_filter="bwdif=mode=send_field:parity=tff:deint=all")
    with open_reader(h264_clip, media, timeline) as reader:
        everything = list(reader)
    assert len(everything) == 2 * COUNT == timeline.frame_count
    with open_reader(h264_clip, media, timeline, first_frame=first) as reader:
        later = list(reader)
    np.testing.assert_array_equal(np.stack(later), np.stack(everything[first:]))


def test_an_image_sequence_with_a_gap_seeks_by_file(pixels, folder):
    """Frames of a sequence are found by their place in the file list, whatever their numbers."""
    from restore.media.sequence import open_sequence

    scans = folder / "scans"
    scans.mkdir()
    frames = (pixels[:6] >> 8).astype(np.uint8)
    encode_raw(frames, scans / "s_%03d.png", "rgb24", "-start_number", "10")
    (scans / "s_012.png").unlink()
    media = open_sequence(scans, allow_gaps=True)
    timeline = scan_video(scans, media=media)
    np.testing.assert_allclose(timeline.timestamps * 24, [0, 1, 3, 4, 5])
    kept = np.stack([frames[i] for i in (0, 1, 3, 4, 5)])
    with open_reader(scans, media, timeline) as reader:
        np.testing.assert_array_equal(np.stack(list(reader)), kept)
    with open_reader(scans, media, timeline, first_frame=2) as reader:
        np.testing.assert_array_equal(np.stack(list(reader)), kept[2:])
