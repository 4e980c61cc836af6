"""unfold (im2col) and fold (col2im) against torch.nn.functional."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tf

from convlab.functional import conv2d, fold, unfold

T = torch.from_numpy

# (N, C, H, W), kwargs
CASES = {
    "basic": ((1, 1, 4, 4), {"kernel_size": 2}),
    "batch-channels": ((2, 3, 5, 6), {"kernel_size": (2, 3)}),
    "stride": ((1, 2, 7, 7), {"kernel_size": 3, "stride": 2}),
    "stride-gt-kernel": ((1, 2, 9, 8), {"kernel_size": 2, "stride": (3, 4)}),
    "padding": ((2, 1, 3, 4), {"kernel_size": 3, "padding": (1, 2)}),
    "dilation": ((1, 2, 8, 9), {"kernel_size": (2, 3), "dilation": (3, 2)}),
    "one-by-one-input": ((2, 3, 1, 1), {"kernel_size": 1}),
    "one-by-one-input-padded": ((1, 1, 1, 1), {"kernel_size": 3, "padding": 1}),
    "everything": (
        (2, 3, 7, 8),
        {"kernel_size": (2, 3), "dilation": (2, 1), "padding": (1, 2), "stride": (2, 3)},
    ),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unfold_and_fold_match_torch(name, dtype, rng):
    shape, kwargs = CASES[name]
    x = rng.standard_normal(shape).astype(dtype)
    cols = unfold(x, **kwargs)
    ref = tf.unfold(T(x), **kwargs).numpy()
    assert cols.dtype == dtype and cols.shape == ref.shape
    np.testing.assert_allclose(cols, ref, rtol=1e-6)
    y = rng.standard_normal(ref.shape).astype(dtype)
    back = fold(y, shape[2:], **kwargs)
    ref_back = tf.fold(T(y), shape[2:], **kwargs).numpy()
    assert back.dtype == dtype and back.shape == ref_back.shape
    np.testing.assert_allclose(back, ref_back, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_random_grid(seed):
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 8:
        k, s, d = (tuple(int(v) for v in rng.integers(1, hi, 2)) for hi in (4, 4, 3))
        p = tuple(int(v) for v in rng.integers(0, 3, 2))
        hw = tuple(int(v) for v in rng.integers(1, 8, 2))
        if any(di * (ki - 1) + 1 > hi + 2 * pi for ki, di, hi, pi in zip(k, d, hw, p, strict=True)):
            continue
        x = rng.standard_normal((2, 2, *hw))
        kwargs = {"kernel_size": k, "dilation": d, "padding": p, "stride": s}
        cols = unfold(x, **kwargs)
        np.testing.assert_allclose(cols, tf.unfold(T(x), **kwargs).numpy())
        np.testing.assert_allclose(fold(cols, hw, **kwargs), tf.fold(T(cols), hw, **kwargs).numpy())
        checked += 1


def test_unfold_returns_a_fresh_writable_array():
    x = np.ones((1, 2, 3, 3))
    cols = unfold(x, 1)  # a 1x1 block at stride 1 is a pure reshape of the input
    assert cols.flags.writeable and not np.shares_memory(cols, x)


def test_unbatched_and_integers():
    x = np.arange(12).reshape(1, 3, 4)
    cols = unfold(x, 2)
    assert cols.dtype == np.float64
    np.testing.assert_array_equal(cols, tf.unfold(T(x.astype(float)), 2).numpy())
    np.testing.assert_array_equal(fold(cols, (3, 4), 2), tf.fold(T(cols), (3, 4), 2).numpy())


def test_adjoint(rng):
    """<unfold(x), y> = <x, fold(y)>: fold is the transpose of unfold."""
    kwargs = {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    x = rng.standard_normal((2, 3, 6, 7))
    cols = unfold(x, **kwargs)
    y = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.vdot(cols, y), np.vdot(x, fold(y, (6, 7), **kwargs)))


def test_unfold_then_matmul_is_conv2d(rng):
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    cols = unfold(x, (3, 2), padding=1, stride=2)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(out, conv2d(x, w, padding=1, stride=2))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"input": np.ones((4, 4))}, ValueError, "`input` must be 3 or 4-dimensional"),
        ({"input": "x"}, TypeError, "`input`"),
        ({"kernel_size": 0}, ValueError, "`kernel_size`"),
        ({"kernel_size": (2, 2, 2)}, ValueError, "`kernel_size`"),
        ({"kernel_size": 2.0}, TypeError, "`kernel_size`"),
        ({"dilation": 0}, ValueError, "`dilation`"),
        ({"padding": -1}, ValueError, "`padding`"),
        ({"stride": 0}, ValueError, "`stride`"),
        ({"kernel_size": 6}, ValueError, "kernel does not fit the padded input along the height"),
        ({"kernel_size": 3, "dilation": 3}, ValueError, "`dilation`"),
    ],
)
def test_unfold_rejects(kwargs, exc, match):
    args = {"input": np.ones((1, 1, 5, 5)), "kernel_size": 2, **kwargs}
    with pytest.raises(exc, match=match):
        unfold(**args)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"input": np.ones((1, 1, 4, 4))}, ValueError, "`input` must be 2 or 3-dimensional"),
        ({"input": np.ones((1, 5, 16))}, ValueError, "`input` must have C \\* kh \\* kw rows"),
        ({"input": np.ones((1, 4, 15))}, ValueError, "`input` must have L = 16 columns.*got L = 15"),
        ({"output_size": 0}, ValueError, "`output_size`"),
        ({"output_size": (5, 5, 5)}, ValueError, "`output_size`"),
        ({"output_size": 1}, ValueError, "L = 0 columns"),
        ({"kernel_size": -2}, ValueError, "`kernel_size`"),
        ({"dilation": 0}, ValueError, "`dilation`"),
        ({"padding": (0, -1)}, ValueError, "`padding`"),
        ({"stride": 0}, ValueError, "`stride`"),
        ({"stride": 2}, ValueError, "L = 4 columns"),
    ],
)
def test_fold_rejects(kwargs, exc, match):
    args = {"input": np.ones((1, 4, 16)), "output_size": 5, "kernel_size": 2, **kwargs}
    with pytest.raises(exc, match=match):
        fold(**args)
