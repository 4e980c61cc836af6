"""convlab.autograd: conv2d_backward against torch autograd and central differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import assume, given
from hypothesis import strategies as st

from convlab import functional as F
from convlab.autograd import conv2d_backward, numerical_gradient, rel_error


def _torch_grads(x, w, g, **kw):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=xt.dtype, requires_grad=True)
    tF.conv2d(xt, wt, bt, **kw).backward(torch.from_numpy(g))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def _out_shape(x, w, stride, padding, dilation):
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation, strict=True)
    )


@given(
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    channels=st.sampled_from([(1, 1, 1), (2, 3, 1), (4, 2, 2)]),
    seed=st.integers(0, 2**16),
)
def test_matches_torch_autograd(size, k, s, p, d, channels, seed):
    c_in, c_out, groups = channels
    assume(all(n + 2 * pp >= dd * (kk - 1) + 1 for n, pp, dd, kk in zip(size, p, d, k, strict=True)))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, c_in, *size))
    w = rng.standard_normal((c_out, c_in // groups, *k))
    g = rng.standard_normal((2, c_out, *_out_shape(x, w, s, p, d)))
    got = conv2d_backward(g, x, w, stride=s, padding=p, dilation=d, groups=groups)
    ref = _torch_grads(x, w, g, stride=s, padding=p, dilation=d, groups=groups)
    for name, a, b in zip(("input", "weight", "bias"), got, ref, strict=True):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize(
    ("padding", "k", "d"), [("same", 3, 1), ("same", 4, 1), ("same", 2, 3), ("valid", 3, 2)]
)
def test_string_padding(rng, padding, k, d):
    x = rng.standard_normal((1, 2, 6, 5))
    w = rng.standard_normal((3, 2, k, k))
    out = tF.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=padding, dilation=d)
    g = rng.standard_normal(tuple(out.shape))
    got = conv2d_backward(g, x, w, padding=padding, dilation=d)
    ref = _torch_grads(x, w, g, padding=padding, dilation=d)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_matches_numerical_gradient(rng):
    # A scalar loss L = sum(conv2d(x, w, b) * g): its gradients are what conv2d_backward returns.
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((2, 2, 3, 3))
    b = rng.standard_normal(2)
    kw = {"stride": 2, "padding": 1}
    g = rng.standard_normal((1, 2, 3, 3))
    gx, gw, gb = conv2d_backward(g, x, w, **kw)
    assert rel_error(gx, numerical_gradient(lambda v: np.sum(F.conv2d(v, w, b, **kw) * g), x)) < 1e-7
    assert rel_error(gw, numerical_gradient(lambda v: np.sum(F.conv2d(x, v, b, **kw) * g), w)) < 1e-7
    assert rel_error(gb, numerical_gradient(lambda v: np.sum(F.conv2d(x, w, v, **kw) * g), b)) < 1e-7


def test_unbatched_and_float32(rng):
    x = rng.standard_normal((2, 4, 4)).astype(np.float32)
    w = rng.standard_normal((3, 2, 2, 2)).astype(np.float32)
    g = rng.standard_normal((3, 3, 3)).astype(np.float32)
    gx, gw, gb = conv2d_backward(g, x, w)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (3,)
    assert gx.dtype == gw.dtype == gb.dtype == np.float32
    ref = _torch_grads(x[None], w, g[None])
    np.testing.assert_allclose(gx, ref[0][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, ref[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grad_output": np.ones((1, 1, 3, 3))}, ValueError, "`grad_output`"),
        ({"grad_output": np.ones((1, 2, 2))}, ValueError, "`grad_output`"),
        ({"input": np.ones((4, 4))}, ValueError, "`input`"),
        ({"input": np.ones((1, 1, 1, 1))}, ValueError, "kernel does not fit.*`input`"),
        ({"weight": np.ones((1, 3, 3))}, ValueError, "`weight`"),
        ({"weight": np.ones((1, 2, 3, 3))}, ValueError, "`weight`"),
        ({"stride": 0}, ValueError, "`stride`"),
        ({"padding": -1}, ValueError, "`padding`"),
        ({"padding": "full"}, ValueError, "`padding`"),
        ({"padding": "same", "stride": 2}, ValueError, "`padding`"),
        ({"dilation": 0}, ValueError, "`dilation`"),
        ({"groups": 0}, ValueError, "`groups`"),
        ({"groups": 2}, ValueError, "`weight`"),
    ],
)
def test_backward_bad_input(kwargs, error, match):
    args = {
        "grad_output": np.ones((1, 1, 2, 2)),
        "input": np.ones((1, 1, 4, 4)),
        "weight": np.ones((1, 1, 3, 3)),
    }
    with pytest.raises(error, match=match):
        conv2d_backward(**(args | kwargs))


# ------------------------------------------------------------------------------------------
# numerical_gradient and rel_error


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    got = numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    np.testing.assert_allclose(got, np.cos(x) * x + np.sin(x), rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(x, before)  # restored exactly


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(calls[0], [1.0 + 1e-5, 2.0])  # it did change x in place ...
    np.testing.assert_array_equal(x, [1.0, 2.0])  # ... and put it back


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.sum, [1.0, 2.0]), TypeError, "`x`"),
        ((np.sum, np.array([1, 2])), TypeError, "`x`"),
        ((np.sum, np.zeros(0)), ValueError, "`x`"),
        (("sum", np.ones(2)), TypeError, "`f`"),
        ((lambda v: v, np.ones(2)), ValueError, "`f`"),
        ((np.sum, np.ones(2), 0.0), ValueError, "`h`"),
        ((np.sum, np.ones(2), "1e-5"), TypeError, "`h`"),
    ],
)
def test_numerical_gradient_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        numerical_gradient(*args)


def test_rel_error_values():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0, 100.0], [1.0, 101.0]) == pytest.approx(1 / 101)
    # Elementwise: one wrong small entry is not hidden by large correct ones.
    assert rel_error([1e-3, 1e6], [2e-3, 1e6]) == pytest.approx(0.5)
    assert rel_error([0.0], [1e-12]) == pytest.approx(1e-4)  # the denominator floor
    assert rel_error([1.0], [-1.0]) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([1.0, 2.0], [1.0]), ValueError, "`b`"),
        ((["x"], [1.0]), TypeError, "`a`"),
        (([1.0], [1.0], 0.0), ValueError, "`tiny`"),
    ],
)
def test_rel_error_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        rel_error(*args)


@pytest.mark.parametrize(("k", "padding", "stride"), [(1, 1, 1), (1, (0, 2), 2), (2, 3, 1)])
def test_padding_larger_than_the_kernel_reach(rng, k, padding, stride):
    # padding > d(k-1): the transposed convolution must crop more than it stamps past the edge.
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((2, 2, k, k))
    out = tF.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride, padding=padding)
    g = rng.standard_normal(tuple(out.shape))
    for a, b in zip(
        conv2d_backward(g, x, w, stride, padding),
        _torch_grads(x, w, g, stride=stride, padding=padding),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------------
# max_pool2d_backward and avg_pool2d_backward


def _torch_pool_grad(pool, x, g, *args):
    xt = torch.tensor(x, requires_grad=True)
    pool(xt, *args).backward(torch.from_numpy(g))
    return xt.grad.numpy()


MAX_POOL_GRID = [
    # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),
    (3, 1, 1, 1, False),  # overlapping windows: a shared maximum collects every gradient
    (3, 2, 1, 1, True),
    ((3, 2), (2, 1), (1, 0), 1, True),
    (2, 3, 1, 2, False),
    (3, 1, 0, (2, 1), True),
]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", MAX_POOL_GRID)
def test_max_pool2d_backward_matches_torch_with_ties(kernel, stride, padding, dilation, ceil_mode, rng):
    """Integer inputs in {0, 1, 2} tie often; the gradient must go to the maximum torch picks.

    Gradients are sums of a few float64 numbers in an order that may differ: tolerance 1e-12.
    """
    from convlab.autograd import max_pool2d_backward

    for shape in [(2, 3, 9, 7), (3, 8, 6)]:
        x = rng.integers(0, 3, shape).astype(np.float64)
        out = tF.max_pool2d(torch.from_numpy(x), kernel, stride, padding, dilation, ceil_mode)
        g = rng.standard_normal(tuple(out.shape))
        want = _torch_pool_grad(tF.max_pool2d, x, g, kernel, stride, padding, dilation, ceil_mode)
        got = max_pool2d_backward(g, x, kernel, stride, padding, dilation, ceil_mode)
        assert got.shape == x.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_max_pool2d_backward_sums_over_overlapping_windows():
    """The centre of a 3x3 image is the maximum of all four 2x2 stride-1 windows."""
    from convlab.autograd import max_pool2d_backward

    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0
    g = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    got = max_pool2d_backward(g, x, 2, stride=1)
    assert got[0, 0, 1, 1] == 10.0 and np.count_nonzero(got) == 1
    np.testing.assert_array_equal(got, _torch_pool_grad(tF.max_pool2d, x, g, 2, 1))


AVG_POOL_GRID = [
    # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (2, None, 0, False, True, None),
    (3, 1, 1, False, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((3, 2), (2, 1), (1, 0), True, False, None),
    (4, 3, 2, True, True, 7),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, include, divisor", AVG_POOL_GRID)
def test_avg_pool2d_backward_matches_torch(kernel, stride, padding, ceil_mode, include, divisor, dtype, rng):
    """Sums of shares in a different order than torch's: float32 tolerance 1e-5, float64 1e-12."""
    from convlab.autograd import avg_pool2d_backward

    tol = 1e-5 if dtype == np.float32 else 1e-12
    args = (kernel, stride, padding, ceil_mode, include, divisor)
    for shape in [(2, 3, 9, 7), (3, 8, 6)]:
        x = rng.standard_normal(shape).astype(dtype)
        g = rng.standard_normal(tuple(tF.avg_pool2d(torch.from_numpy(x), *args).shape)).astype(dtype)
        want = _torch_pool_grad(tF.avg_pool2d, x, g, *args)
        got = avg_pool2d_backward(g, x, *args)
        assert got.shape == x.shape and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_pool_backward_matches_numerical_gradient(rng):
    """Independent of torch: central differences of sum(g * pool(x)) (no ties in random x)."""
    from convlab.autograd import avg_pool2d_backward, max_pool2d_backward

    x = rng.standard_normal((1, 2, 5, 6))
    g = rng.standard_normal(F.max_pool2d(x, 3, 2, 1).shape)
    num = numerical_gradient(lambda v: np.sum(g * F.max_pool2d(v, 3, 2, 1)), x)
    assert rel_error(max_pool2d_backward(g, x, 3, 2, 1), num) < 1e-7
    g = rng.standard_normal(F.avg_pool2d(x, 3, 2, 1, ceil_mode=True).shape)
    num = numerical_gradient(lambda v: np.sum(g * F.avg_pool2d(v, 3, 2, 1, ceil_mode=True)), x)
    assert rel_error(avg_pool2d_backward(g, x, 3, 2, 1, ceil_mode=True), num) < 1e-7


