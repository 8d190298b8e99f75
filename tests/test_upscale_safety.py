"""Loading refuses code-carrying pickles and explains bad model input in one line."""

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

from dain.checkpoint import read_checkpoint
from restore.upscale import create_upscaler
from restore.upscale.model_file import ModelUpscaler


class _CreatesMarker:
    """Unpickling this runs ``open(marker, 'w')``: the file appears if the loader executes code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _RunsShell:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _tiny_compact_state():
    return Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2).state_dict()


@pytest.mark.parametrize("payload", [_CreatesMarker, _RunsShell])
@pytest.mark.parametrize("container", ["torch_zip", "legacy_pickle"])
def test_code_carrying_pickle_is_refused_and_never_runs(tmp_path, payload, container):
    marker = tmp_path / "marker_created_by_pickle"
    path = tmp_path / "evil.pth"
    checkpoint = {"params_ema": _tiny_compact_state(), "hook": payload(marker)}
    if container == "torch_zip":
        torch.save(checkpoint, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(checkpoint, handle)
    assert not marker.exists()
    with pytest.raises(ValueError, match="refusing to load evil.pth") as error:
        create_upscaler(str(path), "cpu")
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="refusing"):
        ModelUpscaler(path)
    assert not marker.exists()


def test_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        create_upscaler(str(path))


def test_garbage_safetensors_is_not_a_model(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(os.urandom(256))
    with pytest.raises(ValueError, match="not a valid safetensors"):
        read_checkpoint(path)


def test_unknown_architecture_is_named(tmp_path):
    path = tmp_path / "mystery.safetensors"
    save_file({"encoder.weird.weight": torch.zeros(4, 4), "decoder.odd.bias": torch.zeros(4)}, str(path))
    with pytest.raises(ValueError, match="unknown model architecture") as error:
        create_upscaler(str(path))
    assert "\n" not in str(error.value)


def test_missing_chain_element_and_bad_specs(tmp_path):
    with pytest.raises(ValueError, match="no_such_model.pth"):
        create_upscaler(f"lanczos,{tmp_path / 'no_such_model.pth'}")
    with pytest.raises(ValueError, match="neither an engine"):
        create_upscaler("bicubicc")
    with pytest.raises(ValueError, match="empty element"):
        create_upscaler("lanczos,,anime4k")
    with pytest.raises(ValueError, match="empty"):
        create_upscaler("  ")


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x01")
    with pytest.raises(ValueError, match="unsupported model file type"):
        read_checkpoint(path)


def test_checkpoint_without_weights(tmp_path):
    path = tmp_path / "meta.pth"
    torch.save({"epoch": 3, "note": "no weights"}, path)
    with pytest.raises(ValueError, match="no weight tensors"):
        create_upscaler(str(path))


def test_negative_tile_is_rejected(tmp_path):
    path = tmp_path / "c.pth"
    torch.save(_tiny_compact_state(), path)
    with pytest.raises(ValueError, match="tile"):
        create_upscaler(str(path), tile=-4)
