"""convlab.transposed: three views of one transposed convolution, and TensorFlow's variant.

Oracles: torch.nn.functional.conv_transpose2d, convlab.functional.conv_transpose2d, and (for
TensorFlow's semantics, with no TensorFlow here) torch autograd through a 'SAME'-padded conv2d.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import assume, given
from hypothesis import strategies as st

from convlab import functional as F
from convlab.arithmetic import same_padding
from convlab.transposed import (
    INPUT,
    INSERTED,
    PADDING,
    conv_transpose2d_matrix,
    conv_transpose2d_scatter,
    conv_transpose2d_zero_insert,
    tf_conv2d_transpose,
    transposed_canvas,
    zero_insert,
)

VIEWS = [conv_transpose2d_scatter, conv_transpose2d_zero_insert, conv_transpose2d_matrix]


def _torch_transpose(x, w, b=None, **kw):
    bias = None if b is None else torch.from_numpy(b)
    return tF.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), bias, **kw).numpy()


# ------------------------------------------------------------------------------------------
# zero_insert


def test_zero_insert_values_and_shape():
    x = np.arange(1, 7).reshape(2, 3)
    z = zero_insert(x, (3, 2))
    assert z.shape == (4, 5) and z.dtype == x.dtype
    np.testing.assert_array_equal(z, [[1, 0, 2, 0, 3], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [4, 0, 5, 0, 6]])


def test_zero_insert_keeps_leading_axes_and_stride_one_is_identity(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    z = zero_insert(x, 2)
    assert z.shape == (2, 3, 7, 9) and z.dtype == np.float32
    np.testing.assert_array_equal(z[..., ::2, ::2], x)
    assert np.count_nonzero(z) == np.count_nonzero(x)
    np.testing.assert_array_equal(zero_insert(x, 1), x)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.ones(3), 2), ValueError, "`input`"),
        ((np.ones((2, 2)), 0), ValueError, "`stride`"),
        ((np.ones((2, 2)), (2, 2, 2)), ValueError, "`stride`"),
        ((np.ones((2, 2)), 1.5), TypeError, "`stride`"),
        (("ab", 2), TypeError, "`input`"),
    ],
)
def test_zero_insert_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        zero_insert(*args)


# ------------------------------------------------------------------------------------------
# the three views


@st.composite
def _transpose_case(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    op = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d, strict=True))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    out = [
        (i - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
        for i, ss, pp, dd, kk, oo in zip(size, s, p, d, k, op, strict=True)
    ]
    assume(min(out) >= 1)
    c_in, c_out, groups = draw(st.sampled_from([(1, 1, 1), (2, 3, 1), (2, 4, 2)]))
    return {"size": size, "k": k, "stride": s, "padding": p, "output_padding": op, "dilation": d,
            "c_in": c_in, "c_out": c_out, "groups": groups, "seed": draw(st.integers(0, 2**16))}  # fmt: skip


@given(case=_transpose_case(), bias=st.booleans())
def test_views_agree_with_functional_and_torch(case, bias):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((2, case["c_in"], *case["size"]))
    w = rng.standard_normal((case["c_in"], case["c_out"] // case["groups"], *case["k"]))
    b = rng.standard_normal(case["c_out"]) if bias else None
    kw = {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    ref = _torch_transpose(x, w, b, **kw)
    np.testing.assert_allclose(F.conv_transpose2d(x, w, b, **kw), ref, rtol=1e-10, atol=1e-10)
    for view in VIEWS:
        got = view(x, w, b, **kw)
        assert got.shape == ref.shape, view.__name__
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10, err_msg=view.__name__)


@pytest.mark.parametrize("view", VIEWS)
def test_positional_arguments_follow_torch_order(rng, view):
    # (input, weight, bias, stride, padding, output_padding, groups, dilation), as in torch.
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    w = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    got = view(x, w, b, 2, 1, 1, 2, 2)
    assert got.dtype == np.float32
    ref = _torch_transpose(x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=2)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("view", VIEWS)
def test_unbatched_input_and_integer_dtype(view):
    x = np.arange(6).reshape(1, 2, 3)
    w = np.ones((1, 1, 2, 2), dtype=np.int64)
    got = view(x, w, stride=2)
    assert got.shape == (1, 4, 6) and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.kron(x, np.ones((2, 2))))  # k == s: stamps tile, no overlap


@pytest.mark.parametrize("view", [*VIEWS, F.conv_transpose2d])
def test_negative_effective_padding_crops(rng, view):
    # d(k-1) - p < 0: the zero-insertion view must crop instead of pad.
    x = rng.standard_normal((1, 1, 6, 6))
    w = rng.standard_normal((1, 1, 2, 2))
    got = view(x, w, padding=2)
    assert got.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(got, _torch_transpose(x, w, padding=2), rtol=1e-12)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"input": np.ones((2, 2))}, ValueError, "`input`"),
        ({"weight": np.ones((2, 1, 3))}, ValueError, "`weight`"),
        ({"weight": np.ones((3, 1, 3, 3))}, ValueError, "`weight`"),
        ({"bias": np.ones(2)}, ValueError, "`bias`"),
        ({"stride": 0}, ValueError, "`stride`"),
        ({"stride": 1.0}, TypeError, "`stride`"),
        ({"padding": -1}, ValueError, "`padding`"),
        ({"padding": 5}, ValueError, "`padding`"),
        ({"output_padding": 2, "stride": 2}, ValueError, "`output_padding`"),
        ({"output_padding": -1}, ValueError, "`output_padding`"),
        ({"dilation": 0}, ValueError, "`dilation`"),
        ({"groups": 0}, ValueError, "`groups`"),
        ({"groups": 3}, ValueError, "`groups`"),
    ],
)
def test_views_bad_input(view, kwargs, error, match):
    args = {"input": np.ones((1, 2, 3, 3)), "weight": np.ones((2, 1, 3, 3))} | kwargs
    with pytest.raises(error, match=match):
        view(**args)


# ------------------------------------------------------------------------------------------
# TensorFlow's conv2d_transpose


def _tf_geometry(i, o, k, s, padding):
    """(pad_before, pad_after) of the forward TF convolution from o pixels to i."""
    if padding == "SAME":
        return same_padding(o, k, s)
    return 0, 0  # VALID: no padding; a tail the kernel never reaches gets zero gradient


def _tf_by_autograd(x_nhwc, filters, out_hw, s, padding):
    """Independent oracle: the gradient of a TF-padded conv2d w.r.t. its input, via torch autograd."""
    kh, kw = filters.shape[:2]
    (bh, ah), (bw, aw) = (
        _tf_geometry(x_nhwc.shape[1 + a], out_hw[a], filters.shape[a], s[a], padding) for a in (0, 1)
    )
    n, c_out = x_nhwc.shape[0], filters.shape[2]
    v = torch.zeros((n, c_out, *out_hw), dtype=torch.float64, requires_grad=True)
    padded = tF.pad(v, (bw, aw, bh, ah)) if padding == "SAME" else v
    weight = torch.from_numpy(
        np.ascontiguousarray(filters.transpose(3, 2, 0, 1))
    )  # (C_in_t, C_out_t, kh, kw)
    y = tF.conv2d(padded, weight, stride=s)
    y.backward(torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))))
    return v.grad.numpy().transpose(0, 2, 3, 1)


def _tf_by_torch_transpose(x_nhwc, filters, out_hw, s, padding):
    """PyTorch's conv_transpose2d with padding = pad_before, output_padding to reach o, then crop."""
    pads, ops = [], []
    for a in (0, 1):
        i, o, k = x_nhwc.shape[1 + a], out_hw[a], filters.shape[a]
        before = _tf_geometry(i, o, k, s[a], padding)[0]
        pads.append(before)
        ops.append(max(o - ((i - 1) * s[a] + k) + 2 * before, 0))
    out = _torch_transpose(
        np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)),
        np.ascontiguousarray(filters.transpose(3, 2, 0, 1)),
        stride=s,
        padding=tuple(pads),
        output_padding=tuple(ops),
    )
    return out[:, :, : out_hw[0], : out_hw[1]].transpose(0, 2, 3, 1)


