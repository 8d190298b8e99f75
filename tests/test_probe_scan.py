"""Probe and analysis pass: streams, pixel formats, rotation, timestamps."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from restore.media.decode import open_reader
from restore.media.probe import bit_depth_of, probe, split_top_level
from restore.media.scan import scan_video, snap_to_frame_grid
from tests.conftest import ffmpeg, shared_file


def test_split_top_level_keeps_parentheses():
    text = "h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1280x720 [SAR 1:1 DAR 16:9]"
    assert split_top_level(text) == [
        "h264 (High) (avc1 / 0x31637661)",
        "yuv420p(tv, bt709, progressive)",
        "1280x720 [SAR 1:1 DAR 16:9]",
    ]


@pytest.mark.parametrize(
    ("pix_fmt", "bits"),
    [("yuv420p", 8), ("yuv420p10le", 10), ("yuv444p12le", 12), ("rgb48le", 16), ("p010le", 10), ("gray", 8)],
)
def test_bit_depth_of(pix_fmt, bits):
    assert bit_depth_of(pix_fmt) == bits


def test_probe_real_clip_with_51_audio():
    info = probe(shared_file("video", "bigbuckbunny.mp4"))
    assert (info.coded_width, info.coded_height) == (1280, 720)
    assert info.bit_depth == 8 and len(info.audio) == 1 and "5.1" in info.audio[0].details
    assert info.container_duration == pytest.approx(5.31, abs=0.01)


def test_probe_reads_colour_tags_and_sample_aspect():
    bedroom = probe(shared_file("video", "bedroom.mp4"))
    assert bedroom.color_space == "bt470bg" and bedroom.color_range == "tv"
    carphone = probe(shared_file("video", "carphone.mp4"))
    assert carphone.sample_aspect == (128, 117)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p", "yuv444p", "gray", "yuv420p10le", "yuv422p10le"])
def test_every_pixel_format_decodes(clip_factory, pix_fmt):
    codec = ("-c:v", "ffv1") if pix_fmt == "gray" else ("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0")
    clip = clip_factory(f"fmt_{pix_fmt}.mkv", seconds=0.5, audio=False, pix_fmt=pix_fmt, codec=codec)
    info, timeline = probe(clip), scan_video(clip)
    assert timeline.frame_count == 12 and timeline.pix_fmt.startswith(pix_fmt[:4])
    with open_reader(clip, info, timeline) as reader:
        frames = list(reader)
    assert len(frames) == 12
    assert frames[0].shape == (96, 160, 3)
    assert frames[0].dtype == (np.uint16 if info.bit_depth > 8 else np.uint8)
    if pix_fmt == "gray":
        assert np.array_equal(frames[0][..., 0], frames[0][..., 1])
    # the test pattern moves, and both bit depths span most of their range
    assert not np.array_equal(frames[0], frames[-1])
    assert frames[0].max() > 0.7 * np.iinfo(frames[0].dtype).max


def test_timestamps_are_exact_and_rotation_applied(clip_factory, tmp_path):
    clip = clip_factory("rot_source.mp4", rate="30000/1001", seconds=1.0, audio=False)
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-display_rotation", "-90", "-i", str(clip), "-c", "copy", str(rotated))
    assert probe(rotated).rotation in (90.0, -90.0)
    timeline = scan_video(rotated)
    assert (timeline.width, timeline.height) == (96, 160)
    np.testing.assert_allclose(np.diff(timeline.timestamps), 1001 / 30000, atol=1e-6)
    assert timeline.end_time == pytest.approx(timeline.frame_count * 1001 / 30000, abs=1e-4)


def test_snap_to_grid_fixes_millisecond_rounding_but_keeps_real_gaps():
    rounded = np.array([0.0, 0.042, 0.083, 0.125, 0.250, 0.292])  # 24 fps in 1 ms steps, one frame dropped
    snapped = snap_to_frame_grid(rounded, rate=Fraction(24))
    np.testing.assert_allclose(snapped * 24, [0, 1, 2, 3, 6, 7], atol=1e-9)
    irregular = np.array([0.0, 0.030, 0.071])
    np.testing.assert_array_equal(snap_to_frame_grid(irregular, rate=Fraction(24)), irregular)


def test_scan_memory_does_not_keep_thumbnails():
    timeline = scan_video(shared_file("video", "bikes.mp4"))
    assert timeline.frame_count == 250
    assert timeline.pair_difference.shape == (249,)
    assert timeline.pair_difference.max() > 40  # the cuts


def test_a_job_probes_its_input_once(clip_factory, tmp_path, monkeypatch):
    """Preparation goes one way: the job probes the file once and the scan uses that probe result."""
    import restore.jobs.prepare
    import restore.media.scan
    from restore.config import RestoreConfig
    from restore.jobs import prepare_job

    clip = clip_factory("probe_once.mp4", rate="24", seconds=0.5, audio=False)
    calls = []

    def counting_probe(path):
        calls.append(path)
        return probe(path)

    def no_second_probe(path):
        raise AssertionError(f"the scan probed {path} again")

    monkeypatch.setattr(restore.jobs.prepare, "probe", counting_probe)
    monkeypatch.setattr(restore.media.scan, "probe", no_second_probe)
    job = prepare_job(RestoreConfig(input=clip, output=tmp_path / "out.mp4"))
    assert calls == [clip]
    assert job.timeline.frame_count == 12 and job.media.path == probe(clip).path


def test_field_order_tags_are_read(clip_factory):
    mpeg2 = ("-c:v", "mpeg2video", "-q:v", "3", "-flags", "+ilme+ildct")
    tff = clip_factory("tff.mpg", seconds=0.5, audio=False, codec=mpeg2, video_filter="setfield=tff")
    bff = clip_factory("bff.mpg", seconds=0.5, audio=False, codec=mpeg2, video_filter="setfield=bff")
    assert probe(tff).field_order == "tff" and probe(bff).field_order == "bff"
    progressive = clip_factory("progressive.mkv", seconds=0.5, audio=False, codec=("-c:v", "ffv1"))
    assert probe(progressive).field_order == "progressive"
    # FFV1 in Matroska as FFmpeg writes interlaced frames: FieldOrder 9 / 14 ("coded first (swapped)")
    ffv1 = ("-c:v", "ffv1")
    for order in ("tff", "bff"):
        tagged = clip_factory(
            f"{order}.mkv", seconds=0.5, audio=False, codec=ffv1, video_filter=f"setfield={order}"
        )
        assert probe(tagged).field_order == order


def test_a_source_filter_gives_the_timeline_of_the_filtered_frames(clip_factory):
    """Bob deinterlacing in the scan: twice the frames at twice the rate, on the same clock."""
    clip = clip_factory("bob_source.mkv", rate="25", seconds=0.4, audio=False, codec=("-c:v", "ffv1"))
    plain = scan_video(clip)
    doubled = scan_video(clip, source_filter="bwdif=mode=send_field:parity=tff:deint=all")
    assert doubled.frame_count == 2 * plain.frame_count and doubled.frame_rate == 50
    assert doubled.source_filter.startswith("bwdif") and plain.source_filter == ""
    np.testing.assert_allclose(doubled.timestamps[::2], plain.timestamps, atol=1e-6)
    assert doubled.end_time == pytest.approx(plain.end_time, abs=1e-6)
