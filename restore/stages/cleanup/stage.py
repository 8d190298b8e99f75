"""The cleanup source stage: deflicker → dust → scratches → denoise, streaming, shot by shot.

Frames flow through a chain of generators, one per step, over :class:`FrameRecord` objects that
carry the working float image and the motion between neighbours (computed once, on the input,
and shared by every step). Each step looks at most a few frames ahead; nothing crosses a shot start.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from dain.flow import compose_flows, lands_inside, upsample_flow, warp
from restore.media.frames import float_array_to_tensor, tensor_to_float_array
from restore.stages import SourceFrame
from restore.stages.cleanup import deflicker as flicker
from restore.stages.cleanup.denoise import estimate_noise, temporal_denoise
from restore.stages.cleanup.dust import dust_candidates, dust_mask, fill_dust
from restore.stages.cleanup.motion import flow_luma, flow_validity, luma, reduced_flows, repair_flow
from restore.stages.cleanup.scratches import (
    clear_of_spans,
    column_profile,
    fill_spans_from_neighbours,
    find_scratch_spans,
    fits_overlay,
    line_response,
    persistent_spans,
    picture_columns,
    profile_level,
)
from restore.stages.cleanup.settings import STEPS, CleanupSettings, parse_steps

if TYPE_CHECKING:
    import torch

__all__ = ["STEPS", "CleanupSettings", "CleanupStage", "parse_steps", "clean_frames"]


@dataclass(eq=False)
class FrameRecord:
    """One frame inside the stage: working image (H,W,3) float32 in [0,1] and motion to its neighbours.

    The deflicker looks many frames ahead, so a record stays small: flows are kept at the reduced size
    they are estimated at and brought to full size when read (``flow_prev``, ``flow_next``), validity
    as booleans (``valid_prev``, ``valid_next`` read as float32), and the input luma is dropped once
    the next frame's flicker has been measured against it. About 16 bytes per pixel in all.
    """

    index: int
    shot_start: bool
    device: torch.device
    image: np.ndarray
    input_luma: np.ndarray | None
    small_luma: np.ndarray | None
    small_flow_prev: np.ndarray | None = None  # (h,w,2) this frame -> previous frame, reduced pixels
    small_flow_next: np.ndarray | None = None  # (h,w,2) this frame -> next frame, reduced pixels
    valid_prev_mask: np.ndarray | None = None  # (H,W) bool
    valid_next_mask: np.ndarray | None = None
    path: flicker.FlickerPath | None = None
    noise: float = 0.0
    spans: list[tuple[int, int]] = field(default_factory=list)

    def _full(self, small: np.ndarray | None) -> np.ndarray | None:
        return None if small is None else upsample_flow(small, *self.image.shape[:2])

    @property
    def flow_prev(self) -> np.ndarray | None:
        """(H,W,2) float32 flow of this frame to the previous one, full-size pixels (None at a shot start)."""
        return self._full(self.small_flow_prev)

    @property
    def flow_next(self) -> np.ndarray | None:
        """(H,W,2) float32 flow of this frame to the next one, full-size pixels (None at a shot's end)."""
        return self._full(self.small_flow_next)

    @property
    def valid_prev(self) -> np.ndarray | None:
        """(H,W) float32 {0,1}: where ``flow_prev`` is trustworthy."""
        return None if self.valid_prev_mask is None else self.valid_prev_mask.astype(np.float32)

    @property
    def valid_next(self) -> np.ndarray | None:
        """(H,W) float32 {0,1}: where ``flow_next`` is trustworthy."""
        return None if self.valid_next_mask is None else self.valid_next_mask.astype(np.float32)


@dataclass
class _Counters:
    frames: int = 0
    flicker_correction: list[float] = field(default_factory=list)
    dust_pixels: int = 0
    dust_frames: int = 0
    scratch_columns: int = 0
    scratch_frames: int = 0
    noise: list[float] = field(default_factory=list)


def _windows(
    records: Iterator[FrameRecord], before: int, after: int
) -> Iterator[tuple[FrameRecord, list[FrameRecord], list[FrameRecord]]]:
    """(centre, up to ``before`` previous, up to ``after`` next) within the centre's shot, in order."""
    shot: list[FrameRecord] = []
    centre = 0
    for record in records:
        if record.shot_start and shot:
            while centre < len(shot):
                yield (
                    shot[centre],
                    shot[max(0, centre - before) : centre],
                    shot[centre + 1 : centre + 1 + after],
                )
                centre += 1
            shot, centre = [], 0
        shot.append(record)
        while centre + after < len(shot):
            yield shot[centre], shot[max(0, centre - before) : centre], shot[centre + 1 : centre + 1 + after]
            centre += 1
        drop = centre - before
        if drop > 0:
            shot, centre = shot[drop:], centre - drop
    while centre < len(shot):
        yield shot[centre], shot[max(0, centre - before) : centre], shot[centre + 1 : centre + 1 + after]
        centre += 1


def _neighbour(
    centre: FrameRecord, past: list[FrameRecord], future: list[FrameRecord], offset: int
) -> tuple[np.ndarray, np.ndarray, FrameRecord] | None:
    """(flow centre→neighbour, validity, neighbour record) for offset ±1 or ±2; None outside the shot."""
    side = past[::-1] if offset < 0 else future
    steps = abs(offset)
    if len(side) < steps:
        return None
    flow = centre.flow_prev if offset < 0 else centre.flow_next
    valid = centre.valid_prev if offset < 0 else centre.valid_next
    if flow is None or valid is None:
        return None
    for record in side[: steps - 1]:
        next_flow = record.flow_prev if offset < 0 else record.flow_next
        next_valid = record.valid_prev if offset < 0 else record.valid_next
        if next_flow is None or next_valid is None:
            return None
        valid = valid * (warp(next_valid, flow) > 0.5)
        flow = compose_flows(flow, next_flow)
    return flow, valid, side[steps - 1]


class CleanupStage:
    """A :class:`restore.stages.SourceStage` running the requested cleanup steps."""

    name = "clean"

    def __init__(self, settings: CleanupSettings = CleanupSettings(), keep_diagnostics: bool = False) -> None:
        """keep_diagnostics: keep every dust mask and scratch span (``masks``, ``spans_found``)."""
        self.settings = settings
        self.keep_diagnostics = keep_diagnostics
        self._counts = _Counters()
        self.masks: list[tuple[int, np.ndarray]] = []  # (frame index, (H,W) bool dust detections)
        self.spans_found: list[tuple[int, list[tuple[int, int]]]] = []  # (frame index, scratch spans)

    # ---- the chain -------------------------------------------------------------------------
    def process(self, frames: Iterator[SourceFrame]) -> Iterator[SourceFrame]:
        """Same frames, same order, cleaned; holds a few frames back for look-ahead."""
        records: Iterator[FrameRecord] = self._motion(self._records(frames))
        steps = self.settings.steps
        if "deflicker" in steps:
            records = self._deflicker(records)
        if "dust" in steps:
            records = self._dust(records)
        if "scratches" in steps:
            records = self._scratches(records)
        if "denoise" in steps:
            records = self._denoise(records)
        for record in records:
            self._counts.frames += 1
            image = float_array_to_tensor(np.clip(record.image, 0.0, 1.0), record.device)
            yield SourceFrame(record.index, image, record.shot_start)

    def _records(self, frames: Iterator[SourceFrame]) -> Iterator[FrameRecord]:
        for frame in frames:
            image = tensor_to_float_array(frame.image)  # OpenCV works on the host, channels last
            yield FrameRecord(
                frame.index,
                frame.shot_start,
                frame.image.device,
                image,
                luma(image),
                flow_luma(image, self.settings.flow_max_side),
            )

    def _motion(self, records: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
        previous: FrameRecord | None = None
        for record in records:
            if previous is not None and not record.shot_start:
                assert previous.small_luma is not None and record.small_luma is not None
                previous.small_flow_next, record.small_flow_prev = reduced_flows(
                    previous.small_luma, record.small_luma
                )
                to_next, to_prev = previous.flow_next, record.flow_prev
                assert to_next is not None and to_prev is not None
                previous.valid_next_mask = flow_validity(to_next, to_prev) > 0.5
                record.valid_prev_mask = flow_validity(to_prev, to_next) > 0.5
            if previous is not None:
                previous.small_luma = None  # both its flows are known
                yield previous
            previous = record
        if previous is not None:
            yield previous

    def _deflicker(self, records: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
        radius = max(1, int(self.settings.flicker_window))

        def with_paths(stream: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
            previous: FrameRecord | None = None
            for record in stream:
                relative = None
                flow, valid = record.flow_prev, record.valid_prev
                if previous is not None and not record.shot_start and flow is not None and valid is not None:
                    assert previous.input_luma is not None and record.input_luma is not None
                    warped = warp(previous.input_luma, flow)
                    relative = flicker.relative_flicker(record.input_luma, warped, valid)
                record.path = flicker.chain_path(previous.path if previous is not None else None, relative)
                if previous is not None:
                    previous.input_luma = None  # measured against; not needed again
                previous = record
                yield record

        # the frames ahead are held whole (they are not done yet); of those behind only the path
        behind: deque[tuple[int, flicker.FlickerPath]] = deque(maxlen=radius)
        for centre, _, future in _windows(with_paths(records), 0, radius):
            if centre.shot_start:
                behind.clear()
            assert centre.path is not None
            window = [*behind, (centre.index, centre.path), *((r.index, r.path) for r in future)]
            times = np.array([index for index, _ in window], dtype=np.float64)
            target = flicker.smooth_paths([path for _, path in window], times, float(centre.index))  # type: ignore[misc]
            behind.append((centre.index, centre.path))
            height, width = centre.image.shape[:2]
            gain, offset = flicker.correction_maps(centre.path, target, height, width)
            gain, offset, change = flicker.shrink_correction(
                luma(centre.image), gain, offset, self.settings.flicker_deadband
            )
            self._counts.flicker_correction.append(change)
            centre.image = flicker.apply_maps(centre.image, gain, offset)
            yield centre

    def _references(
        self, centre: FrameRecord, past: list[FrameRecord], future: list[FrameRecord]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, FrameRecord]]:
        """Two motion-compensated references (warped image, validity, flow, record), one each side if any."""
        order = (-1, 1, -2, 2) if past and future else (1, 2) if future else (-1, -2)
        found = []
        for offset in order:
            neighbour = _neighbour(centre, past, future, offset)
            if neighbour is not None:
                flow, valid, record = neighbour
                found.append((warp(record.image, flow), valid, flow, record))
            if len(found) == 2:
                break
        return found

    def _dust(self, records: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
        for centre, past, future in _windows(records, 2, 2):
            references = self._references(centre, past, future)
            if len(references) == 2:
                (ref_a, valid_a, flow_a, record_a), (ref_b, valid_b, flow_b, record_b) = references
                luma_now, luma_a, luma_b = luma(centre.image), luma(ref_a), luma(ref_b)
                centre.noise = min(
                    estimate_noise(luma_now, luma_a, valid_a), estimate_noise(luma_now, luma_b, valid_b)
                )
                # a large speck can drag the flow with it: re-derive the flow there from its surroundings
                level = max(
                    self.settings.dust_threshold * centre.noise * np.sqrt(2.0),
                    self.settings.dust_min_contrast,
                )
                suspects = dust_candidates(luma_now, luma_a, luma_b, level)
                if suspects.any():
                    region = cv2.dilate(suspects.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
                    ref_a = np.where(
                        region[..., None], warp(record_a.image, repair_flow(flow_a, region)), ref_a
                    )
                    ref_b = np.where(
                        region[..., None], warp(record_b.image, repair_flow(flow_b, region)), ref_b
                    )
                    luma_a, luma_b = luma(ref_a), luma(ref_b)
                height, width = luma_now.shape
                mask = dust_mask(
                    luma_now,
                    luma_a,
                    luma_b,
                    centre.noise,
                    inside=None if not past or not future else lands_inside(flow_a) & lands_inside(flow_b),
                    threshold=self.settings.dust_threshold,
                    min_contrast=self.settings.dust_min_contrast,
                    max_extent=max(16.0, self.settings.dust_max_size * max(height, width)),
                    confirm_all=self.settings.dust_confirm,
                )
                if self.keep_diagnostics:
                    self.masks.append((centre.index, mask))
                if mask.any():
                    centre.image = fill_dust(centre.image, ref_a, ref_b, mask)
                    self._counts.dust_pixels += int(mask.sum())
                    self._counts.dust_frames += 1
            yield centre

    def _scratches(self, records: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
        def with_spans(stream: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
            for record in stream:
                picture = luma(record.image)
                response = line_response(picture)
                profile = column_profile(picture, response=response)
                level = profile_level(profile)
                first, last = picture_columns(picture)
                record.spans = [
                    span
                    for span in find_scratch_spans(profile)
                    if first + 3 <= span[0] <= span[1] <= last - 3
                    and fits_overlay(picture, response, span, level)
                ]
                yield record

        for centre, past, future in _windows(with_spans(records), 2, 2):
            spans = persistent_spans(centre.spans, [r.spans for r in (*past[-1:], *future[:1])])
            if self.keep_diagnostics:
                self.spans_found.append((centre.index, spans))
            if spans:
                neighbours = []
                for offset in (-1, 1, -2, 2):
                    found = _neighbour(centre, past, future, offset)
                    if found is not None:
                        flow, valid, record = found
                        usable = (valid > 0.5) & clear_of_spans(flow[..., 0], [*spans, *record.spans])
                        neighbours.append((warp(record.image, flow), usable))
                centre.image = fill_spans_from_neighbours(centre.image, spans, neighbours)
                self._counts.scratch_columns += len(spans)
                self._counts.scratch_frames += 1
            yield centre

    def _denoise(self, records: Iterator[FrameRecord]) -> Iterator[FrameRecord]:
        radius = self.settings.denoise_radius
        for centre, past, future in _windows(records, radius, radius):
            neighbours = []
            for offset in [o for k in range(1, radius + 1) for o in (-k, k)]:
                found = _neighbour(centre, past, future, offset)
                if found is not None:
                    flow, valid, record = found
                    neighbours.append((warp(record.image, flow), valid))
            if neighbours:
                noise = min(estimate_noise(centre.image, warped, valid) for warped, valid in neighbours[:2])
                self._counts.noise.append(noise)
                centre.image = temporal_denoise(
                    centre.image,
                    neighbours,
                    noise,
                    self.settings.denoise_strength,
                    self.settings.keep_grain,
                    self.settings.denoise_spatial,
                    self.settings.denoise_floor,
                )
            yield centre

    # ---- reporting -------------------------------------------------------------------------
    def report(self) -> str:
        """One line: the steps and what each did."""
        counts, parts = self._counts, []
        if "deflicker" in self.settings.steps:
            changes = np.array(counts.flicker_correction)
            mean = 255.0 * float(changes.mean()) if changes.size else 0.0
            corrected = int((changes > 0).sum())
            parts.append(f"deflicker {corrected} frames corrected, mean brightness change {mean:.2f}/255")
        if "dust" in self.settings.steps:
            parts.append(f"dust {counts.dust_pixels} px in {counts.dust_frames} frames")
        if "scratches" in self.settings.steps:
            parts.append(f"scratches {counts.scratch_columns} column spans in {counts.scratch_frames} frames")
        if "denoise" in self.settings.steps:
            noise = 255.0 * float(np.mean(counts.noise)) if counts.noise else 0.0
            floor = self.settings.denoise_floor
            above = sum(sigma > floor for sigma in counts.noise)
            parts.append(
                f"denoise strength {self.settings.denoise_strength:g}, noise sigma {noise:.2f}/255 "
                f"({above} frames above the {255.0 * floor:.2g}/255 floor), "
                f"grain kept {self.settings.keep_grain:g}"
            )
        return f"{counts.frames} frames: " + "; ".join(parts)


def clean_frames(
    frames: Iterable[np.ndarray],
    settings: CleanupSettings = CleanupSettings(),
    shot_starts: Iterable[int] = (),
) -> list[np.ndarray]:
    """Python API: clean a list of (H,W,3) uint8/uint16 RGB frames; ``shot_starts`` are cut indices.

    Returns the cleaned frames with the input's dtype (converted to unit floats once on the way in
    and rounded once on the way out, as in a job).
    """
    images = list(frames)
    if not images:
        return []
    starts = set(shot_starts) | {0}
    stage = CleanupStage(settings)
    source = (SourceFrame.from_array(i, image, i in starts) for i, image in enumerate(images))
    return [frame.to_array(images[0].dtype) for frame in stage.process(source)]
