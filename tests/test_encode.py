"""Streaming encode (``restore.media.encode``): codecs, containers, colour tags, the FFmpeg command,
frames written and read back, segments joined, and nothing left behind on failure."""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from restore.errors import RestoreError
from restore.media import encode
from restore.media.decode import FrameReader
from restore.media.encode import (
    CODECS,
    FrameWriter,
    check_container,
    join_segments,
    output_color,
    output_tags,
    temporary_path_for,
)
from restore.media.probe import MediaInfo, StreamInfo, probe


def test_crf_for_each_codec():
    assert encode.crf_for("h264", None) == 18 and encode.crf_for("h265", None) == 20
    assert encode.crf_for("h264", 12) == 12
    assert encode.crf_for("ffv1", 12) is None and encode.crf_for("prores", None) is None


def test_public_names():
    assert set(encode.__all__) == {
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
    }
    from restore.media import colour_tags

    assert output_color is colour_tags.output_color  # the policy lives in restore.media.colour_tags


def test_codec_table():
    assert list(CODECS) == ["h264", "h265", "prores", "ffv1"]
    h264, h265, prores, ffv1 = (CODECS[name] for name in CODECS)
    assert (h264.encoder, h264.pix_fmt, h264.default_crf, h264.even_size) == ("libx264", "yuv420p", 18, True)
    assert (h265.encoder, h265.pix_fmt, h265.default_crf) == ("libx265", "yuv420p10le", 20)
    assert (prores.encoder, prores.pix_fmt, prores.default_crf) == ("prores_ks", "yuv422p10le", None)
    assert (ffv1.encoder, ffv1.pix_fmt, ffv1.high_pix_fmt) == ("ffv1", "gbrp", "gbrp16le")
    assert ffv1.rgb and not ffv1.even_size and ffv1.default_crf is None
    assert not any(spec.rgb for spec in (h264, h265, prores))


@pytest.mark.parametrize(
    ("codec", "name"),
    [("h264", "a.mp4"), ("h264", "a.MKV"), ("h265", "a.m4v"), ("prores", "a.mov"), ("ffv1", "a.avi")],
)
def test_containers_that_hold_the_codec_are_accepted(codec, name):
    check_container(codec, Path(name))


@pytest.mark.parametrize(
    ("codec", "name", "message"),
    [
        ("ffv1", "a.mp4", "--codec ffv1 cannot be written to a .mp4 file; use .mkv, .avi"),
        ("prores", "a.mp4", "--codec prores cannot be written to a .mp4 file; use .mov, .mkv"),
        ("h264", "a", "cannot be written to a extension-less file"),
        ("h264", "a.webm", "cannot be written to a .webm file"),
        ("mpeg2", "a.mp4", "--codec must be one of h264, h265, prores, ffv1, got 'mpeg2'"),
    ],
)
def test_containers_that_cannot_are_refused_in_one_line(codec, name, message):
    with pytest.raises(RestoreError) as error:
        check_container(codec, Path(name))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_output_tags_and_the_summary_lines(tmp_path):
    media = probe_like(
        audio=(StreamInfo(1, "audio", "pcm_s24le", None, "pcm_s24le, 48000 Hz, stereo, s32 (24 bit)"),),
        timecode="01:02:03:04",
    )
    tags = output_tags("prores", tmp_path / "a.mov", media, 90, Fraction(24), Fraction(48), 90)
    assert tags.timecode == "01:02:03:08"
    assert (tags.color.primaries, tags.color.transfer, tags.color.space) == ("smpte170m",) * 3
    assert tags.notes == (
        "audio #1 pcm_s24le: copied",
        "colour: smpte170m/smpte170m/smpte170m tv (primaries, transfer, matrix untagged in the source: "
        "NTSC SD defaults)",
        "timecode 01:02:03:04 at 24 fps → 01:02:03:08 at 48 fps",
    )
    avi = output_tags("ffv1", tmp_path / "a.avi", probe_like(), 720, Fraction(25), Fraction(25), 720)
    assert avi.timecode is None and avi.notes[-1].endswith("(AVI cannot store them)")


