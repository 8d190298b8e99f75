"""Segments and the resume journal (``restore.jobs.segments``): cut placement, journal I/O, fingerprint."""

from __future__ import annotations

import dataclasses
import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restore.config import RestoreConfig
from restore.errors import RestoreError
from restore.jobs import segments
from restore.jobs.segments import (
    Journal,
    Segment,
    compare_output_record,
    input_identity,
    job_fingerprint,
    journal_path_for,
    parts_folder_for,
    plan_segments,
    record_path_for,
    write_output_record,
)


def test_public_names():
    assert set(segments.__all__) == {
        "Segment",
        "Journal",
        "plan_segments",
        "journal_path_for",
        "parts_folder_for",
        "job_fingerprint",
        "OutputState",
        "record_path_for",
        "input_identity",
        "write_output_record",
        "compare_output_record",
    }


def copies(count: int) -> tuple[np.ndarray, np.ndarray]:
    """A plan that copies source frame k to output frame k (sources, targets)."""
    return np.arange(count, dtype=np.int64), np.full(count, -1, dtype=np.int64)


def bounds(cut: list[Segment]) -> list[tuple[int, int]]:
    return [(segment.start, segment.stop) for segment in cut]


# ---------------------------------------------------------------- plan_segments


def test_without_cuts_segments_have_the_asked_length_and_the_last_takes_the_rest():
    cut = plan_segments(*copies(100), set(), 30, ".mkv")
    assert bounds(cut) == [(0, 30), (30, 60), (60, 100)]  # 40 left is under 1.5 x 30: one segment
    assert [segment.index for segment in cut] == [0, 1, 2]
    assert [segment.file for segment in cut] == [
        "segment_00000.mkv",
        "segment_00001.mkv",
        "segment_00002.mkv",
    ]


def test_a_short_job_is_one_segment():
    assert plan_segments(*copies(45), {0, 10}, 30, ".mp4") == [Segment(0, 0, 45, "segment_00000.mp4")]


def test_a_scene_cut_near_the_ideal_place_is_taken():
    # ideal cuts at 30 and then 33 + 30 = 63; a quarter segment (7 frames) either way counts as near
    cut = plan_segments(*copies(100), {0, 33, 70}, 30, ".mkv")
    assert bounds(cut) == [(0, 33), (33, 70), (70, 100)]


def test_a_scene_cut_too_far_away_is_not_taken():
    cut = plan_segments(*copies(100), {38, 22}, 30, ".mkv")  # 8 frames from the ideal 30
    assert bounds(cut)[0] == (0, 30)


def test_the_nearest_of_several_scene_cuts_is_taken():
    cut = plan_segments(*copies(100), {25, 28, 35}, 30, ".mkv")
    assert bounds(cut)[0] == (0, 28)


def test_only_the_first_copy_of_a_shot_start_is_a_cut():
    # source 28 begins a shot and is shown three times (outputs 28-30): the cut goes before the
    # first of them, although the third sits at the ideal place
    sources = np.array([*range(28), 28, 28, *range(28, 98)], dtype=np.int64)
    targets = np.full(100, -1, dtype=np.int64)
    assert plan_segments(sources, targets, {28}, 30, ".mkv")[0].stop == 28


def test_an_interpolated_frame_is_never_a_cut():
    sources, targets = copies(100)
    targets[32] = 33  # output 32 lies between sources 32 and 33
    assert plan_segments(sources, targets, {32}, 30, ".mkv")[0].stop == 30
    targets[32] = -1
    assert plan_segments(sources, targets, {32}, 30, ".mkv")[0].stop == 32


def test_segment_length_below_one_is_one():
    assert bounds(plan_segments(*copies(3), set(), 0, ".mkv")) == [(0, 1), (1, 2), (2, 3)]


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 400),
    per_segment=st.integers(1, 60),
    starts=st.sets(st.integers(0, 399), max_size=30),
)
def test_segments_cover_the_output_once_and_keep_near_their_length(count, per_segment, starts):
    cut = plan_segments(*copies(count), starts, per_segment, ".mkv")
    assert cut[0].start == 0 and cut[-1].stop == count
    assert all(a.stop == b.start for a, b in zip(cut, cut[1:], strict=False))
    assert [segment.index for segment in cut] == list(range(len(cut)))
    for segment in cut[:-1]:
        length = segment.stop - segment.start
        assert abs(length - per_segment) <= per_segment // 4 and length > 0
        ideal = segment.start + per_segment
        assert segment.stop == ideal or segment.stop in starts  # moved only onto a scene cut
    assert 0 < cut[-1].stop - cut[-1].start <= 1.5 * per_segment


