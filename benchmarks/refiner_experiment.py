"""A learned refiner for the classic engine, tried and not adopted (issue 13): the experiment, kept
so it can be rerun.

    .venv/bin/python benchmarks/refiner_experiment.py prepare    # engine maps of every sample (≈ 3 min)
    .venv/bin/python benchmarks/refiner_experiment.py train      # ≈ 0.3 s a step on this CPU
    .venv/bin/python benchmarks/refiner_experiment.py evaluate   # held-out tune triplets
    .venv/bin/python benchmarks/refiner_experiment.py pool       # fits its own crops, not others
    .venv/bin/python benchmarks/refiner_experiment.py oracle     # what a perfect blend weight would give
    .venv/bin/python benchmarks/refiner_experiment.py cues       # what picks the better warp, and using it

Figures and the conclusion: ``benchmarks/RESULTS.md`` (issue 13, "A learned refiner").

The refiner (the role of DAIN's ``rectifyNet``, 33 k parameters, an encoder–decoder at 1/2 and 1/4
of the analysis grid) looks at the engine's result on its analysis grid (both frames, both warps,
their difference, both projected flows, the visibilities, the blend weight, the reliability, the
phase) and returns corrections of the flows t→0 and t→1, of the logits of the blend weight and of
the reliability, and an RGB residual. Its last layer starts at zero: untrained, it changes nothing.

Data: only the clips :data:`restore.evaluation.triplets.SPLIT` puts in the tuning half (bikes,
carphone, archival_abomb), at their native size (≤ 0.2 MP, so the analysis grid is the frame), and
never the frames of their evaluation triplets (``select_triplets(frames, 8)``, the ones
``bench_interp_split.py`` scores): those are the held-out check of ``evaluate``. Samples, from the
clip's distinct frames with no cut: every (k, k+1, k+2) with truth k+1 at t = 1/2; every even k,
(k, k+2, k+4) with truth k+2 at t = 1/2; every third k, (k … k+3) with truths k+1 and k+2 at
t = 1/3 and 2/3. Training: random 96×96 crops (half of them the worst of 8 by the engine's error),
mirrored and reversed in time at random, bicubic warps (Keys a = −0.75, as the engine's),
Charbonnier loss on RGB, Adam, cosine schedule, seed 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch import nn  # noqa: E402
from tune_classic import CACHE, to_tensor  # noqa: E402  (the split sets' cache; frames as they are read)

from dain.checkpoint import load_into, read_checkpoint, save_checkpoint  # noqa: E402
from dain.engines.classic.blending import blend_weights  # noqa: E402
from dain.engines.classic.engine import ClassicInterpolator, ClassicSettings  # noqa: E402
from dain.engines.classic.ops import warp_planes  # noqa: E402
from restore.evaluation.cleanup import read_clip  # noqa: E402
from restore.evaluation.triplets import SPLIT, distinct_frames, select_triplets  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WORK = Path(os.environ.get("REFINER_WORK", "/tmp/classic_refiner"))
EVAL_PER_CLIP = 8  # bench_interp_split.py's PER_CLIP: these triplets are held out
CUT_RATIO = 4.0
SEED = 0

#: Channels of :func:`refiner_features`.
FEATURE_CHANNELS = 22
#: Flows enter the refiner divided by this many analysis-grid pixels.
FLOW_SCALE = 8.0


def refiner_features(
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    warped0: torch.Tensor,
    warped1: torch.Tensor,
    flow_t0: torch.Tensor,
    flow_t1: torch.Tensor,
    visibility0: torch.Tensor,
    visibility1: torch.Tensor,
    weight0: torch.Tensor,
    reliability: torch.Tensor,
    phase: torch.Tensor,
) -> torch.Tensor:
    """The refiner's input, (B,22,h,w).

    frame0, frame1: (B,3,h,w) the pair on the analysis grid, [0,1]; warped0, warped1: (B,3,h,w)
    both warped to the phase; flow_t0, flow_t1: (B,2,h,w) pixels; visibility0, visibility1,
    weight0, reliability: (B,1,h,w) in [0,1]; phase: (B,) in (0,1).
    Channels: both frames, both warps, their mean absolute difference, both flows (divided by
    :data:`FLOW_SCALE`), the two visibilities, the blend weight, the reliability, and the phase as
    a constant plane.
    """
    difference = (warped0 - warped1).abs().mean(dim=1, keepdim=True)
    phase_plane = phase.view(-1, 1, 1, 1).to(warped0.dtype).expand_as(difference)
    return torch.cat(
        (
            frame0 - 0.5,
            frame1 - 0.5,
            warped0 - 0.5,
            warped1 - 0.5,
            difference,
            flow_t0 / FLOW_SCALE,
            flow_t1 / FLOW_SCALE,
            visibility0,
            visibility1,
            weight0 - 0.5,
            reliability - 0.5,
            phase_plane - 0.5,
        ),
        dim=1,
    )


class RefinerOutput:
    """The four corrections of :class:`ClassicRefiner` (see the module docstring), analysis grid."""

    __slots__ = ("flow_delta", "weight_logit", "reliability_logit", "residual")

    def __init__(self, out: torch.Tensor) -> None:
        self.flow_delta = out[:, 0:4]
        self.weight_logit = out[:, 4:5]
        self.reliability_logit = out[:, 5:6]
        self.residual = out[:, 6:9]


class ClassicRefiner(nn.Module):
    """features (B,22,h,w) -> corrections (B,9,h,w); any h, w ≥ 4.

    width: channels at 1/2 of the grid (the 1/4 level has ``width * 4 // 3``).
    """

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        deep = width * 4 // 3
        self.down1 = nn.Conv2d(FEATURE_CHANNELS, width, 3, stride=2, padding=1, padding_mode="replicate")
        self.down2 = nn.Conv2d(width, deep, 3, stride=2, padding=1, padding_mode="replicate")
        self.middle = nn.Conv2d(deep, deep, 3, padding=1, padding_mode="replicate")
        self.up1 = nn.Conv2d(deep + width, width, 3, padding=1, padding_mode="replicate")
        self.fuse = nn.Conv2d(width + FEATURE_CHANNELS, 16, 1)
        self.head = nn.Conv2d(16, 9, 3, padding=1, padding_mode="replicate")
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, features: torch.Tensor) -> RefinerOutput:
        """features: (B,22,h,w) from :func:`refiner_features`; returns the corrections."""
        height, width = features.shape[-2:]
        half = F.relu(self.down1(features))
        quarter = F.relu(self.down2(half))
        quarter = F.relu(self.middle(quarter)) + quarter
        up = F.interpolate(quarter, size=half.shape[-2:], mode="bilinear", align_corners=False)
        half = F.relu(self.up1(torch.cat((up, half), dim=1)))
        up = F.interpolate(half, size=(height, width), mode="bilinear", align_corners=False)
        fused = F.relu(self.fuse(torch.cat((up, features), dim=1)))
        return RefinerOutput(self.head(fused))


def _logit(probability: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    probability = probability.clamp(eps, 1.0 - eps)
    return torch.log(probability) - torch.log1p(-probability)


class RefinedMaps:
    """The maps the engine composes with, after the refiner: all (B,c,h,w) on the analysis grid.

    flow_t0, flow_t1: (B,2,h,w) pixels; weight0, reliability: (B,1,h,w) in (0,1);
    residual: (B,3,h,w) added to the composed picture.
    """

    __slots__ = ("flow_t0", "flow_t1", "weight0", "reliability", "residual")

    def __init__(self, flow_t0, flow_t1, weight0, reliability, residual) -> None:  # noqa: ANN001
        self.flow_t0, self.flow_t1 = flow_t0, flow_t1
        self.weight0, self.reliability, self.residual = weight0, reliability, residual


def refine_maps(
    refiner: ClassicRefiner,
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    warped0: torch.Tensor,
    warped1: torch.Tensor,
    visibility0: torch.Tensor,
    visibility1: torch.Tensor,
    flow_t0: torch.Tensor,
    flow_t1: torch.Tensor,
    weight0: torch.Tensor,
    reliability: torch.Tensor,
    phase: torch.Tensor,
) -> RefinedMaps:
    """Apply the refiner's corrections to the engine's maps (shapes as in :func:`refiner_features`;
    flows (B,2,h,w)); the engine and the training script both go through here."""
    features = refiner_features(
        frame0,
        frame1,
        warped0,
        warped1,
        flow_t0,
        flow_t1,
        visibility0,
        visibility1,
        weight0,
        reliability,
        phase,
    )
    out = refiner(features)
    return RefinedMaps(
        flow_t0 + out.flow_delta[:, 0:2],
        flow_t1 + out.flow_delta[:, 2:4],
        torch.sigmoid(_logit(weight0) + out.weight_logit),
        torch.sigmoid(_logit(reliability) + out.reliability_logit),
        out.residual,
    )


def compose(warped0, warped1, frame0, frame1, weight0, reliability, phase, residual=None):  # noqa: ANN001, ANN201
    """The engine's :func:`dain.engines.classic.blending.compose`, written out of place so autograd
    can run through it, plus the refiner's residual."""
    out = warped1 + (warped0 - warped1) * weight0
    crossfade = frame1 + (frame0 - frame1) * (1.0 - phase)
    out = crossfade + (out - crossfade) * reliability
    return (out if residual is None else out + residual).clamp(0.0, 1.0)


def windows(frames: list[np.ndarray]) -> list[tuple[int, int, list[tuple[int, float]]]]:
    """(first, last, [(truth index, phase)]) of every training sample of one clip (see module doc)."""
    held = {k + d for k, _ in select_triplets(frames, EVAL_PER_CLIP) for d in range(3)}
    differences = np.array(
        [
            np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()
            for a, b in zip(frames[:-1], frames[1:], strict=True)
        ]
    )
    cut = CUT_RATIO * (float(np.median(differences)) + 1e-6)

    def usable(first: int, last: int) -> bool:
        span = range(first, last + 1)
        return (
            last < len(frames)
            and not any(i in held for i in span)
            and not any(differences[i] > cut for i in range(first, last))
        )

    found = []
    for k in range(len(frames)):
        if usable(k, k + 2):
            found.append((k, k + 2, [(k + 1, 0.5)]))
        if k % 2 == 0 and usable(k, k + 4):
            found.append((k, k + 4, [(k + 2, 0.5)]))
        if k % 3 == 0 and usable(k, k + 3):
            found.append((k, k + 3, [(k + 1, 1 / 3), (k + 2, 2 / 3)]))
    return found


def maps_at(
    engine: ClassicInterpolator,
    analysis,
    phase: float,  # noqa: ANN001
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The engine's flows t→0, t→1 (1,2,h,w) and the visibility each warp reads (1,1,h,w)."""
    flow_t0, flow_t1 = engine.flows_at(analysis, phase)
    visibility0 = warp_planes(analysis.visibility0[0], flow_t0, cubic=False)
    visibility1 = warp_planes(analysis.visibility1[0], flow_t1, cubic=False)
    return flow_t0, flow_t1, visibility0.unsqueeze(0), visibility1.unsqueeze(0)


def prepare() -> Path:
    """Engine maps of every training sample, pickled under WORK (about 2.4 GB; minutes)."""
    engine = ClassicInterpolator()
    samples, listing = [], []
    for clip, half in SPLIT.items():
        if half != "tune":
            continue
        frames = distinct_frames(read_clip(SHARED / "data" / "video" / clip, 0, 400))
        chosen = windows(frames)
        start = time.perf_counter()
        for first, last, truths in chosen:
            f0, f1 = to_tensor(frames[first]), to_tensor(frames[last])
            assert engine.analysis_size(*f0.shape[-2:]) == f0.shape[-2:], "tune clips: grid = frame"
            analysis = engine.analyse(f0, f1)
            for truth, phase in truths:
                flow_t0, flow_t1, vis0, vis1 = maps_at(engine, analysis, phase)
                samples.append(
                    {
                        "frames": np.stack((frames[first], frames[last], frames[truth])),
                        "flows": torch.cat((flow_t0[0], flow_t1[0])).numpy(),
                        "visibility": torch.cat((vis0[0], vis1[0])).half().numpy(),
                        "phase": phase,
                    }
                )
                listing.append(f"{clip} {first} {last} {truth} {phase:.4f}")
        seconds = time.perf_counter() - start
        print(f"{clip}: {len(frames)} distinct frames, {len(chosen)} windows, {seconds:.0f} s")
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "samples.pkl").write_bytes(pickle.dumps(samples, protocol=5))
    (WORK / "data_list.txt").write_text("\n".join(listing) + "\n")
    print(f"{len(samples)} samples -> {WORK / 'samples.pkl'}")
    return WORK / "samples.pkl"


def sample_points(image: torch.Tensor, points: torch.Tensor, mode: str) -> torch.Tensor:
    """image (C,H,W) sampled at pixel coordinates points (2,h,w) (x, y): (C,h,w), border-replicated."""
    height, width = image.shape[-2:]
    grid = torch.stack(
        (points[0] * (2.0 / (width - 1)) - 1.0, points[1] * (2.0 / (height - 1)) - 1.0), dim=-1
    )
    return F.grid_sample(
        image.unsqueeze(0), grid.unsqueeze(0), mode=mode, padding_mode="border", align_corners=True
    )[0]


class Batches:
    """Random augmented crops of the samples, reproducible from the seed.

    Half of the crops are the worst of ``CANDIDATES`` random windows by the unrefined engine's
    error: most of a frame is already right (or wrong only by compression noise), and what the
    refiner can learn sits at occlusions and failed flow.
    """

    CANDIDATES = 8

    def __init__(self, samples: list[dict], crop: int, generator: torch.Generator) -> None:
        self.samples, self.crop, self.generator = samples, crop, generator
        self.settings = ClassicSettings()
        self.errors = [self._error_sums(sample) for sample in samples]

    def _error_sums(self, sample: dict) -> torch.Tensor:
        """Summed squared error of the unrefined picture over every crop window: (H-c+1, W-c+1)."""
        frames = torch.from_numpy(sample["frames"]).permute(0, 3, 1, 2).float().div(255.0)
        flows = torch.from_numpy(sample["flows"])
        visibility = torch.from_numpy(sample["visibility"]).float()
        height, width = frames.shape[-2:]
        ys, xs = torch.meshgrid(
            torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij"
        )
        whole = {"first": frames[0], "last": frames[1], "base": torch.stack((xs, ys)), "flows": flows,
                 "visibility": visibility, "phase": torch.tensor(float(sample["phase"])),
                 "crossfade_first": frames[0], "crossfade_last": frames[1]}  # fmt: skip
        with torch.no_grad():
            error = ((compose_without([whole], self.settings)[0] - frames[2]) ** 2).mean(0)
        table = F.pad(error.double().cumsum(0).cumsum(1), (1, 0, 1, 0))
        c = self.crop
        return (table[c:, c:] - table[:-c, c:] - table[c:, :-c] + table[:-c, :-c]).float()

    def _one(self) -> dict[str, torch.Tensor]:
        g = self.generator
        index = int(torch.randint(len(self.samples), (1,), generator=g))
        sample = self.samples[index]
        frames = torch.from_numpy(sample["frames"]).permute(0, 3, 1, 2).float().div(255.0)
        flows = torch.from_numpy(sample["flows"]).clone()
        visibility = torch.from_numpy(sample["visibility"]).float()
        phase = float(sample["phase"])
        first, last, truth = frames
        height, width = first.shape[-2:]
        errors = self.errors[index]
        tops = torch.randint(height - self.crop + 1, (self.CANDIDATES,), generator=g)
        lefts = torch.randint(width - self.crop + 1, (self.CANDIDATES,), generator=g)
        pick = int(errors[tops, lefts].argmax()) if torch.rand((), generator=g) < 0.5 else 0
        top, left = int(tops[pick]), int(lefts[pick])
        if torch.rand((), generator=g) < 0.5:  # mirror left-right
            first, last, truth = first.flip(-1), last.flip(-1), truth.flip(-1)
            flows, visibility = flows.flip(-1), visibility.flip(-1)
            flows[0::2] *= -1.0
            left = width - self.crop - left
        if torch.rand((), generator=g) < 0.5:  # reverse time
            first, last, phase = last, first, 1.0 - phase
            flows, visibility = flows[[2, 3, 0, 1]], visibility[[1, 0]]
        window = (slice(None), slice(top, top + self.crop), slice(left, left + self.crop))
        ys, xs = torch.meshgrid(
            torch.arange(top, top + self.crop, dtype=torch.float32),
            torch.arange(left, left + self.crop, dtype=torch.float32),
            indexing="ij",
        )
        return {
            "first": first, "last": last, "truth": truth[window], "base": torch.stack((xs, ys)),
            "flows": flows[window], "visibility": visibility[window], "phase": torch.tensor(phase),
            "crossfade_first": first[window], "crossfade_last": last[window],
        }  # fmt: skip

    def next(self, size: int) -> list[dict[str, torch.Tensor]]:
        return [self._one() for _ in range(size)]


def _weights(b: dict[str, torch.Tensor], settings: ClassicSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """The engine's blend weight and reliability of one crop: (1,c,c) each."""
    weight0, reliability = blend_weights(
        b["visibility"][None, :1], b["visibility"][None, 1:], float(b["phase"]),
        settings.visibility_floor, settings.fallback_power,
    )  # fmt: skip
    return weight0[0], reliability[0]


def _picture(b: dict[str, torch.Tensor], flow_t0, flow_t1, weight0, reliability, residual=None):  # noqa: ANN001, ANN202
    """One crop's picture from its maps (2,c,c)/(1,c,c): bicubic warps and the engine's blend."""
    warped0 = sample_points(b["first"], b["base"] + flow_t0, "bicubic")
    warped1 = sample_points(b["last"], b["base"] + flow_t1, "bicubic")
    crossfade0, crossfade1, phase = b["crossfade_first"], b["crossfade_last"], float(b["phase"])
    return compose(warped0, warped1, crossfade0, crossfade1, weight0, reliability, phase, residual)


def forward(refiner: ClassicRefiner, batch: list[dict[str, torch.Tensor]], settings: ClassicSettings):
    """Refined pictures and truths of a batch: (B,3,c,c) each, through the engine's own functions."""
    warped0 = torch.stack([sample_points(b["first"], b["base"] + b["flows"][:2], "bilinear") for b in batch])
    warped1 = torch.stack([sample_points(b["last"], b["base"] + b["flows"][2:], "bilinear") for b in batch])
    flows = torch.stack([b["flows"] for b in batch])
    visibility = torch.stack([b["visibility"] for b in batch])
    weights, reliabilities = zip(*(_weights(b, settings) for b in batch), strict=True)
    maps = refine_maps(
        refiner,
        torch.stack([b["crossfade_first"] for b in batch]),
        torch.stack([b["crossfade_last"] for b in batch]),
        warped0, warped1, visibility[:, :1], visibility[:, 1:], flows[:, :2], flows[:, 2:],
        torch.stack(weights), torch.stack(reliabilities), torch.stack([b["phase"] for b in batch]),
    )  # fmt: skip
    outputs = [
        _picture(b, maps.flow_t0[i], maps.flow_t1[i], maps.weight0[i], maps.reliability[i], maps.residual[i])
        for i, b in enumerate(batch)
    ]
    return torch.stack(outputs), torch.stack([b["truth"] for b in batch])


def train(steps: int, batch_size: int, crop: int, width: int, lr: float, only_masks: bool = False) -> Path:
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    samples = pickle.loads((WORK / "samples.pkl").read_bytes())
    generator = torch.Generator().manual_seed(SEED)
    batches = Batches(samples, crop, generator)
    refiner = ClassicRefiner(width)
    if only_masks:  # the flow and residual outputs stay at zero
        with torch.no_grad():
            keep = torch.zeros(9, 1, 1, 1)
            keep[4:6] = 1.0
        refiner.head.weight.register_hook(lambda grad: grad * keep)
        refiner.head.bias.register_hook(lambda grad: grad * keep.view(9))
    optimiser = torch.optim.Adam(refiner.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)) * 0.99 + 0.01
    )
    settings = ClassicSettings()
    start, running, base_running = time.perf_counter(), 0.0, 0.0
    for step in range(1, steps + 1):
        batch = batches.next(batch_size)
        out, truth = forward(refiner, batch, settings)
        loss = torch.sqrt((out - truth) ** 2 + 1e-4).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        running += float(((out.detach() - truth) ** 2).mean())
        with torch.no_grad():
            base_running += float(((compose_without(batch, settings) - truth) ** 2).mean())
        if step % 100 == 0:
            print(
                f"step {step}: mse {running / 100:.6f}, unrefined {base_running / 100:.6f} "
                f"({10 * math.log10(base_running / running):+.3f} dB), {time.perf_counter() - start:.0f} s",
                flush=True,
            )
            running = base_running = 0.0
    out_file = WORK / "refiner.safetensors"
    save_checkpoint(refiner, out_file)
    digest = hashlib.sha256(out_file.read_bytes()).hexdigest()
    (WORK / "training.json").write_text(
        json.dumps(
            {
                "steps": steps,
                "batch": batch_size,
                "crop": crop,
                "width": width,
                "lr": lr,
                "seed": SEED,
                "samples": len(samples),
                "sha256": digest,
                "seconds": round(time.perf_counter() - start),
            },
            indent=1,
        )  # fmt: skip
    )
    print(f"-> {out_file} sha256 {digest}")
    return out_file