def probe_like(**fields):
    """A MediaInfo of an untagged 160x90 video with ``fields`` changed."""
    video = StreamInfo(0, "video", "h264", None, "h264, yuv420p, 160x90")
    base = MediaInfo(Path("in.mov"), 1.0, 0.0, video, 160, 90, "yuv420p", 8, None, None, None, None, 0.0)
    return dataclasses.replace(base, **fields)


def test_the_temporary_name_is_hidden_beside_the_output_and_per_process(tmp_path):
    temporary = temporary_path_for(tmp_path / "film.mp4")
    assert temporary == tmp_path / f".film.partial-{os.getpid()}.mp4"


def _value(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def test_the_ffmpeg_command_for_h264_in_mp4(tmp_path):
    writer = FrameWriter(tmp_path / "out.mp4", 1280, 720, Fraction(24000, 1001), sample_aspect=(4, 3))
    command = writer.command
    assert _value(command, "-pix_fmt") == "rgb24" and _value(command, "-s") == "1280x720"
    assert _value(command, "-framerate") == "24000/1001" and _value(command, "-i") == "pipe:"
    assert _value(command, "-c:v") == "libx264" and _value(command, "-preset") == "medium"
    assert _value(command, "-crf") == "18"
    filters = _value(command, "-vf").split(",")
    assert filters == [
        "scale=out_color_matrix=bt709:out_range=tv:flags=lanczos+accurate_rnd+full_chroma_int",
        "format=yuv420p",
        "setsar=sar=4/3:max=65535",
        "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709",  # all four tags
    ]
    assert "-timecode" not in command
    assert _value(command, "-movflags") == "+faststart" and "-tag:v" not in command
    assert "-itsoffset" not in command and command.count("-i") == 1  # no source: no audio inputs
    assert command[-3:] == ["-f", "mp4", str(temporary_path_for(tmp_path / "out.mp4"))]
    assert not (tmp_path / "out.mp4").exists() and not os.listdir(tmp_path)  # nothing until entered


def test_the_ffmpeg_command_for_other_codecs_and_options(tmp_path):
    h265 = FrameWriter(
        tmp_path / "a.mp4", 64, 48, Fraction(25), codec="h265", crf=24, start_offset=0.5
    ).command
    assert _value(h265, "-crf") == "24" and _value(h265, "-tag:v") == "hvc1"
    assert _value(h265, "-itsoffset") == "0.500000" and h265.index("-itsoffset") < h265.index("-i")
    assert _value(h265, "-vf").endswith("colorspace=smpte170m")  # SD
    ffv1 = FrameWriter(tmp_path / "a.mkv", 33, 17, Fraction(25), codec="ffv1", high_bit_depth=True).command
    assert _value(ffv1, "-pix_fmt") == "rgb48le" and "-crf" not in ffv1
    assert _value(ffv1, "-vf") == (  # RGB in, RGB out: no matrix, tagged RGB
        "format=gbrp16le,setsar=sar=1/1:max=65535,"
        "setparams=range=pc:color_primaries=smpte170m:color_trc=smpte170m:colorspace=gbr"
    )
    assert "-movflags" not in ffv1
    assert ffv1[-3:-1] == ["-f", "matroska"]
    prores = FrameWriter(tmp_path / "a.mov", 33, 17, Fraction(25), codec="prores").command
    pad, smear = _value(prores, "-vf").split(",")[:2]
    assert pad == "pad=34:18:0:0" and smear == "fillborders=right=1:bottom=1:mode=smear"  # 4:2:2 is even
    assert "-crf" not in prores and _value(prores, "-profile:v") == "3"
    timed = FrameWriter(
        tmp_path / "a.mov", 32, 18, Fraction(48), codec="prores", timecode="01:02:03:08"
    ).command
    assert _value(timed, "-timecode") == "01:02:03:08" and timed.index("-timecode") > timed.index("-c:v")


def test_a_bad_codec_or_container_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(RestoreError, match="--codec ffv1 cannot be written to a .mp4"):
        FrameWriter(tmp_path / "a.mp4", 64, 48, Fraction(25), codec="ffv1")
    assert not os.listdir(tmp_path)


def _read_back(path: Path, width: int, height: int, high_bit_depth: bool = False) -> np.ndarray:
    reader = FrameReader(
        path, width, height, high_bit_depth=high_bit_depth, color_matrix=None, full_range=None
    )
    with reader:
        return np.stack(list(reader))


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """(5,17,33,3) uint16 random RGB (odd sizes); the 8-bit tests use the top bytes."""
    return np.random.default_rng(2).integers(0, 65536, (5, 17, 33, 3), dtype=np.uint16)


def test_ffv1_frames_come_back_exactly_at_8_bits(tmp_path, frames):
    eight = (frames >> 8).astype(np.uint8)
    output = tmp_path / "out.mkv"
    with FrameWriter(output, 33, 17, Fraction(24), codec="ffv1") as writer:
        for frame in eight:
            writer.write(frame)
        assert not output.exists()  # written under the hidden name (the command's last argument)
    assert writer.frames_written == 5
    assert os.listdir(tmp_path) == ["out.mkv"]
    np.testing.assert_array_equal(_read_back(output, 33, 17), eight)


def test_ffv1_frames_come_back_exactly_at_16_bits(tmp_path, frames):
    output = tmp_path / "out.mkv"
    with FrameWriter(output, 33, 17, Fraction(24), codec="ffv1", high_bit_depth=True) as writer:
        for frame in frames:
            writer.write(frame)
    np.testing.assert_array_equal(_read_back(output, 33, 17, high_bit_depth=True), frames)


@pytest.mark.parametrize(
    ("height", "space", "tags"),
    [(720, "bt709", ("bt709", "bt709")), (576, "bt470bg", ("bt470bg", "bt709")), (480, "smpte170m", None)],
)
def test_h264_is_tagged_and_keeps_the_size_and_sample_aspect(tmp_path, height, space, tags):
    # all four tags, read back (tests/test_colour_tags.py does every codec)
    output = tmp_path / "out.mp4"
    picture = np.full((height, 34, 3), (40, 120, 200), np.uint8)
    with FrameWriter(output, 34, height, Fraction(30000, 1001), sample_aspect=(128, 117)) as writer:
        for _ in range(3):
            writer.write(picture)
    media = probe(output)
    assert (media.coded_width, media.coded_height, media.pix_fmt) == (34, height, "yuv420p")
    assert media.sample_aspect == (128, 117)
    assert media.color_space == space and media.color_range == "tv"
    assert (media.color_primaries, media.color_transfer) == (tags or (space, space))
    matrix = "bt709" if height >= 720 else "bt601"
    back = FrameReader(output, 34, height, color_matrix=matrix, full_range=False)
    with back:
        decoded = np.stack(list(back)).astype(int)
    assert decoded.shape == (3, height, 34, 3) and np.abs(decoded - (40, 120, 200)).max() <= 3


def test_odd_sizes_are_padded_for_4_2_0_and_the_picture_kept(tmp_path):
    output = tmp_path / "odd.mkv"
    picture = np.zeros((17, 33, 3), np.uint8)
    picture[:, -1] = 255  # the last column and row are white: the padding repeats them
    picture[-1] = 255
    with FrameWriter(output, 33, 17, Fraction(25), crf=0) as writer:
        writer.write(picture)
    media = probe(output)
    assert (media.coded_width, media.coded_height) == (34, 18)
    decoded = _read_back(output, 34, 18)[0].astype(int)
    assert np.abs(decoded[:17, :33] - picture).max() <= 8
    assert decoded[:, 33].min() >= 240 and decoded[17].min() >= 240  # smeared, not black


def test_frames_of_the_wrong_shape_or_type_are_refused(tmp_path):
    with FrameWriter(tmp_path / "out.mkv", 33, 17, Fraction(25), codec="ffv1") as writer:
        with pytest.raises(ValueError, match=r"frame: expected \(17, 33, 3\) uint8"):
            writer.write(np.zeros((17, 32, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8, got"):
            writer.write(np.zeros((17, 33, 3), np.uint16))
        writer.write(np.zeros((17, 33, 3), np.uint8))
    assert writer.frames_written == 1


def test_an_exception_in_the_block_leaves_nothing_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with FrameWriter(tmp_path / "out.mkv", 33, 17, Fraction(25), codec="ffv1") as writer:
            writer.write(np.zeros((17, 33, 3), np.uint8))
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_an_encoder_failure_is_a_user_error_and_leaves_nothing_behind(tmp_path):
    writer = FrameWriter(tmp_path / "out.mkv", 33, 17, Fraction(25), codec="ffv1")
    writer.command[writer.command.index("ffv1")] = "no_such_encoder"  # FFmpeg refuses to start encoding
    # FFmpeg's last word arrives at a write or at the end, whichever comes first
    with pytest.raises(RestoreError, match=r"^(the encoder stopped|encoding out.mkv failed): ") as error:
        with writer:
            for _ in range(50):
                writer.write(np.zeros((17, 33, 3), np.uint8))
    assert "Encoder not found" in str(error.value) and "\n" not in str(error.value)
    assert os.listdir(tmp_path) == []


def test_segments_are_joined_without_re_encoding(tmp_path, frames):
    eight = (frames >> 8).astype(np.uint8)
    parts = []
    for index, chunk in enumerate((eight[:2], eight[2:])):
        part = tmp_path / f"segment_{index}.mkv"
        with FrameWriter(part, 33, 17, Fraction(24), codec="ffv1") as writer:
            for frame in chunk:
                writer.write(frame)
        parts.append(part)
    output = tmp_path / "joined.mkv"
    join_segments(parts, output, "ffv1")
    np.testing.assert_array_equal(_read_back(output, 33, 17), eight)
    assert sorted(os.listdir(tmp_path)) == ["joined.mkv", "segment_0.mkv", "segment_1.mkv"]  # no list left


def test_a_failed_join_is_a_user_error_and_leaves_nothing_behind(tmp_path):
    broken = tmp_path / "segment_0.mkv"
    broken.write_bytes(b"not a video")
    with pytest.raises(RestoreError, match="joining the segments of joined.mkv failed"):
        join_segments([broken], tmp_path / "joined.mkv", "ffv1")
    assert os.listdir(tmp_path) == ["segment_0.mkv"]


def _dead_pid() -> int:
    """The id of a process that has just ended (not reused within the test, in practice)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_work_files_of_dead_processes_go_when_the_output_is_made_again(tmp_path):
    from restore.media.litter import partial_path_for, remove_stale_work_files

    dead = _dead_pid()
    output = tmp_path / "out.mkv"
    stale = [partial_path_for(output, dead), tmp_path / f".out.mkv.segments-{dead}.txt"]
    kept = [
        partial_path_for(output, 1),  # a live process's
        partial_path_for(tmp_path / "other.mkv", dead),  # another output's
        tmp_path / f".out.partial-{dead}.mp4",  # another container's
        tmp_path / f"out.partial-{dead}.mkv",  # not hidden: not ours
        tmp_path / "notes.txt",
    ]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert remove_stale_work_files(tmp_path / "unrelated.mkv") == []
    with FrameWriter(output, 33, 17, Fraction(25), codec="ffv1") as writer:
        writer.write(np.zeros((17, 33, 3), np.uint8))
    assert sorted(os.listdir(tmp_path)) == sorted(["out.mkv", *(p.name for p in kept)])


def test_x264_lookahead_is_shortened_above_1080p(tmp_path):
    """At 4K x264 holds 10 frames ahead instead of medium's 40 (0.95 GiB instead of 1.7)."""
    uhd = FrameWriter(tmp_path / "a.mp4", 3840, 2160, Fraction(60), frame_size=(1280, 720)).command
    assert uhd[uhd.index("-x264-params") + 1] == "rc-lookahead=10"
    assert "-x264-params" not in FrameWriter(tmp_path / "b.mp4", 1920, 1080, Fraction(60)).command
    prores = FrameWriter(tmp_path / "c.mov", 3840, 2160, Fraction(60), codec="prores").command
    assert "-x264-params" not in prores
