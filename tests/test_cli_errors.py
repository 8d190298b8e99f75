"""Bad input: one line on stderr, exit 2, no traceback, nothing left behind, input unchanged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import (
    ffmpeg,
    file_digest,
    main_in_process,
    make_clip,
    restore_command_with_default_signals,
    run_restore,
    shared_file,
)


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("good") / "good.mp4", seconds=1.0)


def assert_refused(result, folder: Path, before: set[str], needle: str | None = None) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("restore: error:")
    if needle:
        assert needle in lines[0]
    assert set(os.listdir(folder)) == before, "no output or temporary file may be left behind"


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    """The five unreadable inputs, built once for the module (each test copies the one it needs)."""
    folder = tmp_path_factory.mktemp("bad")
    text = folder / "text.mp4"
    text.write_text("this is not a video\n")
    empty = folder / "empty.mp4"
    empty.touch()
    truncated = folder / "truncated.mp4"  # moov atom at the end: cut off
    data = make_clip(folder / "whole.mp4", seconds=2.0).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    faststart = make_clip(folder / "faststart_whole.mp4", seconds=4.0, extra=("-movflags", "+faststart"))
    truncated_fast = folder / "truncated_fast.mp4"  # index first, media data cut off
    data = faststart.read_bytes()
    truncated_fast.write_bytes(data[: len(data) // 3])
    audio_only = folder / "audio.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(audio_only))
    return {
        "text": text,
        "empty": empty,
        "truncated": truncated,
        "truncated_fast": truncated_fast,
        "audio_only": audio_only,
    }


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("text", "cannot read"),
        ("empty", "empty"),
        ("truncated", "cannot read"),
        ("truncated_fast", "truncated"),
        ("audio_only", "no video stream"),
    ],
)
def test_bad_inputs_are_refused(tmp_path, bad_inputs, kind, needle):
    path = tmp_path / bad_inputs[kind].name
    shutil.copyfile(bad_inputs[kind], path)  # alone in its own folder: any litter shows
    digest = file_digest(path)
    before = set(os.listdir(tmp_path))
    result = run_restore(path, "-q")
    assert_refused(result, tmp_path, before, needle)
    assert file_digest(path) == digest, "the input must not change"


def test_missing_input(tmp_path):
    before = set(os.listdir(tmp_path))
    assert_refused(run_restore(tmp_path / "nope.mp4"), tmp_path, before, "not found")


def test_output_equal_to_input(tmp_path, good_clip):
    local = tmp_path / "film.mp4"
    local.write_bytes(good_clip.read_bytes())
    digest = file_digest(local)
    before = set(os.listdir(tmp_path))
    assert_refused(run_restore(local, "-o", local, "--overwrite"), tmp_path, before, "input file itself")
    assert file_digest(local) == digest


def test_unwritable_output_folder(tmp_path, good_clip):
    if os.geteuid() == 0:
        target = Path("/proc/restore-test.mp4")  # not writable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "out.mp4"
    before = set(os.listdir(tmp_path))
    assert_refused(run_restore(good_clip, "-o", target), tmp_path, before, "not writable")
    assert not target.exists()


def test_missing_output_folder(tmp_path, good_clip):
    before = set(os.listdir(tmp_path))
    assert_refused(
        run_restore(good_clip, "-o", tmp_path / "no" / "out.mp4"), tmp_path, before, "does not exist"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--fps", "0"), "--fps"),
        (("--fps", "-24"), "--fps"),
        (("--fps", "1001"), "--fps"),
        (("--fps", "fast"), "--fps"),
        (("--scale", "0"), "--scale"),
        (("--scale", "-2"), "--scale"),
        (("--scale", "2", "--size", "640x480"), "--size"),
        (("--size", "big"), "--size"),
        (("--codec", "mpeg2"), "--codec"),
        (("--crf", "99"), "--crf"),
        (("--interp", "magic"), "magic"),
        (("--no-such-option",), "no-such-option"),
    ],
)
def test_bad_options_are_refused(tmp_path, good_clip, args, needle):
    out = tmp_path / "out.mp4"
    before = set(os.listdir(tmp_path))
    digest = file_digest(good_clip)
    result = (
        run_restore(good_clip, "-o", out, "--fps", "48", *args)
        if args[0] == "--interp"
        else run_restore(good_clip, "-o", out, *args)
    )
    assert_refused(result, tmp_path, before, needle)
    assert file_digest(good_clip) == digest


def test_debug_shows_the_traceback(tmp_path):
    result = run_restore(tmp_path / "nope.mp4", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_version():
    result = run_restore("--version")
    assert result.returncode == 0 and result.stdout.startswith("restore ")


def test_ctrl_c_stops_cleanly(tmp_path):
    import signal
    import subprocess
    import time

    clip = shared_file("video", "bikes.mp4")
    out = tmp_path / "out.mp4"
    process = subprocess.Popen(
        restore_command_with_default_signals(clip, "-o", out, "--fps", "60", "-q"),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".out.partial-*")):
        time.sleep(0.1)  # wait until encoding has started
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert os.listdir(tmp_path) == [], "no partial or final output after Ctrl-C"


def test_help_keeps_the_defaults_written_in_option_help():
    """Rich reads ``[default: …]`` as markup and drops it, so option help writes ``(default: …)``."""
    import re

    import restore.cli.batch
    import restore.cli.options
    import restore.cli.run

    for module in (restore.cli.batch, restore.cli.options, restore.cli.run):
        source = Path(module.__file__).read_text()
        assert not re.search(r"\[default:", source), f"{module.__name__} writes [default: …] in a help text"
    code, out, err = main_in_process(["run", "--help"])
    assert code == 0, err
    text = re.sub(r"[│\s]+", " ", out)  # the help is wrapped (and cut) to the terminal's width
    assert "Upscale factor (default: 1)." in text and text.count("(default:") >= 5, text


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowing, shown
def test_a_stop_signal_swallowed_by_a_finaliser_is_raised_again():
    """Python prints and drops an exception raised while a ``__del__`` runs; the signal is kept."""
    import gc
    import signal

    from restore.cli.signals import Stopped, raise_if_stopped, stopped_by_signals

    class SignalledWhileFinalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, inside the finaliser

    before = signal.getsignal(signal.SIGTERM)
    with stopped_by_signals():
        raise_if_stopped()  # nothing yet
        item = SignalledWhileFinalised()
        del item  # "Exception ignored in ...": the Stopped raised by the handler is lost here
        gc.collect()
        with pytest.raises(Stopped) as stopped:
            raise_if_stopped()
        assert stopped.value.signum == signal.SIGTERM
    raise_if_stopped()  # the next command starts afresh
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_the_process_ignores_stays_ignored():
    import signal

    from restore.cli.signals import stopped_by_signals

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job
    try:
        with stopped_by_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # ours
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
