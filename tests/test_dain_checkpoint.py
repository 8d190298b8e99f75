"""Safe checkpoint loading: round trips, wrappers, loud key reports, code-carrying pickles refused."""

from __future__ import annotations

import pathlib
import pickle

import pytest
import torch

from dain.checkpoint import (
    CheckpointError,
    canonical_state_dict,
    load_into,
    read_checkpoint,
    save_checkpoint,
    state_dict_mismatches,
)
from dain.nets.network import DAIN


@pytest.fixture(scope="module")
def source() -> DAIN:
    torch.manual_seed(11)
    return DAIN()


@pytest.fixture(scope="module")
def target_model() -> DAIN:
    torch.manual_seed(22)
    return DAIN()


@pytest.fixture
def target(target_model):
    """The same target model, reset to its own random weights before every test."""
    original = getattr(target_model, "_original_state", None)
    if original is None:
        original = {k: v.clone() for k, v in target_model.state_dict().items()}
        target_model._original_state = original
    target_model.load_state_dict(original)
    return target_model


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def _differs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return not torch.equal(
        a.state_dict()["rectifyNet.block1.0.weight"], b.state_dict()["rectifyNet.block1.0.weight"]
    )


@pytest.mark.parametrize("layout", ["plain", "state_dict_wrapper", "module_prefix", "safetensors"])
def test_round_trip(source, target, tmp_path, layout):
    assert _differs(source, target)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    if layout == "plain":
        path = save_checkpoint(source, tmp_path / "best.pth")
    elif layout == "state_dict_wrapper":
        path = tmp_path / "wrapped.pth"
        torch.save({"state_dict": state, "epoch": 7}, path)
    elif layout == "module_prefix":
        path = tmp_path / "dataparallel.pth"
        torch.save({"module." + k: v for k, v in state.items()}, path)
    else:
        path = save_checkpoint(source, tmp_path / "best.safetensors")
    loaded = read_checkpoint(path)
    assert set(loaded) == set(state)
    load_into(target, loaded, source=path.name)
    _assert_same_weights(source, target)


def test_missing_num_batches_tracked_is_tolerated(source, target, tmp_path):
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(state) == 954 - 155
    path = save_checkpoint(state, tmp_path / "old.pth")
    load_into(target, read_checkpoint(path))
    loaded = target.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def test_renamed_key_fails_loudly_naming_it(source, target):
    state = dict(source.state_dict())
    state["flownets.conv1x.0.weight"] = state.pop("flownets.conv1a.0.weight")
    with pytest.raises(CheckpointError) as error:
        load_into(target, state, source="renamed.pth")
    message = str(error.value)
    assert "\n" not in message
    assert "1 missing key(s): flownets.conv1a.0.weight" in message
    assert "1 unexpected key(s): flownets.conv1x.0.weight" in message
    assert "renamed.pth" in message
    assert _differs(source, target)  # nothing was loaded


def test_shape_mismatch_and_long_lists_are_reported(source, target):
    state = dict(source.state_dict())
    state["rectifyNet.block5.0.bias"] = torch.zeros(4)
    for key in [k for k in state if k.startswith("ctxNet.")]:
        del state[key]
    missing, unexpected, wrong = state_dict_mismatches(target, state)
    assert len(missing) == 5 and not unexpected
    assert wrong == ["rectifyNet.block5.0.bias: checkpoint (4,) vs model (3,)"]
    with pytest.raises(CheckpointError, match=r"5 missing key\(s\).*1 shape mismatch"):
        load_into(target, state)


def test_many_missing_keys_are_summarised(target):
    with pytest.raises(CheckpointError, match=r"799 missing key\(s\): .* and 793 more"):
        load_into(target, {})