@given(
    i=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    extra=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    padding=st.sampled_from(["SAME", "VALID"]),
    seed=st.integers(0, 2**16),
)
def test_tf_matches_two_torch_oracles(i, k, s, extra, padding, seed):
    # Every output size consistent with the input: SAME (i-1)s+1 .. is, VALID (i-1)s+k .. is+k-1.
    low = [(ii - 1) * ss + (1 if padding == "SAME" else kk) for ii, ss, kk in zip(i, s, k, strict=True)]
    out_hw = tuple(lo + min(e, ss - 1) for lo, e, ss in zip(low, extra, s, strict=True))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *i, 3))
    filters = rng.standard_normal((*k, 2, 3))
    got = tf_conv2d_transpose(x, filters, (2, *out_hw, 2), s, padding)
    assert got.shape == (2, *out_hw, 2)
    np.testing.assert_allclose(got, _tf_by_autograd(x, filters, out_hw, s, padding), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        got, _tf_by_torch_transpose(x, filters, out_hw, s, padding), rtol=1e-10, atol=1e-10
    )


def test_tf_same_differs_from_symmetric_padding_when_total_is_odd():
    # 3 -> 6 with k=3, s=2: total padding 1, all of it after -> PyTorch's padding=1 result shifted by one.
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    filters = np.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    got = tf_conv2d_transpose(x, filters, [1, 6, 6, 1], 2)[0, :, :, 0]
    full = _torch_transpose(x.reshape(1, 1, 3, 3), filters.reshape(1, 1, 3, 3), stride=2)[0, 0]  # 7x7
    np.testing.assert_allclose(got, full[:6, :6])  # pad_before = 0
    assert not np.allclose(got, full[1:, 1:])


