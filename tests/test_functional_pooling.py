"""convlab.functional.max_pool2d / max_unpool2d / avg_pool2d against torch.nn.functional."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.functional import avg_pool2d, max_pool2d, max_unpool2d


def _torch_pool(x, *args, **kwargs):
    out, idx = F.max_pool2d(torch.from_numpy(x), *args, return_indices=True, **kwargs)
    return out.numpy(), idx.numpy()


GRID = [
    # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    ((3, 2), (2, 1), (1, 0), 1, True),
    (2, 3, 1, 2, False),
    (3, 3, 0, (2, 1), True),
    ((1, 4), (1, 2), (0, 2), 1, True),
    (4, 1, 2, 1, False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", GRID)
def test_max_pool2d_matches_torch(kernel, stride, padding, dilation, ceil_mode, dtype, rng):
    for shape in [(2, 3, 9, 7), (1, 2, 8, 8), (3, 11, 6)]:  # batched, square, unbatched CHW
        x = rng.standard_normal(shape).astype(dtype)
        want, want_idx = _torch_pool(x, kernel, stride, padding, dilation, ceil_mode)
        got, idx = max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
        assert got.dtype == want.dtype == dtype and idx.dtype == np.int64
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_array_equal(max_pool2d(x, kernel, stride, padding, dilation, ceil_mode), want)


def test_ties_pick_the_first_maximum_in_scan_order(rng):
    """torch's CPU kernel keeps the first maximum (strictly greater replaces): deterministic."""
    x = rng.integers(0, 3, (2, 2, 7, 8)).astype(np.float64)  # many ties
    for k, s, p in [(2, 2, 0), (3, 1, 1), (3, 2, 1)]:
        want, want_idx = _torch_pool(x, k, s, p)
        got, idx = max_pool2d(x, k, s, p, return_indices=True)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(idx, want_idx)
    _, idx = max_pool2d(np.ones((1, 1, 2, 2)), 2, return_indices=True)
    assert idx.item() == 0


def test_nan_and_minus_inf_like_torch():
    x = np.array([[[[1.0, np.nan, 3.0], [np.nan, 2.0, 0.0], [0.0, 0.0, 0.0]]]])
    want, want_idx = _torch_pool(x, 2, 1)
    got, idx = max_pool2d(x, 2, 1, return_indices=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(idx, want_idx)  # the last NaN of a window wins
    x = np.full((1, 1, 5, 5), -np.inf)
    for kwargs in [dict(padding=1, stride=2), dict(padding=1, stride=2, dilation=2)]:
        want, want_idx = _torch_pool(x, 3, **kwargs)
        got, idx = max_pool2d(x, 3, return_indices=True, **kwargs)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(idx, want_idx)


def test_worked_example_2x2_stride_2():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 0, 3]])[None, None]
    out, idx = max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(out[0, 0], [[5, 8], [7, 3]])
    np.testing.assert_array_equal(idx[0, 0], [[1, 6], [12, 15]])  # flat h * W + w
    restored = max_unpool2d(out, idx, 2)
    np.testing.assert_array_equal(
        restored[0, 0], np.where(np.isin(np.arange(16), [1, 6, 12, 15]), x.ravel(), 0).reshape(4, 4)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_unpool2d_matches_torch(dtype, rng):
    for (h, w), (k, s, p) in itertools.product(
        [(9, 7), (8, 8), (5, 6)], [(2, None, 0), (3, 2, 1), (2, 1, 0)]
    ):
        x = rng.standard_normal((2, 3, h, w)).astype(dtype)
        pooled, idx = _torch_pool(x, k, s, p)
        for output_size in [None, (h, w), (2, 3, h, w)]:
            try:
                want = F.max_unpool2d(
                    torch.from_numpy(pooled), torch.from_numpy(idx), k, s, p, output_size
                ).numpy()
            except (ValueError, RuntimeError):  # bad output_size, or an index outside the default plane
                with pytest.raises(ValueError, match="`output_size`|`indices`"):
                    max_unpool2d(pooled, idx, k, s, p, output_size)
                continue
            got = max_unpool2d(pooled, idx, k, s, p, output_size)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want)
    # unbatched (C, H, W)
    x = rng.standard_normal((3, 6, 5))
    pooled, idx = _torch_pool(x, 2)
    want = F.max_unpool2d(torch.from_numpy(pooled), torch.from_numpy(idx), 2, output_size=(6, 5)).numpy()
    np.testing.assert_array_equal(max_unpool2d(pooled, idx, 2, output_size=(6, 5)), want)


