"""Segments of a long job and the journal that makes it resumable.

The output timeline is cut into segments of about ``segment_seconds`` (at a scene cut when one is
near, so no temporal state crosses a boundary). Each segment is decoded from its first needed source
frame (a frame-exact seek), processed and encoded on its own into a parts folder beside the output,
then recorded in a JSON journal, written atomically. The final file joins the segments without
re-encoding and muxes the source's audio and subtitles. A job killed at any point (SIGKILL included)
resumes with ``--resume``, redoing only the segments the journal does not list as complete.

A finished batch output gets a record beside it (``film.restored.mp4.restore.json``): the input's
identity (size, checksums of its first and last MiB), the job's options and the output's size and
time. A batch run again compares it (:func:`compare_output_record`) and skips what is already done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from restore.errors import RestoreError
from restore.media.sequence import input_signature

if TYPE_CHECKING:
    from restore.config import RestoreConfig

__all__ = [
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
]

JOURNAL_VERSION = 1
RECORD_VERSION = 1
_NOT_OPTIONS = ("output", "overwrite", "resume", "input")
#: options that change how a job is made, not what it makes: a record ignores them
_HOW_NOT_WHAT = ("device", "segment_seconds")
_MIB = 1 << 20


@dataclass(frozen=True)
class Segment:
    """Output frames [start, stop) of the plan, written to ``file`` (a name inside the parts folder)."""

    index: int
    start: int
    stop: int
    file: str


def plan_segments(
    sources: np.ndarray, targets: np.ndarray, shot_starts: set[int], frames_per_segment: int, suffix: str
) -> list[Segment]:
    """Cut output frames 0..M into segments of about ``frames_per_segment``, at shot starts when near.

    sources, targets: the plan's (M,) arrays; shot_starts: source frames that begin a shot.
    """
    count = int(sources.shape[0])
    frames_per_segment = max(1, int(frames_per_segment))
    starts_here = [
        k
        for k in range(1, count)
        if targets[k] < 0 and int(sources[k]) in shot_starts and sources[k - 1] < sources[k]
    ]
    bounds, position = [0], 0
    while count - position > 1.5 * frames_per_segment:
        ideal = position + frames_per_segment
        near = [k for k in starts_here if abs(k - ideal) <= frames_per_segment // 4 and k > position]
        cut = min(near, key=lambda k: abs(k - ideal)) if near else ideal
        bounds.append(cut)
        position = cut
    bounds.append(count)
    return [
        Segment(index=i, start=a, stop=b, file=f"segment_{i:05d}{suffix}")
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]


def journal_path_for(output: Path) -> Path:
    """``film.mp4`` -> ``film.mp4.journal.json`` beside it."""
    return output.with_name(f"{output.name}.journal.json")


def parts_folder_for(output: Path) -> Path:
    """``film.mp4`` -> the ``film.mp4.parts`` folder beside it, where the segments are written."""
    return output.with_name(f"{output.name}.parts")


def job_fingerprint(config: RestoreConfig, input_path: Path, frames: int) -> dict[str, object]:
    """What must not change between a run and its resumption: the input file and every option."""
    size, mtime_ns = input_signature(input_path)  # a file, or every frame of an image sequence
    options = _options(config)
    return {
        "input": str(input_path.resolve()),
        "input_size": size,
        "input_mtime_ns": mtime_ns,
        "frames": frames,
        "options": options,
    }


def _options(config: RestoreConfig, ignore: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        key: repr(value)
        for key, value in dataclasses.asdict(config).items()
        if key not in _NOT_OPTIONS and key not in ignore
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        reason = error.strerror or error
        raise RestoreError(f"cannot write the job journal {path}: {reason}") from None


@dataclass
class Journal:
    """The record of a segmented job: its fingerprint, its segments and which are complete.

    The journal file holds the fingerprint and the segment list; each finished segment gets a small
    ``<segment>.done`` record beside its file, written atomically once the segment file is in place.
    Workers finishing segments of one film at the same time therefore never write the same file.
    """

    path: Path
    fingerprint: dict[str, object]
    segments: list[Segment]

    @property
    def parts(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(".journal.json") + ".parts")

    def save(self) -> None:
        """Write the journal atomically (a reader sees the old or the new one, never a mix)."""
        payload = {
            "version": JOURNAL_VERSION,
            "fingerprint": self.fingerprint,
            "segments": [dataclasses.asdict(s) for s in self.segments],
        }
        _write_atomically(self.path, json.dumps(payload, indent=1))

    @classmethod
    def load(cls, path: Path) -> Journal:
        try:
            payload = json.loads(path.read_text())
            if payload.get("version") != JOURNAL_VERSION:
                raise ValueError("version")
            segments = [Segment(**s) for s in payload["segments"]]
        except (OSError, ValueError, KeyError, TypeError):
            raise RestoreError(f"the job journal {path} is unreadable; start over with --overwrite") from None
        return cls(path=path, fingerprint=payload["fingerprint"], segments=segments)

    def _record(self, segment: Segment) -> Path:
        return self.parts / f"{segment.file}.done"

    def is_complete(self, segment: Segment) -> bool:
        """Recorded as done, and its file is still there with the recorded size and checksum."""
        part = self.parts / segment.file
        try:
            record = json.loads(self._record(segment).read_text())
        except (OSError, ValueError):
            return False
        if not part.is_file() or part.stat().st_size != record.get("bytes"):
            return False
        return _sha256(part) == record.get("sha256")

    def completed(self) -> list[int]:
        """Indices of the segments recorded as done (without re-checking their files)."""
        return [s.index for s in self.segments if self._record(s).is_file()]

    def mark_done(self, segment: Segment) -> None:
        part = self.parts / segment.file
        record = {"bytes": part.stat().st_size, "sha256": _sha256(part)}
        _write_atomically(self._record(segment), json.dumps(record))

    def remove(self) -> None:
        """Delete the journal and the parts folder (after a successful join, or to start over)."""
        shutil.rmtree(self.parts, ignore_errors=True)
        self.path.unlink(missing_ok=True)


def record_path_for(output: Path) -> Path:
    """``film.restored.mp4`` -> ``film.restored.mp4.restore.json`` beside it: how the output was made."""
    return output.with_name(f"{output.name}.restore.json")


def input_identity(path: Path) -> dict[str, object]:
    """The input's size and the SHA-256 of its first and last MiB (unchanged by a copy elsewhere)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(_MIB)).hexdigest()
        handle.seek(max(0, size - _MIB))
        tail = hashlib.sha256(handle.read(_MIB)).hexdigest()
    return {"bytes": size, "head_sha256": head, "tail_sha256": tail}


