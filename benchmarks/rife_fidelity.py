"""Fidelity of the ``rife`` engine against the official RIFE model code, with the same random weights.

The official code is not part of this repository. Put the per-version model files as published in
``HolyWu/vs-rife`` (``vsrife/IFNet_HDv3_v4_6.py``, ``_v4_18.py``, ``_v4_22.py``, ``_v4_25.py``,
``_v4_26.py`` and ``vsrife/warplayer.py``, unchanged) in ``OFFICIAL/vsrife/`` and run

    python benchmarks/rife_fidelity.py OFFICIAL [--frames ../shared/data/interp/sam2_bedroom_00030]

For each version: the official ``IFNet`` is built with PyTorch's random initialisation (seeded), its
state dict is saved as a ``flownet.pkl`` in the official form (every key under ``module.``) and read
back through this toolkit's loader (layout detection, strict load); both then run on CPU on two real
frames cropped to an odd size, at t = 0.5 and 0.25 (the engine one phase per run, as it runs on a
CPU, and both phases in one batch, as it runs on CUDA), at flow scale 1 and 0.5. The official side
is driven as vs-rife drives it: zero padding on the right and bottom to ``max(m, int(m / scale))``
(m = 32, or 64 for 4.25/4.26), the full-size timestep, the flow divisor and base grid, then a crop.
Prints one markdown row per run; exits 1 above the bar (``--bar``, 1e-4).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

VERSIONS = {"4.6": "IFNet_HDv3_v4_6", "4.18": "IFNet_HDv3_v4_18", "4.22": "IFNet_HDv3_v4_22",
            "4.25": "IFNet_HDv3_v4_25", "4.26": "IFNet_HDv3_v4_26"}  # fmt: skip
MODULO = {"4.6": 32, "4.18": 32, "4.22": 32, "4.25": 64, "4.26": 64}  # vs-rife's padding multiple
DEFAULT_FRAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "interp" / "sam2_bedroom_00030"


def _official_run(
    network: torch.nn.Module,
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    phase: float,
    modulo: int,
    scale: float,
) -> torch.Tensor:
    """(1,3,h,w) frames → (1,3,h,w), as vs-rife's ``inference`` prepares the call (unclipped)."""
    height, width = frame0.shape[-2:]
    step = max(modulo, int(modulo / scale))
    padded_width, padded_height = math.ceil(width / step) * step, math.ceil(height / step) * step
    padding = (0, padded_width - width, 0, padded_height - height)
    img0, img1 = F.pad(frame0, padding), F.pad(frame1, padding)
    timestep = torch.full([1, 1, padded_height, padded_width], phase)
    flow_div = torch.tensor([(padded_width - 1.0) / 2.0, (padded_height - 1.0) / 2.0])
    horizontal = (
        torch.linspace(-1.0, 1.0, padded_width).view(1, 1, 1, padded_width).expand(-1, -1, padded_height, -1)
    )
    vertical = (
        torch.linspace(-1.0, 1.0, padded_height).view(1, 1, padded_height, 1).expand(-1, -1, -1, padded_width)
    )
    grid = torch.cat([horizontal, vertical], 1)
    return network(img0, img1, timestep, flow_div, grid)[:, :, :height, :width]


def _read_pair(folder: Path, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    from restore.media.frames import array_to_tensor
    from restore.media.images import read_image

    first, last = sorted(folder.glob("f*.png"))[0], sorted(folder.glob("f*.png"))[-1]
    frames = []
    for path in (first, last):
        image = read_image(path)
        top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
        frames.append(
            array_to_tensor(
                np.ascontiguousarray(image[top : top + height, left : left + width]), torch.device("cpu")
            )
        )
    return frames[0], frames[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "official", type=Path, help="folder holding vsrife/IFNet_HDv3_v4_*.py and warplayer.py"
    )
    parser.add_argument(
        "--frames", type=Path, default=DEFAULT_FRAMES, help="folder of real frames f0.png … f2.png"
    )
    parser.add_argument("--size", default="333x187", help="odd crop WxH of the real frames")
    parser.add_argument("--versions", nargs="+", default=list(VERSIONS))
    parser.add_argument("--bar", type=float, default=1e-4)
    args = parser.parse_args()

    from dain.checkpoint import save_checkpoint
    from dain.engines.rife.engine import RifeInterpolator, load_rife_network

    sys.path.insert(0, str(args.official.resolve()))
    if not (args.official / "vsrife" / "interpolate.py").is_file():
        # vs-rife's interpolate.py wraps torch's bilinear upsampling for TensorRT (and needs it to import);
        # on the CPU it calls the same aten op as F.interpolate, which stands in for it (4.18 imports it).
        shim = types.ModuleType("vsrife.interpolate")
        shim.__dict__["interpolate"] = F.interpolate
        sys.modules["vsrife.interpolate"] = shim
    width, height = (int(value) for value in args.size.split("x"))
    frame0, frame1 = _read_pair(args.frames, height, width)
    phases = [0.5, 0.25]
    torch.set_grad_enabled(False)
    print(f"frames: {args.frames.name}, cropped to {width}x{height}; torch {torch.__version__}, CPU\n")
    print(
        "| version | detected layout | scale | t | mean abs(official − blend) "
        "| max abs diff: one phase per run | both phases in one batch "
        "| engine output (CPU defaults, clipped) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for version in args.versions:
            module = importlib.import_module(f"vsrife.{VERSIONS[version]}")
            for scale in (1.0, 0.5):
                torch.manual_seed(20)
                official = module.IFNet(scale=scale).eval()
                path = Path(folder) / f"flownet_v{version}.pkl"
                save_checkpoint(
                    {f"module.{key}": value for key, value in official.state_dict().items()}, path
                )
                network, dropped = load_rife_network(path)
                assert not dropped, dropped
                ours = RifeInterpolator(network, scale=scale).interpolate(frame0, frame1, phases)  # defaults
                pair = (frame0.unsqueeze(0), frame1.unsqueeze(0))
                single = RifeInterpolator(network, scale=scale, batch=1)._run(*pair, phases)
                raw = RifeInterpolator(network, scale=scale, batch=len(phases))._run(*pair, phases)
                for index, phase in enumerate(phases):
                    reference = _official_run(
                        official, frame0.unsqueeze(0), frame1.unsqueeze(0), phase, MODULO[version], scale
                    )[0]
                    network_diff = (raw[index] - reference).abs().max().item()
                    single_diff = (single[index] - reference).abs().max().item()
                    engine_diff = (ours[index] - reference.clamp(0, 1)).abs().max().item()
                    worst = max(worst, single_diff, network_diff, engine_diff)
                    blend = (1 - phase) * frame0 + phase * frame1  # how far from trivial the output is
                    away = (reference - blend).abs().mean().item()
                    print(
                        f"| {version} | {network.layout.label} | {scale:g} | {phase:g} | {away:.4f} | "
                        f"{single_diff:.2e} | {network_diff:.2e} | {engine_diff:.2e} |"
                    )
    verdict = "within" if worst <= args.bar else "ABOVE"
    print(f"\nlargest difference {worst:.2e}: {verdict} the bar of {args.bar:g}")
    return 0 if worst <= args.bar else 1


if __name__ == "__main__":
    sys.exit(main())