def test_unpool_restores_the_odd_size_only_with_output_size(rng):
    """4x4 and 5x5 both pool to 2x2: the default size is 4x4, `output_size` picks 5x5."""
    even = rng.standard_normal((1, 1, 4, 4))
    pooled, idx = max_pool2d(even, 2, return_indices=True)
    assert max_unpool2d(pooled, idx, 2).shape == (1, 1, 4, 4)
    odd = rng.standard_normal((1, 1, 5, 5))
    pooled, idx = max_pool2d(odd, 2, return_indices=True)
    restored = max_unpool2d(pooled, idx, 2, output_size=(5, 5))
    assert restored.shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(restored.ravel()[idx.ravel()], pooled.ravel())
    assert np.count_nonzero(restored) == 4


# --- validation ------------------------------------------------------------------------------


def test_max_pool2d_rules():
    x = np.zeros((1, 1, 5, 5))
    with pytest.raises(ValueError, match="`padding`.*half of `kernel_size`"):
        max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="`padding`"):
        max_pool2d(x, 3, padding=-1)
    with pytest.raises(ValueError, match="`stride`"):
        max_pool2d(x, 3, stride=0)
    with pytest.raises(ValueError, match="`kernel_size`"):
        max_pool2d(x, 0)
    with pytest.raises(ValueError, match="`dilation`"):
        max_pool2d(x, 2, dilation=0)
    with pytest.raises(TypeError, match="`kernel_size`"):
        max_pool2d(x, 2.0)
    with pytest.raises(ValueError, match="`input`.*too small"):
        max_pool2d(x, 6)
    with pytest.raises(ValueError, match="`input`.*3 or 4-dimensional"):
        max_pool2d(np.zeros((5, 5)), 2)
    with pytest.raises(ValueError, match="`input`"):
        max_pool2d(np.zeros((1, 0, 5, 5)), 2)
    with pytest.raises(TypeError, match="`ceil_mode`"):
        max_pool2d(x, 2, ceil_mode=1)
    with pytest.raises(TypeError, match="`return_indices`"):
        max_pool2d(x, 2, return_indices="yes")


def test_ceil_mode_drops_a_window_starting_in_the_right_padding():
    x = np.zeros((1, 1, 5, 5))
    # (5 + 2 - 2 + 1) / 2 rounds up to 3 -> 4 windows, but the 4th would start at 6 >= 5 + 1
    assert (
        max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True).shape
        == F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape
        == (1, 1, 3, 3)
    )
    assert max_pool2d(np.zeros((1, 1, 6, 6)), 3, stride=2, ceil_mode=True).shape == (1, 1, 3, 3)


def test_max_unpool2d_rules():
    pooled, idx = max_pool2d(np.arange(25.0).reshape(1, 1, 5, 5), 2, return_indices=True)
    with pytest.raises(ValueError, match="`output_size`.*strictly between 2 and 6"):
        max_unpool2d(pooled, idx, 2, output_size=(6, 6))
    with pytest.raises(ValueError, match="`output_size`.*2 or 4 entries"):
        max_unpool2d(pooled, idx, 2, output_size=(5,))
    with pytest.raises(TypeError, match="`output_size`"):
        max_unpool2d(pooled, idx, 2, output_size=5)
    with pytest.raises(TypeError, match="`output_size`"):
        max_unpool2d(pooled, idx, 2, output_size=(5.0, 5.0))
    with pytest.raises(ValueError, match="`indices`.*\\[0, 16\\)"):
        max_unpool2d(pooled, idx, 2)  # index 18 does not fit the default 4x4 plane
    with pytest.raises(ValueError, match="`indices`.*shape"):
        max_unpool2d(pooled, idx[..., :1], 2)
    with pytest.raises(TypeError, match="`indices`.*integer"):
        max_unpool2d(pooled, idx.astype(float), 2)
    with pytest.raises(ValueError, match="`stride`"):
        max_unpool2d(pooled, idx, 2, stride=0)
    with pytest.raises(ValueError, match="`padding`"):
        max_unpool2d(pooled, idx, 2, padding=-1)


