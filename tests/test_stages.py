"""Source stages (``restore.stages.base``): the registry and its order, shot-start flags, the streaming
contract (same frames, same order, pulled lazily), and the one-line errors for a stage that cannot be had."""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from dain.errors import EngineUnavailableError, UnknownNameError, UserError
from restore.config import RestoreConfig
from restore.media.frames import array_to_tensor
from restore.stages import base
from restore.stages.base import STAGES, SourceFrame, SourceStage, apply_stages, create_source_stages

CPU = torch.device("cpu")


class Recorder:
    """A toy stage: adds ``offset`` to every image and records what it saw."""

    def __init__(self, name: str, offset: int, log: list[tuple[str, int]] | None = None) -> None:
        self.name = name
        self.offset = offset
        self.log = log if log is not None else []
        self.flags: list[bool] = []

    def process(self, frames: Iterator[SourceFrame]) -> Iterator[SourceFrame]:
        for frame in frames:
            self.log.append((self.name, frame.index))
            self.flags.append(frame.shot_start)
            yield SourceFrame(frame.index, frame.image + self.offset, frame.shot_start)

    def report(self) -> str:
        return f"{self.name}: {len(self.flags)} frames"


class HoldsOneBack(Recorder):
    """A toy stage that looks one frame ahead (as temporal stages do) and flushes at the end."""

    def process(self, frames: Iterator[SourceFrame]) -> Iterator[SourceFrame]:
        held: SourceFrame | None = None
        for frame in super().process(frames):
            if held is not None:
                yield held
            held = frame
        if held is not None:
            yield held


def images(count: int) -> list[torch.Tensor]:
    """Toy (3, 2, 3) float32 pictures whose every value is their index."""
    return [torch.full((3, 2, 3), float(index)) for index in range(count)]


def test_public_names():
    assert set(base.__all__) == {
        "SourceFrame",
        "SourceStage",
        "STAGES",
        "create_source_stages",
        "apply_stages",
    }


def test_stages_are_registered_in_pipeline_order():
    assert STAGES.names() == ["clean", "colorize"]  # cleanup first: colour is estimated on clean frames


def test_the_toy_stages_and_the_real_ones_satisfy_the_protocol(tmp_path):
    assert isinstance(Recorder("toy", 0), SourceStage)
    assert not isinstance(object(), SourceStage)
    config = _config(tmp_path, clean=("dust",), colorize=True)
    assert all(isinstance(stage, SourceStage) for stage in create_source_stages(config, CPU))


def test_shot_start_is_set_on_the_first_frame_and_on_every_listed_one():
    stage = Recorder("toy", 0)
    list(apply_stages(iter(images(6)), {3, 5}, [stage]))
    assert stage.flags == [True, False, False, True, False, True]
    again = Recorder("toy", 0)
    list(apply_stages(iter(images(3)), {0}, [again]))
    assert again.flags == [True, False, False]


def test_stages_run_in_list_order_frame_by_frame():
    log: list[tuple[str, int]] = []
    first, second = Recorder("first", 1, log), Recorder("second", 10, log)
    out = list(apply_stages(iter(images(3)), set(), [first, second]))
    assert [int(image[0, 0, 0]) for image in out] == [11, 12, 13]
    # streamed: each frame goes through both stages before the next is decoded
    assert log == [("first", 0), ("second", 0), ("first", 1), ("second", 1), ("first", 2), ("second", 2)]


def test_no_stage_passes_the_images_through_untouched():
    source = images(4)
    out = list(apply_stages(iter(source), {2}, []))
    assert len(out) == 4 and all(a is b for a, b in zip(out, source, strict=True))


def test_a_lookahead_stage_gives_the_same_frames_in_the_same_order():
    stage = HoldsOneBack("ahead", 0)
    out = list(apply_stages(iter(images(5)), {2}, [stage]))
    assert [int(image[0, 0, 0]) for image in out] == [0, 1, 2, 3, 4]
    assert stage.flags == [True, False, True, False, False]


