"""Timecodes (``restore.media.timecode``): labels, drop-frame counting, conversion to the output rate."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restore.errors import InputError
from restore.media.timecode import (
    Timecode,
    convert_timecode,
    is_drop_frame_rate,
    output_timecode,
    parse_timecode,
)

NTSC = Fraction(30000, 1001)
NTSC_FILM = Fraction(24000, 1001)


def test_a_label_counts_frames_at_the_nominal_rate():
    code = parse_timecode("01:02:03:04", Fraction(24))
    assert code.frames == ((1 * 60 + 2) * 60 + 3) * 24 + 4 == 89356
    assert code.label() == "01:02:03:04" and not code.drop_frame
    assert parse_timecode("01:02:03:04", NTSC_FILM).frames == 89356  # 23.976 counts at 24


@pytest.mark.parametrize(
    ("label", "source", "output", "expected"),
    [
        ("01:02:03:04", Fraction(24), Fraction(48), "01:02:03:08"),  # the example
        ("01:02:03:04", NTSC_FILM, Fraction(48000, 1001), "01:02:03:08"),
        ("01:02:03:04", Fraction(24), Fraction(30), "01:02:03:05"),  # 4/24 s = 5/30 s
        ("01:02:03:04", Fraction(24), Fraction(24), "01:02:03:04"),  # same rate: untouched
        ("00:00:10:12", Fraction(25), Fraction(50), "00:00:10:24"),
        ("00:00:01:00", Fraction(60), Fraction(24), "00:00:01:00"),
    ],
)
def test_conversion_keeps_the_instant_of_the_first_frame(label, source, output, expected):
    assert convert_timecode(label, source, output) == expected


def test_drop_frame_labels_skip_two_numbers_a_minute_except_each_tenth():
    # 29.97 DF: after 00:00:59;29 comes 00:01:00;02, but 00:10:00;00 exists
    before = parse_timecode("00:00:59;29", NTSC)
    assert before.drop_frame and before.frames == 59 * 30 + 29 == 1799
    assert Timecode(1800, NTSC, True).label() == "00:01:00;02"
    assert parse_timecode("00:10:00;00", NTSC).frames == 10 * 60 * 30 - 9 * 2 == 17982
    assert Timecode(17982, NTSC, True).label() == "00:10:00;00"
    # an hour of 29.97 DF is 107892 frames: the label follows the clock to within a frame
    assert parse_timecode("01:00:00;00", NTSC).frames == 107892
    assert parse_timecode("01:00:00;00", Fraction(60000, 1001)).frames == 2 * 107892  # 59.94: 4 a minute


def test_an_ntsc_output_rate_gets_a_drop_frame_label():
    # 24 fps 01:00:00:00 is 3600 s; 3600 s at 29.97 is frame 107892.1 -> 107892 = 01:00:00;00
    assert convert_timecode("01:00:00:00", Fraction(24), NTSC) == "01:00:00;00"
    assert convert_timecode("01:00:00:00", Fraction(24), Fraction(60000, 1001)) == "01:00:00;00"
    assert is_drop_frame_rate(NTSC) and not is_drop_frame_rate(Fraction(30))


@given(st.integers(0, 24 * 107892 - 1))
def test_drop_frame_labels_round_trip(frames):
    label = Timecode(frames, NTSC, True).label()
    assert parse_timecode(label, NTSC).frames == frames


@given(st.integers(0, 24 * 3600 * 24 - 1), st.sampled_from([Fraction(24), Fraction(25), NTSC_FILM]))
def test_non_drop_labels_round_trip(frames, rate):
    assert parse_timecode(Timecode(frames, rate).label(), rate).frames == frames


@pytest.mark.parametrize("label", ["1:2:3:4", "01:02:03", "01:62:03:04", "01:02:03:24", "none"])
def test_what_is_not_a_timecode_at_the_rate_is_refused(label):
    with pytest.raises(InputError, match="timecode"):
        parse_timecode(label, Fraction(24))


def test_the_summary_says_what_became_of_the_timecode():
    assert output_timecode(None, Fraction(24), Fraction(48)) == (None, None)
    assert output_timecode("01:02:03:04", Fraction(24), Fraction(24)) == (
        "01:02:03:04",
        "timecode 01:02:03:04 kept",
    )
    label, note = output_timecode("01:02:03:04", Fraction(24), Fraction(48))
    assert label == "01:02:03:08" and note == "timecode 01:02:03:04 at 24 fps → 01:02:03:08 at 48 fps"
    label, note = output_timecode("01:02:03:30", Fraction(24), Fraction(48))
    assert label is None and note is not None and "not written" in note