# ---------------------------------------------------------------- journal


def test_journal_and_parts_sit_beside_the_output(tmp_path):
    output = tmp_path / "film.mp4"
    assert journal_path_for(output) == tmp_path / "film.mp4.journal.json"
    assert parts_folder_for(output) == tmp_path / "film.mp4.parts"
    assert Journal(journal_path_for(output), {}, []).parts == parts_folder_for(output)


def _journal(tmp_path: Path) -> Journal:
    cut = plan_segments(*copies(100), {33}, 30, ".mkv")
    fingerprint = {"input": "/films/a.mp4", "frames": 100, "options": {"fps": "Fraction(60, 1)"}}
    return Journal(journal_path_for(tmp_path / "film.mkv"), fingerprint, cut)


def test_save_then_load_gives_the_same_journal_and_leaves_no_temporary_file(tmp_path):
    journal = _journal(tmp_path)
    journal.save()
    assert os.listdir(tmp_path) == ["film.mkv.journal.json"]
    assert json.loads(journal.path.read_text())["version"] == 1
    loaded = Journal.load(journal.path)
    assert loaded == journal
    journal.segments = journal.segments[:1]
    journal.save()  # replaced whole
    assert Journal.load(journal.path).segments == journal.segments


@pytest.mark.parametrize(
    "text",
    [
        None,  # no file
        "{not json",
        '{"version": 2, "fingerprint": {}, "segments": []}',
        '{"version": 1, "fingerprint": {}}',
        '{"version": 1, "fingerprint": {}, "segments": [{"index": 0}]}',
    ],
)
def test_an_unreadable_journal_is_a_one_line_user_error(tmp_path, text):
    path = tmp_path / "film.mkv.journal.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(RestoreError, match="unreadable; start over with --overwrite") as error:
        Journal.load(path)
    assert "\n" not in str(error.value)


def test_saving_where_it_cannot_be_written_is_a_user_error_and_leaves_nothing(tmp_path):
    journal = _journal(tmp_path / "missing")
    with pytest.raises(RestoreError, match="cannot write the job journal"):
        journal.save()
    assert os.listdir(tmp_path) == []


def test_a_segment_is_complete_only_once_marked_and_while_its_file_is_intact(tmp_path):
    journal = _journal(tmp_path)
    journal.save()
    first, second = journal.segments[:2]
    journal.parts.mkdir()
    part = journal.parts / first.file
    part.write_bytes(b"encoded frames " * 100)
    assert not journal.is_complete(first) and journal.completed() == []
    journal.mark_done(first)
    assert journal.is_complete(first) and not journal.is_complete(second)
    assert journal.completed() == [0]
    assert sorted(os.listdir(journal.parts)) == ["segment_00000.mkv", "segment_00000.mkv.done"]

    part.write_bytes(b"ENCODED frames " * 100)  # same size, other bytes: the checksum notices
    assert not journal.is_complete(first)
    part.write_bytes(b"encoded frames " * 99)  # cut short
    assert not journal.is_complete(first)
    part.write_bytes(b"encoded frames " * 100)
    assert journal.is_complete(first)
    part.unlink()
    assert not journal.is_complete(first)
    assert journal.completed() == [0]  # the record alone, not re-checked


def test_a_damaged_done_record_means_not_complete(tmp_path):
    journal = _journal(tmp_path)
    journal.parts.mkdir()
    segment = journal.segments[0]
    (journal.parts / segment.file).write_bytes(b"x")
    (journal.parts / f"{segment.file}.done").write_text("{half a rec")
    assert not journal.is_complete(segment)


