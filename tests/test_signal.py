"""convlab.signal against numpy.convolve/correlate and scipy.signal.convolve2d/correlate2d."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal as sp_signal

from convlab.signal import convolve1d, convolve2d, correlate1d, correlate2d

MODES = ("full", "same", "valid")


# --- 1-D -------------------------------------------------------------------------------------


@given(
    n1=st.integers(1, 9),
    n2=st.integers(1, 9),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**16),
)
def test_1d_matches_numpy(n1, n2, mode, seed):
    rng = np.random.default_rng(seed)
    f, g = rng.standard_normal(n1), rng.standard_normal(n2)
    np.testing.assert_allclose(convolve1d(f, g, mode), np.convolve(f, g, mode), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(correlate1d(f, g, mode), np.correlate(f, g, mode), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n1, n2", [(7, 2), (7, 4), (2, 7), (3, 6), (1, 1), (1, 5), (5, 1), (4, 4)])
def test_1d_even_and_longer_kernels_and_integer_dtype(n1, n2, mode, rng):
    f, g = rng.integers(-5, 6, n1), rng.integers(-5, 6, n2)
    for ours, ref in ((convolve1d, np.convolve), (correlate1d, np.correlate)):
        got, want = ours(f, g, mode), ref(f, g, mode)
        assert got.dtype == want.dtype == np.int64
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1d_float_dtype_preserved(dtype, rng):
    f, g = rng.standard_normal(6).astype(dtype), rng.standard_normal(3).astype(dtype)
    assert convolve1d(f, g).dtype == np.convolve(f, g).dtype == dtype
    assert correlate1d(f, g, "same").dtype == dtype


def test_1d_lengths_and_flip():
    f, g = np.arange(1, 6), np.array([1, 0, -1])
    assert len(convolve1d(f, g)) == 5 + 3 - 1  # n1 + n2 - 1
    assert len(convolve1d(f, g, "same")) == 5
    assert len(convolve1d(f, g, "valid")) == 5 - 3 + 1
    # convolution slides the flipped kernel: equals correlation with g[::-1] in every mode
    for mode in MODES:
        np.testing.assert_array_equal(convolve1d(f, g, mode), correlate1d(f, g[::-1], mode))
    # a worked example by hand: [1, 2, 3] * [0, 1, 0.5]
    np.testing.assert_allclose(convolve1d([1, 2, 3], [0, 1, 0.5]), [0, 1, 2.5, 4, 1.5])


def test_1d_correlation_is_not_symmetric_but_reverses():
    f, g = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5, 2.0])
    np.testing.assert_allclose(correlate1d(f, g, "full"), correlate1d(g, f, "full")[::-1])
    assert not np.allclose(correlate1d(f, g, "full"), correlate1d(g, f, "full"))


# --- 2-D -------------------------------------------------------------------------------------

SHAPES_2D = [
    ((7, 8), (3, 3)),
    ((7, 8), (2, 4)),  # even kernel: "same" centring differs between convolve and correlate
    ((6, 5), (4, 1)),
    ((3, 3), (5, 6)),  # kernel larger than the image
    ((1, 1), (1, 1)),
    ((1, 6), (1, 3)),
    ((5, 5), (5, 5)),
    ((2, 7), (4, 7)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xs, ks", SHAPES_2D)
def test_2d_matches_scipy(xs, ks, mode, rng):
    x, k = rng.standard_normal(xs), rng.standard_normal(ks)
    for ours, ref in ((convolve2d, sp_signal.convolve2d), (correlate2d, sp_signal.correlate2d)):
        try:
            want = ref(x, k, mode)
        except ValueError:
            with pytest.raises(ValueError, match="`x`"):
                ours(x, k, mode)
            continue
        got = ours(x, k, mode)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@given(
    shapes=st.tuples(*[st.integers(1, 7)] * 4),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**16),
)
def test_2d_matches_scipy_random(shapes, mode, seed):
    h1, w1, h2, w2 = shapes
    big, small = (max(h1, h2), max(w1, w2)), (min(h1, h2), min(w1, w2))
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal(big), rng.standard_normal(small)
    if seed % 2:  # also the swapped order ("valid" then swaps the inputs, like SciPy)
        x, k = k, x
    np.testing.assert_allclose(convolve2d(x, k, mode), sp_signal.convolve2d(x, k, mode), atol=1e-12)
    np.testing.assert_allclose(correlate2d(x, k, mode), sp_signal.correlate2d(x, k, mode), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64])
def test_2d_dtype_like_scipy(dtype, rng):
    x = rng.integers(-4, 5, (4, 5)).astype(dtype)
    k = rng.integers(-4, 5, (2, 3)).astype(dtype)
    for ours, ref in ((convolve2d, sp_signal.convolve2d), (correlate2d, sp_signal.correlate2d)):
        got, want = ours(x, k, "same"), ref(x, k, "same")
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)  # small integers: exact in any order


def test_seed_full_convolution_of_2x2_with_3x3_is_4x4():
    image = np.array([[1, 2], [3, 4]])
    kernel = np.arange(1, 10).reshape(3, 3)
    full = convolve2d(image, kernel, "full")
    assert full.shape == (4, 4)  # 2 + 3 - 1 in each dimension
    np.testing.assert_array_equal(full, sp_signal.convolve2d(image, kernel))
    # top-left output: only the kernel's top-left entry overlaps pixel (0, 0)
    assert full[0, 0] == image[0, 0] * kernel[0, 0]
    assert full[-1, -1] == image[-1, -1] * kernel[-1, -1]


def test_seed_sizes_same_and_valid():
    image, kernel = np.ones((5, 5)), np.ones((3, 3))
    assert convolve2d(image, kernel, "same").shape == (5, 5)  # N1 x N1
    assert convolve2d(image, kernel, "valid").shape == (3, 3)  # N1 - N2 + 1
    np.testing.assert_array_equal(convolve2d(image, kernel, "valid"), np.full((3, 3), 9.0))


def test_convolution_is_correlation_with_kernel_rotated_180(rng):
    x = rng.standard_normal((6, 7))
    for kshape in [(3, 3), (2, 4), (3, 2)]:
        k = rng.standard_normal(kshape)
        rotated = np.rot90(k, 2)
        for mode in ("full", "valid"):
            np.testing.assert_allclose(convolve2d(x, k, mode), correlate2d(x, rotated, mode), atol=1e-12)
    k = rng.standard_normal((3, 5))  # "same" agrees for odd kernels only
    np.testing.assert_allclose(convolve2d(x, k, "same"), correlate2d(x, np.rot90(k, 2), "same"), atol=1e-12)
    k = rng.standard_normal((2, 2))
    assert not np.allclose(convolve2d(x, k, "same"), correlate2d(x, np.rot90(k, 2), "same"))


def test_even_kernel_same_starts_at_half_kernel_minus_one(rng):
    x, k = rng.standard_normal((5, 6)), rng.standard_normal((4, 2))
    full = convolve2d(x, k, "full")
    np.testing.assert_allclose(convolve2d(x, k, "same"), full[1:6, 0:6])  # (4-1)//2, (2-1)//2
    full_c = correlate2d(x, k, "full")
    np.testing.assert_allclose(correlate2d(x, k, "same"), full_c[2:7, 1:7])  # 4//2, 2//2


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [convolve1d, correlate1d])
def test_1d_bad_input(func):
    with pytest.raises(ValueError, match="`f`"):
        func([], [1.0])
    with pytest.raises(ValueError, match="`g`"):
        func([1.0], np.array([]))
    with pytest.raises(ValueError, match="`f`.*1-dimensional"):
        func(np.ones((2, 2)), [1.0])
    with pytest.raises(ValueError, match="`mode`"):
        func([1.0], [1.0], mode="circular")
    with pytest.raises(TypeError, match="`g`"):
        func([1.0], ["a", "b"])
    with pytest.raises(TypeError, match="`f`"):
        func("abc", [1.0])
    with pytest.raises(TypeError, match="`f`"):
        func(np.array([1 + 2j]), [1.0])


@pytest.mark.parametrize("func", [convolve2d, correlate2d])
def test_2d_bad_input(func):
    with pytest.raises(ValueError, match="`x`.*2-dimensional"):
        func(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="`k`.*2-dimensional"):
        func(np.ones((3, 3)), np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="`k`"):
        func(np.ones((3, 3)), np.ones((0, 2)))
    with pytest.raises(ValueError, match="`mode`"):
        func(np.ones((3, 3)), np.ones((2, 2)), mode="wrap")
    with pytest.raises(TypeError, match="`x`"):
        func([["a"]], np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least as large as the other"):
        func(np.ones((3, 5)), np.ones((5, 3)), mode="valid")


def test_inputs_not_mutated(rng):
    x, k = rng.standard_normal((4, 4)), rng.standard_normal((2, 3))
    x0, k0 = x.copy(), k.copy()
    for func in (convolve2d, correlate2d):
        for mode in MODES:
            func(x, k, mode)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(k, k0)
