"""The one tiler (``dain.tiling``): spans, seams, alignment, the tiling policy and the memory fallback."""

import pytest
import torch
import torch.nn.functional as F

from dain.descriptor import Tiling
from dain.tiling import halving_tiles, run_tiled, run_with_memory_fallback, tile_spans, tiling_allowed

CPU = torch.device("cpu")


def _blur_x2(frames: torch.Tensor) -> torch.Tensor:
    """A local 2x "model": 5x5 box blur (receptive field 2 pixels), then nearest-neighbour 2x."""
    blurred = F.avg_pool2d(F.pad(frames, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    return F.interpolate(blurred, scale_factor=2, mode="nearest")


def test_tile_spans_cover_and_align():
    for length in (1, 5, 13, 50, 257):
        for tile in (1, 4, 16, 300):
            for align in (1, 4, 8):
                spans = tile_spans(length, tile, align)
                assert spans[0][0] == 0 and spans[-1][1] == length
                assert all(stop > start for start, stop in spans)
                assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
                assert all(start % align == 0 for start, _ in spans)


def test_tile_spans_are_near_equal_and_no_longer_than_the_tile():
    for length, tile in ((100, 96), (170, 96), (1080, 448), (7, 3)):
        sizes = [stop - start for start, stop in tile_spans(length, tile)]
        assert max(sizes) <= tile and max(sizes) - min(sizes) <= 1
        assert len(sizes) == -(-length // tile)


def test_tile_spans_reject_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        tile_spans(0, 4)
    with pytest.raises(ValueError, match="positive"):
        tile_spans(10, 0)


@pytest.mark.parametrize(("tile", "overlap", "blend"), [(8, 6, None), (8, 6, 6), (5, 4, 2), (11, 3, 0)])
def test_seams_vanish_when_the_overlap_covers_the_receptive_field(tile, overlap, blend):
    frames = torch.rand(2, 3, 29, 37, generator=torch.Generator().manual_seed(1))
    whole = _blur_x2(frames)
    tiled = run_tiled(_blur_x2, frames, scale=2, tile=tile, overlap=overlap, blend=blend)
    assert tiled.shape == whole.shape == (2, 3, 58, 74) and tiled.dtype == torch.float32
    assert (tiled - whole).abs().max() < 1e-5


def test_too_little_overlap_shows_seams():
    """The seam test above can fail: without context the blur differs along the cuts."""
    frames = torch.rand(1, 3, 29, 37, generator=torch.Generator().manual_seed(1))
    tiled = run_tiled(_blur_x2, frames, scale=2, tile=8, overlap=0)
    assert (tiled - _blur_x2(frames)).abs().max() > 1e-2


def test_aligned_tiles_start_on_the_grid_and_overlap_rounds_up():
    """Tile origins (cuts and context) are multiples of ``align``, as pixel-unshuffle models need."""
    height, width = 45, 53
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    frames = torch.stack([rows, cols]).float()[None]  # each pixel knows where it is
    origins: list[tuple[int, int]] = []

    def recording(tile: torch.Tensor) -> torch.Tensor:
        origins.append((int(tile[0, 0, 0, 0]), int(tile[0, 1, 0, 0])))
        return tile

    result = run_tiled(recording, frames, scale=1, tile=14, overlap=5, align=4)
    assert torch.allclose(result, frames, atol=1e-4)
    assert len(origins) == 4 * 4
    assert all(top % 4 == 0 and left % 4 == 0 for top, left in origins)
    # overlap 5 rounds up to 8: the second row of tiles starts 8 rows above its cut at 12
    assert sorted({top for top, _ in origins}) == [0, 4, 16, 24]


def test_the_function_may_return_another_batch_size():
    """An interpolator tiles a pair stacked on channels and returns several phases."""
    pair = torch.rand(1, 6, 40, 50)

    def phases(tile: torch.Tensor) -> torch.Tensor:
        return torch.stack([0.25 * tile[0, :3] + 0.75 * tile[0, 3:], 0.75 * tile[0, :3] + 0.25 * tile[0, 3:]])

    out = run_tiled(phases, pair, scale=1, tile=16, overlap=4)
    assert out.shape == (2, 3, 40, 50)
    assert (out - phases(pair)).abs().max() < 1e-6


def test_one_tile_is_the_function_itself():
    frames = torch.rand(1, 3, 20, 30, dtype=torch.float64)
    assert torch.equal(run_tiled(_blur_x2, frames, 2, tile=30, overlap=8), _blur_x2(frames).float())


def test_tiling_policy():
    assert tiling_allowed(Tiling.SUPPORTED, None) and tiling_allowed(Tiling.SUPPORTED, 0)
    assert not tiling_allowed(Tiling.DISCOURAGED, None) and tiling_allowed(Tiling.DISCOURAGED, 256)
    assert not tiling_allowed(Tiling.INTERNAL, 256)
    spandrel = pytest.importorskip("spandrel")
    assert Tiling.from_name(spandrel.ModelTiling.DISCOURAGED) is Tiling.DISCOURAGED
    assert Tiling.from_name("internal") is Tiling.INTERNAL
    with pytest.raises(ValueError, match="tiling policy"):
        Tiling.from_name("sometimes")


def test_halving_tiles():
    assert halving_tiles(170, 32) == [85, 42]
    # the model upscaler's rule: halve a tile only while it is more than 2 * MIN_TILE (32) pixels
    assert halving_tiles(512, 32) == [256, 128, 64]
    assert halving_tiles(65, 32) == [32] and halving_tiles(64, 32) == []


class _LimitedMemory:
    """Runs ``_blur_x2`` on inputs up to ``limit`` pixels a side; larger ones "run out of memory"."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sides: list[int] = []

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        self.sides.append(max(frames.shape[-2:]))
        if self.sides[-1] > self.limit:
            raise torch.OutOfMemoryError("pretend the GPU is full")
        return _blur_x2(frames)


def _attempt(model: _LimitedMemory, frames: torch.Tensor, tried: list[int]):
    def attempt(tile: int) -> torch.Tensor:
        tried.append(tile)
        return model(frames).float() if tile == 0 else run_tiled(model, frames, 2, tile, overlap=4)

    return attempt


def test_memory_fallback_tries_whole_then_smaller_tiles_largest_first():
    frames = torch.rand(1, 3, 150, 170, generator=torch.Generator().manual_seed(2))
    model, tried = _LimitedMemory(limit=70), []
    result = run_with_memory_fallback(
        _attempt(model, frames, tried), [0, 128, 64, 32], label="toy", size=(150, 170), device=CPU
    )
    assert tried == [0, 128, 64]  # 128-pixel tiles (+ context) were still too big, 64 fit
    assert model.sides[0] == 170 and max(model.sides[-9:]) <= 70
    assert (result - _blur_x2(frames)).abs().max() < 1e-5


def test_memory_fallback_ends_with_one_clear_error(caplog):
    frames = torch.rand(1, 3, 150, 170)
    model, tried = _LimitedMemory(limit=10), []
    with pytest.raises(torch.OutOfMemoryError) as error:
        run_with_memory_fallback(
            _attempt(model, frames, tried), [0, 64, 32], label="toy", size=(150, 170), device=CPU, what="pair"
        )
    assert tried == [0, 64, 32]
    assert str(error.value) == "toy ran out of memory on a 150x170 pair even in 32-pixel tiles"
    assert error.value.__context__ is None  # the failed tries' tensors are not kept alive
    assert [record.getMessage() for record in caplog.records] == [
        "toy: out of memory, retrying with 64-pixel tiles",
        "toy: out of memory, retrying with 32-pixel tiles",
    ]


def test_memory_fallback_lets_other_errors_through():
    def broken(tile: int) -> torch.Tensor:
        raise RuntimeError("a real bug")

    with pytest.raises(RuntimeError, match="a real bug"):
        run_with_memory_fallback(broken, [0, 64], label="toy", size=(1, 1), device=CPU)
    with pytest.raises(ValueError, match="at least one"):
        run_with_memory_fallback(broken, [], label="toy", size=(1, 1), device=CPU)
