"""Masters an archive can trust, end to end through the CLI: 24-bit PCM copied bit for bit, the
timecode kept at the output rate, all four colour tags, and ``-o FOLDER/``.

The source is half a second of bigbuckbunny.mp4 at 160x90, 24 fps, with its sound as 24-bit PCM and
a 01:02:03:04 timecode track, in a .mov (ffmpeg ``-timecode``). Its 25 → 24 fps conversion repeats a
frame, which the planner retimes by interpolation: the jobs use ``--interp blend`` to stay quick.
"""

from __future__ import annotations

import subprocess

import pytest

from restore.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from restore.media.probe import probe
from restore.media.scan import scan_video
from tests.conftest import ffmpeg, file_digest, run_restore_here, shared_file


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    folder = tmp_path_factory.mktemp("master")
    source = folder / "reel.mov"
    ffmpeg(
        "-i", str(shared_file("video", "bigbuckbunny.mp4")), "-t", "0.5", "-map", "0:v", "-map", "0:a",
        "-vf", "fps=24,scale=160:90", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "pcm_s24le", "-ac", "2", "-timecode", "01:02:03:04", str(source),
    )  # fmt: skip
    media = probe(source)
    assert media.timecode == "01:02:03:04" and [s.codec for s in media.audio] == ["pcm_s24le"]
    assert media.color_space is None  # untagged: the outputs get the size's defaults
    return source, file_digest(source)


def _pcm(path):
    """The first audio track decoded to 32-bit integers (24-bit samples are exact in them)."""
    return subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s32le", "pipe:"],
        capture_output=True,
        check=True,
    ).stdout


@pytest.mark.parametrize(
    ("codec", "name", "fps", "timecode"),
    [
        ("prores", "out.mov", "48", "01:02:03:08"),  # the example: 4 frames at 24 are 8 at 48
        ("ffv1", "out.mkv", "30", "01:02:03:05"),  # 4/24 s is 5/30 s
    ],
)
def test_pcm_and_timecode_survive_a_master_at_a_new_rate(master, tmp_path, codec, name, fps, timecode):
    source, digest = master
    output = tmp_path / name
    result = run_restore_here(source, "--codec", codec, "--fps", fps, "--interp", "blend", "-o", output)
    assert result.returncode == 0, result.stderr
    media = probe(output)
    (track,) = media.audio
    assert track.codec == "pcm_s24le" and "(24 bit)" in track.details  # copied, not made AAC
    assert _pcm(output) == _pcm(source) and len(_pcm(source)) > 40000  # every sample, bit for bit
    assert media.timecode == timecode
    assert scan_video(output).frame_rate == int(fps)
    # untagged 90-line source at 24 fps: NTSC SD defaults, all four tags (RGB for FFV1)
    expected = ("smpte170m", "smpte170m", "gbr" if codec == "ffv1" else "smpte170m")
    assert (media.color_primaries, media.color_transfer, media.color_space) == expected
    assert media.color_range == ("pc" if codec == "ffv1" else "tv")
    log = " ".join(result.stderr.split())
    assert "audio #1 pcm_s24le: copied" in log
    assert f"timecode 01:02:03:04 at 24 fps → {timecode} at {fps} fps" in log
    assert "untagged in the source: NTSC SD defaults" in log
    assert file_digest(source) == digest  # the input is never modified


def test_a_tagged_source_keeps_its_tags_and_mp4_gets_aac(master, tmp_path):
    source, _ = master
    tagged = tmp_path / "tagged.mov"
    ffmpeg(
        "-i", str(source), "-map", "0:v", "-map", "0:a", "-c:a", "copy", "-c:v", "libx264",
        "-preset", "ultrafast", "-timecode", "01:02:03:04",
        "-vf", "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709", str(tagged),
    )  # fmt: skip
    output = tmp_path / "out.mp4"
    result = run_restore_here(tagged, "-o", output, "--codec", "h264", "--scale", "2", "--interp", "blend")
    assert result.returncode == 0, result.stderr
    media = probe(output)
    assert (media.color_primaries, media.color_transfer, media.color_space, media.color_range) == (
        "bt709",
        "bt709",
        "bt709",
        "tv",
    )  # 180 lines is still SD: the source's BT.709 matrix is kept, not made SMPTE 170M
    assert [s.codec for s in media.audio] == ["aac"] and media.timecode == "01:02:03:04"
    log = " ".join(result.stderr.split())
    assert "audio #1 pcm_s24le: re-encoded to aac (MP4 cannot hold pcm_s24le)" in log
    assert "colour: bt709/bt709/bt709 tv (as tagged in the source)" in log
    report = run_ffmpeg(["-i", str(output)]).stderr
    assert "bt709" in next(line for line in report.splitlines() if "Video:" in line)


@pytest.mark.parametrize("form", ["existing", "slash"])
def test_output_to_a_folder(master, tmp_path, form):
    source, _ = master
    folder = tmp_path / "restored"
    folder.mkdir()
    target = f"{folder}/" if form == "slash" else str(folder)
    result = run_restore_here(source, "-o", target, "--codec", "ffv1", "--interp", "blend", "-q")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["reel.restored.mkv"]
    assert scan_video(folder / "reel.restored.mkv").frame_count == 12


def test_a_segmented_master_keeps_them_through_the_join(master, tmp_path):
    source, _ = master
    output = tmp_path / "joined.mov"
    job = ("--codec", "prores", "--fps", "48", "--interp", "blend", "--segment-seconds", "0.2")
    result = run_restore_here(source, *job, "-o", output)
    assert result.returncode == 0, result.stderr
    assert "segments: 2, 0 reused from an earlier run" in result.stderr  # 24 frames in segments of about 10
    media = probe(output)
    assert media.timecode == "01:02:03:08" and _pcm(output) == _pcm(source)
    assert (media.color_primaries, media.color_transfer, media.color_space) == ("smpte170m",) * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["joined.mov"]  # no journal, parts or lists left
