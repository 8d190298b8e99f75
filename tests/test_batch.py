"""restore batch: many films on Dask, failures reported once, dead workers' tasks retried, a finished
batch run again skipped film by film, stage reports per segment."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from restore.config import RestoreConfig
from restore.jobs.batch import run_batch
from restore.media.scan import scan_video
from tests.conftest import ffmpeg, file_digest, make_clip, run_restore, run_restore_here, shared_file


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    clips = [make_clip(folder / f"film{i}.mp4", seconds=3.0 + i, rate="24") for i in range(3)]
    broken = folder / "broken.mp4"
    broken.write_bytes(clips[0].read_bytes()[:2000])  # a header and no media: corrupt
    return clips, broken


def _failure_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("failed: ")]


def test_one_corrupt_file_is_reported_once_and_the_others_finish_into_a_new_folder(films, tmp_path):
    clips, broken = films
    out = tmp_path / "new" / "restored"  # neither exists yet: the batch makes them
    listing = tmp_path / "list.txt"
    listing.write_text(f"# films\n{clips[1]}\n\n{broken}\n")
    job = ("--fps", "30", "--interp", "blend", "--workers", "2")
    result = run_restore("batch", clips[0], "--from", listing, "-o", out, *job, "-q")
    assert result.returncode == 3, result.stderr  # partial failure
    # one line for the corrupt film, no Dask block, no traceback, no retry (it would print again)
    lines = _failure_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"failed: {broken}: cannot read "), result.stderr
    assert result.stderr.strip().splitlines() == lines  # and nothing else with -q
    assert "Traceback" not in result.stderr and "Compute Failed" not in result.stderr
    report = json.loads((out / "batch-report.json").read_text())
    assert [entry["input"] for entry in report["files"]] == [str(clips[0]), str(clips[1]), str(broken)]
    assert (report["failed"], report["restored"], report["already_restored"]) == (1, 2, 0)
    good, bad = report["files"][:2], report["files"][2]
    assert bad["error"] and bad["output"] is None and bad["status"] == "failed" and bad["detail"] is None
    for entry, clip in zip(good, clips[:2], strict=True):
        assert entry["error"] is None and entry["status"] == "restored"
        assert "audio #1 aac: copied" in entry["notes"]  # what the output holds, as the run summary says
        restored = scan_video(entry["output"])
        assert (
            restored.frame_rate == 30
            and abs(restored.frame_count - round(scan_video(clip).duration * 30)) <= 1
        )
        assert entry["frames"] == restored.frame_count
    assert sorted(p.name for p in out.iterdir()) == [
        "batch-report.json",
        "film0.restored.mp4",
        "film0.restored.mp4.restore.json",
        "film1.restored.mp4",
        "film1.restored.mp4.restore.json",
    ]
    digests = {name: file_digest(out / name) for name in ("film0.restored.mp4", "film1.restored.mp4")}

    # run again, without -q (in its own process, so the workers' output is seen too): the finished
    # films are skipped, the corrupt one fails once more, in one line
    again = run_restore("batch", clips[0], "--from", listing, "-o", out, *job)
    assert again.returncode == 3, again.stderr
    assert len(_failure_lines(again.stderr)) == 1 and str(broken) in _failure_lines(again.stderr)[0]
    assert "Traceback" not in again.stderr and "Compute Failed" not in again.stderr
    assert "2 of 3 films done (0 restored now, 2 already restored)" in " ".join(again.stderr.split())
    report = json.loads((out / "batch-report.json").read_text())
    assert [entry["status"] for entry in report["files"]] == ["already restored"] * 2 + ["failed"]
    assert [entry["frames"] for entry in report["files"][:2]] == [entry["frames"] for entry in good]

    # the finished batch alone: every film done, exit 0, nothing touched
    done = run_restore_here("batch", clips[0], clips[1], "-o", out, *job)
    assert done.returncode == 0, done.stderr
    assert "2 of 2 films done (0 restored now, 2 already restored)" in " ".join(done.stderr.split())
    assert {name: file_digest(out / name) for name in digests} == digests

    # other options: refused film by film, in one line each, the earlier outputs untouched
    changed = run_restore_here(
        "batch", clips[0], clips[1], "-o", out, "--fps", "25", "--interp", "blend", "-q"
    )
    assert changed.returncode == 2, changed.stderr  # all refused
    lines = _failure_lines(changed.stderr)
    assert len(lines) == 2 and all("made with other options (--fps); pass --overwrite" in x for x in lines)
    assert {name: file_digest(out / name) for name in digests} == digests

    # --overwrite makes the one asked for again, with the new options
    redo = run_restore_here(
        "batch", clips[1], "-o", out, "--fps", "25", "--interp", "blend", "--overwrite", "-q"
    )
    assert redo.returncode == 0, redo.stderr
    assert scan_video(out / "film1.restored.mp4").frame_rate == 25
    assert file_digest(out / "film0.restored.mp4") == digests["film0.restored.mp4"]


def test_a_killed_worker_has_its_task_retried(films, tmp_path):
    from distributed import Client, LocalCluster

    clips, _ = films
    out = tmp_path / "out"
    out.mkdir()
    template = RestoreConfig(
        input=clips[0],
        output=clips[0],
        fps=30,
        interp="blend",
        segment_seconds=1.0,  # type: ignore[arg-type]
    )
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    outcome: dict[str, object] = {}

    def batch() -> None:
        outcome["result"] = run_batch(clips, out, template, scheduler=cluster.scheduler_address, retries=1)

    worker = threading.Thread(target=batch)
    worker.start()
    try:
        killed = False
        deadline = time.time() + 120
        while not killed and time.time() < deadline:
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy:
                time.sleep(1.0)  # let it get into its segments
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.05)
        worker.join(timeout=300)
        assert killed, "no task ever started"
    finally:
        client.close()
        cluster.close()
    result = outcome["result"]
    assert result.failed == 0, [item.error for item in result.items]  # type: ignore[attr-defined]
    for clip in clips:
        restored = scan_video(out / clip.name.replace(".mp4", ".restored.mp4"))
        assert abs(restored.frame_count - round(scan_video(clip).duration * 30)) <= 1


def test_stage_reports_are_per_segment_and_exact(tmp_path):
    """Each segment's stage line counts that segment's frames alone, in the batch report (one worker
    makes both segments: it reuses its engines, not the stages' counts) and in a segmented run on one
    machine. 50 frames in 1 s (25-frame) segments: bikes has a scene cut at frame 30, within a
    quarter segment of the ideal place, so the segments are 30 and 20 frames (before the fix the
    second said 50)."""
    clip = tmp_path / "bikes.mp4"
    ffmpeg("-i", str(shared_file("video", "bikes.mp4")), "-t", "2", "-vf", "scale=160:68", "-an",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", str(clip))  # fmt: skip
    assert scan_video(clip).frame_count == 50
    out = tmp_path / "out"
    job = ("--clean", "deflicker", "--segment-seconds", "1")
    result = run_restore("batch", clip, "-o", out, *job, "--workers", "1", "-q")
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads((out / "batch-report.json").read_text())["files"]
    assert [line.split(": deflicker")[0] for line in entry["stages"]] == [
        "segment 0: clean: 30 frames",
        "segment 1: clean: 20 frames",
    ]
    single = run_restore_here(clip, "-o", tmp_path / "one.mp4", *job)
    assert single.returncode == 0, single.stderr
    lines = [line.strip() for line in single.stderr.splitlines()]
    assert "segments: 2, 0 reused from an earlier run" in lines
    assert [line.split(": deflicker")[0] for line in lines if line.startswith("segment ")] == [
        "segment 0: clean: 30 frames",
        "segment 1: clean: 20 frames",
    ]
