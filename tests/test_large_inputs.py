"""Cost grows with the work: large inputs under a memory cap, and sizes that cannot be allocated.

Peak memory is measured with :mod:`tracemalloc`, which tracks NumPy's allocations. The caps are
far below what the earlier quadratic versions needed (given per test) and well above what the
inputs and outputs themselves take. Oracles: numpy.convolve, scipy.signal.convolve2d, torch.
"""

import tracemalloc

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as tF

from convlab import functional as F
from convlab import metrics, signal
from convlab.matrix import conv_matrix
from convlab.transposed import conv_transpose2d_matrix, zero_insert

MiB = 1 << 20


def _peak(call):
    """``(result, peak bytes allocated during call)``."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_convolve1d_large_kernel_memory():
    # 1e5 by 1e4 samples: a window view contracted at once asked for 8.2 GiB
    rng = np.random.default_rng(0)
    f, g = rng.standard_normal(100_000), rng.standard_normal(10_000)
    out, peak = _peak(lambda: signal.convolve1d(f, g))
    assert peak < 64 * MiB
    oracle = np.convolve(f, g)
    # FFT and direct sums differ by rounding, relative to the sum of |products| (~1e4 here)
    np.testing.assert_allclose(out, oracle, rtol=0, atol=1e-8 * np.abs(g).sum() * np.abs(f).max())


def test_convolve1d_integers_window_product_memory():
    # integers stay exact (no FFT): one dot product per output over a window view that is never
    # copied, so memory is the padded input and the output, not 20,000 x 2,000
    rng = np.random.default_rng(1)
    f, g = rng.integers(-5, 5, 20_000), rng.integers(-5, 5, 2_000)
    out, peak = _peak(lambda: signal.convolve1d(f, g, mode="same"))
    assert peak < 8 * MiB  # the old window product: 305 MiB
    np.testing.assert_array_equal(out, np.convolve(f, g, mode="same"))


_INTEGER_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]


@pytest.mark.parametrize("dtype", _INTEGER_DTYPES, ids=lambda d: np.dtype(d).name)
def test_integer_convolution_is_exact_and_wraps_like_numpy(dtype):
    """Extreme values of every integer dtype, short (tap loop) and long (window product) kernels,
    either operand longer, every mode: equal to numpy bit for bit, overflow wrapping included."""
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    for n, m in [(40, 3), (40, 7), (40, 8), (300, 64), (9, 50), (1, 1), (8, 8)]:
        if info is None:
            f, g = rng.random(n) < 0.5, rng.random(m) < 0.5
        else:
            f = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
            g = rng.integers(info.min, info.max, m, dtype=dtype, endpoint=True)
        for mode in ("full", "same", "valid"):
            for ours, oracle in ((signal.convolve1d, np.convolve), (signal.correlate1d, np.correlate)):
                expected = oracle(f, g, mode)
                got = ours(f, g, mode)
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected, err_msg=f"{ours.__name__} {n} x {m} {mode}")


def test_convolve2d_large_kernel_memory():
    # 1500^2 by 31^2: the window product asked for 15.5 GiB
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal((1500, 1500)), rng.standard_normal((31, 31))
    out, peak = _peak(lambda: signal.convolve2d(x, k, mode="same"))
    assert peak < 256 * MiB
    oracle = scipy.signal.convolve2d(x, k, mode="same")
    np.testing.assert_allclose(out, oracle, rtol=0, atol=1e-8 * np.abs(k).sum() * np.abs(x).max())


def test_interpolate_long_signal_memory():
    # 1e5 -> 44,100 samples: the dense (out, in) matrix was 16.4 GiB
    x = np.random.default_rng(3).standard_normal((1, 1, 100_000))
    out, peak = _peak(lambda: F.interpolate(x, size=44_100, mode="linear"))
    assert peak < 32 * MiB
    oracle = tF.interpolate(torch.from_numpy(x), size=44_100, mode="linear").numpy()
    assert out.shape == oracle.shape
    # torch places a few of the 44,100 coordinates differently at this size (its float64
    # index arithmetic), so compare the bulk tightly and the rest loosely
    close = np.isclose(out, oracle, rtol=1e-9, atol=1e-12)
    assert close.mean() > 0.99
    np.testing.assert_allclose(out, oracle, atol=0.05)


@pytest.mark.parametrize("stride", [(1000, 1000), (10_000, 3)])
def test_conv_transpose2d_stride_far_above_kernel(stride):
    # s_h * s_w phases were a Python loop: stride 1000 took 3.7 s, 10**4 never finished
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 1, 2, 2))
    out, peak = _peak(lambda: F.conv_transpose2d(x, w, stride=stride))
    oracle = tF.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride).numpy()
    np.testing.assert_allclose(out, oracle, rtol=1e-12, atol=1e-12)
    assert peak < 8 * out.nbytes + 4 * MiB  # the output and a few columns, no phase copies


def test_conv_transpose1d_stride_10_000():
    x, w = np.arange(5.0)[None, None], np.ones((1, 1, 3))
    out = F.conv_transpose1d(x, w, stride=10_000)
    oracle = tF.conv_transpose1d(torch.from_numpy(x), torch.from_numpy(w), stride=10_000).numpy()
    np.testing.assert_array_equal(out, oracle)


def test_conv2d_stride_10_18_has_one_position():
    # a single window position: the stride never matters (the view's byte strides overflowed)
    x, w = np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 2, 2))
    oracle = tF.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2**40).numpy()
    np.testing.assert_array_equal(F.conv2d(x, w, stride=10**18), oracle)
    np.testing.assert_array_equal(
        F.unfold(x, 2, stride=10**18), tF.unfold(torch.from_numpy(x), 2, stride=2**40).numpy()
    )


# ------------------------------------------------------------------------------------------
# refused up front: ValueError naming the argument and the size, not MemoryError/OverflowError


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: conv_matrix(2000, np.ones((3, 3))), "`input_size`=2000"),  # 116 TiB
        (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), padding=2**62), "`padding`="),
        (lambda: F.unfold(np.ones((1, 1, 4, 4)), 2, padding=2**62), "`padding`="),
        (
            lambda: F.conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=10**18),
            "`stride`=",
        ),
        (lambda: F.conv_transpose1d(np.ones((1, 1, 4)), np.ones((1, 1, 2)), stride=10**18), "`stride`="),
        (
            lambda: conv_transpose2d_matrix(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=10**18),
            "`stride`=",
        ),
        (lambda: zero_insert(np.ones((4, 4)), stride=10**18), "`stride`="),
        (lambda: F.interpolate(np.ones((1, 1, 4)), scale_factor=1e300, mode="linear"), "`scale_factor`"),
        (lambda: F.interpolate(np.ones((1, 1, 4)), scale_factor=1e200, mode="nearest"), "`scale_factor`"),
        (lambda: F.interpolate(np.ones((1, 1, 4, 4)), size=10**12, mode="bilinear"), "`size`="),
        (lambda: metrics.confusion_matrix([0, 1], [1, 0], num_classes=2**62), "`num_classes`="),
        (lambda: metrics.mean_iou([0, 1], [1, 0], num_classes=2**62), "`num_classes`="),
    ],
)
def test_unallocatable_output_is_refused_up_front(call, argument):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="memory") as info:
            call()
        assert tracemalloc.get_traced_memory()[1] < 16 * MiB  # refused before allocating
    finally:
        tracemalloc.stop()
    assert argument in str(info.value)
    assert "would have shape" in str(info.value)
