"""Field analysis (``restore.media.fields``): telecined and interlaced sources made from a real clip.

The inputs are built once for the module from ``bikes.mp4`` with FFmpeg's own ``telecine`` and
``interlace`` filters, as archivists receive them: an NTSC DVD (24p film telecined 3:2 to 29.97i,
MPEG-2 in .vob, AC-3 audio) and a PAL broadcast (50p interlaced to 25i, MPEG-2 in .mpg). Jobs write
lossless FFV1 so the measurement sees the pipeline, not a second lossy encode.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from restore.evaluation.cleanup import psnr
from restore.evaluation.combing import clip_combed_share, combed_share
from restore.media.decode import open_reader
from restore.media.field_sections import change_point, parse_frame_flags, sections_filter
from restore.media.fields import FieldDecision, FieldSection, FieldStats, decide_fields, parse_idet_report
from restore.media.probe import probe
from restore.media.scan import scan_video
from tests.conftest import audio_duration, decode_all, ffmpeg, main_in_process, shared_file


def said(*texts: str) -> str:
    """What the command printed, as one line (the console wraps long lines)."""
    return " ".join(" ".join(texts).split())


SIZE = "320:240"
FILM_FRAMES = 48  # 2.002 s of 23.976p film -> 60 telecined frames
PAL_FRAMES = 50  # 1 s of 50p -> 25 interlaced frames


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """film.mkv (the film's own frames), ntsc.vob (telecined), p50.mkv and pal.mpg (interlaced)."""
    bikes = shared_file("video", "bikes.mp4")
    folder = tmp_path_factory.mktemp("fields")
    film, p50 = folder / "film.mkv", folder / "p50.mkv"
    # the clip's frames re-timed as they are read (an output -r would duplicate the first one)
    picture = ("-vf", f"scale={SIZE},setsar=1", "-c:v", "ffv1")
    ffmpeg("-r", "24000/1001", "-i", str(bikes), "-frames:v", str(FILM_FRAMES), *picture, str(film))
    ffmpeg("-r", "50", "-i", str(bikes), "-frames:v", str(PAL_FRAMES), *picture, str(p50))
    mpeg2 = ("-c:v", "mpeg2video", "-q:v", "2", "-flags", "+ilme+ildct", "-aspect", "4:3")
    ntsc = folder / "ntsc.vob"
    ffmpeg("-i", str(film), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2.002",
           "-vf", "telecine=first_field=top:pattern=23,setfield=tff", *mpeg2,
           "-c:a", "ac3", "-b:a", "192k", "-shortest", str(ntsc))  # fmt: skip
    pal = folder / "pal.mpg"
    ffmpeg("-i", str(p50), "-vf", "interlace=scan=tff:lowpass=off,setfield=tff", *mpeg2, str(pal))
    return {"film": film, "ntsc": ntsc, "p50": p50, "pal": pal, "folder": folder}


@pytest.fixture(scope="module")
def ivtc_job(sources) -> tuple[int, str, Path]:
    out = sources["folder"] / "ntsc.restored.mkv"
    code, stdout, stderr = main_in_process([sources["ntsc"], "-o", out, "--codec", "ffv1"])
    return code, stdout + stderr, out


def test_sources_are_what_they_claim(sources):
    """The inputs really are combed: the metric sees it (and ``idet`` in the analysis, below)."""
    assert clip_combed_share(decode_all(sources["film"])) < 0.01
    assert clip_combed_share(decode_all(sources["ntsc"])) > 0.05
    assert clip_combed_share(decode_all(sources["pal"])) > 0.1
    assert probe(sources["ntsc"]).field_order == "tff"


def test_telecined_ntsc_comes_back_as_the_film(sources, ivtc_job):
    code, output, out = ivtc_job
    assert code == 0, output
    assert "telecined 3:2" in said(output) and "23.976p (IVTC)" in said(output)
    film, restored = decode_all(sources["film"]), decode_all(out)
    assert abs(len(restored) - len(film)) <= 1
    scores = [psnr(a, b) for a, b in zip(restored, film, strict=False)]
    assert np.mean(scores) >= 40.0 and min(scores) >= 36.0, (np.mean(scores), min(scores))
    assert abs(clip_combed_share(restored) - clip_combed_share(film)) <= 0.002
    timeline = scan_video(out)
    assert timeline.frame_rate == Fraction(24000, 1001)
    source = scan_video(sources["ntsc"])
    assert abs(timeline.duration - source.duration) <= 1 / float(timeline.frame_rate)
    assert probe(out).field_order == "progressive"


def test_the_shots_pass_sees_the_film_frames(sources, tmp_path):
    """After IVTC, cuts and repeats are the film's own: pulldown repeats are neither cuts nor holds."""
    from restore.config import RestoreConfig
    from restore.jobs import prepare_job

    telecined = prepare_job(RestoreConfig(input=sources["ntsc"], output=tmp_path / "a.mp4"))
    film = prepare_job(RestoreConfig(input=sources["film"], output=tmp_path / "b.mp4"))
    assert telecined.fields is not None and telecined.fields.action == "ivtc"
    assert telecined.fields.sections == () and telecined.fields.filter == (  # one kind: one chain, as before
        "fieldmatch=order=tff:combmatch=full,bwdif=mode=send_frame:parity=tff:deint=interlaced,decimate=cycle=5"
    )
    assert telecined.shots.cuts == film.shots.cuts
    assert int(telecined.shots.repeats.sum()) == int(film.shots.repeats.sum())
    assert telecined.plan.interpolated_count == 0 and telecined.plan.fps == Fraction(24000, 1001)


def test_telecined_ntsc_keeps_audio_in_sync(sources, ivtc_job):
    code, output, out = ivtc_job
    assert code == 0, output
    video = scan_video(out)
    assert abs(audio_duration(out) - video.duration) <= 1 / float(video.frame_rate)
    assert abs(audio_duration(out) - audio_duration(sources["ntsc"])) <= 0.05


def test_pal_interlaced_becomes_50p(sources):
    out = sources["folder"] / "pal50.mkv"
    code, stdout, stderr = main_in_process([sources["pal"], "-o", out, "--codec", "ffv1"])
    assert code == 0, stderr
    assert "interlaced TFF 25i → 50p (bwdif, field rate)" in said(stdout, stderr)
    frames, reference = decode_all(out), decode_all(sources["p50"])
    timeline = scan_video(out)
    assert timeline.frame_rate == 50 and len(frames) == PAL_FRAMES and probe(out).field_order == "progressive"
    assert np.mean([psnr(a, b) for a, b in zip(frames, reference, strict=True)]) >= 35.0
    assert abs(clip_combed_share(frames) - clip_combed_share(reference)) <= 0.002


def test_single_rate_deinterlace_keeps_25(sources):
    out = sources["folder"] / "pal25.mkv"
    code, stdout, stderr = main_in_process(
        [sources["pal"], "-o", out, "--codec", "ffv1", "--deinterlace", "single"]
    )
    assert code == 0, stderr
    frames = decode_all(out)
    assert scan_video(out).frame_rate == 25 and len(frames) == PAL_FRAMES // 2
    assert clip_combed_share(frames) <= clip_combed_share(decode_all(sources["p50"])) + 0.002


def test_progressive_source_is_untouched_bit_for_bit(sources):
    """The analysis on a progressive film decides "progressive" and changes no byte of the output."""
    auto, off = sources["folder"] / "auto.mkv", sources["folder"] / "off.mkv"
    code, stdout, stderr = main_in_process([sources["film"], "-o", auto, "--codec", "ffv1", "--scale", "1.5"])
    assert code == 0, stderr
    assert "fields: progressive, left as it is" in said(stdout, stderr)
    code, _, stderr = main_in_process(
        [sources["film"], "-o", off, "--codec", "ffv1", "--scale", "1.5", "--deinterlace", "off"]
    )
    assert code == 0, stderr
    np.testing.assert_array_equal(decode_all(auto), decode_all(off))


def test_an_unknown_deinterlace_mode_is_one_line(sources, tmp_path):
    code, stdout, stderr = main_in_process(
        [sources["pal"], "-o", tmp_path / "x.mp4", "--deinterlace", "sideways"]
    )
    assert code == 2
    assert "--deinterlace must be one of auto, off, ivtc, bob, single" in stderr
    assert len(stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_decisions_from_measured_counts():
    progressive = FieldStats(60, 1, 0, 59, 0, 0, 0)  # the first look only: no field matching tried
    telecined = FieldStats(60, 48, 0, 12, 0, 24, 0, 60)
    interlaced = FieldStats(60, 58, 0, 2, 0, 4, 57, 60)
    shifted = FieldStats(60, 55, 0, 5, 0, 1, 2, 60)  # 2:2 with shifted fields: field matching cleans it
    assert decide_fields(progressive, "tff").filter == ""
    ivtc = decide_fields(telecined, None)
    assert (ivtc.kind, ivtc.pulldown, ivtc.order) == ("telecined", "3:2", "tff")
    assert "fieldmatch" in ivtc.filter and "decimate" in ivtc.filter and "deint=interlaced" in ivtc.filter
    assert (
        decide_fields(shifted, None).pulldown == "2:2"
        and "decimate" not in decide_fields(shifted, None).filter
    )
    bob = decide_fields(interlaced, None)
    assert bob.action == "bob" and "send_field" in bob.filter
    assert decide_fields(interlaced, None, field_order="bff").order == "bff"
    assert "send_frame" in decide_fields(interlaced, None, deinterlace="single").filter
    assert decide_fields(telecined, None, deinterlace="off").filter == ""
    assert decide_fields(FieldStats(60, 0, 50, 10, 0, 0, 50, 60), None).order == "bff"
    assert "combed after field matching 57/60" in interlaced.summary()
    fooled = decide_fields(interlaced, "progressive")  # fine moving detail in a progressive stream
    assert fooled.action == "none" and fooled.doubted and "--deinterlace bob" in fooled.describe(None, None)
    assert decide_fields(interlaced, "progressive", deinterlace="bob").action == "bob"
    assert decide_fields(telecined, "progressive").action == "ivtc"  # a DVD rip tagged progressive
    assert "field matching" not in progressive.summary()


def test_idet_report_is_read_per_instance():
    report = """
[Parsed_idet_0 @ 0x2] Repeated Fields: Neither:    36 Top:    11 Bottom:    13
[Parsed_idet_0 @ 0x2] Single frame detection: TFF:    48 BFF:     0 Progressive:    12 Undetermined:     0
[Parsed_idet_0 @ 0x1] Repeated Fields: Neither:     0 Top:     0 Bottom:     0
[Parsed_idet_0 @ 0x1] Single frame detection: TFF:     0 BFF:     0 Progressive:     0 Undetermined:     0
[Parsed_idet_2 @ 0x3] Single frame detection: TFF:    11 BFF:    12 Progressive:    37 Undetermined:     0
[Parsed_idet_2 @ 0x3] Multi frame detection: TFF:     1 BFF:     2 Progressive:    57 Undetermined:     0
"""
    raw, matched = parse_idet_report(report)
    assert raw["TFF"] == 48 and raw["Top"] + raw["Bottom"] == 24
    assert matched["multi_TFF"] + matched["multi_BFF"] == 3 and matched["TFF"] == 11


def test_combing_metric_sees_woven_fields():
    rng = np.random.default_rng(1)
    still = np.repeat(np.repeat(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8), 16, 0), 16, 1)
    woven = still.copy()
    woven[1::2] = np.roll(still, 24, axis=1)[1::2]  # the other field from a moved picture
    assert combed_share(still) == 0.0
    assert combed_share(woven) > 0.3


# A mixed film: 2.5 s of 23.976p film telecined 3:2, then 1.5 s of 59.94p video interlaced to 29.97i
MIXED_FILM, MIXED_VIDEO = 60, 90  # progressive frames of each part (75 + 45 frames of 29.97i)
MIXED_BOUNDARY = 75 * 1001 / 30000  # 2.5025 s


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> dict[str, Path]:
    """film.mkv and p60.mkv (the two parts' own frames, from different places of bikes.mp4), and
    mixed.vob: the first telecined, the second interlaced, one MPEG-2 stream with AC-3 audio."""
    bikes = str(shared_file("video", "bikes.mp4"))
    folder = tmp_path_factory.mktemp("mixed")
    film, p60, vob = folder / "film.mkv", folder / "p60.mkv", folder / "mixed.vob"
    picture = ("-vf", f"scale={SIZE},setsar=1", "-c:v", "ffv1")
    ffmpeg("-r", "24000/1001", "-i", bikes, "-frames:v", str(MIXED_FILM), *picture, str(film))
    ffmpeg("-r", "60000/1001", "-ss", "3", "-i", bikes, "-frames:v", str(MIXED_VIDEO), *picture, str(p60))
    tone = "sine=frequency=440:sample_rate=48000:duration=4.004"
    ffmpeg("-i", str(film), "-i", str(p60), "-f", "lavfi", "-i", tone,
           "-filter_complex", "[0:v]telecine=first_field=top:pattern=23,setfield=tff[a];"
           "[1:v]interlace=scan=tff:lowpass=off,setfield=tff[b];[a][b]concat=n=2:v=1,setfield=tff[v]",
           "-map", "[v]", "-map", "2:a", "-c:v", "mpeg2video", "-q:v", "2", "-flags", "+ilme+ildct",
           "-aspect", "4:3", "-r", "30000/1001", "-c:a", "ac3", "-b:a", "192k", "-shortest",
           str(vob))  # fmt: skip
    return {"film": film, "p60": p60, "vob": vob, "folder": folder}


@pytest.fixture(scope="module")
def mixed_job(mixed):
    from restore.config import RestoreConfig
    from restore.jobs import prepare_job

    config = RestoreConfig(
        input=mixed["vob"], output=mixed["folder"] / "job.mkv", codec="ffv1", interp="repeat"
    )
    return prepare_job(config)


def test_a_mixed_film_gets_a_chain_per_section(mixed, mixed_job):
    """Each section detected, its boundary on the right frame, each decoded with its own chain."""
    fields = mixed_job.fields
    assert fields is not None and fields.kind == "mixed", fields
    assert [part.decision.action for part in fields.sections] == ["ivtc", "bob"]
    assert abs(fields.sections[1].start - MIXED_BOUNDARY) < 0.5 / 29.97  # measured: on the frame
    timeline = mixed_job.timeline
    assert timeline.frame_count == MIXED_FILM + MIXED_VIDEO
    # the source's own times: the film's frames at 23.976 from 0, the video's fields at 59.94 from 2.5025 s
    np.testing.assert_allclose(
        timeline.timestamps[:MIXED_FILM], np.arange(MIXED_FILM) * 1001 / 24000, atol=2e-6
    )
    np.testing.assert_allclose(
        timeline.timestamps[MIXED_FILM:], MIXED_BOUNDARY + np.arange(MIXED_VIDEO) * 1001 / 60000, atol=2e-6
    )
    with open_reader(mixed["vob"], mixed_job.media, timeline) as reader:
        frames = np.stack(list(reader))
    film, p60 = decode_all(mixed["film"]), decode_all(mixed["p60"])
    ivtc = [psnr(a, b) for a, b in zip(frames[:MIXED_FILM], film, strict=True)]
    bob = [psnr(a, b) for a, b in zip(frames[MIXED_FILM:], p60, strict=True)]
    assert np.mean(ivtc) >= 40.0 and min(ivtc) >= 36.0, (np.mean(ivtc), min(ivtc))
    assert np.mean(bob) >= 35.0, (np.mean(bob), min(bob))
    assert abs(clip_combed_share(frames[:MIXED_FILM]) - clip_combed_share(film)) <= 0.002
    assert abs(clip_combed_share(frames[MIXED_FILM:]) - clip_combed_share(p60)) <= 0.002
    assert mixed_job.plan.fps == Fraction(24000, 1001)  # the longest section's rate
    assert any(note.startswith("mixed fields: 23.976 fps") for note in mixed_job.notes)


def test_a_mixed_film_through_the_command_line(mixed, mixed_job):
    out = mixed["folder"] / "mixed.restored.mkv"
    code, stdout, stderr = main_in_process([mixed["vob"], "-o", out, "--codec", "ffv1", "--interp", "repeat"])
    assert code == 0, stderr
    assert (
        "fields: 0–2.5 s telecined 3:2 (TFF) → 23.976p (IVTC); "
        "2.5–4 s interlaced TFF 29.97i → 59.94p (bwdif, field rate)" in said(stdout, stderr)
    )
    frames = decode_all(out)
    video, source = scan_video(out), scan_video(mixed["vob"])
    assert video.frame_rate == Fraction(24000, 1001) and len(frames) == round(source.duration * 24000 / 1001)
    assert abs(video.duration - source.duration) <= 1 / float(video.frame_rate)
    assert abs(audio_duration(out) - video.duration) <= 1 / float(video.frame_rate)
    assert abs(audio_duration(out) - audio_duration(mixed["vob"])) <= 0.05
    film, p60 = decode_all(mixed["film"]), decode_all(mixed["p60"])
    assert abs(clip_combed_share(frames) - clip_combed_share(film)) <= 0.002
    copied = mixed_job.plan.sources  # the output frames are copies (--interp repeat): of which frame
    truth = [film[i] if i < MIXED_FILM else p60[i - MIXED_FILM] for i in copied]
    scores = np.array([psnr(a, b) for a, b in zip(frames, truth, strict=True)])
    assert np.mean(scores[copied < MIXED_FILM]) >= 40.0 and np.mean(scores[copied >= MIXED_FILM]) >= 35.0


def test_a_progressive_film_is_scanned_once(sources, tmp_path, monkeypatch):
    import restore.jobs.prepare
    from restore.config import RestoreConfig
    from restore.jobs import prepare_job

    scans = []

    def counting_scan(*args, **kwargs):
        scans.append(kwargs.get("source_filter", ""))
        return scan_video(*args, **kwargs)

    monkeypatch.setattr(restore.jobs.prepare, "scan_video", counting_scan)
    job = prepare_job(RestoreConfig(input=sources["film"], output=tmp_path / "a.mp4"))
    assert scans == [""] and job.fields is not None and job.fields.filter == ""


def test_the_change_point_of_per_frame_flags():
    telecined, interlaced = (0.8, 0.4, 0.02), (0.98, 0.05, 0.7)
    # (combed, repeated, combed after matching): a 3:2 cycle for 40 frames, then video with a lag
    flags = [(k % 5 != 0, k % 5 in (2, 4), False) for k in range(40)]
    flags += [(True, False, k > 3) for k in range(30)]
    assert change_point(flags, telecined, interlaced) == 40
    # progressive → interlaced: the combing alone places it
    flags = [(False, False, False)] * 25 + [(True, False, True)] * 10
    assert change_point(flags, (0.02, 0.0, 0.02), (0.97, 0.03, 0.9)) == 25


def test_frame_flags_are_read_from_both_idets():
    report = """
[Parsed_metadata_1 @ 0x1] frame:0    pts:0       pts_time:0
[Parsed_metadata_1 @ 0x1] lavfi.idet.repeated.current_frame=top
[Parsed_metadata_1 @ 0x1] lavfi.idet.single.current_frame=tff
[Parsed_metadata_4 @ 0x2] frame:0    pts:0       pts_time:0
[Parsed_metadata_4 @ 0x2] lavfi.idet.multiple.current_frame=progressive
[Parsed_metadata_1 @ 0x1] frame:1    pts:3003    pts_time:0.0333667
[Parsed_metadata_1 @ 0x1] lavfi.idet.repeated.current_frame=neither
[Parsed_metadata_1 @ 0x1] lavfi.idet.single.current_frame=progressive
[Parsed_metadata_4 @ 0x2] frame:1    pts:3003    pts_time:0.0333667
[Parsed_metadata_4 @ 0x2] lavfi.idet.multiple.current_frame=bff
"""
    times, flags = parse_frame_flags(report)
    assert times == [0.0, 0.0333667] and flags == [(True, True, False), (False, False, True)]


def test_the_sections_filtergraph():
    ivtc = decide_fields(FieldStats(60, 48, 0, 12, 0, 24, 0, 60), None)
    bob = decide_fields(FieldStats(60, 58, 0, 2, 0, 4, 57, 60), None)
    still = decide_fields(FieldStats(60, 0, 0, 60, 0, 0, 0), None)
    parts = [FieldSection(0.0, 2.5025, ivtc), FieldSection(2.5025, 6.0, bob), FieldSection(6.0, 7.0, still)]
    graph = sections_filter(parts, Fraction(30000, 1001))
    assert graph.startswith("split=3[f0][f1][f2];[f0]trim=end=2.485817," + ivtc.filter + "[v0];")
    assert "[f1]trim=start=2.485817:end=5.983317," + bob.filter + ",setpts=PTS-STARTPTS[v1]" in graph
    assert graph.endswith(
        "[f2]trim=start=5.983317,null,setpts=PTS-STARTPTS[v2];[v0][v1][v2]concat=n=3:v=1:a=0"
    )
    mixed = FieldDecision("mixed", None, "sections", graph, sections=tuple(parts))
    assert mixed.output_rate(Fraction(30000, 1001)) == Fraction(60000, 1001)  # the longest: 3.5 s of bob
    assert mixed.describe(Fraction(30000, 1001), None).startswith(
        "0–2.5 s telecined 3:2 (TFF) → 23.976p (IVTC); "
    )
