"""conv1d/conv2d/conv_transpose1d/conv_transpose2d against torch.nn.functional over their parameters."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tf
from hypothesis import given
from hypothesis import strategies as st

from convlab.functional import conv1d, conv2d, conv_transpose1d, conv_transpose2d

T = torch.from_numpy


def _close(got, ref, dtype=np.float64):
    assert got.dtype == dtype
    assert got.shape == ref.shape
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def _normal(rng, *shape):
    return rng.standard_normal(shape)


# --------------------------------------------------------------------------- conv2d

# (N, C, H, W), (F, kh, kw), kwargs: every edge the brief lists, named
CONV2D_CASES = {
    "basic": ((1, 1, 5, 5), (1, 3, 3), {}),
    "batch-channels-bias": ((3, 4, 6, 7), (5, 3, 3), {"bias": True}),
    "stride-int": ((2, 2, 9, 9), (3, 3, 3), {"stride": 2}),
    "stride-pair": ((2, 2, 9, 8), (3, 3, 2), {"stride": (2, 3)}),
    "padding-pair": ((1, 2, 5, 6), (2, 3, 3), {"padding": (2, 1)}),
    "padding-gt-half-kernel": ((1, 2, 4, 4), (2, 3, 3), {"padding": 3}),
    "dilation-pair": ((1, 2, 9, 10), (2, 3, 2), {"dilation": (2, 3)}),
    "groups-2": ((2, 4, 6, 6), (6, 3, 3), {"groups": 2, "bias": True}),
    "depthwise": ((2, 3, 6, 5), (3, 3, 3), {"groups": 3}),
    "depthwise-multiplier": ((1, 3, 6, 5), (6, 2, 2), {"groups": 3, "stride": 2}),
    "one-by-one-input": ((2, 3, 1, 1), (4, 1, 1), {"bias": True}),
    "one-by-one-input-padded": ((1, 2, 1, 1), (2, 3, 3), {"padding": 1}),
    "one-by-one-kernel-strided": ((1, 3, 7, 7), (2, 1, 1), {"stride": 2}),
    "stride-gt-kernel": ((1, 2, 10, 9), (2, 2, 2), {"stride": 3}),
    "even-kernel": ((1, 2, 6, 6), (3, 4, 4), {"padding": 1}),
    "non-square": ((2, 3, 5, 11), (2, 2, 5), {"stride": (1, 2), "padding": (0, 2)}),
    "kernel-equals-input": ((2, 2, 4, 3), (3, 4, 3), {}),
    "valid": ((1, 2, 6, 7), (2, 3, 2), {"padding": "valid"}),
    "same-odd": ((2, 2, 6, 7), (2, 3, 5), {"padding": "same"}),
    "same-even-dilated": ((1, 2, 6, 7), (2, 4, 2), {"padding": "same", "dilation": (1, 3)}),
    "everything": (
        (2, 4, 11, 9),
        (6, 3, 2),
        {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1), "groups": 2, "bias": True},
    ),
}


def _conv2d_pair(rng, xs, ws, kwargs, dtype=np.float64):
    n, c, h, w = xs
    f, kh, kw = ws
    groups = kwargs.get("groups", 1)
    x = _normal(rng, n, c, h, w).astype(dtype)
    weight = _normal(rng, f, c // groups, kh, kw).astype(dtype)
    kwargs = dict(kwargs)
    bias = _normal(rng, f).astype(dtype) if kwargs.pop("bias", False) else None
    ours = conv2d(x, weight, bias, **kwargs)
    ref = tf.conv2d(T(x), T(weight), None if bias is None else T(bias), **kwargs).numpy()
    return ours, ref


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name", CONV2D_CASES)
def test_conv2d_cases(name, rng):
    ours, ref = _conv2d_pair(rng, *CONV2D_CASES[name])
    _close(ours, ref)


def _random_conv_params(rng, transposed=False):
    groups = int(rng.choice([1, 1, 2, 3]))
    cg, fg = (int(v) for v in rng.integers(1, 3, 2))
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.integers(1, 3, 2))
    p = tuple(int(v) for v in rng.integers(0, 4, 2))
    hw = tuple(int(v) for v in rng.integers(1, 9, 2))
    n = int(rng.integers(1, 3))
    op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d, strict=True))
    return n, groups, cg, fg, k, s, d, p, hw, op


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_random_grid(seed):
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 8:
        n, groups, cg, fg, k, s, d, p, hw, _ = _random_conv_params(rng)
        if any(di * (ki - 1) + 1 > hi + 2 * pi for ki, di, hi, pi in zip(k, d, hw, p, strict=True)):
            continue
        x = _normal(rng, n, groups * cg, *hw)
        w = _normal(rng, groups * fg, cg, *k)
        b = _normal(rng, groups * fg)
        ref = tf.conv2d(T(x), T(w), T(b), s, p, d, groups).numpy()
        _close(conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=groups), ref)
        checked += 1


# --------------------------------------------------------------------------- conv_transpose2d

# (N, C_in, H, W), (C_out / groups, kh, kw), kwargs
CONV_T2D_CASES = {
    "basic": ((1, 1, 2, 2), (1, 3, 3), {}),
    "chapter-2x2-k4-s3": ((1, 1, 2, 2), (1, 4, 4), {"stride": 3}),
    "batch-channels-bias": ((3, 4, 3, 5), (2, 3, 3), {"bias": True}),
    "stride-pair": ((2, 2, 3, 4), (3, 3, 2), {"stride": (2, 3)}),
    "padding-pair": ((1, 2, 4, 5), (2, 3, 4), {"padding": (1, 2)}),
    "output-padding": ((1, 2, 3, 3), (2, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    "output-padding-pair": (
        (2, 2, 3, 4),
        (2, 4, 3),
        {"stride": (3, 2), "padding": 1, "output_padding": (2, 1)},
    ),
    "output-padding-stride-one": ((1, 2, 3, 3), (2, 3, 3), {"dilation": 2, "output_padding": 1}),
    "output-padding-gt-padding": ((1, 1, 3, 3), (1, 2, 2), {"stride": 3, "output_padding": 2}),
    "dilation": ((1, 2, 4, 3), (2, 3, 2), {"dilation": (2, 3), "stride": 2}),
    "groups-2": ((2, 4, 3, 3), (3, 3, 3), {"groups": 2, "bias": True, "stride": 2}),
    "depthwise": ((1, 3, 4, 4), (1, 3, 3), {"groups": 3, "stride": 2, "padding": 1}),
    "one-by-one-input": ((2, 3, 1, 1), (2, 3, 3), {"stride": 2}),
    "stride-gt-kernel": ((1, 2, 3, 3), (2, 2, 2), {"stride": 3}),
    "padding-crops-a-lot": ((1, 2, 5, 5), (1, 3, 3), {"padding": 2}),
    "even-kernel-dcgan": ((2, 4, 4, 4), (2, 4, 4), {"stride": 2, "padding": 1}),
    "non-square": ((1, 2, 3, 6), (2, 2, 5), {"stride": (1, 2), "padding": (0, 1)}),
    "everything": (
        (2, 4, 3, 4),
        (3, 3, 2),
        {
            "stride": (2, 3),
            "padding": (1, 0),
            "output_padding": (1, 2),
            "dilation": (2, 1),
            "groups": 2,
            "bias": True,
        },
    ),
}


def _conv_t2d_pair(rng, xs, ws, kwargs, dtype=np.float64):
    n, c, h, w = xs
    fg, kh, kw = ws
    groups = kwargs.get("groups", 1)
    x = _normal(rng, n, c, h, w).astype(dtype)
    weight = _normal(rng, c, fg, kh, kw).astype(dtype)
    kwargs = dict(kwargs)
    bias = _normal(rng, fg * groups).astype(dtype) if kwargs.pop("bias", False) else None
    ours = conv_transpose2d(x, weight, bias, **kwargs)
    ref = tf.conv_transpose2d(T(x), T(weight), None if bias is None else T(bias), **kwargs).numpy()
    return ours, ref


@pytest.mark.parametrize("name", CONV_T2D_CASES)
def test_conv_transpose2d_cases(name, rng):
    ours, ref = _conv_t2d_pair(rng, *CONV_T2D_CASES[name])
    _close(ours, ref)


@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose2d_random_grid(seed):
    rng = np.random.default_rng(100 + seed)
    checked = 0
    while checked < 8:
        n, groups, cg, fg, k, s, d, p, hw, op = _random_conv_params(rng, transposed=True)
        if any(
            (hi - 1) * si - 2 * pi + di * (ki - 1) + oi + 1 <= 0
            for hi, si, pi, di, ki, oi in zip(hw, s, p, d, k, op, strict=True)
        ):
            continue
        x = _normal(rng, n, groups * cg, *hw)
        w = _normal(rng, groups * cg, fg, *k)
        b = _normal(rng, groups * fg)
        ref = tf.conv_transpose2d(T(x), T(w), T(b), s, p, op, groups, d).numpy()
        got = conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, groups=groups, dilation=d)
        _close(got, ref)
        checked += 1


# --------------------------------------------------------------------------- 1-D


@pytest.mark.parametrize(
    "xs,ws,kwargs",
    [
        ((1, 1, 7), (1, 3), {}),
        ((2, 4, 9), (6, 2), {"stride": 2, "padding": 1, "groups": 2, "bias": True}),
        ((2, 3, 8), (3, 3), {"dilation": 2, "groups": 3, "padding": (2,)}),
        ((1, 2, 6), (2, 4), {"padding": "same"}),
        ((1, 2, 6), (2, 4), {"padding": "valid", "stride": (3,)}),
        ((2, 2, 1), (3, 1), {"bias": True}),
    ],
)
def test_conv1d(xs, ws, kwargs, rng):
    n, c, length = xs
    f, k = ws
    kwargs = dict(kwargs)
    groups = kwargs.get("groups", 1)
    x, w = _normal(rng, n, c, length), _normal(rng, f, c // groups, k)
    b = _normal(rng, f) if kwargs.pop("bias", False) else None
    ref = tf.conv1d(T(x), T(w), None if b is None else T(b), **kwargs).numpy()
    _close(conv1d(x, w, b, **kwargs), ref)


@pytest.mark.parametrize(
    "xs,ws,kwargs",
    [
        ((1, 1, 2), (1, 3), {}),
        ((2, 4, 5), (3, 4), {"stride": 2, "padding": 1, "groups": 2, "bias": True}),
        ((2, 3, 4), (1, 3), {"stride": 3, "output_padding": 2, "groups": 3}),
        ((1, 2, 4), (2, 3), {"dilation": (2,), "output_padding": (1,), "padding": (1,)}),
        ((1, 2, 1), (2, 2), {"stride": 4}),
    ],
)
def test_conv_transpose1d(xs, ws, kwargs, rng):
    n, c, length = xs
    fg, k = ws
    kwargs = dict(kwargs)
    groups = kwargs.get("groups", 1)
    x, w = _normal(rng, n, c, length), _normal(rng, c, fg, k)
    b = _normal(rng, fg * groups) if kwargs.pop("bias", False) else None
    ref = tf.conv_transpose1d(T(x), T(w), None if b is None else T(b), **kwargs).numpy()
    _close(conv_transpose1d(x, w, b, **kwargs), ref)


# --------------------------------------------------------------------------- dtype and unbatched


@pytest.mark.parametrize("fn", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(fn, dtype, rng):
    pair = _conv2d_pair if fn == "conv2d" else _conv_t2d_pair
    cases = CONV2D_CASES if fn == "conv2d" else CONV_T2D_CASES
    ours, ref = pair(rng, *cases["everything"], dtype=dtype)
    _close(ours, ref, dtype)


def test_integer_inputs_become_float64():
    x = np.arange(16).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2), dtype=np.int32)
    ref = tf.conv2d(T(x.astype(np.float64)), T(w.astype(np.float64))).numpy()
    _close(conv2d(x, w), ref)
    ref_t = tf.conv_transpose2d(T(x.astype(np.float64)), T(w.astype(np.float64))).numpy()
    _close(conv_transpose2d(x, w), ref_t)
    sig, taps = np.arange(6).reshape(1, 1, 6), np.ones((1, 1, 2), dtype=np.int32)
    _close(conv1d(sig, taps), tf.conv1d(T(sig.astype(float)), T(taps.astype(float))).numpy())


def test_mixed_precision_promotes():
    x = np.ones((1, 1, 3, 3), np.float32)
    assert conv2d(x, np.ones((1, 1, 2, 2), np.float64)).dtype == np.float64
    assert conv2d(x, np.ones((1, 1, 2, 2), np.float32), bias=np.zeros(1, np.float32)).dtype == np.float32


def test_unbatched(rng):
    x, w, b = _normal(rng, 3, 5, 6), _normal(rng, 4, 3, 2, 3), _normal(rng, 4)
    ours = conv2d(x, w, b, stride=(1, 2), padding=1)
    assert ours.shape == (4, 6, 3)
    _close(ours, tf.conv2d(T(x), T(w), T(b), (1, 2), 1).numpy())
    wt = _normal(rng, 3, 2, 3, 3)
    _close(conv_transpose2d(x, wt, stride=2), tf.conv_transpose2d(T(x), T(wt), stride=2).numpy())
    _close(conv1d(x[:, 0], w[:, :, 0]), tf.conv1d(T(x[:, 0]), T(w[:, :, 0])).numpy())
    _close(
        conv_transpose1d(x[:, 0], wt[:, :, 0], stride=2),
        tf.conv_transpose1d(T(x[:, 0]), T(wt[:, :, 0]), stride=2).numpy(),
    )


def test_inputs_not_mutated(rng):
    x, w, b = _normal(rng, 2, 2, 4, 4), _normal(rng, 2, 2, 3, 3), _normal(rng, 2)
    copies = [a.copy() for a in (x, w, b)]
    conv2d(x, w, b, padding=1)
    conv_transpose2d(x, w, b, stride=2)
    for a, c in zip((x, w, b), copies, strict=True):
        np.testing.assert_array_equal(a, c)


# --------------------------------------------------------------------------- adjoint identity


@st.composite
def _adjoint_case(draw):
    groups = draw(st.sampled_from([1, 2]))
    cg, fg = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    hw = []
    for ki, di, pi in zip(k, d, p, strict=True):
        hw.append(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 9)))
    return groups, cg, fg, k, s, d, p, tuple(hw), draw(st.integers(0, 2**32 - 1))


@given(_adjoint_case())
def test_adjoint_identity(case):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, with output_padding restoring x's size."""
    groups, cg, fg, k, s, d, p, hw, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, groups * cg, *hw))
    w = rng.standard_normal((groups * fg, cg, *k))
    y_shape = conv2d(x, w, stride=s, padding=p, dilation=d, groups=groups).shape
    y = rng.standard_normal(y_shape)
    # the strided convolution drops (h + 2p - span) mod s rows at the end; output_padding gives them back
    op = tuple(
        (hi + 2 * pi - di * (ki - 1) - 1) % si for hi, pi, di, ki, si in zip(hw, p, d, k, s, strict=True)
    )
    xt = conv_transpose2d(y, w, stride=s, padding=p, output_padding=op, groups=groups, dilation=d)
    assert xt.shape == x.shape
    lhs = np.vdot(conv2d(x, w, stride=s, padding=p, dilation=d, groups=groups), y)
    rhs = np.vdot(x, xt)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- bad input

