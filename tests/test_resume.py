"""Segmented jobs: SIGKILL at any point and --resume gives the same film as an uninterrupted run.

The jobs that are killed (and the one on a full disk) run in their own process group; the runs that
follow them (resumes, guards, the reference) call the CLI's ``main`` in this interpreter.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from restore.media.probe import probe
from restore.media.scan import scan_video
from tests.conftest import audio_duration, decode_all, restore_command_with_default_signals, run_restore_here

JOB = ("--fps", "30", "--interp", "blend", "--segment-seconds", "1", "-q")


@pytest.fixture(scope="module")
def clip(clip_factory):
    return clip_factory("resume.mp4", rate="24", seconds=6.0, size="160x96")


@pytest.fixture(scope="module")
def reference(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "whole.mkv"
    result = run_restore_here(clip, "-o", out, "--codec", "ffv1", "--fps", "30", "--interp", "blend", "-q")
    assert result.returncode == 0, result.stderr
    return decode_all(out)


def _segments_done(journal: Path) -> int:
    """Segments recorded as done, or -1 when the journal is missing or unreadable."""
    try:
        json.loads(journal.read_text())["segments"]
    except (OSError, ValueError, KeyError):
        return -1
    parts = journal.with_name(journal.name.removesuffix(".journal.json") + ".parts")
    return len(list(parts.glob("*.done")))


def _start(clip: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    command = restore_command_with_default_signals(clip, "-o", out, *JOB, *extra)
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill_when(
    process: subprocess.Popen[str], journal: Path, segments_done: int, jitter: float = 0.0
) -> bool:
    """SIGKILL the job once ``segments_done`` segments are recorded, plus ``jitter`` seconds."""
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and _segments_done(journal) < segments_done:
        time.sleep(0.02)
    time.sleep(jitter)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: Python and its FFmpeg children
    process.wait()
    return killed


@pytest.mark.parametrize("codec", ["ffv1", "h264"])
def test_sigkill_at_three_points_then_resume(clip, reference, tmp_path, codec):
    out = tmp_path / ("film.mkv" if codec == "ffv1" else "film.mp4")
    journal = out.with_name(out.name + ".journal.json")
    jitter = random.Random(f"resume-{codec}")  # random kill points, the same on every run
    for segments_done in (0, 2, 4):  # during the first segment, after two, after four
        process = _start(clip, out, "--codec", codec, *(("--resume",) if journal.exists() else ()))
        if not _kill_when(process, journal, segments_done, jitter.uniform(0.0, 0.2)):
            assert process.returncode == 0  # it finished before the kill landed: nothing left to resume
            break
        if out.exists():  # killed after the atomic rename of the joined file: it is complete
            break
        assert journal.exists() and _segments_done(journal) >= 0, "the journal stays valid"
    if journal.exists():
        result = run_restore_here(clip, "-o", out, *JOB, "--codec", codec, "--resume")
        assert result.returncode == 0, result.stderr
    assert not journal.exists() and not out.with_name(out.name + ".parts").exists()
    frames = decode_all(out)
    if codec == "ffv1":
        np.testing.assert_array_equal(frames, reference)
    else:
        assert len(frames) == len(reference)
    assert scan_video(out).frame_count == len(reference)
    assert abs(audio_duration(out) - audio_duration(clip)) <= 0.05


def test_journal_guards(clip, tmp_path):
    out = tmp_path / "film.mkv"
    journal = out.with_name(out.name + ".journal.json")
    process = _start(clip, out, "--codec", "ffv1")
    _kill_when(process, journal, 1)
    # a second run must not silently overwrite the interrupted one
    result = run_restore_here(clip, "-o", out, *JOB, "--codec", "ffv1")
    assert result.returncode == 2 and "--resume" in result.stderr
    # resuming with other options is refused
    result = run_restore_here(clip, "-o", out, *JOB, "--codec", "ffv1", "--scale", "2", "--resume")
    assert result.returncode == 2 and "different job" in result.stderr
    # --overwrite starts over
    result = run_restore_here(clip, "-o", out, *JOB, "--codec", "ffv1", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert probe(out).video.codec == "ffv1" and not journal.exists()


def test_disk_full_then_resume(clip, reference, tmp_path):
    out = tmp_path / "film.mkv"
    journal = out.with_name(out.name + ".journal.json")
    limit = 1024 * 1024  # room for a few of the 6 segments (2.5 MB in all), not the whole film

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "restore", str(clip), "-o", str(out), *JOB, "--codec", "ffv1"]
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=small_disk, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "limit" in lines[0] and "--resume" in lines[0]
    assert not out.exists()
    done = _segments_done(journal)
    assert done >= 1, "the segments that fitted are recorded"
    loud = [arg for arg in JOB if arg != "-q"]  # without --quiet the job log says what was reused
    result = run_restore_here(clip, "-o", out, *loud, "--codec", "ffv1", "--resume")
    assert result.returncode == 0, result.stderr
    assert f"{done} reused from an earlier run" in " ".join(result.stderr.split()), (
        "only unfinished segments redone"
    )
    np.testing.assert_array_equal(decode_all(out), reference)


def test_the_python_api_resumes_like_the_cli(clip, reference, tmp_path):
    """``restore_video(..., resume=True)`` continues a killed CLI job from its journal."""
    from restore import restore_video

    out = tmp_path / "film.mkv"
    journal = out.with_name(out.name + ".journal.json")
    process = _start(clip, out, "--codec", "ffv1")
    assert _kill_when(process, journal, 2), "the job must still be running after two of six segments"
    done = _segments_done(journal)
    assert done >= 2 and not out.exists()
    report = restore_video(clip, out, fps=30, interp="blend", codec="ffv1", segment_seconds=1.0, resume=True)
    assert f"{done} reused from an earlier run" in report.stage_reports[0]
    assert not journal.exists() and not out.with_name(out.name + ".parts").exists()
    np.testing.assert_array_equal(decode_all(out), reference)


# ---------------------------------------------------------------- short jobs: signals and litter


def _start_whole_job(out: Path) -> subprocess.Popen[str]:
    """A job on bikes.mp4 (10 s) that is long enough to be stopped while it encodes, unsegmented."""
    from tests.conftest import shared_file

    clip = shared_file("video", "bikes.mp4")
    command = restore_command_with_default_signals(clip, "-o", out, "--fps", "60", "-q")
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_partial(process: subprocess.Popen[str], folder: Path) -> list[Path]:
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        partial = list(folder.glob(".out.partial-*.mp4"))
        if partial:
            return partial
        time.sleep(0.01)
    raise AssertionError("the job never started encoding")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, signum, code):
    (tmp_path / "notes.txt").write_text("an archivist's file")
    before = sorted(os.listdir(tmp_path))
    process = _start_whole_job(tmp_path / "out.mp4")
    _wait_for_partial(process, tmp_path)
    os.kill(process.pid, signum)  # the restore process alone, as `kill PID` does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code
    name = signal.Signals(signum).name
    assert stderr.strip().splitlines() == [f"restore: stopped by {name}; no output was written"]
    assert sorted(os.listdir(tmp_path)) == before, "the folder is as it was"


def test_a_killed_job_leaves_litter_the_next_run_removes_and_nothing_else(tmp_path):
    out = tmp_path / "out.mp4"
    process = _start_whole_job(out)
    (partial,) = _wait_for_partial(process, tmp_path)
    os.killpg(process.pid, signal.SIGKILL)  # nothing can tidy up after SIGKILL
    process.wait()
    time.sleep(0.2)  # the orphaned FFmpeg closes the file it was writing
    dead = process.pid
    assert partial.name == f".out.partial-{dead}.mp4" and partial.exists(), "SIGKILL leaves it behind"
    others = [
        tmp_path / ".out.partial-1.mp4",  # process 1 exists: not litter
        tmp_path / f".other.partial-{dead}.mp4",  # another output's
        tmp_path / f"out.partial-{dead}.mp4",  # not a hidden work file
        tmp_path / f".out.partial-{dead}.mkv",  # another output's (other container)
    ]
    for path in others:
        path.write_bytes(b"keep")
    from tests.conftest import shared_file

    clip = shared_file("video", "bikes.mp4")
    result = run_restore_here(clip, "-o", out, "--fps", "5", "-q")  # the same output, made quickly
    assert result.returncode == 0, result.stderr
    assert not partial.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["out.mp4", *(p.name for p in others)])
    assert all(p.read_bytes() == b"keep" for p in others)
