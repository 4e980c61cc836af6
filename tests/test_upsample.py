"""convlab.upsample: the bilinear FCN kernel, resize-convolution and checkerboard overlap maps."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import given
from hypothesis import strategies as st

from convlab import functional as F
from convlab.upsample import bilinear_kernel, checkerboard_overlap, resize_conv

# ------------------------------------------------------------------------------------------
# bilinear_kernel


def test_bilinear_kernel_layout():
    w = bilinear_kernel(3, 2)
    assert w.shape == (3, 3, 4, 4) and w.dtype == np.float32
    tent = np.array([1, 3, 3, 1]) / 4
    for c in range(3):
        np.testing.assert_allclose(w[c, c], np.outer(tent, tent))
    off_diagonal = w[~np.eye(3, dtype=bool)]
    np.testing.assert_array_equal(off_diagonal, 0)


@pytest.mark.parametrize(("factor", "size"), [(1, 1), (2, 4), (3, 5), (4, 8), (5, 9)])
def test_bilinear_kernel_size_and_partition_of_unity(factor, size):
    w = bilinear_kernel(1, factor)[0, 0]
    assert w.shape == (size, size)
    # Every output pixel of the stride-f transposed convolution gets weights summing to 1 in the interior.
    coverage = tF.conv_transpose2d(torch.ones(1, 1, 6, 6), torch.from_numpy(w[None, None]), stride=factor)
    m = size
    np.testing.assert_allclose(coverage[0, 0, m:-m, m:-m].numpy(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_kernel_equals_bilinear_interpolation_inside(rng, factor):
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    w = bilinear_kernel(3, factor)
    up = F.conv_transpose2d(x, w, stride=factor, padding=factor // 2)
    ref = tF.interpolate(
        torch.from_numpy(x), scale_factor=factor, mode="bilinear", align_corners=False
    ).numpy()
    assert up.shape == ref.shape == (2, 3, 5 * factor, 6 * factor)
    m = factor  # interpolation clamps at the edges; the transposed convolution fades to zero
    np.testing.assert_allclose(up[..., m:-m, m:-m], ref[..., m:-m, m:-m], rtol=1e-5, atol=1e-5)
    # ... and the border really differs, so the interior restriction is not vacuous.
    assert not np.allclose(up[..., 0, :], ref[..., 0, :], atol=1e-3)
    np.testing.assert_allclose(
        F.interpolate(x, scale_factor=factor, mode="bilinear"), ref, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [((0, 2), ValueError, "`channels`"), ((1, 0), ValueError, "`factor`"), ((1, 2.0), TypeError, "`factor`")],
)
def test_bilinear_kernel_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        bilinear_kernel(*args)


# ------------------------------------------------------------------------------------------
# resize_conv


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's note on even kernels
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize(("k", "scale"), [(3, 2), (4, 2), (3, 3)])
def test_resize_conv_matches_torch(rng, mode, k, scale):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    w = rng.standard_normal((2, 3, k, k)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    got = resize_conv(x, w, b, scale_factor=scale, mode=mode)
    up = tF.interpolate(torch.from_numpy(x), scale_factor=scale, mode=mode)
    ref = tF.conv2d(up, torch.from_numpy(w), torch.from_numpy(b), padding="same").numpy()
    assert got.shape == (2, 2, 4 * scale, 5 * scale) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_resize_conv_explicit_padding(rng):
    x = rng.standard_normal((1, 1, 3, 3))
    w = rng.standard_normal((1, 1, 3, 3))
    got = resize_conv(x, w, padding=0)
    ref = tF.conv2d(tF.interpolate(torch.from_numpy(x), scale_factor=2), torch.from_numpy(w)).numpy()
    assert got.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"input": np.ones((1, 4, 4))}, ValueError, "`input`"),
        ({"scale_factor": 0}, ValueError, "`scale_factor`"),
        ({"scale_factor": 1.5}, TypeError, "`scale_factor`"),
        ({"mode": "area"}, ValueError, "`mode`"),
        ({"weight": np.ones((1, 2, 3, 3))}, ValueError, "`weight`"),
    ],
)
def test_resize_conv_bad_input(kwargs, error, match):
    args = {"input": np.ones((1, 1, 4, 4)), "weight": np.ones((1, 1, 3, 3))} | kwargs
    with pytest.raises(error, match=match):
        resize_conv(**args)


# ------------------------------------------------------------------------------------------
# checkerboard_overlap


def test_checkerboard_k3_s2_alternates_and_2d_is_the_outer_product():
    one = checkerboard_overlap(3, 2, 5)
    np.testing.assert_array_equal(one, [1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1])
    two = checkerboard_overlap(3, 2, (5, 5))
    np.testing.assert_array_equal(two, np.outer(one, one))
    assert set(np.unique(two[2:-2, 2:-2])) == {1, 2, 4}  # the checkerboard


def test_checkerboard_k4_s2_is_even_inside():
    one = checkerboard_overlap(4, 2, 5)
    np.testing.assert_array_equal(one, [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1])
    two = checkerboard_overlap((4, 4), (2, 2), (5, 5))
    np.testing.assert_array_equal(two[2:-2, 2:-2], 4)


@given(
    k=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    s=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    n=st.tuples(st.integers(1, 5), st.integers(1, 5)),
)
def test_checkerboard_equals_transposed_conv_of_ones(k, s, n):
    ref = tF.conv_transpose2d(
        torch.ones(1, 1, *n, dtype=torch.float64), torch.ones(1, 1, *k, dtype=torch.float64), stride=s
    )
    got = checkerboard_overlap(k, s, n)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref[0, 0].numpy())
    ref1 = tF.conv_transpose1d(torch.ones(1, 1, n[0]), torch.ones(1, 1, k[0]), stride=s[0])[0, 0].numpy()
    np.testing.assert_array_equal(checkerboard_overlap(k[0], s[0], n[0]), ref1)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 2, 4), ValueError, "`kernel_size`"),
        ((3, 0, 4), ValueError, "`stride`"),
        ((3, 2, 0), ValueError, "`size`"),
        ((3, 2, (4, 4, 4)), ValueError, "`size`"),
        ((3.0, 2, 4), TypeError, "`kernel_size`"),
    ],
)
def test_checkerboard_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        checkerboard_overlap(*args)