X4 = np.ones((1, 2, 5, 5))
W4 = np.ones((3, 2, 3, 3))

CONV2D_ERRORS = [
    ({"input": np.ones((2, 5, 5, 1, 1))}, ValueError, "`input` must be 3 or 4-dimensional"),
    ({"input": np.ones(5)}, ValueError, "`input`"),
    ({"input": "image"}, TypeError, "`input`"),
    ({"input": np.ones((1, 2, 5, 5), complex)}, TypeError, "`input`"),
    ({"input": np.ones((1, 2, 0, 5))}, ValueError, "`input` must not be empty"),
    ({"weight": np.ones((3, 2, 3))}, ValueError, "`weight` must be 4-dimensional"),
    ({"weight": np.ones((3, 1, 3, 3))}, ValueError, "`weight` must have in_channels / groups = 2"),
    ({"bias": np.ones(2)}, ValueError, "`bias` must have shape \\(3,\\)"),
    ({"bias": np.ones((3, 1))}, ValueError, "`bias` must be 1-dimensional"),
    ({"stride": 0}, ValueError, "`stride` must be a positive integer"),
    ({"stride": (1, 2, 3)}, ValueError, "`stride`"),
    ({"stride": 1.5}, TypeError, "`stride`"),
    ({"padding": -1}, ValueError, "`padding`"),
    ({"padding": (1, -1)}, ValueError, "`padding`"),
    ({"padding": "full"}, ValueError, "`padding` must be one of 'valid', 'same'"),
    ({"padding": "same", "stride": 2}, ValueError, "`padding`='same' is only supported with stride 1"),
    ({"dilation": 0}, ValueError, "`dilation`"),
    ({"groups": 0}, ValueError, "`groups`"),
    ({"groups": 2.0}, TypeError, "`groups`"),
    ({"groups": 3, "weight": np.ones((3, 1, 3, 3))}, ValueError, "`groups` must divide the input channels"),
    ({"groups": 2, "weight": np.ones((3, 1, 3, 3))}, ValueError, "`groups` must divide the output channels"),
    ({"weight": np.ones((3, 2, 6, 3))}, ValueError, "kernel does not fit the padded input along the height"),
    ({"weight": np.ones((3, 2, 3, 4)), "dilation": 2}, ValueError, "along the width.*`dilation`"),
]


