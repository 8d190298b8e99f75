"""Output geometry (``restore.plan.geometry``): ``--scale``, ``--size`` with ``--fit``, sample aspect."""

from __future__ import annotations

import pytest

from restore.plan import geometry
from restore.plan.geometry import MAX_SCALE, OutputGeometry, parse_size, plan_geometry


def test_public_names():
    assert set(geometry.__all__) == {"OutputGeometry", "parse_size", "plan_geometry", "MAX_SCALE"}


def test_no_option_keeps_the_picture_and_its_sample_aspect():
    plan = plan_geometry((720, 576), sample_aspect=(16, 15))
    assert plan == OutputGeometry(inner=(720, 576), canvas=(720, 576), offset=(0, 0), sample_aspect=(16, 15))
    assert not plan.resizes


@pytest.mark.parametrize(
    ("source", "scale", "inner"),
    [
        ((160, 96), 2, (320, 192)),
        ((160, 96), 4.0, (640, 384)),
        ((101, 75), 1.5, (152, 112)),  # 151.5 -> 152 and 112.5 -> 112: round half to even, per axis
        ((101, 75), 1, (101, 75)),  # odd sizes are kept: the encoder pads 4:2:0 outputs, not the plan
        ((3, 2), 0.1, (1, 1)),  # never below one pixel
        ((10, 10), MAX_SCALE, (160, 160)),  # the limit itself is allowed
    ],
)
def test_scale_multiplies_both_sides_and_keeps_the_sample_aspect(source, scale, inner):
    plan = plan_geometry(source, scale=scale, sample_aspect=(8, 9))
    assert plan.inner == plan.canvas == inner
    assert plan.offset == (0, 0)
    assert plan.sample_aspect == (8, 9)  # the same non-square pixels, just more of them
    assert not plan.resizes  # ``resizes``: the picture does not exactly fill the canvas (pad or crop)


def test_size_pad_fits_inside_and_centres_with_black_bars():
    pillarbox = plan_geometry((640, 480), size=(1920, 1080), fit="pad")
    assert pillarbox.inner == (1440, 1080) and pillarbox.canvas == (1920, 1080)
    assert pillarbox.offset == (240, 0) and pillarbox.resizes
    letterbox = plan_geometry((1920, 800), size=(1280, 720))
    assert letterbox.inner == (1280, 533) and letterbox.offset == (0, 93)  # (720 - 533) // 2
    exact = plan_geometry((640, 360), size=(1280, 720))
    assert exact.inner == exact.canvas == (1280, 720) and exact.offset == (0, 0) and not exact.resizes


def test_size_crop_fills_the_canvas_and_cuts_the_overhang_evenly():
    crop = plan_geometry((640, 480), size=(1920, 1080), fit="crop")
    assert crop.inner == (1920, 1440) and crop.canvas == (1920, 1080)
    assert crop.offset == (0, -180) and crop.resizes  # negative: the picture starts above the canvas
    wide = plan_geometry((1920, 800), size=(1280, 720), fit="crop")
    assert wide.inner == (1728, 720) and wide.offset == (-224, 0)


def test_size_works_on_display_shape_and_gives_square_pixels():
    # PAL 4:3 DVD: 720x576 stored, 16:15 pixels, so it shows 768x576.
    pad = plan_geometry((720, 576), size=(1024, 576), sample_aspect=(16, 15))
    assert pad.inner == (768, 576) and pad.offset == (128, 0) and pad.sample_aspect == (1, 1)
    # Anamorphic 16:9 PAL (64:45 pixels) shows 1024x576: it fills a 1024x576 canvas exactly.
    anamorphic = plan_geometry((720, 576), size=(1024, 576), fit="crop", sample_aspect=(64, 45))
    assert anamorphic.inner == anamorphic.canvas == (1024, 576) and anamorphic.offset == (0, 0)
    assert anamorphic.sample_aspect == (1, 1) and not anamorphic.resizes  # fills the canvas


def test_odd_canvas_keeps_its_size_and_rounds_the_offset_down():
    plan = plan_geometry((100, 100), size=(301, 201))
    assert plan.canvas == (301, 201) and plan.inner == (201, 201) and plan.offset == (50, 0)


@pytest.mark.parametrize("scale", [0, -2, MAX_SCALE + 0.5, 100])
def test_scale_out_of_range_is_refused(scale):
    with pytest.raises(ValueError, match="--scale"):
        plan_geometry((160, 96), scale=scale)


def test_scale_and_size_together_and_unknown_fit_are_refused():
    with pytest.raises(ValueError, match="--scale and --size"):
        plan_geometry((160, 96), scale=2, size=(640, 480))
    with pytest.raises(ValueError, match="--fit"):
        plan_geometry((160, 96), size=(640, 480), fit="stretch")


@pytest.mark.parametrize(
    ("text", "size"),
    [("3840x2160", (3840, 2160)), (" 640 X 480 ", (640, 480)), ("720:576", (720, 576)), ("1x1", (1, 1))],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["big", "640", "640x", "0x480", "640x0", "-640x480", "1.5x2", "640x480x3"])
def test_parse_size_refuses_what_is_not_a_size(text):
    with pytest.raises(ValueError, match="--size must look like 3840x2160"):
        parse_size(text)


def test_parse_size_refuses_more_than_16384_pixels_a_side():
    assert parse_size("16384x16384") == (16384, 16384)
    with pytest.raises(ValueError, match="larger than 16384"):
        parse_size("16385x1080")
