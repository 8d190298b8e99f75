"""Run the same ``restore`` CLI jobs with two source trees and compare outputs, time and memory.

Issue 17 is a refactor that must not change CLI behaviour, output or figures. This script checks
that for a handful of small jobs (classic interpolation, upscaling, cleanup, colourisation,
decimation, lossless FFV1, a high-bit-depth blend). For each job it runs the CLI once with each
tree, interleaved (old, new) so that load drift hits both, and reports:

* frame counts of both outputs, decoded by the bundled FFmpeg to raw rgb24 (rgb48le for 16-bit
  outputs);
* whether the decoded frames are bit-identical, else the largest absolute difference (in 8-bit
  levels) and the PSNR (dB) between old and new over the frames both have;
* whether the stderr summary lines match once timings ("in 2.8 s") and tree paths are masked;
* wall seconds old/new and their ratio (new / old), and CPU seconds (user + system) old/new;
* peak RSS old/new in MiB and their ratio: ``ru_maxrss`` from ``os.wait4`` on the CLI process,
  i.e. the largest single process of its tree (Python, or one of its FFmpeg children), as
  ``/usr/bin/time -v`` reports it.

Each tree runs as ``PYTHONPATH=<tree> <this venv's python> -m restore ...`` in a fresh temp
folder; PYTHONPATH comes before the editable install, which is checked by printing
``restore.__file__`` once per tree. Inputs come from ``../shared/data/video`` (beside the repo);
short clips are cut once, losslessly (FFV1), with the bundled FFmpeg.

Run from the repository root::

    .venv/bin/python benchmarks/compare_versions.py --old /tmp/orig --new . [--only NAME] [--out DIR]

``--only`` takes a job name (repeatable or comma-separated); ``--out`` keeps clips, outputs and
logs in DIR instead of a temp folder. The whole set takes a few minutes on 2 CPU cores. The exit
status is 0 when every job's outputs are identical and its summary lines match, else 1.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEO = REPO.parent / "shared" / "data" / "video"
PYTHON = sys.executable
JOB_TIMEOUT_S = 240.0


# ---- inputs ------------------------------------------------------------------------------------
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def lossless_cut(
    source: Path, seconds: float, out: Path, pix_fmts: tuple[str, ...] = (), extra: tuple[str, ...] = ()
) -> Path:
    """The first ``seconds`` of ``source`` as FFV1 (lossless), video only; first pix_fmt that works."""
    if out.exists():
        return out
    last: subprocess.CalledProcessError | None = None
    for pix_fmt in pix_fmts or (None,):
        args = ["-i", str(source), "-t", f"{seconds}", "-map", "0:v:0", *extra, "-c:v", "ffv1", "-level", "3"]
        if pix_fmt:
            args += ["-pix_fmt", pix_fmt]
        try:
            ffmpeg(*args, str(out))
            return out
        except subprocess.CalledProcessError as error:
            last = error
            out.unlink(missing_ok=True)
    assert last is not None
    raise last


def video_pix_fmt(path: Path) -> str:
    """The first video stream's pixel format, from ``ffmpeg -i``'s banner."""
    banner = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    found = re.search(r"Stream #\S+.*?: Video: [^,]+, (\w+)", banner.stderr)
    return found.group(1) if found else "?"


@dataclass(frozen=True)
class Job:
    name: str
    what: str
    make_input: Callable[[Path], Path]  # clip folder -> input film
    args: tuple[str, ...]
    output: str  # file name inside the run folder
    high_bit_depth: bool = False


def _shared(name: str) -> Callable[[Path], Path]:
    return lambda _clips: SHARED_VIDEO / name


def _cut(
    name: str, seconds: float, *pix_fmts: str, tag: str = "", extra: tuple[str, ...] = ()
) -> Callable[[Path], Path]:
    stem = Path(name).stem
    return lambda clips: lossless_cut(
        SHARED_VIDEO / name, seconds, clips / f"{stem}_{seconds:g}s{tag}.mkv", pix_fmts, extra
    )


REFS = str(SHARED_VIDEO / "archival_abomb_refs")

JOBS: tuple[Job, ...] = (
    Job("interp", "carphone --fps 60 (classic)", _shared("carphone.mp4"), ("--fps", "60"), "out.mp4"),
    Job(
        "upscale",
        "bikes 2 s --fps 48 --scale 2",
        _cut("bikes.mp4", 2.0),
        ("--fps", "48", "--scale", "2"),
        "out.mp4",
    ),
    Job("clean", "archival 2 s --clean all", _cut("archival_abomb.mp4", 2.0), ("--clean", "all"), "out.mp4"),
    Job(
        "colour",
        "archival 3 s --colorize --color-ref refs",
        _cut("archival_abomb.mp4", 3.0),
        ("--colorize", "--color-ref", REFS),
        "out.mp4",
    ),
    Job(
        "decimate",
        "carphone retimed to 24 fps --fps 12 (copy only)",
        _cut("carphone.mp4", 4.0, tag="_24fps", extra=("-vf", "setpts=N/(24*TB)", "-r", "24")),
        ("--fps", "12"),
        "out.mp4",
    ),
    Job(
        "ffv1",
        "carphone --fps 60 --scale 2 --codec ffv1",
        _shared("carphone.mp4"),
        ("--fps", "60", "--scale", "2", "--codec", "ffv1"),
        "out.mkv",
    ),
    Job(
        "blend16",
        "bikes 2 s 16-bit --interp blend --fps 50 --codec ffv1",
        _cut("bikes.mp4", 2.0, "gbrp16le", "yuv420p10le", tag="_hbd"),
        ("--interp", "blend", "--fps", "50", "--codec", "ffv1"),
        "out.mkv",
        high_bit_depth=True,
    ),
)


# ---- running -----------------------------------------------------------------------------------
@dataclass
class RunResult:
    ok: bool
    wall_s: float
    max_rss_mib: float
    cpu_s: float  # user + system of the process and the children it waited for
    load: float  # 1-minute load average when the run started
    stderr: str
    output: Path
    error: str = ""


def tree_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["COLUMNS"] = "1000"  # no wrapping of the summary lines
    env.pop("PYTHONSTARTUP", None)
    return env


def check_tree(tree: Path) -> str:
    """``restore.__file__`` as the tree's run sees it; exits if it is not the tree's own code."""
    found = subprocess.run(
        [PYTHON, "-c", "import restore; print(restore.__file__)"],
        env=tree_env(tree),
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    path = found.stdout.strip()
    if found.returncode != 0 or not Path(path).resolve().is_relative_to(tree.resolve()):
        sys.exit(f"PYTHONPATH={tree}: restore comes from {path or found.stderr.strip()!r}, not the tree")
    return path


def run_cli(tree: Path, film: Path, job: Job, folder: Path) -> RunResult:
    """One CLI run in ``folder`` (fresh); wall time from perf_counter, peak RSS from wait4."""
    folder.mkdir(parents=True, exist_ok=False)
    command = [PYTHON, "-m", "restore", str(film), *job.args, "-o", job.output]
    (folder / "command.txt").write_text(f"PYTHONPATH={tree} {' '.join(command)}\n")
    stdout_path, stderr_path = folder / "stdout.txt", folder / "stderr.txt"
    load = os.getloadavg()[0]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=folder, env=tree_env(tree), stdout=out, stderr=err, start_new_session=True
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(JOB_TIMEOUT_S, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    stderr = stderr_path.read_text(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    result = RunResult(
        process.returncode == 0, wall, usage.ru_maxrss / 1024.0, cpu, load, stderr, folder / job.output
    )
    if timed_out.is_set():
        result.ok, result.error = False, f"timed out after {JOB_TIMEOUT_S:.0f} s"
    elif not result.ok:
        lines = [line for line in stderr.splitlines() if line.strip()]
        result.error = f"exit {process.returncode}: {lines[-1] if lines else '(no stderr)'}"
    elif not result.output.exists():
        result.ok, result.error = False, f"exit 0 but no {job.output}"
    return result


def summary_lines(stderr: str, tree: Path) -> list[str]:
    """stderr lines with timings and the tree's path masked, whitespace collapsed."""
    text = stderr.replace(str(tree.resolve()), "<tree>").replace(str(tree), "<tree>")
    text = re.sub(r"\bin \d+(?:\.\d+)? ?(?:s|ms|min)\b", "in <t>", text)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