@pytest.mark.parametrize("kwargs,exc,match", CONV2D_ERRORS)
def test_conv2d_rejects(kwargs, exc, match):
    args = {"input": X4, "weight": W4, **kwargs}
    with pytest.raises(exc, match=match):
        conv2d(**args)


def test_conv2d_padding_rescues_a_large_kernel():
    assert conv2d(X4, np.ones((3, 2, 6, 3)), padding=1).shape == (1, 3, 2, 5)


WT4 = np.ones((2, 3, 3, 3))

CONV_T2D_ERRORS = [
    ({"input": np.ones((2, 5))}, ValueError, "`input`"),
    ({"input": [[["a"]]]}, TypeError, "`input`"),
    ({"weight": np.ones((2, 3, 3))}, ValueError, "`weight` must be 4-dimensional"),
    ({"weight": np.ones((3, 3, 3, 3))}, ValueError, "`weight` must have in_channels = 2 on axis 0"),
    ({"bias": np.ones(2)}, ValueError, "`bias` must have shape \\(3,\\)"),
    ({"bias": np.ones(6), "groups": 2}, None, None),
    ({"stride": 0}, ValueError, "`stride`"),
    ({"stride": (2,)}, ValueError, "`stride`"),
    ({"padding": -1}, ValueError, "`padding`"),
    ({"padding": "same"}, TypeError, "`padding`"),
    ({"dilation": (1, 0)}, ValueError, "`dilation`"),
    ({"groups": 0}, ValueError, "`groups`"),
    ({"groups": 4, "weight": np.ones((2, 1, 3, 3))}, ValueError, "`groups` must divide the input channels"),
    ({"output_padding": -1}, ValueError, "`output_padding`"),
    ({"output_padding": 1}, ValueError, "`output_padding` must be smaller than `stride` or `dilation`"),
    ({"output_padding": (0, 2), "stride": 2}, ValueError, "`output_padding` must be smaller"),
    ({"padding": 4}, ValueError, "`padding`=4 is too large"),
]


