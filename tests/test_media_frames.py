"""The one integer ↔ unit-float conversion: numpy and tensor paths, both scalings, both roundings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restore.media.frames import array_to_tensor, from_unit_float, peak_of, tensor_to_array, to_unit_float


@pytest.mark.parametrize(("dtype", "peak"), [(np.uint8, 255.0), (np.uint16, 65535.0)])
def test_every_value_round_trips(dtype, peak):
    values = np.arange(int(peak) + 1, dtype=dtype).reshape(1, -1, 1).repeat(3, axis=2)
    assert peak_of(dtype) == peak
    for divide in (False, True):
        unit = to_unit_float(values, divide=divide)
        assert unit.dtype == np.float32 and unit.min() == 0.0 and unit.max() == 1.0
        for rounding in ("half_up", "half_even"):
            back = from_unit_float(unit, dtype, rounding=rounding)
            assert back.dtype == dtype and np.array_equal(back, values)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tensor_path_is_the_numpy_default_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, int(peak_of(dtype)) + 1, (5, 7, 3)).astype(dtype)
    tensor = array_to_tensor(image, torch.device("cpu"))
    assert np.array_equal(tensor.numpy().transpose(1, 2, 0), to_unit_float(image))
    unit = rng.uniform(-0.1, 1.1, (3, 5, 7)).astype(np.float32)
    expected = from_unit_float(unit.transpose(1, 2, 0), dtype)
    assert np.array_equal(tensor_to_array(torch.from_numpy(unit), dtype), expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_every_level_converts_as_torch_would_and_comes_back_exactly(dtype):
    """The CPU conversions (numpy) give torch's own arithmetic bit for bit: times the float32
    reciprocal of the peak on the way in; every level survives the round trip."""
    peak = int(peak_of(dtype))
    levels = np.arange(peak + 1, dtype=dtype)
    image = np.stack([levels, levels[::-1], levels], axis=-1).reshape(1, -1, 3)
    tensor = array_to_tensor(image, torch.device("cpu"))
    planar = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32))
    assert torch.equal(tensor, planar.mul_(1.0 / peak))
    assert np.array_equal(tensor_to_array(tensor, dtype), image)


def test_tensor_to_array_rounds_exact_halves_up():
    """float32 values whose product with 255 is exactly k + 0.5, k even: half up gives k + 1,
    round-half-even would give k, so a change of rounding on either path fails here."""
    halves = {0.009803921915590763: 3, 0.39411765336990356: 101, 0.998039186000824: 255}
    unit = torch.tensor(list(halves), dtype=torch.float32).reshape(1, 1, 3).expand(3, 1, 3).contiguous()
    assert (unit.numpy()[0, 0] * np.float32(255.0)).tolist() == [2.5, 100.5, 254.5]
    assert tensor_to_array(unit, np.uint8)[0, :, 0].tolist() == list(halves.values())
    if torch.cuda.is_available():
        assert tensor_to_array(unit.cuda(), np.uint8)[0, :, 0].tolist() == list(halves.values())


def test_roundings_differ_only_at_halves():
    halves = np.array([0.5, 1.5, 2.5, 2.25]) / 255.0  # float64: image * 255 is k + 0.5 to the last bit
    assert from_unit_float(halves, np.uint8).tolist() == [1, 2, 3, 2]
    assert from_unit_float(halves, np.uint8, rounding="half_even").tolist() == [0, 2, 2, 2]


def test_floats_are_clipped_and_other_integers_refused():
    assert to_unit_float(np.array([-0.5, 0.25, 2.0])).tolist() == [0.0, 0.25, 1.0]
    assert from_unit_float(np.array([-1.0, 2.0]), np.uint16).tolist() == [0, 65535]
    with pytest.raises(TypeError, match="uint8 or uint16"):
        to_unit_float(np.zeros(3, np.int32))
    with pytest.raises(TypeError, match="uint8 or uint16"):
        peak_of(np.float32)
    with pytest.raises(ValueError, match="rounding"):
        from_unit_float(np.zeros(3), np.uint8, rounding="down")