def test_tf_strides_forms_and_dtype():
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    filters = np.ones((2, 2, 1, 1), dtype=np.float32)
    ref = tf_conv2d_transpose(x, filters, [1, 6, 6, 1], 2)
    assert ref.dtype == np.float32
    for strides in ([2], [2, 2], (1, 2, 2, 1), np.array([1, 2, 2, 1])):
        np.testing.assert_array_equal(tf_conv2d_transpose(x, filters, [6, 6], strides), ref)
    np.testing.assert_array_equal(tf_conv2d_transpose(x, filters, np.array([1, 6, 6, 1]), 2, "same"), ref)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"output_shape": [1, 7, 5, 1]}, ValueError, "`output_shape`"),  # SAME: 7 -> 4 pixels, not 3
        ({"output_shape": [1, 4, 5, 1]}, ValueError, "`output_shape`"),  # SAME: 4 -> 2
        (
            {"output_shape": [1, 5, 5, 1], "padding": "VALID"},
            ValueError,
            "`output_shape`",
        ),  # VALID needs 7..8
        ({"output_shape": [2, 5, 5, 1]}, ValueError, "`output_shape`"),  # batch mismatch
        ({"output_shape": [1, 5, 5, 2]}, ValueError, "`output_shape`"),  # channel mismatch
        ({"output_shape": [5, 5, 1]}, ValueError, "`output_shape`"),
        ({"output_shape": 5}, TypeError, "`output_shape`"),
        ({"output_shape": [1, 5.0, 5, 1]}, TypeError, "`output_shape`"),
        ({"output_shape": [0, 0]}, ValueError, "`output_shape`"),
        ({"strides": [2, 2, 2]}, ValueError, "`strides`"),
        ({"strides": [2, 2, 2, 2]}, ValueError, "`strides`"),
        ({"strides": 0}, ValueError, "`strides`"),
        ({"strides": "2"}, TypeError, "`strides`"),
        ({"padding": "FULL"}, ValueError, "`padding`"),
        ({"padding": 1}, TypeError, "`padding`"),
        ({"filters": np.ones((3, 3, 1, 2))}, ValueError, "`filters`"),
        ({"filters": np.ones((3, 3, 1))}, ValueError, "`filters`"),
        ({"input": np.ones((3, 3, 1))}, ValueError, "`input`"),
    ],
)
def test_tf_bad_input(kwargs, error, match):
    args = {
        "input": np.ones((1, 3, 3, 1)),
        "filters": np.ones((3, 3, 1, 1)),
        "output_shape": [1, 5, 5, 1],
        "strides": 2,
        "padding": "SAME",
    } | kwargs
    with pytest.raises(error, match=match):
        tf_conv2d_transpose(**args)


def test_tf_error_lists_consistent_sizes():
    # Like TensorFlow, refuse an impossible output_shape; say which heights would work.
    with pytest.raises(ValueError, match=r"maps 7 pixels to 4.*5 to 6"):
        tf_conv2d_transpose(np.ones((1, 3, 3, 1)), np.ones((3, 3, 1, 1)), [1, 7, 5, 1], 2)


# --------------------------------------------------------------------------- the canvas


@pytest.mark.parametrize(
    ("k", "s", "p", "op", "d"),
    [(3, 2, 1, 1, 1), (4, 3, 0, 2, 1), (3, 1, 2, 0, 1), (2, 2, 0, 0, 2), (3, 2, 3, 1, 1), (3, 1, 1, 1, 2)],
)
def test_transposed_canvas_convolved_is_torch_conv_transpose(rng, k, s, p, op, d):
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal((k, k))
    canvas = transposed_canvas(x, k, s, p, op, d)
    flipped = torch.from_numpy(w[::-1, ::-1].copy())[None, None]
    out = tF.conv2d(torch.from_numpy(canvas.values)[None, None], flipped, dilation=d)
    kw = {"stride": s, "padding": p, "output_padding": op, "dilation": d}
    expected = _torch_transpose(x[None, None], w[None, None], None, **kw)
    np.testing.assert_allclose(
        out.numpy(), expected, rtol=1e-12, atol=1e-12
    )  # float64, summed in another order
    reach = d * (k - 1) - p
    assert canvas.before == (reach, reach) and canvas.after == (reach + op, reach + op)
    assert canvas.kind.shape == canvas.values.shape
    assert np.all(canvas.values[canvas.kind != INPUT] == 0)
    if reach >= 0:  # nothing cropped: every pixel is there, in order, between the inserted zeros
        stretched = ((3 - 1) * s + 1) * ((4 - 1) * s + 1)
        np.testing.assert_array_equal(canvas.values[canvas.kind == INPUT], x.ravel())
        assert np.count_nonzero(canvas.kind == INSERTED) == stretched - x.size
        assert np.count_nonzero(canvas.kind == PADDING) == canvas.kind.size - stretched


def test_transposed_canvas_rejects():
    with pytest.raises(ValueError, match="`output_padding` must be smaller than `stride` or `dilation`"):
        transposed_canvas(np.ones((2, 2)), 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="`input`"):
        transposed_canvas(np.ones(3), 3)
    with pytest.raises(TypeError, match="`kernel_size`"):
        transposed_canvas(np.ones((2, 2)), 3.0)