def compose_without(batch: list[dict[str, torch.Tensor]], settings: ClassicSettings) -> torch.Tensor:
    """The unrefined engine's pictures of a batch (bicubic warps, the weight-free blend)."""
    return torch.stack([_picture(b, b["flows"][:2], b["flows"][2:], *_weights(b, settings)) for b in batch])


def refined_picture(
    refiner: ClassicRefiner | None,
    engine: ClassicInterpolator,
    f0: torch.Tensor,
    f1: torch.Tensor,
    phase: float,
) -> torch.Tensor:
    """The engine's picture at ``phase`` (3,H,W), through the refiner when one is given; frames whose
    analysis grid is the frame itself (the tune clips)."""
    s = engine.settings
    analysis = engine.analyse(f0, f1)
    flow_t0, flow_t1, vis0, vis1 = maps_at(engine, analysis, phase)
    weight0, reliability = blend_weights(vis0, vis1, phase, s.visibility_floor, s.fallback_power)
    residual = None
    if refiner is not None:
        warped0 = warp_planes(f0, flow_t0, cubic=False)[None]
        warped1 = warp_planes(f1, flow_t1, cubic=False)[None]
        maps = refine_maps(
            refiner, f0[None], f1[None], warped0, warped1, vis0, vis1, flow_t0, flow_t1,
            weight0, reliability, torch.tensor([phase]),
        )  # fmt: skip
        flow_t0, flow_t1, weight0, reliability = maps.flow_t0, maps.flow_t1, maps.weight0, maps.reliability
        residual = maps.residual[0]
    warped0 = warp_planes(f0, flow_t0.contiguous(), cubic=s.cubic)
    warped1 = warp_planes(f1, flow_t1.contiguous(), cubic=s.cubic)
    return compose(warped0, warped1, f0, f1, weight0[0], reliability[0], phase, residual)


