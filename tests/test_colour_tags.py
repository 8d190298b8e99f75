"""Colour tags (``restore.media.colour_tags``): the policy, and all four tags read back from every codec."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from restore.media.colour_tags import output_color
from restore.media.encode import FrameWriter
from restore.media.ffmpeg import run_ffmpeg
from restore.media.probe import probe


def tags(color):
    return color.primaries, color.transfer, color.space, color.range


@pytest.mark.parametrize(
    ("source", "out_height", "source_height", "expected"),
    [
        ((None, None, None), 1080, 1080, ("bt709", "bt709", "bt709", "tv")),  # untagged HD
        ((None, None, None), 480, 480, ("smpte170m", "smpte170m", "smpte170m", "tv")),  # NTSC SD
        ((None, None, None), 576, 576, ("bt470bg", "bt709", "bt470bg", "tv")),  # PAL SD
        ((None, None, None), 1080, 480, ("bt709", "bt709", "bt709", "tv")),  # SD made HD, untagged
        # a source with full tags keeps them in its size class
        (("bt709", "bt709", "bt709"), 480, 480, ("bt709", "bt709", "bt709", "tv")),
        (("smpte170m", "smpte170m", "smpte170m"), 480, 240, ("smpte170m", "smpte170m", "smpte170m", "tv")),
        # SD made HD: the matrix becomes BT.709 (the conversion done), primaries and curve stay
        (("smpte170m", "smpte170m", "smpte170m"), 1080, 480, ("smpte170m", "smpte170m", "bt709", "tv")),
        (("bt2020nc", "bt2020", "smpte2084"), 480, 2160, ("bt2020", "smpte2084", "bt2020nc", "tv")),
        # only the matrix tagged (bedroom.mp4 is bt470bg/unknown/unknown at 540 lines): PAL by its tag
        (("bt470bg", None, None), 540, 540, ("bt470bg", "bt709", "bt470bg", "tv")),
    ],
)
def test_the_tags_follow_the_source_and_the_size(source, out_height, source_height, expected):
    space, primaries, transfer = source
    color = output_color(space, primaries, out_height, source_transfer=transfer, source_height=source_height)
    assert tags(color) == expected


def test_the_summary_says_which_tags_were_defaulted():
    assert (
        output_color(None, None, 480).note
        == "primaries, transfer, matrix untagged in the source: NTSC SD defaults"
    )
    full = output_color("bt709", "bt709", 1080, source_transfer="bt709", source_height=1080)
    assert full.note == "as tagged in the source"
    made_hd = output_color("smpte170m", "smpte170m", 1080, source_transfer="smpte170m", source_height=480)
    assert made_hd.note == "converted from the source's smpte170m matrix"
    assert (
        made_hd.describe()
        == "colour: smpte170m/smpte170m/bt709 tv (converted from the source's smpte170m matrix)"
    )


def test_pal_or_ntsc_for_other_sd_sizes_from_the_tags_then_the_rate():
    assert output_color(None, None, 90, rate=Fraction(25)).primaries == "bt470bg"
    assert output_color(None, None, 90, rate=Fraction(24)).primaries == "smpte170m"
    assert output_color(None, "bt470bg", 90).primaries == "bt470bg"


def test_rgb_is_tagged_as_rgb_with_the_source_primaries_and_curve():
    color = output_color(
        "smpte170m", "smpte170m", 1080, source_transfer="smpte170m", source_height=480, rgb=True
    )
    assert tags(color) == ("smpte170m", "smpte170m", "gbr", "pc")
    assert tags(output_color(None, None, 1080, rgb=True)) == ("bt709", "bt709", "gbr", "pc")


def _read_back(path):
    """(primaries, transfer, matrix, range) as FFmpeg's own report (``ffmpeg -i``) gives them."""
    media = probe(path)
    report = run_ffmpeg(["-i", str(path)]).stderr
    assert "unknown" not in next(line for line in report.splitlines() if "Video:" in line)
    return media.color_primaries, media.color_transfer, media.color_space, media.color_range


@pytest.mark.parametrize(
    ("codec", "suffix"),
    [("h264", ".mp4"), ("h265", ".mp4"), ("prores", ".mov"), ("ffv1", ".mkv"), ("h264", ".mkv")],
)
@pytest.mark.parametrize("height", [720, 480, 576])
def test_all_four_tags_are_written_and_read_back(tmp_path, codec, suffix, height):
    rgb = codec == "ffv1"
    color = output_color(None, None, height, rgb=rgb)
    output = tmp_path / f"out{suffix}"
    picture = np.full((height, 32, 3), (40, 120, 200), np.uint8)
    with FrameWriter(output, 32, height, Fraction(25), codec=codec, color=color) as writer:
        writer.write(picture)
    assert _read_back(output) == tags(color)
    expected = {720: "bt709", 480: "smpte170m", 576: "bt470bg"}[height]
    assert color.primaries == expected and color.space == ("gbr" if rgb else expected)