# ---- comparing ---------------------------------------------------------------------------------
@dataclass
class FrameComparison:
    frames_old: int = 0
    frames_new: int = 0
    identical: bool = False
    max_abs_8bit: float = 0.0
    psnr_db: float = math.inf
    pix_fmt: str = "rgb24"
    differing: int = 0  # frames (of those both have) that are not bit-identical
    first_differing: int = -1
    error: str = ""


def _frames(path: Path, pix_fmt: str, bpp: int) -> Iterator[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt=pix_fmt, bpp=bpp)
    meta = next(reader)
    width, height = meta["size"]
    dtype = np.uint16 if bpp == 6 else np.uint8
    try:
        for raw in reader:
            yield np.frombuffer(raw, dtype=dtype).reshape(height, width, 3)
    finally:
        reader.close()


def compare_outputs(old: Path, new: Path, high_bit_depth: bool) -> FrameComparison:
    pix_fmt, bpp, peak = ("rgb48le", 6, 65535.0) if high_bit_depth else ("rgb24", 3, 255.0)
    result = FrameComparison(pix_fmt=pix_fmt)
    squared, count, max_abs, identical = 0.0, 0, 0, True
    old_frames, new_frames = _frames(old, pix_fmt, bpp), _frames(new, pix_fmt, bpp)
    try:
        while True:
            a, b = next(old_frames, None), next(new_frames, None)
            result.frames_old += a is not None
            result.frames_new += b is not None
            if a is None or b is None:
                if a is not None or b is not None:
                    identical = False  # one ran out first: count the rest of the longer one
                    rest = old_frames if a is not None else new_frames
                    extra = sum(1 for _ in rest)
                    if a is not None:
                        result.frames_old += extra
                    else:
                        result.frames_new += extra
                break
            if a.shape != b.shape:
                result.error = f"frame sizes differ: {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}"
                identical = False
                break
            if not np.array_equal(a, b):
                identical = False
                if not result.differing:
                    result.first_differing = result.frames_old - 1
                result.differing += 1
                diff = np.abs(a.astype(np.int32) - b.astype(np.int32))
                max_abs = max(max_abs, int(diff.max()))
                squared += float(np.square(diff, dtype=np.float64).sum())
            count += a.size
    except Exception as error:  # a broken output is reported, not raised
        result.error = f"decode failed: {error}"
        identical = False
    finally:
        old_frames.close()
        new_frames.close()
    result.identical = identical and not result.error and result.frames_old == result.frames_new
    result.max_abs_8bit = max_abs * 255.0 / peak
    if squared > 0 and count:
        result.psnr_db = 10.0 * math.log10(peak * peak / (squared / count))
    return result