def held_out() -> list:
    """The tune half's evaluation triplets (``bench_interp_split.py``'s), never trained on."""
    from interp_sets import build_sets

    return [t for _, t in build_sets(CACHE)["tune"]]


@torch.no_grad()
def evaluate(weights: Path) -> None:
    """Held-out tune triplets: the engine, the same picture rebuilt here, and the refined one."""
    from interp_sets import shared_tool

    from restore.media.frames import tensor_to_array

    scorer, baselines = shared_tool("eval_interp"), shared_tool("baselines")
    refiner = ClassicRefiner(json.loads((weights.with_name("training.json")).read_text())["width"])
    load_into(refiner, read_checkpoint(weights), source=weights.name)
    refiner.eval()
    engine = ClassicInterpolator()
    scores: dict[str, list[float]] = {"DIS warp": [], "classic": [], "rebuilt here": [], "refined": []}
    for t in held_out():
        f0, f2 = to_tensor(t.frames[0]), to_tensor(t.frames[2])
        scores["DIS warp"].append(scorer.psnr(baselines.dis_interp(t.frames[0], t.frames[2]), t.frames[1]))
        pictures = {
            "classic": engine.interpolate(f0, f2, [0.5])[0],
            "rebuilt here": refined_picture(None, engine, f0, f2, 0.5),
            "refined": refined_picture(refiner, engine, f0, f2, 0.5),
        }
        for label, picture in pictures.items():
            scores[label].append(scorer.psnr(tensor_to_array(picture, np.uint8), t.frames[1]))
    dis = np.array(scores["DIS warp"])
    for label, values in scores.items():
        delta = np.array(values) - dis
        print(
            f"{label:14s} {np.mean(values):.3f} dB "
            f"({np.mean(delta):+.3f} vs DIS warp, worst {delta.min():+.2f})"
        )