def test_frames_are_pulled_only_as_needed():
    pulled: list[int] = []

    def endless() -> Iterator[torch.Tensor]:
        for index in itertools.count():
            pulled.append(index)
            yield torch.full((3, 2, 3), float(index))

    stream = apply_stages(endless(), set(), [HoldsOneBack("ahead", 0), Recorder("toy", 0)])
    assert pulled == []  # nothing happens until the first frame is asked for
    first_three = [int(next(stream)[0, 0, 0]) for _ in range(3)]
    assert first_three == [0, 1, 2]
    assert pulled == [0, 1, 2, 3]  # one frame of lookahead, no more: constant memory on a long film


# ---------------------------------------------------------------- from the job's options


def _config(tmp_path: Path, **options: object) -> RestoreConfig:
    reference = tmp_path / "ref.png"
    if not reference.exists():
        from PIL import Image

        Image.fromarray(np.full((24, 32, 3), (200, 80, 40), np.uint8)).save(reference)
    if options.get("colorize"):
        options.setdefault("color_refs", (reference,))
    return dataclasses.replace(
        RestoreConfig(input=tmp_path / "in.mp4", output=tmp_path / "out.mp4"), **options
    )


def test_the_options_choose_the_stages_and_the_order_is_fixed(tmp_path):
    assert create_source_stages(_config(tmp_path), CPU) == []
    assert [s.name for s in create_source_stages(_config(tmp_path, clean=("dust",)), CPU)] == ["clean"]
    assert [s.name for s in create_source_stages(_config(tmp_path, colorize=True), CPU)] == ["colorize"]
    both = create_source_stages(_config(tmp_path, colorize=True, clean=("all",)), CPU)
    assert [s.name for s in both] == ["clean", "colorize"]


def test_the_real_stages_keep_the_streaming_contract(tmp_path):
    stages = create_source_stages(_config(tmp_path, colorize=True, clean=("deflicker", "dust")), CPU)
    ys, xs = np.mgrid[0:48, 0:64]
    source = [np.stack([xs * 3 + shift, ys * 4, xs + ys + shift], -1).astype(np.uint8) for shift in range(6)]
    out = list(apply_stages((array_to_tensor(image, CPU) for image in source), {3}, stages))
    assert len(out) == 6 and all(image.shape == (3, 48, 64) and image.dtype == torch.float32 for image in out)
    assert all(0.0 <= float(image.min()) and float(image.max()) <= 1.0 for image in out)
    assert "6 frames" in stages[1].report() and "2 shots" in stages[1].report()  # the cut at 3 was seen


def test_an_unknown_stage_is_a_one_line_user_error():
    with pytest.raises(UnknownNameError, match="unknown stage 'denoise'; choose one of: clean, colorize"):
        STAGES.create("denoise", None, CPU)


def test_a_stage_missing_from_this_installation_is_a_one_line_user_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "restore.stages.colorize", None)  # as if the package were not shipped
    with pytest.raises(EngineUnavailableError, match="^--colorize is not available in this version$"):
        create_source_stages(_config(tmp_path, colorize=True), CPU)
    assert [s.name for s in create_source_stages(_config(tmp_path, clean=("dust",)), CPU)] == ["clean"]


def test_options_a_stage_cannot_use_are_user_errors(tmp_path, monkeypatch):
    from restore.stages.colorize.weights import COLORIZE_WEIGHTS, DEFAULT_ENGINE
    from tests.loopback import closed_port_url

    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "empty-cache"))  # no cached colouriser
    spec = dataclasses.replace(COLORIZE_WEIGHTS[DEFAULT_ENGINE], urls=(closed_port_url(),))  # and offline
    monkeypatch.setitem(COLORIZE_WEIGHTS, DEFAULT_ENGINE, spec)
    with pytest.raises(UserError, match="--colorize without --color-ref .* pass --colorize-weights PATH"):
        create_source_stages(_config(tmp_path, colorize=True, color_refs=()), CPU)
    with pytest.raises(ValueError, match="--clean: unknown step 'vacuum'"):
        create_source_stages(_config(tmp_path, clean=("vacuum",)), CPU)
