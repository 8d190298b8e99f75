"""DAIN network structure: the state dict matches the official one key for key; sub-network shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dain.nets.context import ContextExtractor
from dain.nets.kernel_net import KernelHead, KernelTrunk
from dain.nets.megadepth import build_megadepth_hourglass
from dain.nets.network import DAIN, official_padding
from dain.nets.pwcnet import PWCDCNet, backward_warp_with_mask
from dain.nets.rectify import RectifyNet

SPEC_TSV = Path(__file__).resolve().parent / "data" / "dain_state_dict.tsv"


@pytest.fixture(scope="module")
def model() -> DAIN:
    torch.manual_seed(0)
    return DAIN().eval()


def _expected_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in SPEC_TSV.read_text(encoding="utf-8").splitlines():
        key, shape, dtype = line.split("\t")
        rows.append((key, shape, dtype))
    return rows


def test_state_dict_equals_official_layout(model):
    expected = _expected_rows()
    assert len(expected) == 954
    got = [
        (k, str(tuple(v.shape)), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()
    ]
    missing = [row[0] for row in expected if row[0] not in {g[0] for g in got}]
    extra = [row[0] for row in got if row[0] not in {e[0] for e in expected}]
    assert not missing and not extra, (missing[:5], extra[:5])
    assert got == expected  # same keys, same order, same shapes, same dtypes


def test_parameter_counts(model):
    assert sum(p.numel() for p in model.parameters()) == 24_031_656
    per_child = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    assert per_child == {
        "initScaleNets_filter": 5_504_832,
        "initScaleNets_filter1": 4_640,
        "initScaleNets_filter2": 4_640,
        "ctxNet": 156_864,
        "rectifyNet": 3_629_187,
        "flownets": 9_374_340,
        "depthNet": 5_357_153,
    }
    batch_norms = [m for m in model.depthNet.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(batch_norms) == 155
    assert [m.affine for m in batch_norms].count(True) == 1


def test_no_shared_module_between_instances(model):
    other = DAIN()
    assert other.depthNet is not model.depthNet  # the official depthNet was a module-level singleton
    assert other.depthNet[0].weight.data_ptr() != model.depthNet[0].weight.data_ptr()


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (70, (29, 29)),
        (90, (19, 19)),
        (97, (15, 16)),
        (131, (62, 63)),
        (128, (32, 32)),
        (256, (32, 32)),
        (360, (12, 12)),
        (640, (32, 32)),
        (720, (24, 24)),
        (1, (63, 64)),
    ],
)
def test_official_padding(length, expected):
    before, after = official_padding(length)
    assert (before, after) == expected
    assert (length + before + after) % 64 == 0


def test_official_padding_rejects_nonpositive():
    with pytest.raises(ValueError, match="length"):
        official_padding(0)


def test_subnetwork_output_shapes():
    torch.manual_seed(1)
    frames = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        assert PWCDCNet().eval()(torch.cat((frames[:1], frames[1:]), dim=1)).shape == (1, 2, 16, 16)
        assert build_megadepth_hourglass().eval()(frames).shape == (2, 1, 64, 64)
        assert ContextExtractor()(frames).shape == (2, 195, 64, 64)
        trunk = KernelTrunk()(frames.reshape(1, 6, 64, 64))
        assert trunk.shape == (1, 16, 64, 64)
        assert KernelHead()(trunk).shape == (1, 16, 64, 64)
        assert RectifyNet()(torch.rand(1, 437, 64, 64)).shape == (1, 3, 64, 64)


def test_size_requirements_are_enforced(model):
    frame = torch.rand(1, 3, 64, 96)
    with pytest.raises(ValueError, match="frame0"):
        model.analyse_pair(frame, frame)
    with pytest.raises(ValueError, match="frame1"):
        model.analyse_pair(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 128, 64))
    with pytest.raises(ValueError, match="image_pair"):
        PWCDCNet()(torch.rand(1, 6, 32, 64))


def test_pwc_warp_masks_samples_outside():
    image = torch.arange(16.0).view(1, 1, 4, 4)
    zero = torch.zeros(1, 2, 4, 4)
    assert torch.equal(backward_warp_with_mask(image, zero), image)  # identity at integer positions
    shift = torch.zeros(1, 2, 4, 4)
    shift[:, 0] = 1.0  # sample one pixel to the right
    warped = backward_warp_with_mask(image, shift)
    assert torch.equal(warped[..., :3], image[..., 1:])
    assert torch.equal(warped[..., 3], torch.zeros(1, 1, 4))  # the last column sampled outside: masked
    half = torch.zeros(1, 2, 4, 4)
    half[:, 1] = 0.5  # align_corners=True: halfway between rows
    assert torch.allclose(backward_warp_with_mask(image, half)[..., :3, :], image[..., :3, :] + 2.0)