def pool(steps: int, lr: float) -> None:
    """Train on a fixed pool of 128 crops, score it and 64 other crops: does anything carry over?"""
    torch.manual_seed(SEED)
    samples = pickle.loads((WORK / "samples.pkl").read_bytes())
    batches = Batches(samples, 96, torch.Generator().manual_seed(SEED + 1))
    train_pool, test_pool = [batches.next(16) for _ in range(8)], [batches.next(16) for _ in range(4)]
    settings, refiner = ClassicSettings(), ClassicRefiner()
    optimiser = torch.optim.Adam(refiner.parameters(), lr=lr)

    def gain(crops: list) -> float:
        refined = plain = 0.0
        with torch.no_grad():
            for batch in crops:
                out, truth = forward(refiner, batch, settings)
                refined += float(((out - truth) ** 2).mean())
                plain += float(((compose_without(batch, settings) - truth) ** 2).mean())
        return 10 * math.log10(plain / refined)

    for step in range(steps + 1):
        if step % 50 == 0:
            print(f"step {step}: own crops {gain(train_pool):+.3f} dB, other crops {gain(test_pool):+.3f} dB")
        out, truth = forward(refiner, train_pool[step % len(train_pool)], settings)
        loss = torch.sqrt((out - truth) ** 2 + 1e-4).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()


