"""Image sequences in and out (``restore.media.sequence``, ``restore.media.sequence_out``).

Scan-like sequences are cut once for the module from the real ``bikes.mp4``: 16-bit TIFF, 10-bit DPX
and 8-bit PNG, numbered from 101. Bad inputs must be refused in one line with exit 2, writing nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from restore.errors import InputError
from restore.evaluation.cleanup import psnr
from restore.media.decode import open_reader
from restore.media.probe import probe
from restore.media.scan import scan_video
from restore.media.sequence import open_sequence, read_header
from tests.conftest import decode_all, ffmpeg, main_in_process, shared_file


def said(*texts: str) -> str:
    """What the command printed, as one line (the console wraps long lines)."""
    return " ".join(" ".join(texts).split())


COUNT, START = 8, 101


def cut_sequence(folder: Path, name: str, pix_fmt: str, count: int = COUNT, size: str = "128:96") -> Path:
    """``count`` frames of bikes.mp4 as ``folder/name`` (a printf pattern) from frame number START."""
    folder.mkdir(parents=True, exist_ok=True)
    ffmpeg("-i", str(shared_file("video", "bikes.mp4")), "-frames:v", str(count), "-vf", f"scale={size}",
           "-pix_fmt", pix_fmt, "-start_number", str(START), str(folder / name))  # fmt: skip
    return folder / name


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sequences")


@pytest.fixture(scope="module")
def tiff16(root) -> Path:
    return cut_sequence(root / "tiff16", "frame_%04d.tif", "rgb48le")


@pytest.fixture(scope="module")
def dpx10(root) -> Path:
    return cut_sequence(root / "dpx10", "scan_%06d.dpx", "gbrp10le")


@pytest.fixture(scope="module")
def png8(root) -> Path:
    return cut_sequence(root / "png8", "f%d.png", "rgb24")


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def test_sixteen_bit_tiff_round_trip_is_exact(tiff16, root):
    out = root / "tiff_out"
    out.mkdir()
    code, stdout, stderr = main_in_process([tiff16, "--input-fps", "24", "-o", out / "f_%04d.tif"])
    assert code == 0, stderr
    assert "image sequence: 8 frames frame_0101.tif … frame_0108.tif at 24 fps (--input-fps)" in said(
        stdout, stderr
    )
    written = sorted(out.iterdir())
    assert [p.name for p in written] == [f"f_{n:04d}.tif" for n in range(1, COUNT + 1)]
    sources = sorted(tiff16.parent.glob("frame_*.tif"))
    for source, result in zip(sources, written, strict=True):
        assert read_header(result)[2] == 16
        a, b = read_rgb(source), read_rgb(result)
        assert a.dtype == b.dtype == np.uint16
        assert int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max()) <= 1


def test_ten_bit_dpx_to_prores(dpx10, root):
    media = open_sequence(dpx10)
    assert media.bit_depth == 10 and media.numbers[0] == START and not media.rate_given
    out = root / "scan.mov"
    code, stdout, stderr = main_in_process([dpx10, "-o", out, "--codec", "prores"])
    assert code == 0, stderr
    assert "at 24 fps (default; set it with --input-fps)" in said(stdout, stderr)
    timeline = scan_video(out)
    assert timeline.frame_count == COUNT and timeline.frame_rate == 24
    assert probe(out).pix_fmt == "yuv422p10le"


def test_folder_and_glob_inputs_read_the_same_frames(png8, root):
    folder_out, glob_out = root / "png_folder.mkv", root / "png_glob.mkv"
    for source, out in ((png8.parent, folder_out), (png8.parent / "f*.png", glob_out)):
        code, _, stderr = main_in_process([source, "-o", out, "--codec", "ffv1", "--input-fps", "12"])
        assert code == 0, stderr
    first, second = decode_all(folder_out), decode_all(glob_out)
    np.testing.assert_array_equal(first, second)
    assert len(first) == COUNT and scan_video(folder_out).frame_rate == 12
    np.testing.assert_array_equal(first[0], read_rgb(png8.parent / f"f{START}.png"))


def test_gap_is_refused_then_filled_with_allow_gaps(tiff16, root):
    gappy = root / "gappy"
    shutil.copytree(tiff16.parent, gappy)
    (gappy / "frame_0104.tif").unlink()
    (gappy / "frame_0105.tif").unlink()
    out = root / "gap.mkv"
    code, stdout, stderr = main_in_process([gappy / "frame_%04d.tif", "-o", out, "--codec", "ffv1"])
    assert code == 2 and not out.exists()
    assert stderr.strip().splitlines() == [
        f"restore: error: {gappy / 'frame_%04d.tif'}: frames 104-105 are missing (2 of 8); "
        "pass --allow-gaps to fill them by interpolation"
    ]
    code, stdout, stderr = main_in_process(
        [gappy / "frame_%04d.tif", "-o", out, "--codec", "ffv1", "--allow-gaps", "--interp", "blend"]
    )
    assert code == 0, stderr
    assert len(decode_all(out)) == COUNT  # the two missing frames are made again in their time


def test_sequence_output_resumes_per_segment(png8, root):
    whole, parts = root / "whole", root / "parts"
    whole.mkdir(), parts.mkdir()
    code, _, stderr = main_in_process(
        [png8.parent, "-o", whole / "o_%03d.png", "--fps", "48", "--interp", "blend"]
    )
    assert code == 0, stderr
    code, _, stderr = main_in_process(
        [png8.parent, "-o", parts / "o_%03d.png", "--fps", "48", "--interp", "blend",
         "--resume", "--segment-seconds", "0.1"]
    )  # fmt: skip
    assert code == 0, stderr
    made = sorted(p.name for p in parts.iterdir())
    assert made == sorted(p.name for p in whole.iterdir()) and len(made) == 2 * COUNT
    for name in made:
        np.testing.assert_array_equal(read_rgb(whole / name), read_rgb(parts / name))


@pytest.fixture(scope="module")
def bad_inputs(root, png8) -> dict[str, tuple[Path, str]]:
    """Each bad input and the start of the one line that must refuse it."""
    empty = root / "empty"
    empty.mkdir()
    stray = root / "stray"
    shutil.copytree(png8.parent, stray)
    (stray / "notes.txt").write_text("scanner log")
    mixed = root / "mixed"
    shutil.copytree(png8.parent, mixed)
    cut_sequence(root / "other", "f%d.png", "rgb24", count=1, size="64:48")
    shutil.copy(root / "other" / f"f{START}.png", mixed / f"f{START + COUNT}.png")
    one_bit = cut_sequence(root / "onebit", "b_%03d.png", "monob", count=2)
    fake = root / "fake"
    shutil.copytree(png8.parent, fake)
    (fake / f"f{START + 2}.png").write_bytes(b"not a png at all")
    return {
        "nothing": (root / "none_%04d.tif", "no file matches the pattern"),
        "empty": (empty, "input folder is empty"),
        "stray": (stray, "holds a file that is not a frame image: notes.txt"),
        "mixed": (mixed, f"{mixed / f'f{START + COUNT}.png'}: 64x48, but the sequence starts at 128x96"),
        "depth": (one_bit.parent, "1-bit samples are not supported in .png"),
        "fake": (fake, f"cannot read {fake / f'f{START + 2}.png'} as a PNG image"),
        "fps": (png8.parent, "--input-fps must be above 0"),
    }


@pytest.mark.parametrize("case", ["nothing", "empty", "stray", "mixed", "depth", "fake", "fps"])
def test_bad_sequences_are_one_line_and_write_nothing(bad_inputs, tmp_path, case):
    source, message = bad_inputs[case]
    extra = ["--input-fps", "0"] if case == "fps" else []
    code, stdout, stderr = main_in_process([source, "-o", tmp_path / "f_%04d.png", *extra])
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_jpeg_headers_and_unpadded_numbers(root):
    jpegs = cut_sequence(root / "jpeg", "j%d.jpg", "yuvj420p", count=3)
    media = open_sequence(jpegs.parent)
    assert (media.coded_width, media.coded_height, media.bit_depth) == (128, 96, 8)
    assert media.numbers == (101, 102, 103) and "-start_number" not in media.demuxer  # names sort
    assert read_header(jpegs.parent / "j101.jpg") == (128, 96, 8)
    mixed_width = root / "unpadded"
    mixed_width.mkdir()
    bikes = str(shared_file("video", "bikes.mp4"))
    for second, number in enumerate((9, 10, 12)):  # j9 sorts after j12 by name: a glob would misorder them
        ffmpeg("-ss", str(second), "-i", bikes, "-frames:v", "1", "-vf", "scale=128:96",
               "-pix_fmt", "yuvj420p", str(mixed_width / f"j{number}.jpg"))  # fmt: skip
    with pytest.raises(InputError, match="zero-padded"):
        open_sequence(mixed_width, allow_gaps=True)
    (mixed_width / "j12.jpg").rename(mixed_width / "j11.jpg")
    gapless = open_sequence(mixed_width)
    assert gapless.numbers == (9, 10, 11) and gapless.demuxer[-1].endswith("j%d.jpg")
    timeline = scan_video(mixed_width, media=gapless)
    with open_reader(mixed_width, gapless, timeline) as reader:
        decoded = list(reader)
    assert timeline.frame_count == len(decoded) == 3
    # each decoded frame is its own file, in number order (j9, j10, j11), not name order (j10, j11, j9)
    files = [read_rgb(mixed_width / f"j{number}.jpg") for number in (9, 10, 11)]
    for index, frame in enumerate(decoded):
        scores = [psnr(frame, original) for original in files]
        others = max(score for k, score in enumerate(scores) if k != index)
        assert scores[index] >= 30.0 and scores[index] >= others + 6.0, (index, scores)
