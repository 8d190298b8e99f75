"""End to end: ``restore clip --fps F --scale S`` on synthetic and real clips.

Most jobs run the CLI's ``main`` in this interpreter (``run_restore_here``: same job, exit code and
messages, no second torch import); the default-name, overwrite, container-mismatch and default-engine
tests run it in a fresh interpreter as a user does (``run_restore``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from restore.config import RestoreConfig
from restore.jobs import prepare_job
from restore.media.probe import probe
from restore.media.scan import scan_video
from tests.conftest import (
    audio_duration,
    decode_all,
    main_in_process,
    make_clip,
    run_restore,
    run_restore_here,
    shared_file,
)


@pytest.mark.parametrize(
    ("source_rate", "target_rate"),
    [("24", "60"), ("24000/1001", "59.94"), ("25", "60"), ("16", "60")],
)
def test_rate_conversion_with_audio(clip_factory, tmp_path, source_rate, target_rate):
    clip = clip_factory(f"clip_{source_rate.replace('/', '_')}.mp4", rate=source_rate, seconds=2.0)
    out = tmp_path / "out.mp4"
    result = run_restore_here(
        clip, "-o", out, "--fps", target_rate, "--scale", "2", "--interp", "blend", "-q"
    )
    assert result.returncode == 0, result.stderr
    source, restored = scan_video(clip), scan_video(out)
    fps = Fraction(60000, 1001) if target_rate == "59.94" else Fraction(target_rate)
    assert restored.frame_rate == fps
    assert (restored.width, restored.height) == (2 * source.width, 2 * source.height)
    assert abs(restored.frame_count - round(source.duration * float(fps))) <= 1
    assert abs(audio_duration(out) - audio_duration(clip)) <= 0.05
    assert probe(out).audio, "the audio track must survive"


def test_default_output_name_and_unchanged_rate(clip_factory, tmp_path):
    clip = clip_factory("plain.mp4", rate="25", seconds=1.0, audio=False)
    local = tmp_path / "film.mp4"
    local.write_bytes(clip.read_bytes())
    result = run_restore(local, "-q")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "film.restored.mp4"
    assert out.exists()
    timeline = scan_video(out)
    assert timeline.frame_rate == 25 and timeline.frame_count == 25
    assert not list(tmp_path.glob(".*partial*")), "no temporary file may be left behind"


def test_existing_output_needs_overwrite(clip_factory, tmp_path):
    clip = clip_factory("plain.mp4", rate="25", seconds=1.0, audio=False)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    result = run_restore(clip, "-o", out, "-q")
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert out.read_bytes() == b"keep me"
    result = run_restore(clip, "-o", out, "-q", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert scan_video(out).frame_count == 25


def test_dry_run_prints_the_plan_and_writes_nothing(clip_factory, tmp_path):
    clip = clip_factory("plain.mp4", rate="24", seconds=1.0, audio=False)
    folder = tmp_path / "out"
    folder.mkdir()
    args = (clip, "-o", folder / "film.mkv", "--fps", "60", "--scale", "2", "--codec", "ffv1")
    code, out, err = main_in_process([*args, "--dry-run", "-q"])  # -q keeps the plan: it is the output
    text = " ".join((out + err).split())
    assert code == 0, err
    plan = prepare_job(RestoreConfig(input=clip, output=tmp_path / "plan.mkv", fps=Fraction(60))).plan
    interpolated = plan.interpolated_count
    assert interpolated > 0 and f"→ 60 frames at 60.000 fps ({interpolated} interpolated)" in text, text
    assert f"interpolation: classic, {interpolated} frames at phases 0.2, 0.4, 0.6, 0.8" in text, text
    assert "upscaling: lanczos to" in text and "output: " in text and "(ffv1, " in text, text
    assert text.endswith("dry run: nothing was written"), text
    assert not list(folder.iterdir()) and not list(tmp_path.glob("*.journal*"))
    # the CRF the encoder is given: the codec's default or --crf, none for a codec without one
    for codec, crf, shown in (("h264", None, "(h264, CRF 18, "), ("h264", "12", "(h264, CRF 12, "),
                              ("ffv1", "12", "(ffv1, 160x96, ")):  # fmt: skip
        target = folder / ("film.mp4" if codec == "h264" else "film.mkv")
        quality = ("--crf", crf) if crf else ()
        code, out, err = main_in_process([clip, "-o", target, "--codec", codec, *quality, "--dry-run"])
        assert code == 0 and shown in " ".join((out + err).split()), out + err
    assert not list(folder.iterdir())
    # the same refusals as a run: an existing output without --overwrite
    (folder / "film.mkv").write_bytes(b"keep me")
    code, _, err = main_in_process([*args, "--dry-run"])
    assert code == 2 and "--overwrite" in err and (folder / "film.mkv").read_bytes() == b"keep me"


@pytest.mark.parametrize("codec", ["h265", "prores", "ffv1"])
def test_archive_codecs(clip_factory, tmp_path, codec):
    clip = clip_factory("tenbit.mp4", rate="24", seconds=0.5, pix_fmt="yuv420p10le")
    suffix = {"h265": ".mp4", "prores": ".mov", "ffv1": ".mkv"}[codec]
    out = tmp_path / f"out{suffix}"
    result = run_restore_here(clip, "-o", out, "--codec", codec, "-q")
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert info.video.codec == {"h265": "hevc", "prores": "prores", "ffv1": "ffv1"}[codec]
    assert info.bit_depth >= 10, "a 10-bit source stays above 8 bits in archive codecs"
    assert info.audio, "audio is kept"


def test_ffv1_is_lossless_against_the_decoded_source(clip_factory, tmp_path):
    clip = clip_factory("plain8.mp4", rate="24", seconds=0.5, audio=False)
    out = tmp_path / "out.mkv"
    assert run_restore_here(clip, "-o", out, "--codec", "ffv1", "-q").returncode == 0
    np.testing.assert_array_equal(decode_all(out), decode_all(clip))


def test_codec_and_container_must_match(clip_factory, tmp_path):
    clip = clip_factory("plain.mp4", rate="25", seconds=1.0, audio=False)
    result = run_restore(clip, "-o", tmp_path / "out.mp4", "--codec", "ffv1")
    assert result.returncode == 2 and ".mkv" in result.stderr


def test_sd_to_hd_is_tagged_bt709_and_sd_stays_bt601(clip_factory, tmp_path):
    clip = clip_factory("sd.mp4", rate="24", seconds=0.5, size="320x240", audio=False)
    hd = tmp_path / "hd.mp4"
    assert run_restore_here(clip, "-o", hd, "--scale", "3", "-q").returncode == 0
    assert probe(hd).color_space == "bt709"
    sd = tmp_path / "sd.mp4"
    assert run_restore_here(clip, "-o", sd, "-q").returncode == 0
    assert probe(sd).color_space == "smpte170m"


def test_size_with_letterbox(clip_factory, tmp_path):
    clip = clip_factory("wide.mp4", rate="24", seconds=0.5, size="160x96", audio=False)
    out = tmp_path / "boxed.mp4"
    result = run_restore_here(clip, "-o", out, "--size", "320x320", "--fit", "pad", "-q")
    assert result.returncode == 0, result.stderr
    frames = decode_all(out)
    assert frames.shape[1:3] == (320, 320)
    # 160x96 scaled by 2 -> 320x192, centred: black bars of 64 rows above and below
    assert frames[:, :60].max() < 20 and frames[:, -60:].max() < 20
    assert frames[:, 100:220].mean() > 40


def test_rotated_source_comes_out_upright(clip_factory, tmp_path):
    clip = clip_factory("torotate.mp4", rate="24", seconds=0.5, size="160x96", audio=False)
    rotated = tmp_path / "rotated.mp4"
    from tests.conftest import ffmpeg

    ffmpeg("-display_rotation", "90", "-i", str(clip), "-c", "copy", str(rotated))
    out = tmp_path / "out.mp4"
    assert run_restore_here(rotated, "-o", out, "-q").returncode == 0
    timeline = scan_video(out)
    assert (timeline.width, timeline.height) == (96, 160)


def test_odd_size_source(clip_factory, tmp_path):
    clip = clip_factory(
        "odd.mkv",
        rate="24",
        seconds=0.5,
        size="162x98",
        video_filter="format=yuv444p,crop=161:97:0:0:exact=1",
        audio=False,
        pix_fmt="yuv444p",
        codec=("-c:v", "ffv1"),
    )
    assert (scan_video(clip).width, scan_video(clip).height) == (161, 97)
    out = tmp_path / "out.mkv"
    assert run_restore_here(clip, "-o", out, "--codec", "ffv1", "-q").returncode == 0
    assert scan_video(out).width == 161 and scan_video(out).height == 97
    h264 = tmp_path / "out.mp4"
    assert run_restore_here(clip, "-o", h264, "-q").returncode == 0
    # 4:2:0 needs even sizes: one replicated column and row are added
    assert (scan_video(h264).width, scan_video(h264).height) == (162, 98)


def test_variable_frame_rate_source_keeps_audio_in_sync(clip_factory, tmp_path):
    # 1 s at 24 fps, then 1 s at 12 fps (every other frame dropped, timestamps kept)
    clip = clip_factory(
        "vfr.mp4",
        rate="24",
        seconds=2.0,
        video_filter="select='lt(n\\,24)+not(mod(n\\,2))'",
        extra=("-fps_mode", "vfr"),
    )
    timeline = scan_video(clip)
    steps = np.diff(timeline.timestamps)
    assert steps.min() < 0.05 < steps.max(), "the clip must really have a variable rate"
    out = tmp_path / "out.mp4"
    result = run_restore_here(clip, "-o", out, "--fps", "24", "--interp", "blend", "-q")
    assert result.returncode == 0, result.stderr
    restored = scan_video(out)
    assert abs(restored.frame_count - round(timeline.duration * 24)) <= 1
    assert abs(audio_duration(out) - audio_duration(clip)) <= 0.05


def test_bigbuckbunny_keeps_its_51_audio(tmp_path):
    clip = shared_file("video", "bigbuckbunny.mp4")
    out = tmp_path / "bbb.mp4"
    result = run_restore_here(clip, "-o", out, "--interp", "repeat", "-q")
    assert result.returncode == 0, result.stderr
    audio = probe(out).audio
    assert len(audio) == 1 and "5.1" in audio[0].details
    assert abs(audio_duration(out) - audio_duration(clip)) <= 0.05


def test_archival_repeats_are_found_and_never_shown_twice(tmp_path):
    clip = shared_file("video", "archival_abomb.mp4")
    out = tmp_path / "abomb60.mp4"
    job = prepare_job(RestoreConfig(input=clip, output=out, fps=Fraction(60), interp="blend"))
    source = decode_all(clip).astype(np.int16)
    repeats = np.flatnonzero(job.shots.repeats)
    # the clip repeats every 5th frame: frames 3, 8, 13, ... repeat their predecessors
    assert len(repeats) >= 64
    assert np.all(repeats % 5 == 3), "only the telecine repeats are flagged"
    plan = job.plan
    pairs = plan.targets >= 0
    assert not job.shots.repeats[plan.sources].any() and not job.shots.repeats[plan.targets[pairs]].any()
    # no two consecutive output frames show the same image, except a copy held beside a cut or at the end
    position = plan.sources + plan.phases * np.where(pairs, plan.targets - plan.sources, 0)
    still = np.flatnonzero(np.diff(position) == 0)
    edges = set(job.shots.cuts) | {c + 1 for c in job.shots.cuts} | {job.timeline.frame_count - 1}
    assert all(int(plan.sources[k]) in edges for k in still), "an image shown twice away from cuts"

    result = run_restore_here(clip, "-o", out, "--fps", "60", "--interp", "blend", "-q")
    assert result.returncode == 0, result.stderr
    frames = decode_all(out).astype(np.int16)
    assert len(frames) == len(plan)
    output_step = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    # where the plan moves on by a visible amount, the output moves too (it is not a frozen copy):
    # blending is linear, so the expected change is the phase distance times the pair's difference
    rank = np.searchsorted(plan.distinct, plan.sources) + plan.phases
    distinct_frames = source[plan.distinct]
    distinct_step = np.abs(np.diff(distinct_frames, axis=0)).mean(axis=(1, 2, 3))
    for cut in job.shots.cuts:
        distinct_step[np.searchsorted(plan.distinct, cut, side="right") - 1] = 0.0
    expected = np.zeros(len(rank) - 1)
    for k in range(len(rank) - 1):
        a, b = sorted((rank[k], rank[k + 1]))
        for j in range(int(np.floor(a)), int(np.ceil(b))):
            overlap = min(b, j + 1) - max(a, j)
            if 0 < overlap and j < len(distinct_step):
                expected[k] += overlap * distinct_step[j]
    visible = expected > 1.0
    assert visible.sum() > 0.3 * len(expected)
    frozen = visible & (output_step < 0.3 * expected)
    assert not frozen.any(), f"output frames equal to their predecessor at {np.flatnonzero(frozen)[:10]}"


def test_bikes_no_output_frame_mixes_two_shots(tmp_path):
    clip = shared_file("video", "bikes.mp4")
    out = tmp_path / "bikes50.mp4"
    job = prepare_job(RestoreConfig(input=clip, output=out, fps=Fraction(60), interp="blend"))
    assert set(job.shots.cuts) >= {29, 75, 136, 186, 241}
    result = run_restore_here(clip, "-o", out, "--fps", "60", "--interp", "blend", "-q")
    assert result.returncode == 0, result.stderr
    source = decode_all(clip).astype(np.int16)
    restored = decode_all(out).astype(np.int16)
    for cut in job.shots.cuts:
        before, after = source[cut], source[cut + 1]
        for k, time in enumerate(job.plan.times):
            position = time * 25
            if cut < position < cut + 1:  # between the last frame of one shot and the first of the next
                distance = min(np.abs(restored[k] - before).mean(), np.abs(restored[k] - after).mean())
                mixed = np.abs(restored[k] - (before + after) / 2).mean()
                assert distance < 0.5 * mixed, f"output frame {k} at the cut after {cut} mixes two shots"
                assert distance < 3.0
            elif cut - 1 < position < cut + 2:  # interpolated inside one shot, next to the cut
                own, other = (before, after) if position < cut + 0.5 else (after, before)
                assert np.abs(restored[k] - own).mean() < 0.5 * np.abs(restored[k] - other).mean()


def test_every_audio_and_subtitle_track_is_kept(clip_factory, tmp_path):
    from tests.conftest import ffmpeg

    video = clip_factory("av.mp4", rate="24", seconds=2.0)
    subtitles = tmp_path / "subs.srt"
    subtitles.write_text("1\n00:00:00,500 --> 00:00:01,500\nHello\n")
    source = tmp_path / "tracks.mkv"
    ffmpeg(
        "-i", str(video), "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=44100:duration=2",
        "-i", str(subtitles), "-map", "0:v", "-map", "0:a", "-map", "1:a", "-map", "2:s",
        "-c:v", "copy", "-c:a:0", "copy", "-c:a:1", "pcm_s16le", "-c:s", "srt", str(source),
    )  # fmt: skip
    for suffix in (".mkv", ".mp4"):
        out = tmp_path / f"out{suffix}"
        result = run_restore_here(source, "-o", out, "--fps", "30", "--interp", "blend", "-q")
        assert result.returncode == 0, result.stderr
        info = probe(out)
        assert len(info.audio) == 2, f"{suffix}: both audio tracks"
        assert len(info.subtitles) == 1, f"{suffix}: the subtitle track"
        # PCM cannot live in MP4: it is re-encoded there, copied into Matroska
        assert info.audio[1].codec == ("pcm_s16le" if suffix == ".mkv" else "aac")
        for stream in range(2):
            assert abs(audio_duration(out, stream) - audio_duration(source, stream)) <= 0.05


def test_default_engine_end_to_end(clip_factory, tmp_path):
    clip = clip_factory("default_engine.mp4", rate="16", seconds=1.0)
    out = tmp_path / "out.mp4"
    result = run_restore(clip, "-o", out, "--fps", "60", "-q")
    assert result.returncode == 0, result.stderr
    restored = scan_video(out)
    assert restored.frame_rate == 60 and abs(restored.frame_count - 60) <= 1
    frames = decode_all(out).astype(np.int16)
    # up to the last source frame (15/16 s = output frame 56), every output frame moves; after it the
    # last frame is held, as nothing follows it
    steps = np.abs(np.diff(frames[:57], axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0.5).all(), "every output frame moves"


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p10le"])
def test_copy_only_jobs_pass_yuv_through_faithfully(clip_factory, tmp_path, pix_fmt):
    from restore.jobs import run_job
    from restore.jobs.run import _native_passthrough

    clip = clip_factory(f"pass_{pix_fmt}.mp4", rate="24", seconds=1.0, pix_fmt=pix_fmt)
    outputs = {}
    for passthrough in (True, False):
        out = tmp_path / f"out_{passthrough}.mp4"
        job = prepare_job(
            RestoreConfig(input=clip, output=out, fps=Fraction(30), interp="repeat", passthrough=passthrough)
        )
        assert job.copies_only
        assert (_native_passthrough(job) == pix_fmt) is passthrough
        run_job(job)
        outputs[passthrough] = _unit(decode_all(out))
    source = _unit(decode_all(clip))
    # 24 -> 30 by repetition: output frame k shows source frame round-to-nearest of k * 24 / 30
    nearest = [min(int(k * 24 / 30 + 0.5), len(source) - 1) for k in range(len(outputs[True]))]
    error = {mode: np.abs(frames - source[nearest]).mean() for mode, frames in outputs.items()}
    assert all(len(frames) == 30 for frames in outputs.values())
    # skipping the RGB round trip is at least as faithful (x264 crf 18 on a busy 160x96 pattern)
    assert error[True] <= error[False] + 0.5 / 255, error
    assert error[True] < 4.0 / 255, error


def _unit(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float64) / np.iinfo(frames.dtype).max


def test_sample_aspect_is_kept_exactly(tmp_path):
    """128:117 (CIF) is not rounded to the nearest ratio of terms under 100 (93:85)."""
    source = make_clip(
        tmp_path / "cif.mkv", size="176x144", audio=False, video_filter="setsar=sar=128/117:max=1000"
    )
    assert probe(source).sample_aspect == (128, 117)
    for extra in ((), ("--fps", "48")):  # copy-only (native YUV) and pixel-processing jobs
        output = tmp_path / f"out{len(extra)}.mp4"
        result = run_restore_here(source, "-o", output, "-q", *extra)
        assert result.returncode == 0, result.stderr
        assert probe(output).sample_aspect == (128, 117)


def test_untouched_options_give_the_library_defaults():
    """Defaults live in RestoreConfig (and ShotSettings, CleanupSettings): the CLI adds none of its own."""
    from pathlib import Path

    from restore.cli.options import JobOptions, build_config
    from restore.config import default_output_path

    film = Path("film.mp4")
    assert build_config(film, None, JobOptions()) == RestoreConfig(
        input=film, output=default_output_path(film)
    )


def test_run_and_batch_share_every_job_option():
    import dataclasses

    import typer

    from restore.cli import app
    from restore.cli.options import JobOptions

    command = typer.main.get_command(app)
    names = {}
    for sub in ("run", "batch"):
        names[sub] = {param.name for param in command.commands[sub].params}
    job = {field.name for field in dataclasses.fields(JobOptions)}
    assert job <= names["run"] and job <= names["batch"]


def test_a_bug_is_an_internal_error_not_a_user_error(clip_factory, tmp_path, monkeypatch):
    """A ValueError from inside the toolkit is a bug: exit 1 and "internal error", not exit 2."""
    import restore.jobs.prepare

    def broken_planner(*_args, **_kwargs):
        raise ValueError("planner bug")

    monkeypatch.setattr(restore.jobs.prepare, "plan_frames", broken_planner)
    clip = clip_factory("plain.mp4", rate="25", seconds=1.0, audio=False)
    code, _, stderr = main_in_process([clip, "-o", tmp_path / "out.mp4", "-q"])
    assert code == 1, stderr
    assert stderr.strip() == (
        "restore: internal error: ValueError: planner bug (run again with --debug for details)"
    )
    assert not (tmp_path / "out.mp4").exists()


def test_a_model_layer_user_error_is_one_line_exit_2(clip_factory, tmp_path, monkeypatch):
    """dain.errors.UserError (not only RestoreError) reaches the user as one line, exit 2."""
    import restore.jobs.prepare
    from dain.errors import EngineOptionError

    def refusing_engine(*_args, **_kwargs):
        raise EngineOptionError("--tile must be at least 64, got 8")

    monkeypatch.setattr(restore.jobs.prepare, "create_upscaler", refusing_engine)
    clip = clip_factory("plain.mp4", rate="25", seconds=1.0, audio=False)
    code, _, stderr = main_in_process([clip, "-o", tmp_path / "out.mp4", "--scale", "2", "-q"])
    assert code == 2, stderr
    assert stderr.strip() == "restore: error: --tile must be at least 64, got 8"


def test_the_summary_of_a_copy_only_job_names_no_device(clip_factory, tmp_path):
    clip = clip_factory("copy_summary.mp4", rate="25", seconds=1.0, audio=False)
    result = run_restore_here(clip, "-o", tmp_path / "copy.mp4", "--fps", "50", "--interp", "repeat")
    assert result.returncode == 0, result.stderr
    summary = " ".join((result.stdout + result.stderr).split())
    assert "frames copied as decoded" in summary and "None" not in summary