def test_canonical_state_dict_unwraps_and_rejects():
    tensor = torch.ones(2)
    assert canonical_state_dict({"model": {"state_dict": {"module.a": tensor}}}) == {"a": tensor}
    assert canonical_state_dict({"params_ema": {"b": tensor}}) == {"b": tensor}
    with pytest.raises(CheckpointError, match="not a flat state dict"):
        canonical_state_dict({"a": tensor, "epoch": 3})
    with pytest.raises(CheckpointError, match="not a state dict"):
        canonical_state_dict([tensor])


class _TouchOnUnpickle:
    """A pickle payload that creates a marker file when unpickled by an unrestricted loader."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_payload_would_run_without_protection(tmp_path):
    # Sanity check of the test payload itself: an ordinary unpickler does run it.
    marker = tmp_path / "ran.txt"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(marker)))
    assert marker.exists()


@pytest.mark.parametrize("writer", ["torch_save", "raw_pickle"])
def test_code_carrying_checkpoint_is_refused_before_running(tmp_path, writer):
    marker = tmp_path / "pwned.txt"
    payload = {"state_dict": {"a": torch.zeros(1)}, "hook": _TouchOnUnpickle(marker)}
    path = tmp_path / "evil.pth"
    if writer == "torch_save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle, protocol=2)
    with pytest.raises(CheckpointError, match="refusing to load evil.pth: it contains Python") as error:
        read_checkpoint(path)
    assert "\n" not in str(error.value)
    assert not marker.exists()


def test_unreadable_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "absent.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError):
        read_checkpoint(junk)
    bad_safetensors = tmp_path / "junk.safetensors"
    bad_safetensors.write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="safetensors"):
        read_checkpoint(bad_safetensors)


def test_checkpoint_error_is_a_user_error_and_a_value_error():
    from dain.errors import UserError

    assert issubclass(CheckpointError, UserError) and issubclass(CheckpointError, ValueError)


def test_one_canonicaliser_covers_every_callers_wrappers():
    raw, ema = torch.zeros(2), torch.ones(2)
    # EMA weights win over the raw ones, whatever the key order; siblings (epoch) are ignored.
    assert canonical_state_dict({"params": {"w": raw}, "params_ema": {"w": ema}, "epoch": 3}) == {"w": ema}
    assert canonical_state_dict({"state_dict": {"w": raw}, "params_ema": {"w": ema}}) == {"w": ema}
    # A single-entry dict is a wrapper; the DataParallel and GAN-generator prefixes are stripped.
    assert canonical_state_dict({"anything": {"netG.w": raw}}) == {"w": raw}
    assert canonical_state_dict({"generator": {"module.netG.w": raw}}) == {"w": raw}
    # Non-tensor entries of the state dict itself: refused by default, dropped on request.
    assert canonical_state_dict({"w": raw, "epoch": 3}, non_tensors="drop") == {"w": raw}
    with pytest.raises(CheckpointError, match="contains no weight tensors"):
        canonical_state_dict({"epoch": 3, "lr": 0.1}, non_tensors="drop")


def test_read_checkpoint_labels_messages_and_checks_the_suffix(tmp_path):
    path = tmp_path / "weights.onnx"
    path.write_bytes(b"\x08\x01")
    with pytest.raises(CheckpointError, match=r"^--some-weights: unsupported model file type '\.onnx'"):
        read_checkpoint(path, label="--some-weights")
    with pytest.raises(CheckpointError, match=r"^--some-weights: file not found"):
        read_checkpoint(tmp_path / "absent.pth", label="--some-weights")
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"params_ema": {"w": torch.ones(1)}, "note": "ema"}, wrapped)
    assert read_checkpoint(wrapped).keys() == {"w"}


def test_torch_load_is_called_in_one_module_only():
    root = pathlib.Path(__file__).resolve().parents[1]
    callers = sorted(
        str(path.relative_to(root))
        for package in ("dain", "restore", "cuda_kernels")
        for path in (root / package).rglob("*.py")
        if "torch.load(" in path.read_text(encoding="utf-8")
    )
    assert callers == ["dain/checkpoint.py"]
