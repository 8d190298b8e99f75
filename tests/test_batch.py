"""restore batch: many films on Dask, failures reported, dead workers' tasks retried."""

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
from tests.conftest import make_clip, run_restore, run_restore_here


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    clips = [make_clip(folder / f"film{i}.mp4", seconds=3.0 + i, rate="24") for i in range(3)]
    broken = folder / "broken.mp4"
    broken.write_bytes(clips[0].read_bytes()[:2000])  # a header and no media: corrupt
    return clips, broken


def test_one_corrupt_file_is_reported_and_the_others_finish(films, tmp_path):
    clips, broken = films
    out = tmp_path / "out"
    out.mkdir()
    listing = tmp_path / "list.txt"
    listing.write_text(f"# films\n{clips[1]}\n\n{broken}\n")
    result = run_restore(
        "batch",
        clips[0],
        "--from",
        listing,
        "-o",
        out,
        "--fps",
        "30",
        "--interp",
        "blend",
        "--workers",
        "2",
        "-q",
    )
    assert result.returncode == 3, result.stderr  # partial failure
    report = json.loads((out / "batch-report.json").read_text())
    assert [entry["input"] for entry in report["files"]] == [str(clips[0]), str(clips[1]), str(broken)]
    assert report["failed"] == 1
    good, bad = report["files"][:2], report["files"][2]
    assert bad["error"] and bad["output"] is None
    for entry, clip in zip(good, clips[:2], strict=True):
        assert entry["error"] is None
        restored = scan_video(entry["output"])
        assert (
            restored.frame_rate == 30
            and abs(restored.frame_count - round(scan_video(clip).duration * 30)) <= 1
        )
        assert entry["frames"] == restored.frame_count
    assert sorted(p.name for p in out.iterdir()) == [
        "batch-report.json",
        "film0.restored.mp4",
        "film1.restored.mp4",
    ]


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


def test_the_report_says_what_the_cleanup_did_per_segment(films, tmp_path):
    clips, _ = films
    out = tmp_path / "out"
    out.mkdir()
    result = run_restore(
        "batch", clips[0], clips[1], "-o", out, "--clean", "all", "--keep-grain", "0.3",
        "--segment-seconds", "1", "--workers", "1", "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "batch-report.json").read_text())
    for entry in report["files"]:
        lines = entry["stages"]
        assert len(lines) >= 3, lines  # 3 s and 4 s films in 1 s segments
        assert all(line.startswith("segment ") and ": clean: " in line for line in lines)
        assert "grain kept 0.3" in lines[0] and "dust" in lines[0]
    # the same job segmented on one machine says it too
    single = run_restore_here(
        clips[0], "-o", tmp_path / "one.mp4", "--clean", "deflicker", "--segment-seconds", "1"
    )
    assert single.returncode == 0, single.stderr
    assert "segments: " in single.stderr and "clean: " in single.stderr and "deflicker" in single.stderr