def test_remove_deletes_the_journal_and_the_parts(tmp_path):
    journal = _journal(tmp_path)
    journal.save()
    journal.parts.mkdir()
    (journal.parts / journal.segments[0].file).write_bytes(b"x")
    journal.mark_done(journal.segments[0])
    journal.remove()
    assert os.listdir(tmp_path) == []
    journal.remove()  # twice is fine


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_holds_the_input_file_and_every_option_but_where_the_output_goes(tmp_path):
    source = tmp_path / "film.mp4"
    source.write_bytes(b"0123456789")
    config = RestoreConfig(input=source, output=tmp_path / "out.mp4", fps=Fraction(60), scale=2.0)
    fingerprint = job_fingerprint(config, source, 240)
    assert fingerprint["input"] == str(source.resolve())
    assert fingerprint["input_size"] == 10 and fingerprint["frames"] == 240
    assert fingerprint["input_mtime_ns"] == source.stat().st_mtime_ns
    options = fingerprint["options"]
    assert options["fps"] == repr(Fraction(60)) and options["scale"] == "2.0"
    assert not {"input", "output", "overwrite", "resume"} & set(options)
    json.dumps(fingerprint)  # goes into the journal as it is

    elsewhere = RestoreConfig(
        input=source, output=tmp_path / "b.mp4", fps=Fraction(60), scale=2.0, overwrite=True, resume=True
    )
    assert job_fingerprint(elsewhere, source, 240) == fingerprint
    other_option = RestoreConfig(input=source, output=tmp_path / "out.mp4", fps=Fraction(50), scale=2.0)
    assert job_fingerprint(other_option, source, 240) != fingerprint
    assert job_fingerprint(config, source, 241) != fingerprint
    os.utime(source, ns=(0, source.stat().st_mtime_ns + 1_000_000_000))  # the input was touched
    assert job_fingerprint(config, source, 240) != fingerprint


# ---------------------------------------------------------------- the record of a finished output


def _made(tmp_path: Path, fps: Fraction) -> RestoreConfig:
    source = tmp_path / "film.mp4"
    source.write_bytes(bytes(range(256)) * 9000)  # 2.3 MB: a head and a tail MiB apart
    return RestoreConfig(input=source, output=tmp_path / "film.restored.mp4", fps=fps)


def test_a_finished_output_is_recognised_by_its_record(tmp_path):
    config = _made(tmp_path, fps=Fraction(48))
    assert compare_output_record(config).status == "missing"
    config.output.write_bytes(b"restored film")
    state = compare_output_record(config)
    assert (state.status, state.reason) == ("different", "it has no record of how it was made")
    record = write_output_record(config, frames=96, duration=2.0)
    assert record == record_path_for(config.output) == tmp_path / "film.restored.mp4.restore.json"
    state = compare_output_record(config)
    assert state.status == "done" and state.record is not None and state.record["frames"] == 96
    # how it is made (device, segment length) and whether it may be replaced do not count
    again = dataclasses.replace(config, device="cpu", segment_seconds=5.0, overwrite=True, resume=True)
    assert compare_output_record(again).status == "done"
    moved = tmp_path / "moved.mp4"  # the same input elsewhere is the same input
    moved.write_bytes(config.input.read_bytes())
    assert compare_output_record(dataclasses.replace(config, input=moved)).status == "done"


def test_a_changed_option_input_or_output_is_said_in_a_few_words(tmp_path):
    config = _made(tmp_path, fps=Fraction(48))
    config.output.write_bytes(b"restored film")
    write_output_record(config, frames=96, duration=2.0)
    other = compare_output_record(dataclasses.replace(config, fps=Fraction(60), scale=2.0))
    assert (other.status, other.reason) == ("different", "it was made with other options (--fps, --scale)")
    tail = bytearray(config.input.read_bytes())
    tail[-1] ^= 1  # one byte at the end of the input
    changed = tmp_path / "changed.mp4"
    changed.write_bytes(bytes(tail))
    state = compare_output_record(dataclasses.replace(config, input=changed))
    assert state.reason == "it was made from a different input (or the input changed)"
    assert input_identity(changed)["bytes"] == input_identity(config.input)["bytes"]
    config.output.write_bytes(b"something else")
    assert compare_output_record(config).reason == "it has changed since it was made"