# ---- reporting ---------------------------------------------------------------------------------
@dataclass
class JobReport:
    job: Job
    old: RunResult | None = None
    new: RunResult | None = None
    frames: FrameComparison | None = None
    summary_match: bool | None = None
    summary: list[str] = field(default_factory=list)  # the old run's, masked
    notes: list[str] = field(default_factory=list)


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}" if old > 0 else "-"


def table(reports: list[JobReport]) -> str:
    header = (
        "| job | what | frames old/new | identical | max abs diff (8-bit) | PSNR dB | summary match "
        "| wall s old/new | wall ratio | CPU s old/new | peak RSS MiB old/new | RSS ratio | notes |"
    )
    rows = [header, "|" + "---|" * 13]
    for report in reports:
        old, new, frames = report.old, report.new, report.frames
        cells = [report.job.name, f"`{report.job.what}`"]
        if frames:
            verdict = "yes" if frames.identical else "**no**"
            if frames.differing:
                verdict += f" ({frames.differing} frames differ, first #{frames.first_differing})"
            cells += [f"{frames.frames_old}/{frames.frames_new}", verdict]
            if frames.identical:
                cells += ["0", "inf"]
            else:
                psnr = "inf" if math.isinf(frames.psnr_db) else f"{frames.psnr_db:.2f}"
                cells += [f"{frames.max_abs_8bit:.3g}", psnr]
        else:
            cells += ["-", "-", "-", "-"]
        match = report.summary_match
        cells.append("-" if match is None else ("yes" if match else "**no**"))
        if old and new:
            cells += [
                f"{old.wall_s:.2f}/{new.wall_s:.2f}",
                _ratio(new.wall_s, old.wall_s),
                f"{old.cpu_s:.1f}/{new.cpu_s:.1f}",
                f"{old.max_rss_mib:.0f}/{new.max_rss_mib:.0f}",
                _ratio(new.max_rss_mib, old.max_rss_mib),
            ]
        else:
            cells += ["-", "-", "-", "-", "-"]
        cells.append("; ".join(report.notes).replace("|", "\\|") or "")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def run_job(job: Job, old_tree: Path, new_tree: Path, clips: Path, work: Path) -> JobReport:
    report = JobReport(job)
    try:
        film = job.make_input(clips)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        report.notes.append(f"input failed: {error} {detail.decode(errors='replace').strip()[-200:]}")
        return report
    if job.high_bit_depth:
        report.notes.append(f"input {video_pix_fmt(film)}")
    report.old = run_cli(old_tree, film, job, work / job.name / "old")
    report.new = run_cli(new_tree, film, job, work / job.name / "new")
    for label, result in (("old", report.old), ("new", report.new)):
        if not result.ok:
            report.notes.append(f"{label} failed: {result.error}")
    if report.old.ok and report.new.ok:
        report.frames = compare_outputs(report.old.output, report.new.output, job.high_bit_depth)
        if job.high_bit_depth:
            formats = {video_pix_fmt(report.old.output), video_pix_fmt(report.new.output)}
            report.notes.append(f"output {'/'.join(sorted(formats))}")
        if report.frames.error:
            report.notes.append(report.frames.error)
        old_lines = summary_lines(report.old.stderr, old_tree)
        new_lines = summary_lines(report.new.stderr, new_tree)
        report.summary_match, report.summary = old_lines == new_lines, old_lines
        if not report.summary_match:
            changed = [f"{a!r} -> {b!r}" for a, b in zip(old_lines, new_lines, strict=False) if a != b]
            if len(old_lines) != len(new_lines):
                changed.append(f"{len(old_lines)} vs {len(new_lines)} lines")
            report.notes.append("stderr: " + "; ".join(changed)[:300])
    return report