def _output_identity(output: Path) -> dict[str, object]:
    stat = output.stat()
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def write_output_record(config: RestoreConfig, frames: int, duration: float) -> Path:
    """Record beside ``config.output`` (complete, in place) what it was made from; returns the record."""
    path = record_path_for(config.output)
    payload = {
        "version": RECORD_VERSION,
        "input": {"path": str(config.input), **input_identity(config.input)},
        "options": _options(config, _HOW_NOT_WHAT),
        "output": _output_identity(config.output),
        "frames": frames,
        "duration": duration,
    }
    _write_atomically(path, json.dumps(payload, indent=1))
    return path


@dataclass(frozen=True)
class OutputState:
    """What is at a job's output: ``missing``, ``done`` (made by this very job) or ``different``.

    reason: for ``different``, why in a few words; record: the output's record when it has one.
    """

    status: str
    reason: str = ""
    record: dict[str, object] | None = None


def compare_output_record(config: RestoreConfig) -> OutputState:
    """Whether ``config.output`` exists and its record says it was made from this input and options."""
    output = config.output
    if not output.exists():
        return OutputState("missing")
    try:
        record = json.loads(record_path_for(output).read_text())
        if record.get("version") != RECORD_VERSION:
            raise ValueError("version")
        made_from, options = dict(record["input"]), dict(record["options"])
        made = dict(record["output"])
    except (OSError, ValueError, KeyError, TypeError):
        return OutputState("different", "it has no record of how it was made")
    made_from.pop("path", None)
    try:
        source = input_identity(config.input)
    except OSError:
        return OutputState("different", "the input cannot be read", record)
    if made_from != source:
        return OutputState("different", "it was made from a different input (or the input changed)", record)
    wanted = _options(config, _HOW_NOT_WHAT)
    changed = sorted(key for key in set(wanted) | set(options) if wanted.get(key) != options.get(key))
    if changed:
        names = ", ".join("--" + key.replace("_", "-") for key in changed)
        return OutputState("different", f"it was made with other options ({names})", record)
    if made != _output_identity(output):
        return OutputState("different", "it has changed since it was made", record)
    return OutputState("done", "", record)
