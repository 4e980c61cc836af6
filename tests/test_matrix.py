"""convlab.matrix.conv_matrix against torch's conv2d / conv_transpose2d."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import assume, given
from hypothesis import strategies as st

from convlab.matrix import conv_matrix


def _torch_conv(x, w, **kw):
    return tF.conv2d(torch.from_numpy(x), torch.from_numpy(w), **kw).numpy()


@pytest.mark.parametrize(
    "size, c_out, c_in, k, stride, padding, dilation, groups",
    [
        ((5, 6), 3, 2, (3, 2), 2, 1, 1, 1),
        ((7, 7), 4, 2, (3, 3), 1, 2, 2, 2),
        ((6, 5), 2, 3, (1, 1), (2, 1), (0, 1), 1, 1),
        ((4, 4), 4, 4, (2, 2), 1, 0, (1, 2), 4),
    ],
)
def test_matches_torch_conv2d(rng, size, c_out, c_in, k, stride, padding, dilation, groups):
    w = rng.standard_normal((c_out, c_in // groups, *k))
    x = rng.standard_normal((c_in, *size))
    c = conv_matrix(size, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    ref = _torch_conv(x[None], w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert c.shape == (ref.size, x.size)
    np.testing.assert_allclose(c @ x.ravel(), ref.ravel(), rtol=1e-12, atol=1e-12)


def test_two_dimensional_kernel_means_one_channel(rng):
    k = rng.standard_normal((3, 2))
    x = rng.standard_normal((5, 4))
    c = conv_matrix((5, 4), k, stride=(1, 2), padding=1)
    ref = _torch_conv(x[None, None], k[None, None], stride=(1, 2), padding=1)
    np.testing.assert_allclose(c @ x.ravel(), ref.ravel(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(c, conv_matrix((5, 4), k[None, None], stride=(1, 2), padding=1))


def test_rows_hold_the_kernel_without_padding(rng):
    # No padding: every row holds all k*k taps (each exactly once), and nothing else.
    k = rng.standard_normal((3, 3)) + 5.0
    c = conv_matrix((5, 6), k)
    assert c.shape == (3 * 4, 30)
    np.testing.assert_array_equal((c != 0).sum(axis=1), 9)
    np.testing.assert_allclose(np.sort(c, axis=1)[:, -9:], np.tile(np.sort(k.ravel()), (12, 1)))


def test_padding_drops_taps_on_zeros():
    c = conv_matrix(3, np.ones((3, 3)), padding=1)
    counts = (c != 0).sum(axis=1).reshape(3, 3)
    np.testing.assert_array_equal(counts, [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


@pytest.mark.parametrize(("dtype", "expected"), [(np.float32, np.float32), (np.int64, np.float64)])
def test_dtype(dtype, expected):
    assert conv_matrix(4, np.ones((3, 3), dtype=dtype)).dtype == expected


@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    channels=st.sampled_from([(1, 1, 1), (2, 3, 1), (2, 2, 2)]),
    seed=st.integers(0, 2**16),
)
def test_transpose_is_conv_transpose2d(h, w, k, s, p, d, channels, seed):
    c_in, c_out, groups = channels
    assume(all(n + 2 * pp >= dd * (kk - 1) + 1 for n, pp, dd, kk in zip((h, w), p, d, k, strict=True)))
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((c_out, c_in // groups, *k))
    c = conv_matrix((h, w), weight, stride=s, padding=p, dilation=d, groups=groups)
    out = [
        (n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
        for n, pp, dd, kk, ss in zip((h, w), p, d, k, s, strict=True)
    ]
    y = rng.standard_normal((c_out, *out))
    # output_padding brings the transposed convolution back to the input size exactly.
    op = tuple(
        (n + 2 * pp - dd * (kk - 1) - 1) % ss for n, pp, dd, kk, ss in zip((h, w), p, d, k, s, strict=True)
    )
    ref = tF.conv_transpose2d(
        torch.from_numpy(y[None]),
        torch.from_numpy(weight),
        stride=s,
        padding=p,
        output_padding=op,
        groups=groups,
        dilation=d,
    ).numpy()
    np.testing.assert_allclose(c.T @ y.ravel(), ref.ravel(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weight": np.ones((1, 3, 3))}, "`weight`"),
        ({"weight": np.ones((1, 1, 1, 3, 3))}, "`weight`"),
        ({"weight": np.array([["a"]])}, "`weight`"),
        ({"input_size": 0}, "`input_size`"),
        ({"input_size": (4, 4, 4)}, "`input_size`"),
        ({"input_size": 2}, "`input_size`"),
        ({"stride": 0}, "`stride`"),
        ({"padding": -1}, "`padding`"),
        ({"dilation": 0}, "`dilation`"),
        ({"dilation": 2}, "`input_size`"),
        ({"groups": 0}, "`groups`"),
        ({"weight": np.ones((3, 1, 3, 3)), "groups": 2}, "`groups`"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"input_size": 4, "weight": np.ones((3, 3))} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        conv_matrix(**args)


def test_bad_types():
    with pytest.raises(TypeError, match="`stride`"):
        conv_matrix(4, np.ones((3, 3)), stride=1.5)
    with pytest.raises(TypeError, match="`input_size`"):
        conv_matrix("4", np.ones((3, 3)))