def print_details(report: JobReport) -> None:
    job = report.job
    print(f"\n## {job.name}: restore <input> {' '.join(job.args)} -o {job.output}", flush=True)
    for label, result in (("old", report.old), ("new", report.new)):
        if result is None:
            continue
        state = "ok" if result.ok else f"FAILED ({result.error})"
        print(
            f"  {label}: {state}, {result.wall_s:.2f} s wall, {result.cpu_s:.2f} s CPU, "
            f"peak RSS {result.max_rss_mib:.0f} MiB, load {result.load:.2f} at start"
        )
    if report.frames:
        f = report.frames
        verdict = "identical"
        if not f.identical:
            verdict = (
                f"differ: {f.differing} frames (first #{f.first_differing}), "
                f"max |d| {f.max_abs_8bit:.3g}, PSNR {f.psnr_db:.2f} dB"
            )
        print(f"  frames ({f.pix_fmt}): {f.frames_old} old / {f.frames_new} new, {verdict}")
    for line in report.summary:
        print(f"  stderr(old): {line}")
    if report.summary_match is not None:
        print(f"  stderr summary lines match: {report.summary_match}")
    for note in report.notes:
        print(f"  note: {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the reference source tree")
    parser.add_argument("--new", type=Path, required=True, help="the source tree under test")
    parser.add_argument("--only", action="append", help="job name(s) to run (repeatable, comma-separated)")
    parser.add_argument("--out", type=Path, help="keep clips, outputs and logs here (default: a temp dir)")
    args = parser.parse_args()
    old_tree, new_tree = args.old.resolve(), args.new.resolve()

    jobs = list(JOBS)
    if args.only:
        wanted = {name.strip() for item in args.only for name in item.split(",") if name.strip()}
        unknown = wanted - {job.name for job in JOBS}
        if unknown:
            parser.error(f"unknown job(s) {sorted(unknown)}; jobs: {', '.join(job.name for job in JOBS)}")
        jobs = [job for job in JOBS if job.name in wanted]
    if not SHARED_VIDEO.is_dir():
        print(f"skipped: no input films in {SHARED_VIDEO}")
        return 0
    if shutil.which("nproc"):
        cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    else:
        cores = str(os.cpu_count())

    print(f"python: {PYTHON}; ffmpeg: {ffmpeg_exe()}; cores: {cores}; load: {os.getloadavg()[0]:.2f}")
    for label, tree in (("old", old_tree), ("new", new_tree)):
        print(f"{label}: PYTHONPATH={tree} -> restore.__file__ = {check_tree(tree)}")

    base = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="compare_versions_"))
    base.mkdir(parents=True, exist_ok=True)
    clips = base / "clips"
    clips.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="runs_", dir=base))  # fresh run folders every time
    started = time.perf_counter()
    reports = []
    for job in jobs:
        report = run_job(job, old_tree, new_tree, clips, work)
        print_details(report)
        reports.append(report)
    elapsed = time.perf_counter() - started
    print(f"\ntotal {elapsed:.0f} s; load {os.getloadavg()[0]:.2f}; outputs in {work}\n")
    print(table(reports))
    if not args.out:
        shutil.rmtree(base, ignore_errors=True)
    failed = any(not (r.frames and r.frames.identical and r.summary_match) for r in reports)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
