"""dain.flow on numpy: backward warp, composition, landing test, flow resizing (DIS: classic tests)."""

from __future__ import annotations

import numpy as np
import pytest

from dain.flow import compose_flows, lands_inside, pixel_grid, upsample_flow, warp


def _constant(height: int, width: int, dx: float, dy: float) -> np.ndarray:
    flow = np.empty((height, width, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def test_warp_reads_the_source_at_p_plus_flow():
    image = np.random.default_rng(0).random((12, 16, 3)).astype(np.float32)
    out = warp(image, _constant(12, 16, 3.0, -2.0))
    np.testing.assert_array_equal(out[2:, :-3], image[:-2, 3:])
    np.testing.assert_array_equal(out[:2, -3:], np.broadcast_to(image[0, -1], (2, 3, 3)))  # border replicated
    half = warp(image[..., 0].copy(), _constant(12, 16, 0.5, 0.0))  # bilinear, one channel stays one
    np.testing.assert_allclose(half[:, :-1], 0.5 * (image[:, :-1, 0] + image[:, 1:, 0]), atol=1e-6)


def test_compose_adds_translations_and_round_trips_to_zero():
    ab, bc = _constant(10, 12, 1.5, -1.0), _constant(10, 12, 2.0, 0.5)
    composed = compose_flows(ab, bc)
    assert composed.dtype == np.float32
    np.testing.assert_allclose(composed, _constant(10, 12, 3.5, -0.5))
    np.testing.assert_allclose(compose_flows(ab, -ab), 0.0)


def test_lands_inside_with_margins():
    flow = _constant(8, 10, 2.0, 0.0)
    assert lands_inside(flow)[:, :8].all() and not lands_inside(flow)[:, 8:].any()
    assert lands_inside(flow, margin=-0.5)[:, 7].all() and not lands_inside(flow, margin=-0.5)[:, 8].any()
    assert not lands_inside(flow, margin=1.0)[:, 7].any()


def test_upsample_flow_scales_the_vectors_and_grid_is_shared_read_only():
    small = _constant(5, 8, 1.0, 2.0)
    full = upsample_flow(small, 10, 32)
    assert full.shape == (10, 32, 2)
    np.testing.assert_allclose(full[..., 0], 4.0)
    np.testing.assert_allclose(full[..., 1], 4.0)
    assert upsample_flow(small, 5, 8) is small
    grid_x, grid_y = pixel_grid(3, 4)
    assert grid_x[2, 3] == 3.0 and grid_y[2, 3] == 2.0 and pixel_grid(3, 4)[0] is grid_x
    with pytest.raises(ValueError):
        grid_x[0, 0] = 1.0
