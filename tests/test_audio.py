"""Audio tracks (``restore.media.audio``): copied where the container holds them, else re-encoded
losslessly (PCM in MOV, FLAC in MKV), AAC only in MP4."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from restore.media.audio import audio_arguments, plan_audio, sample_depth
from restore.media.encode import FrameWriter
from restore.media.probe import StreamInfo, probe
from tests.conftest import decode_audio, ffmpeg, shared_file


def stream(index, codec, sample_format):
    return StreamInfo(index, "audio", codec, None, f"{codec}, 48000 Hz, stereo, {sample_format}, 1536 kb/s")


PCM24 = stream(1, "pcm_s24le", "s32 (24 bit)")
PCM16 = stream(2, "pcm_s16le", "s16")
FLAC24 = stream(1, "flac", "s32 (24 bit)")
OPUS = stream(1, "opus", "fltp")
VORBIS16 = stream(3, "vorbis", "s16p")


def test_sample_depth_from_the_stream_line():
    assert [sample_depth(s) for s in (PCM24, PCM16, OPUS)] == ["24", "16", "float"]
    assert sample_depth(stream(1, "pcm_s32le", "s32")) == "32"


@pytest.mark.parametrize(
    ("container", "track", "encoder"),
    [
        ("mov", PCM24, "copy"),  # the ProRes master keeps its PCM
        ("matroska", PCM24, "copy"),  # so does the FFV1 one
        ("matroska", OPUS, "copy"),
        ("mov", FLAC24, "pcm_s24le"),  # MOV cannot hold FLAC: PCM at the same depth
        ("mov", OPUS, "pcm_f32le"),  # decoded floats kept exactly
        ("mov", VORBIS16, "pcm_s16le"),
        ("mp4", PCM24, "aac"),  # delivery: AAC, the one lossy choice
        ("mp4", FLAC24, "copy"),
        ("mp4", OPUS, "copy"),
        ("avi", OPUS, "pcm_f32le"),
    ],
)
def test_each_track_is_copied_or_re_encoded_for_the_container(container, track, encoder):
    (planned,) = plan_audio(container, [track])
    assert planned.encoder == encoder and planned.index == track.index


def test_the_arguments_and_the_summary_lines():
    tracks = plan_audio("mov", [PCM24, VORBIS16])
    assert audio_arguments(tracks) == ["-map", "1:1", "-c:a:0", "copy", "-map", "1:3", "-c:a:1", "pcm_s16le"]
    assert [t.describe("mov") for t in tracks] == [
        "audio #1 pcm_s24le: copied",
        "audio #3 vorbis: re-encoded to pcm_s16le (MOV cannot hold vorbis)",
    ]
    (aac,) = plan_audio("mp4", [PCM16])
    assert audio_arguments([aac]) == ["-map", "1:2", "-c:a:0", "aac", "-b:a:0", "320k"]


def test_a_track_mov_cannot_hold_is_re_encoded_losslessly(tmp_path):
    # bigbuckbunny's 5.1 AAC, 0.5 s, as FLAC 24-bit in MKV: MOV cannot hold FLAC
    source = tmp_path / "source.mkv"
    ffmpeg(
        "-i", str(shared_file("video", "bigbuckbunny.mp4")), "-t", "0.5", "-map", "0:v", "-map", "0:a",
        "-vf", "scale=64:36", "-c:v", "ffv1", "-c:a", "flac", "-sample_fmt", "s32", "-ac", "2", str(source),
    )  # fmt: skip
    media = probe(source)
    assert [s.codec for s in media.audio] == ["flac"]
    output = tmp_path / "out.mov"
    with FrameWriter(
        output, 64, 36, Fraction(25), codec="prores", source=source, audio=media.audio
    ) as writer:
        for _ in range(12):
            writer.write(np.zeros((36, 64, 3), np.uint8))
    (track,) = probe(output).audio
    assert track.codec == "pcm_s24le" and "(24 bit)" in track.details
    before, after = decode_audio(source), decode_audio(output)
    assert before.size > 40000 and np.array_equal(before, after)  # every sample, bit for bit