@pytest.mark.parametrize("kwargs,exc,match", CONV_T2D_ERRORS)
def test_conv_transpose2d_rejects(kwargs, exc, match):
    args = {"input": X4, "weight": WT4, **kwargs}
    if exc is None:  # a control: the rule's boundary is accepted, like torch
        assert conv_transpose2d(**args).shape == (1, 6, 7, 7)
        return
    with pytest.raises(exc, match=match):
        conv_transpose2d(**args)


@pytest.mark.parametrize(
    "fn,kwargs,exc,match",
    [
        (conv1d, {"input": np.ones((1, 2, 5, 5))}, ValueError, "`input` must be 2 or 3-dimensional"),
        (conv1d, {"weight": np.ones((3, 2, 3, 3))}, ValueError, "`weight` must be 3-dimensional"),
        (conv1d, {"stride": (1, 1)}, ValueError, "`stride`"),
        (conv1d, {"padding": (1, 1)}, ValueError, "`padding`"),
        (conv1d, {"padding": "same", "stride": 2}, ValueError, "`padding`='same'"),
        (conv1d, {"dilation": 0}, ValueError, "`dilation`"),
        (conv1d, {"groups": 2, "weight": np.ones((3, 1, 3))}, ValueError, "`groups` must divide the output"),
        (conv1d, {"weight": np.ones((3, 2, 9))}, ValueError, "kernel does not fit"),
        (conv1d, {"bias": np.ones(4)}, ValueError, "`bias`"),
        (conv_transpose1d, {"input": np.ones(5)}, ValueError, "`input`"),
        (conv_transpose1d, {"weight": np.ones((3, 3, 3))}, ValueError, "`weight` must have in_channels = 2"),
        (conv_transpose1d, {"output_padding": 1}, ValueError, "`output_padding`"),
        (conv_transpose1d, {"padding": 5}, ValueError, "`padding`=5 is too large"),
        (conv_transpose1d, {"stride": (1, 2)}, ValueError, "`stride`"),
        (conv_transpose1d, {"groups": 3}, ValueError, "`groups`"),
        (conv_transpose1d, {"bias": np.ones(2)}, ValueError, "`bias` must have shape \\(3,\\)"),
        (conv_transpose1d, {"dilation": (0,)}, ValueError, "`dilation`"),
        (conv_transpose1d, {"padding": "same"}, TypeError, "`padding`"),
        (conv_transpose1d, {"weight": np.ones((2, 3, 3, 3))}, ValueError, "`weight` must be 3-dimensional"),
    ],
)
def test_1d_rejects(fn, kwargs, exc, match):
    weight = np.ones((3, 2, 3)) if fn is conv1d else np.ones((2, 3, 3))
    args = {"input": np.ones((1, 2, 5)), "weight": weight, **kwargs}
    with pytest.raises(exc, match=match):
        fn(**args)