@torch.no_grad()
def cues() -> None:
    """Where the two warps disagree (mean squared difference over 0.005): how often simple cues pick
    the warp closer to the truth (weighted by how much the choice matters), and what sharpening the
    blend weights with them does (visibility × exp(−excess / σ)), on the held-out tune triplets."""
    from interp_sets import shared_tool

    from restore.media.frames import tensor_to_array

    scorer = shared_tool("eval_interp")
    engine = ClassicInterpolator()
    s = engine.settings

    def box(x: torch.Tensor, size: int) -> torch.Tensor:
        return F.avg_pool2d(x[None], size, stride=1, padding=size // 2, count_include_pad=False)[0]

    def edges(x: torch.Tensor) -> torch.Tensor:
        across = F.pad((x[:, :, 1:] - x[:, :, :-1]).abs().mean(0), (0, 1))
        down = F.pad((x[:, 1:] - x[:, :-1]).abs().mean(0), (0, 0, 0, 1))
        return (across + down)[None]

    accuracy: dict[str, list[float]] = {}
    scores: dict[str, list[float]] = {}
    shares = []
    for t in held_out():
        f0, truth, f2 = to_tensor(t.frames[0]), to_tensor(t.frames[1]), to_tensor(t.frames[2])
        flow_t0, flow_t1, vis0, vis1 = maps_at(engine, engine.analyse(f0, f2), 0.5)
        warped0, warped1 = warp_planes(f0, flow_t0), warp_planes(f2, flow_t1)
        crossfade = 0.5 * (f0 + f2)
        error0, error1 = ((warped0 - truth) ** 2).mean(0), ((warped1 - truth) ** 2).mean(0)
        disagree = ((warped0 - warped1) ** 2).mean(0) > 0.005
        matters = (error0 - error1).abs() * disagree
        shares.append(float(disagree.float().mean()))
        distance = {
            "visibility (higher)": (-vis0[0], -vis1[0]),
            "fewer edges, 7x7": (box(edges(warped0), 7), box(edges(warped1), 7)),
            "closer to the cross-fade": (
                ((warped0 - crossfade) ** 2).mean(0, keepdim=True),
                ((warped1 - crossfade) ** 2).mean(0, keepdim=True),
            ),
            "smaller flow": (flow_t0[0].norm(dim=0)[None], flow_t1[0].norm(dim=0)[None]),
        }
        for name, (d0, d1) in distance.items():
            right = ((d0[0] < d1[0]) == (error0 < error1)).float()
            accuracy.setdefault(name, []).append(float((right * matters).sum() / (matters.sum() + 1e-12)))
        _, reliability = blend_weights(vis0, vis1, 0.5, s.visibility_floor, s.fallback_power)
        variants = {"engine": (vis0, vis1)}
        for sigma in (0.002, 0.005, 0.01, 0.02):
            for size in (3, 7):
                d0 = box(((warped0 - crossfade) ** 2).mean(0, keepdim=True), size)
                d1 = box(((warped1 - crossfade) ** 2).mean(0, keepdim=True), size)
                low = torch.minimum(d0, d1)
                sharp0, sharp1 = torch.exp(-(d0 - low) / sigma), torch.exp(-(d1 - low) / sigma)
                variants[f"cross-fade cue, sigma {sigma}, {size}x{size}"] = (vis0 * sharp0, vis1 * sharp1)
        for sigma in (0.01, 0.03):
            d0, d1 = box(edges(warped0), 7), box(edges(warped1), 7)
            low = torch.minimum(d0, d1)
            sharp0, sharp1 = torch.exp(-(d0 - low) / sigma), torch.exp(-(d1 - low) / sigma)
            variants[f"edge cue, sigma {sigma}, 7x7"] = (vis0 * sharp0, vis1 * sharp1)
        for name, (v0, v1) in variants.items():
            weight0, _ = blend_weights(v0, v1, 0.5, s.visibility_floor, s.fallback_power)
            picture = compose(warped0, warped1, f0, f2, weight0[0], reliability[0], 0.5)
            scores.setdefault(name, []).append(scorer.psnr(tensor_to_array(picture, np.uint8), t.frames[1]))
    print(f"pixels where the warps disagree: {100 * np.mean(shares):.1f} %")
    for name, values in accuracy.items():
        print(f"picks the better warp: {name:28s} {100 * np.mean(values):.1f} %")
    base = np.array(scores["engine"])
    for name, values in scores.items():
        print(f"{name:36s} {np.mean(values):.3f} dB ({np.mean(np.array(values) - base):+.3f})")


@torch.no_grad()
def oracle() -> None:
    """Upper bounds on the held-out tune triplets: the blend weight fitted to the truth per pixel,
    or per 5×5 window, and always trusting the warps (no cross-fade)."""
    from interp_sets import shared_tool

    from restore.media.frames import tensor_to_array

    scorer = shared_tool("eval_interp")
    engine = ClassicInterpolator()
    s = engine.settings

    def box(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x[None], 5, stride=1, padding=2, count_include_pad=False)[0]

    labels = ("engine", "weight per 5x5, from the truth", "weight per pixel, from the truth", "no cross-fade")
    scores: dict[str, list[float]] = {label: [] for label in labels}
    for t in held_out():
        f0, truth, f2 = to_tensor(t.frames[0]), to_tensor(t.frames[1]), to_tensor(t.frames[2])
        flow_t0, flow_t1, vis0, vis1 = maps_at(engine, engine.analyse(f0, f2), 0.5)
        weight0, reliability = blend_weights(vis0, vis1, 0.5, s.visibility_floor, s.fallback_power)
        warped0, warped1 = warp_planes(f0, flow_t0), warp_planes(f2, flow_t1)
        difference = warped0 - warped1
        along = ((truth - warped1) * difference).sum(0, keepdim=True)
        power = (difference * difference).sum(0, keepdim=True) + 1e-8
        pictures = {
            "engine": compose(warped0, warped1, f0, f2, weight0[0], reliability[0], 0.5),
            "weight per 5x5, from the truth": warped1 + difference * (box(along) / box(power)).clamp(0, 1),
            "weight per pixel, from the truth": warped1 + difference * (along / power).clamp(0, 1),
            "no cross-fade": compose(
                warped0, warped1, f0, f2, weight0[0], torch.ones_like(reliability[0]), 0.5
            ),
        }
        for label, picture in pictures.items():
            scores[label].append(scorer.psnr(tensor_to_array(picture.clamp(0, 1), np.uint8), t.frames[1]))
    for label, values in scores.items():
        print(f"{label:34s} {np.mean(values):.3f} dB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["prepare", "train", "evaluate", "pool", "oracle", "cues"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--only-masks", action="store_true", help="train only the blend corrections")
    parser.add_argument("--weights", type=Path, default=WORK / "refiner.safetensors")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare()
    elif args.command == "train":
        train(args.steps, args.batch, args.crop, args.width, args.lr, args.only_masks)
    elif args.command == "evaluate":
        evaluate(args.weights)
    elif args.command == "pool":
        pool(400, args.lr)
    elif args.command == "cues":
        cues()
    else:
        oracle()
    return 0


if __name__ == "__main__":
    sys.exit(main())
