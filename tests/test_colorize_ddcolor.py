"""DDColor through spandrel's extra architectures: a random-weight checkpoint loads and predicts a,b."""

from __future__ import annotations

import pytest
import torch

from restore.stages.colorize.ddcolor import load_ddcolor

extra = pytest.importorskip("spandrel_extra_arches", reason="the optional ddcolor extra is not installed")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from spandrel_extra_arches.architectures.DDColor.__arch.ddcolor import DDColor

    torch.manual_seed(0)
    # the layout of the official "paper_tiny" model: ConvNeXt-T encoder, 100 colour queries
    model = DDColor(encoder_name="convnext-t", input_size=(256, 256), num_queries=100, dec_layers=9)
    path = tmp_path_factory.mktemp("ddcolor") / "ddcolor_tiny.pth"
    torch.save(model.state_dict(), path)
    return path


def test_random_weight_checkpoint_predicts_chroma_at_the_frame_size(checkpoint):
    predictor = load_ddcolor(checkpoint).eval()
    lightness = torch.rand(1, 1, 45, 70) * 100
    with torch.inference_mode():
        chroma = predictor(lightness)
    assert chroma.shape == (1, 2, 45, 70)
    assert torch.isfinite(chroma).all()


def test_not_a_ddcolor_file_is_refused(tmp_path):
    junk = tmp_path / "junk.pth"
    torch.save({"conv.weight": torch.zeros(1)}, junk)
    with pytest.raises(ValueError):
        load_ddcolor(junk)
    with pytest.raises(ValueError, match="--colorize-weights"):
        load_ddcolor(None)