@pytest.mark.parametrize(
    "name, kwargs, error, match",
    [
        ("max", {"grad_output": np.ones((1, 1, 3, 3))}, ValueError, "`grad_output`.*shape"),
        ("avg", {"grad_output": np.ones((1, 1, 3, 3))}, ValueError, "`grad_output`.*shape"),
        ("max", {"grad_output": np.ones((1, 2, 2))}, ValueError, "`grad_output`"),
        ("avg", {"input": np.ones((4, 4))}, ValueError, "`input`"),
        ("max", {"kernel_size": 0}, ValueError, "`kernel_size`"),
        ("avg", {"stride": 0}, ValueError, "`stride`"),
        ("max", {"padding": 2}, ValueError, "`padding`"),
        ("avg", {"ceil_mode": "no"}, TypeError, "`ceil_mode`"),
        ("avg", {"divisor_override": 0}, ValueError, "`divisor_override`"),
        ("max", {"grad_output": "a"}, TypeError, "`grad_output`"),
    ],
)
def test_pool_backward_bad_input(name, kwargs, error, match):
    from convlab.autograd import avg_pool2d_backward, max_pool2d_backward

    fn = max_pool2d_backward if name == "max" else avg_pool2d_backward
    args = {"grad_output": np.ones((1, 1, 2, 2)), "input": np.ones((1, 1, 4, 4)), "kernel_size": 2}
    with pytest.raises(error, match=match):
        fn(**(args | kwargs))
