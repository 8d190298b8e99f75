"""Shared fixtures: synthetic clips made with FFmpeg, the shared real data, output readers."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restore.media.ffmpeg import ffmpeg_exe

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_VIDEO = SHARED / "data" / "video"
SHARED_INTERP = SHARED / "data" / "interp"


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test when the shared data is absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"shared test data not available: {path}")
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clip(
    path: Path,
    rate: str = "24",
    seconds: float = 2.0,
    size: str = "160x96",
    audio: bool = True,
    pix_fmt: str = "yuv420p",
    codec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"),
    video_filter: str | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    """A moving test pattern (testsrc2) with an optional 440 Hz tone."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    if video_filter:
        args += ["-vf", video_filter]
    args += [*codec, "-pix_fmt", pix_fmt]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k"]
    args += [*extra, str(path)]
    ffmpeg(*args)
    return path


def flickering_clip(folder: Path, count: int, width: int = 320) -> tuple[Path, list, list]:
    """bedroom.mp4 (a single shot) with the damage generator's flicker only (seed 3), stored as FFV1.

    Returns (path, undamaged frames, flickering frames); frames are (H,W,3) uint8 RGB.
    """
    from restore.evaluation.cleanup import cut_lossless, read_clip, write_lossless
    from restore.evaluation.degrade import DegradationSettings, degrade_clip

    source = cut_lossless(shared_file("video", "bedroom.mp4"), folder / "bedroom.mkv", 0, count, width)
    frames = read_clip(source, 0, count)
    flickering, _ = degrade_clip(
        frames, seed=3, settings=DegradationSettings(scratch_rate=0, dust_per_mpx=0, grain=0)
    )
    return write_lossless(flickering, folder / "flicker.mkv"), frames, flickering


def decode_audio(path: Path, stream: int = 0, *extra: str) -> np.ndarray:
    """Audio stream ``stream`` of ``path`` decoded to interleaved float32 samples (``extra``: output
    options such as ``-ac 1 -ar 48000``)."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:a:{stream}",
         *extra, "-f", "f32le", "pipe:"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


def audio_duration(path: Path, stream: int = 0) -> float:
    """Seconds of decoded audio in stream ``stream`` (samples / rate)."""
    return len(decode_audio(path, stream, "-ac", "1", "-ar", "48000")) / 48000


def decode_all(path: Path) -> np.ndarray:
    """Every frame of ``path`` as (N, H, W, 3) uint8 (small clips only)."""
    from restore.media.decode import open_reader
    from restore.media.probe import probe
    from restore.media.scan import scan_video

    with open_reader(path, probe(path), scan_video(path)) as reader:
        return np.stack(list(reader))


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Runs ``restore`` as from an interactive shell: a test runner started in the background (``cmd &``)
# or under ``nohup`` passes SIGINT or SIGHUP on ignored, and ``restore`` rightly keeps an ignored
# signal ignored, so the signal tests would see the job finish instead of stopping.
_WITH_DEFAULT_SIGNALS = (
    "import runpy, signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "[signal.signal(s, signal.SIG_DFL) for s in (signal.SIGTERM, signal.SIGHUP)]; "
    "sys.argv[0] = 'restore'; runpy.run_module('restore', run_name='__main__', alter_sys=True)"
)


def restore_command_with_default_signals(*args: str | Path) -> list[str]:
    """argv of ``python -m restore ARGS`` with SIGINT, SIGTERM and SIGHUP at their defaults."""
    return [sys.executable, "-c", _WITH_DEFAULT_SIGNALS, *map(str, args)]


def run_restore(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "restore", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_restore_here(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI's ``main`` in this interpreter: the same job, exit code and messages as
    :func:`run_restore`, without starting Python and importing torch again (about 1.5 s a run).

    For tests about what a job makes; tests about the process itself (signals, a fresh interpreter,
    the console script) use :func:`run_restore`.
    """
    import contextlib
    import io

    from restore.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(arg) for arg in args])
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return subprocess.CompletedProcess(["restore", *map(str, args)], code, out.getvalue(), err.getvalue())


def run_restore_together(
    *jobs: Sequence[str | Path], timeout: float = 600
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent CLI jobs at the same time, each as :func:`run_restore` does; results in order.

    For tests that compare two jobs on the same input: each runs in its own interpreter with its
    own output, so running them side by side changes nothing but the wall time.
    """
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda job: run_restore(*job, timeout=timeout), jobs))


def main_in_process(args: Sequence[str | Path]) -> tuple[int, str, str]:
    """:func:`run_restore_here` as (exit code, stdout, stderr)."""
    result = run_restore_here(*args)
    return result.returncode, result.stdout, result.stderr


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the selected notebook tests' kernels in the background (see ``tests/test_notebooks.py``)."""
    if any(
        item.module.__name__ == "tests.test_notebooks" for item in session.items if hasattr(item, "module")
    ):
        from tests import test_notebooks

        test_notebooks.start_selected(session.items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    module = sys.modules.get("tests.test_notebooks")
    if module is not None:
        module.stop()


@pytest.fixture(scope="session", autouse=True)
def _test_process_keeps_the_default_allocator() -> Iterator[None]:
    """Jobs run in this interpreter (:func:`run_restore_here`) leave glibc's allocator as it is.

    A job entry fixes the mmap threshold for its whole process (:mod:`restore.jobs.memory`), which
    is right for one film per process; the test process runs many jobs and other tests besides, so it
    keeps glibc's default. What a job makes does not depend on the allocator; jobs in their own
    interpreter (:func:`run_restore`) still set it, and ``tests/test_jobs_memory.py`` checks the
    setting itself in a fresh process. The same goes for the thread pools a job entry sizes
    (:mod:`restore.jobs.threads`): the test process keeps PyTorch's and OpenCV's defaults.
    """
    import restore.jobs
    import restore.jobs.memory
    import restore.jobs.threads

    with pytest.MonkeyPatch.context() as patch:
        for module in (restore.jobs, restore.jobs.memory):
            patch.setattr(module, "fix_mmap_threshold", lambda threshold=0: False)
        for module in (restore.jobs, restore.jobs.threads):
            patch.setattr(module, "share_cores_with_codecs", lambda: 0)
        yield


@pytest.fixture(scope="session")
def clip_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Make (and cache per session) a synthetic clip: ``clip_factory("name.mp4", rate=..., ...)``."""
    folder = tmp_path_factory.mktemp("clips")
    made: dict[str, Path] = {}

    def factory(name: str, **options: Any) -> Path:
        key = name + repr(sorted(options.items()))
        if key not in made:
            made[key] = make_clip(folder / name, **options)
        return made[key]

    return factory
