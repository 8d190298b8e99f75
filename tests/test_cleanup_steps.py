"""Cleanup steps on small synthetic clips with known truth; the stage's streaming contract."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from restore.evaluation.cleanup import clip_psnr, flicker_figure
from restore.evaluation.degrade import DegradationSettings, degrade_clip
from restore.stages import SourceFrame
from restore.stages.cleanup import (
    CleanupSettings,
    CleanupStage,
    clean_frames,
    deflicker_frames,
    denoise_frames,
    parse_steps,
    remove_dust,
    remove_scratches,
)
from restore.stages.cleanup.dust import detect_dust
from restore.stages.cleanup.scratches import column_profile, fill_spans, find_scratch_spans, persistent_spans
from restore.stages.cleanup.stage import _windows


def moving_texture(
    count: int = 10, height: int = 72, width: int = 96, speed: float = 1.0
) -> list[np.ndarray]:
    """A smooth random texture panning right by ``speed`` px per frame: (H,W,3) uint8."""
    rng = np.random.default_rng(3)
    big = cv2.GaussianBlur(
        rng.random((height + 8, width + 8 + int(speed * count) + 8, 3)).astype(np.float32), (0, 0), 2.5
    )
    big = (big - big.min()) / (big.max() - big.min()) * 0.7 + 0.15
    frames = []
    for t in range(count):
        shift = np.float32([[1, 0, -speed * t], [0, 1, 0]])
        moved = cv2.warpAffine(big, shift, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR)
        frames.append(np.clip(moved[4 : 4 + height, 4 : 4 + width] * 255 + 0.5, 0, 255).astype(np.uint8))
    return frames


def test_parse_steps():
    assert parse_steps(["all"]) == ("deflicker", "dust", "scratches", "denoise")
    assert parse_steps(["denoise", "dust"]) == ("dust", "denoise")
    with pytest.raises(ValueError, match="--clean"):
        parse_steps(["dust", "sparkle"])


def test_windows_never_cross_a_shot_start():
    class R:
        def __init__(self, index: int, shot_start: bool) -> None:
            self.index, self.shot_start = index, shot_start

    records = [R(i, i in (0, 4)) for i in range(7)]
    seen = [
        (c.index, [p.index for p in past], [f.index for f in future])
        for c, past, future in _windows(iter(records), 2, 2)
    ]
    assert [s[0] for s in seen] == list(range(7))
    assert seen[3] == (3, [1, 2], [])
    assert seen[4] == (4, [], [5, 6])
    assert seen[1] == (1, [0], [2, 3])


def test_stage_keeps_frames_order_count_and_dtype():
    frames = moving_texture(6)
    frames16 = [f.astype(np.uint16) * 257 for f in frames]
    stage = CleanupStage()
    source = (SourceFrame.from_array(i, f, i in (0, 3)) for i, f in enumerate(frames16))
    out = list(stage.process(source))
    assert [f.index for f in out] == list(range(6))
    assert [f.shot_start for f in out] == [True, False, False, True, False, False]
    assert all(f.image.dtype == torch.float32 and f.image.shape == (3, *frames16[0].shape[:2]) for f in out)
    assert all(0.0 <= float(f.image.min()) and float(f.image.max()) <= 1.0 for f in out)
    line = stage.report()
    assert line.startswith("6 frames:") and "dust" in line and "denoise strength" in line and "\n" not in line


def test_deflicker_removes_gain_and_offset_flicker():
    clean = moving_texture(16)
    damaged, damage = degrade_clip(
        clean, seed=5, settings=DegradationSettings(scratch_rate=0, dust_per_mpx=0, grain=0)
    )
    out = deflicker_frames(damaged)
    assert flicker_figure(out) < flicker_figure(damaged) / 5
    assert clip_psnr(out, clean) > clip_psnr(damaged, clean) + 6


def test_deflicker_keeps_a_fade():
    clean = moving_texture(16)
    fade = [
        np.clip(f.astype(np.float32) * (1.0 - 0.04 * t), 0, 255).astype(np.uint8) for t, f in enumerate(clean)
    ]
    out = deflicker_frames(fade)
    means_in = np.array([f.mean() for f in fade])
    means_out = np.array([f.mean() for f in out])
    assert np.abs(means_out - means_in).max() < 1.5  # a steady 4 % per frame fade is light, not flicker


def test_dust_is_found_and_filled_and_motion_is_left_alone():
    clean = moving_texture(8, speed=2.0)
    lumas = [f.astype(np.float32).mean(axis=2) / 255 for f in clean]
    # real motion, not compensated at all (references 4 px either way): they disagree, nothing is flagged
    assert not detect_dust(lumas[3], lumas[1], lumas[5], noise_sigma=0.004).any()
    damaged = [f.copy() for f in clean]
    cv2.circle(damaged[4], (40, 30), 2, (10, 10, 10), -1)  # dark speck on frame 4 only
    cv2.circle(damaged[4], (70, 50), 3, (250, 250, 250), -1)  # bright blob
    settings = CleanupSettings(steps=("dust",))
    stage = CleanupStage(settings, keep_diagnostics=True)
    out = [
        f.to_array(np.uint8)
        for f in stage.process(SourceFrame.from_array(i, f, i == 0) for i, f in enumerate(damaged))
    ]
    masks = dict(stage.masks)
    assert masks[4][30, 40] and masks[4][50, 70]
    assert sum(int(m.sum()) for i, m in masks.items() if i != 4) == 0  # clean frames: nothing
    assert int(masks[4].sum()) < 80  # only the two specks
    assert np.abs(out[4][26:35, 36:45].astype(int) - clean[4][26:35, 36:45]).max() < 25
    assert clip_psnr(out, clean) > clip_psnr(damaged, clean) + 10
    assert remove_dust(clean)[4].shape == clean[4].shape


def test_scratch_detection_and_fill():
    frames = moving_texture(6)
    scratched = [f.copy() for f in frames]
    for f in scratched:
        f[:, 50] = np.clip(f[:, 50].astype(int) + 90, 0, 255)
    luma = scratched[2].astype(np.float32).mean(axis=2) / 255
    spans = find_scratch_spans(column_profile(luma))
    assert any(x0 <= 50 <= x1 for x0, x1 in spans)
    assert persistent_spans(spans, [[(49, 51)]]) == spans
    assert persistent_spans(spans, [[(10, 11)]]) == []
    assert find_scratch_spans(column_profile(frames[2].astype(np.float32).mean(axis=2) / 255)) == []
    filled = fill_spans(scratched[2].astype(np.float32) / 255, [(50, 50)])
    assert np.abs(filled[:, 50] * 255 - frames[2][:, 50]).mean() < 12
    out = remove_scratches(scratched)
    assert clip_psnr(out, frames) > clip_psnr(scratched, frames) + 8


def test_denoise_reduces_grain_and_keep_grain_restores_it():
    clean = moving_texture(8)
    grainy, _ = degrade_clip(
        clean,
        seed=2,
        settings=DegradationSettings(
            flicker_gain=0, flicker_offset=0, flicker_tilt=0, scratch_rate=0, dust_per_mpx=0
        ),
    )
    smooth = denoise_frames(grainy)
    kept = denoise_frames(grainy, CleanupSettings(keep_grain=0.5))
    assert clip_psnr(smooth, clean) > clip_psnr(grainy, clean) + 3
    removed = np.mean([np.abs(s.astype(int) - g).mean() for s, g in zip(smooth, grainy, strict=True)])
    removed_kept = np.mean([np.abs(s.astype(int) - g).mean() for s, g in zip(kept, grainy, strict=True)])
    assert removed_kept < 0.7 * removed
    off = denoise_frames(grainy, CleanupSettings(denoise_strength=0, denoise_spatial=0))
    assert all(np.array_equal(a, b) for a, b in zip(off, grainy, strict=True))


def test_clean_all_does_little_to_a_clean_clip():
    clean = moving_texture(8)
    assert clip_psnr(clean_frames(clean), clean) > 40


def test_settings_are_checked():
    with pytest.raises(ValueError, match="keep_grain"):
        CleanupSettings(keep_grain=2.0)
    with pytest.raises(ValueError, match="--clean"):
        CleanupSettings(steps=("vacuum",))


def test_repair_flow_and_confirm_dust():
    from dain.flow import lands_inside
    from restore.stages.cleanup.dust import confirm_dust
    from restore.stages.cleanup.motion import repair_flow

    flow = np.zeros((40, 50, 2), np.float32)
    flow[..., 0], flow[..., 1] = 1.5, -0.7
    hole = np.zeros((40, 50), bool)
    hole[10:16, 10:17] = True
    broken = flow.copy()
    broken[hole] = (9.0, 9.0)
    assert np.abs(repair_flow(broken, hole) - flow).max() < 1e-4
    assert lands_inside(flow)[20, 20] and not lands_inside(flow)[:, -1].any()

    now = np.full((40, 50), 0.5, np.float32)
    fill = now.copy()
    now[5:8, 5:8] = 0.05  # a speck: dark against its ring, its fill blends in
    now[20:40, 20:45] = 0.9  # an object continuing beyond the detected part
    fill[20:40, 20:45] = 0.5
    detected = np.zeros((40, 50), bool)
    detected[5:8, 5:8] = True
    detected[25:28, 30:33] = True  # only part of the object was flagged
    kept = confirm_dust(now, fill, detected)
    assert kept[6, 6] and not kept[26, 31]


def test_well_compensated_keeps_specks_on_tracked_picture_only():
    from restore.stages.cleanup.dust import well_compensated

    rng = np.random.default_rng(0)
    picture = cv2.GaussianBlur(rng.random((60, 80)).astype(np.float32), (0, 0), 2.0) * 0.5 + 0.25
    now = picture.copy()
    now[10:13, 10:13] = 0.02  # dust on picture the references reproduce
    ref_a, ref_b = picture.copy(), picture.copy()
    # a "speck" on an object the flow missed: the references are wrong all around it
    now[40:43, 50:53] = 0.95
    ref_a[34:50, 44:60] = ref_b[34:50, 44:60] = picture[34:50, 44:60] * 0.3
    mask = np.zeros_like(now, dtype=bool)
    mask[10:13, 10:13] = mask[40:43, 50:53] = True
    kept = well_compensated(now, ref_a, ref_b, mask, noise_sigma=0.004)
    assert kept[11, 11] and not kept[41, 51]
    assert not well_compensated(now, ref_a, ref_b, np.zeros_like(mask), 0.004).any()


def test_drop_large_keeps_dust_sized_spots():
    from restore.stages.cleanup.dust import drop_large

    mask = np.zeros((100, 100), bool)
    mask[5:9, 5:9] = True
    mask[40:70, 40:45] = True  # 30 px long
    kept = drop_large(mask, 16)
    assert kept[6, 6] and not kept[50, 42]


def test_fits_overlay_tells_a_scratch_from_a_gap_between_posts():
    from restore.stages.cleanup.scratches import fits_overlay, line_response, profile_level

    height, width = 120, 60
    rng = np.random.default_rng(1)
    picture = np.full((height, width), 0.3, np.float32)
    picture[: height // 2] = 0.55  # a brighter upper half (a building above the railings)
    picture += rng.normal(0, 0.004, picture.shape).astype(np.float32)
    scratch = picture.copy()
    scratch[:, 30] = 0.5 * scratch[:, 30] + 0.5 * 0.97  # translucent bright scratch, full height
    gap = picture.copy()
    gap[height // 2 :, 20:29] = 0.08  # dark posts over the lower half...
    gap[height // 2 :, 31:40] = 0.08
    gap[height // 2 :, 30] = 0.6  # ...with a bright gap between them, a line on the lower half only
    gap[: height // 2, 30] = gap[: height // 2, 29]
    for image, expected in ((scratch, True), (gap, False)):
        response = line_response(image)
        profile = np.median(response, axis=0)
        spans = [s for s in find_scratch_spans(profile) if s[0] <= 30 <= s[1]]
        assert spans, "the line is a candidate either way"
        assert fits_overlay(image, response, spans[0], profile_level(profile)) is expected


def test_deflicker_leaves_a_steady_clip_untouched():
    from restore.stages.cleanup.deflicker import shrink_correction

    clean = moving_texture(12)
    assert all(np.array_equal(a, b) for a, b in zip(deflicker_frames(clean), clean, strict=True))
    # a flicker of ±0.4 %, under half a grey level of change: left alone, but corrected without the deadband
    faint = [
        np.clip(f * (1.0 + 0.004 * (-1) ** t) + 0.5, 0, 255).astype(np.uint8) for t, f in enumerate(clean)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(deflicker_frames(faint), faint, strict=True))
    undamped = deflicker_frames(faint, CleanupSettings(flicker_deadband=0.0))
    assert not all(np.array_equal(a, b) for a, b in zip(undamped, faint, strict=True))
    luma = np.full((10, 10), 0.5, np.float32)
    gain, offset, change = shrink_correction(luma, np.full_like(luma, 1.1), np.zeros_like(luma), 0.002)
    assert change == pytest.approx(0.05 - 0.002, abs=1e-6)
    assert np.allclose(gain, 1.0 + 0.1 * (1 - 0.002 / 0.05))
    gain, offset, change = shrink_correction(luma, np.full_like(luma, 1.002), np.zeros_like(luma), 0.002)
    assert change == 0.0 and np.all(gain == 1.0) and np.all(offset == 0.0)


def test_denoise_leaves_noise_under_the_floor_alone():
    clean = moving_texture(8)
    rng = np.random.default_rng(4)
    faint = [np.clip(f + rng.normal(0, 0.8, f.shape), 0, 255).astype(np.uint8) for f in clean]
    assert all(np.array_equal(a, b) for a, b in zip(denoise_frames(faint), faint, strict=True))
    below = denoise_frames(faint, CleanupSettings(denoise_floor=0.0))
    assert not all(np.array_equal(a, b) for a, b in zip(below, faint, strict=True))


def test_scratch_on_moving_picture_is_filled_from_the_neighbours():
    from restore.stages.cleanup.scratches import clear_of_spans, fill_spans

    frames = moving_texture(8, speed=3.0)
    scratched = [f.copy() for f in frames]
    for f in scratched:
        f[:, 48:50] = np.clip(f[:, 48:50].astype(int) // 3 + 170, 0, 255)  # screen-fixed, translucent
    out = remove_scratches(scratched)
    spatial = [fill_spans(f.astype(np.float32) / 255, [(48, 49)]) * 255 for f in scratched]

    def column_error(images: list[np.ndarray]) -> float:
        return float(
            np.mean(
                [
                    np.abs(a[:, 47:51].astype(float) - b[:, 47:51]).mean()
                    for a, b in zip(images[2:6], frames[2:6], strict=True)
                ]
            )
        )

    assert column_error(out) < 0.7 * column_error(spatial)  # 3.1 against 5.9 grey levels when written
    flow_x = np.full((4, 60), 3.0, np.float32)
    clear = clear_of_spans(flow_x, [(48, 49)])
    assert clear[0, 40] and not clear[0, 46] and not clear[0, 44] and clear[0, 43]


def test_deflicker_keeps_a_lamp_switched_on_and_a_curved_fade():
    """Lighting that changes for good is not flicker: a 30 % step and a steep exponential fade stay."""
    clean = moving_texture(40)
    step = [np.clip(f * (1.3 if t >= 20 else 1.0), 0, 255).astype(np.uint8) for t, f in enumerate(clean)]
    change = np.array([o.mean() - s.mean() for o, s in zip(deflicker_frames(step), step, strict=True)])
    assert np.abs(change).max() < 1.5, change.round(1)  # a low-pass trend smeared it by 20 grey levels
    curve = [np.clip(f * (0.4 + 0.6 * np.exp(-t / 6)), 0, 255).astype(np.uint8) for t, f in enumerate(clean)]
    change = np.array([o.mean() - s.mean() for o, s in zip(deflicker_frames(curve), curve, strict=True)])
    assert np.abs(change[5:]).max() < 1.5, change.round(1)  # the first frames: see docs/cleanup.md


def test_smooth_paths_median_and_fit():
    from restore.stages.cleanup.deflicker import GRID, FlickerPath, smooth_paths

    rng = np.random.default_rng(0)
    times = np.arange(41, dtype=np.float64)
    flicker = 1.0 + rng.normal(0, 0.05, 41)
    paths = [FlickerPath(np.full(GRID, g, np.float32), np.zeros(GRID, np.float32)) for g in flicker]
    trend = smooth_paths(paths, times, 20.0)
    assert abs(float(trend.gain.mean()) - 1.0) < 0.03  # flicker averaged away
    zero = np.zeros(GRID, np.float32)
    stepped = [FlickerPath(np.full(GRID, 1.0 if t < 20 else 1.3, np.float32), zero) for t in range(41)]
    assert np.allclose(smooth_paths(stepped, times, 19.0).gain, 1.0)
    assert np.allclose(smooth_paths(stepped, times, 20.0).gain, 1.3)