# --- avg_pool2d ------------------------------------------------------------------------------

AVG_GRID = [
    # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (2, None, 0, False, True, None),
    (3, 2, 1, False, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((3, 2), (2, 1), (1, 0), True, False, None),
    ((1, 4), (1, 3), (0, 2), True, True, None),
    (4, 3, 2, True, False, None),
    (3, 2, 1, False, True, 5),
    (2, 1, 1, True, False, -3),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, include, divisor", AVG_GRID)
def test_avg_pool2d_matches_torch(kernel, stride, padding, ceil_mode, include, divisor, dtype, rng):
    """Window sums are float sums in a different order than torch's: compare with a tolerance."""
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for shape in [(2, 3, 9, 7), (1, 2, 8, 8), (3, 11, 6)]:
        x = rng.standard_normal(shape).astype(dtype)
        want = F.avg_pool2d(torch.from_numpy(x), kernel, stride, padding, ceil_mode, include, divisor)
        got = avg_pool2d(x, kernel, stride, padding, ceil_mode, include, divisor)
        assert got.dtype == dtype and got.shape == tuple(want.shape)
        np.testing.assert_allclose(got, want.numpy(), rtol=tol, atol=tol)


def test_avg_pool2d_divisors_by_hand():
    """A 3x3 window with padding 1 at the corner of a 4x4 image of ones covers 4 pixels."""
    x = np.ones((1, 1, 4, 4))
    with_pad = avg_pool2d(x, 3, stride=2, padding=1)
    np.testing.assert_allclose(with_pad[0, 0], [[4 / 9, 6 / 9], [6 / 9, 1.0]])
    np.testing.assert_allclose(avg_pool2d(x, 3, 2, 1, count_include_pad=False), np.ones((1, 1, 2, 2)))
    np.testing.assert_allclose(avg_pool2d(x, 2, divisor_override=1), np.full((1, 1, 2, 2), 4.0))
    # ceil_mode: 5 -> 3 windows of size 2; the last covers one pixel and no padding: divisor 1
    last = avg_pool2d(np.ones((1, 1, 5, 5)), 2, ceil_mode=True)[0, 0]
    np.testing.assert_allclose(last, np.ones((3, 3)))
    assert tuple(F.avg_pool2d(torch.ones(1, 1, 5, 5), 2, ceil_mode=True).shape) == (1, 1, 3, 3)


def test_avg_pool2d_integer_input_becomes_float64():
    out = avg_pool2d(np.arange(16).reshape(1, 1, 4, 4), 2)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_avg_pool2d_rules():
    x = np.zeros((1, 1, 5, 5))
    with pytest.raises(ValueError, match="`padding`.*half of `kernel_size`"):
        avg_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="`stride`"):
        avg_pool2d(x, 3, stride=0)
    with pytest.raises(ValueError, match="`kernel_size`"):
        avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="`kernel_size`"):
        avg_pool2d(x, 2.0)
    with pytest.raises(ValueError, match="`input`.*too small"):
        avg_pool2d(x, 6)
    with pytest.raises(ValueError, match="`input`.*3 or 4-dimensional"):
        avg_pool2d(np.zeros((5, 5)), 2)
    with pytest.raises(TypeError, match="`ceil_mode`"):
        avg_pool2d(x, 2, ceil_mode=1)
    with pytest.raises(TypeError, match="`count_include_pad`"):
        avg_pool2d(x, 2, count_include_pad=None)
    with pytest.raises(ValueError, match="`divisor_override`.*zero"):
        avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="`divisor_override`"):
        avg_pool2d(x, 2, divisor_override=2.0)
    with pytest.raises(RuntimeError):  # the oracle refuses the same zero divisor
        F.avg_pool2d(torch.zeros(1, 1, 5, 5), 2, divisor_override=0)
