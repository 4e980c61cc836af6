"""NaN and infinities land exactly where the oracle puts them; new storage; float32 gradients.

Oracles: torch.nn.functional (in float64: torch's float32 CPU convolutions go through oneDNN,
which multiplies the zero taps of its own padded kernels and so turns some infinities into NaN
that no sum of the actual products contains), numpy.convolve and scipy.signal. Masks of NaN,
+inf and -inf must be identical; finite values agree to a tolerance, since the libraries add the
same products in different orders.
"""

import platform

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as tF

from convlab import functional as F
from convlab import signal
from convlab.autograd import conv2d_backward, numerical_gradient, rel_error
from convlab.transposed import conv_transpose2d_matrix
from convlab.upsample import resize_conv

SPECIAL = np.array([np.nan, np.inf, -np.inf])


def _spoil(a, rng, count=2):
    """``a`` with ``count`` random entries replaced by NaN, +inf or -inf (a copy)."""
    a = a.copy()
    flat = a.reshape(-1)
    flat[rng.choice(flat.size, count, replace=False)] = rng.choice(SPECIAL, count)
    return a


def assert_same_nonfinite(ours, oracle, rtol=1e-6, atol=1e-8):
    ours, oracle = np.asarray(ours), np.asarray(oracle)
    assert ours.shape == oracle.shape
    for mask in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(mask(ours), mask(oracle), err_msg=mask.__name__)
    finite = np.isfinite(oracle)
    np.testing.assert_allclose(ours[finite], oracle[finite], rtol=rtol, atol=atol)


def _t(a):
    return torch.from_numpy(a)


# ------------------------------------------------------------------------------------------
# interpolate and resize_conv


@pytest.mark.parametrize(
    "mode, shape, kw",
    [
        ("linear", (2, 3, 9), {"scale_factor": 2.0}),
        ("linear", (2, 3, 9), {"scale_factor": 0.6, "align_corners": True}),
        ("linear", (2, 3, 9), {"size": 9}),
        ("bilinear", (2, 3, 7, 9), {"scale_factor": 1.7}),
        ("bilinear", (2, 3, 7, 9), {"scale_factor": 2.0, "align_corners": True}),
        ("bilinear", (2, 3, 7, 9), {"scale_factor": 0.3}),
        ("bicubic", (2, 3, 7, 9), {"scale_factor": 2.5}),
        ("bicubic", (2, 3, 7, 9), {"scale_factor": 0.6, "align_corners": True}),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolate_nonfinite_matches_torch(rng, mode, shape, kw, dtype):
    for _ in range(10):
        x = _spoil(rng.standard_normal(shape).astype(dtype), rng, 3)
        with np.errstate(invalid="ignore"):
            ours = F.interpolate(x, mode=mode, **kw)
        oracle = tF.interpolate(_t(x), mode=mode, **kw).numpy()
        assert_same_nonfinite(ours, oracle, rtol=1e-4, atol=1e-5)


def test_interpolate_one_nan_stays_local():
    # the report's case: a dense matrix product made all 16,384 outputs NaN; torch has 16
    x = np.zeros((1, 1, 64, 64), dtype=np.float32)
    x[0, 0, 20, 30] = np.nan
    ours = F.interpolate(x, scale_factor=2, mode="bilinear")
    oracle = tF.interpolate(_t(x), scale_factor=2, mode="bilinear").numpy()
    assert np.isnan(oracle).sum() == 16
    assert_same_nonfinite(ours, oracle)


_PLACEMENTS = 500
_RESIZES = [{"scale_factor": f} for f in (1.5, 2.0, 3.0, 0.5, 1 / 3, 7 / 3)] + [
    {"size": size} for size in ((21, 27), (4, 13), (16, 5))
]


def _resize_cases():
    for mode in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic"):
        for align in (None,) if mode.startswith("nearest") else (False, True):
            for resize in _RESIZES:
                kw = dict(resize) if align is None else {**resize, "align_corners": align}
                if mode == "linear" and "size" in kw:
                    kw["size"] = kw["size"][1]
                yield pytest.param(mode, kw, id=f"{mode}-{'-'.join(f'{k}={v!r}' for k, v in kw.items())}")


# torch's unvectorised x86 kernel rounds (t + 0.5) * s - 0.5 twice; its AVX2/AVX-512 kernels, which
# convlab follows, once (a fused multiply-add): tap indices are compared with the latter only.
_fused_torch = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() == "DEFAULT"
    and platform.machine().lower() in ("x86_64", "amd64"),
    reason="torch runs its DEFAULT (unfused) CPU kernel here",
)


@_fused_torch
@pytest.mark.parametrize("mode, kw", list(_resize_cases()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolate_nonfinite_masks_match_torch_over_many_placements(rng, mode, kw, dtype):
    """500 random placements of 1 to 3 NaN/inf (one per batch item): identical masks, close values.

    The tap indices must be torch's to the last bit: bicubic at scale 3 in float64 used to differ
    in 1 placement in 100 (a coordinate torch computes as -2.8e-17 with a fused multiply-add, and
    ``floorf`` of a float64 that rounds up to the next integer in float32).
    """
    shape = (_PLACEMENTS, 1, 11) if mode == "linear" else (_PLACEMENTS, 1, 7, 9)
    x = rng.standard_normal(shape).astype(dtype)
    for item in x:  # each batch item gets its own 1 to 3 non-finite entries
        item[...] = _spoil(item, rng, int(rng.integers(1, 4)))
    with np.errstate(invalid="ignore"):
        ours = F.interpolate(x, mode=mode, **kw)
    oracle = tF.interpolate(_t(x), mode=mode, **kw).numpy()
    for mask in (np.isnan, np.isposinf, np.isneginf):
        differ = (mask(ours) != mask(oracle)).reshape(_PLACEMENTS, -1).any(axis=1)
        assert not differ.any(), f"{mask.__name__} differs in {differ.sum()} of {_PLACEMENTS} placements"
    # accumulation order differs (torch sums the 2-D taps jointly): float32 values to ~1e-6
    tol = 1e-5 if dtype == np.float32 else 1e-12
    finite = np.isfinite(oracle)
    np.testing.assert_allclose(ours[finite], oracle[finite], rtol=tol, atol=tol)


@_fused_torch
def test_interpolate_float64_taps_follow_torchs_rounding():
    """Bicubic, float64, 7 -> 21 (scale 3): torch reads output 1 from taps -2..1 (clamped to 0, 0, 0,
    1), because its fused ``(1 + 0.5) / 3 - 0.5`` is -2.8e-17, not 0: a NaN at column 2 stays out
    of output column 1, and one at column 1 gets in with weight 0."""
    x = np.zeros((1, 1, 1, 7))
    x[..., 2] = np.nan
    ours = F.interpolate(x, scale_factor=(1, 3), mode="bicubic")
    oracle = tF.interpolate(_t(x), scale_factor=(1, 3), mode="bicubic").numpy()
    assert not np.isnan(oracle[..., 1]).any()
    assert_same_nonfinite(ours, oracle)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_resize_conv_nonfinite_matches_torch(rng, mode):
    for trial in range(10):
        x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
        x, w = (_spoil(x, rng), w) if trial % 2 else (x, _spoil(w, rng))
        with np.errstate(invalid="ignore"):
            ours = resize_conv(x, w, scale_factor=2, mode=mode)
        up = tF.interpolate(_t(x), scale_factor=2, mode=mode)
        assert_same_nonfinite(ours, tF.conv2d(up, _t(w), padding="same").numpy())


# ------------------------------------------------------------------------------------------
# transposed convolutions and the convolution's backward pass


def _geometries(rng, n):
    for _ in range(n):
        k = int(rng.integers(1, 5))
        yield int(rng.integers(1, 4)), k, int(rng.integers(0, k)), int(rng.integers(1, 3))


@pytest.mark.parametrize("where", ["input", "weight"])
def test_conv_transpose2d_nonfinite_matches_torch(rng, where):
    for s, k, p, d in _geometries(rng, 25):
        x, w, b = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 3, k, k)), rng.standard_normal(3)
        x, w = (_spoil(x, rng), w) if where == "input" else (x, _spoil(w, rng))
        oracle = tF.conv_transpose2d(_t(x), _t(w), _t(b), stride=s, padding=p, dilation=d).numpy()
        with np.errstate(invalid="ignore"):
            assert_same_nonfinite(F.conv_transpose2d(x, w, b, stride=s, padding=p, dilation=d), oracle)
            ours = conv_transpose2d_matrix(x, w, b, stride=s, padding=p, dilation=d)
        assert_same_nonfinite(ours, oracle)


def test_conv_transpose_inf_gives_no_nan_through_zero_taps():
    # the report's case: an infinity spread into NaN through the zero taps of the sub-kernels
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.inf
    w = np.ones((1, 1, 3, 3))
    oracle = tF.conv_transpose2d(_t(x), _t(w), stride=2).numpy()
    assert not np.isnan(oracle).any()
    assert_same_nonfinite(F.conv_transpose2d(x, w, stride=2), oracle)
    assert_same_nonfinite(conv_transpose2d_matrix(x, w, stride=2), oracle)


@pytest.mark.parametrize("where", ["input", "weight"])
def test_conv_transpose1d_nonfinite_matches_torch(rng, where):
    for s, k, p, d in _geometries(rng, 25):
        x, w = rng.standard_normal((2, 4, 7)), rng.standard_normal((4, 3, k))
        x, w = (_spoil(x, rng), w) if where == "input" else (x, _spoil(w, rng))
        oracle = tF.conv_transpose1d(_t(x), _t(w), stride=s, padding=p, dilation=d).numpy()
        with np.errstate(invalid="ignore"):
            ours = F.conv_transpose1d(x, w, stride=s, padding=p, dilation=d)
        assert_same_nonfinite(ours, oracle)


@pytest.mark.parametrize("where", ["input", "weight", "grad_output"])
def test_conv2d_backward_nonfinite_matches_torch_autograd(rng, where):
    for s, k, p, d in _geometries(rng, 20):
        x, w = rng.standard_normal((2, 4, 6, 7)), rng.standard_normal((3, 4, k, k))
        if d * (k - 1) + 1 > 6 + 2 * p:
            continue
        out_shape = tF.conv2d(_t(x), _t(w), stride=s, padding=p, dilation=d).shape
        g = rng.standard_normal(tuple(out_shape))
        if where == "input":
            x = _spoil(x, rng)
        elif where == "weight":
            w = _spoil(w, rng)
        else:
            g = _spoil(g, rng)
        tx, tw = _t(x).requires_grad_(), _t(w).requires_grad_()
        tF.conv2d(tx, tw, stride=s, padding=p, dilation=d).backward(_t(g))
        with np.errstate(invalid="ignore"):
            gx, gw, _ = conv2d_backward(g, x, w, stride=s, padding=p, dilation=d)
        assert_same_nonfinite(gx, tx.grad.numpy())
        assert_same_nonfinite(gw, tw.grad.numpy())


# ------------------------------------------------------------------------------------------
# convlab.signal: an infinite kernel tap at the full/same edges


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve1d_inf_kernel_edges_match_numpy(rng, mode):
    f = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.array([np.inf, 1.0, 0.0])
    assert_same_nonfinite(signal.convolve1d(f, g, mode), np.convolve(f, g, mode))
    assert_same_nonfinite(signal.correlate1d(f, g, mode), np.correlate(f, g, mode))
    for _ in range(20):
        f, g = _spoil(rng.standard_normal(12), rng), _spoil(rng.standard_normal(5), rng, 1)
        with np.errstate(invalid="ignore"):
            assert_same_nonfinite(signal.convolve1d(f, g, mode), np.convolve(f, g, mode))
            assert_same_nonfinite(signal.correlate1d(g, f, mode), np.correlate(g, f, mode))


def test_convolve2d_inf_kernel_edges_match_scipy():
    # SciPy's boundary="fill" multiplies the kernel by the fill value 0: NaN at those edges
    x = np.arange(1.0, 10.0).reshape(3, 3)
    k = np.array([[np.inf, 1.0], [1.0, 1.0]])
    oracle = scipy.signal.convolve2d(x, k, "full")
    assert np.isnan(oracle).any() and np.isposinf(oracle).any()
    assert_same_nonfinite(signal.convolve2d(x, k, "full"), oracle)
    assert_same_nonfinite(signal.correlate2d(x, k, "full"), scipy.signal.correlate2d(x, k, "full"))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve2d_nonfinite_matches_scipy(rng, mode):
    for _ in range(20):
        x, k = _spoil(rng.standard_normal((7, 8)), rng), _spoil(rng.standard_normal((3, 4)), rng, 1)
        with np.errstate(invalid="ignore"):
            for a, b in ((x, k), (k, x)) if mode != "valid" else ((x, k),):  # also kernel > image
                assert_same_nonfinite(signal.convolve2d(a, b, mode), scipy.signal.convolve2d(a, b, mode))
                assert_same_nonfinite(signal.correlate2d(a, b, mode), scipy.signal.correlate2d(a, b, mode))


def test_convolve_large_kernel_with_nan_stays_local():
    # a kernel of 64+ taps goes through the FFT only when everything is finite
    f, g = np.zeros(300), np.ones(80)
    f[150] = np.nan
    assert_same_nonfinite(signal.convolve1d(f, g), np.convolve(f, g))


# ------------------------------------------------------------------------------------------
# pixel_shuffle / pixel_unshuffle always return new storage (as torch does)


@pytest.mark.parametrize(
    "function, shape, factor",
    [
        (F.pixel_shuffle, (1, 4, 3, 3), 1),
        (F.pixel_shuffle, (2, 4, 1, 1), 2),
        (F.pixel_shuffle, (1, 1, 1, 1), 1),
        (F.pixel_unshuffle, (1, 4, 3, 3), 1),
        (F.pixel_unshuffle, (2, 1, 2, 2), 2),
        (F.pixel_unshuffle, (1, 1, 1, 1), 1),
    ],
)
def test_pixel_shuffle_never_returns_a_view(function, shape, factor):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    y = function(x, factor)
    oracle = getattr(tF, function.__name__)(_t(x), factor)
    assert not np.shares_memory(y, x)
    assert not np.shares_memory(oracle.numpy(), x)  # the oracle's behaviour, checked too
    np.testing.assert_array_equal(y, oracle.numpy())
    y[...] = -1
    assert (x >= 0).all()


# ------------------------------------------------------------------------------------------
# numerical_gradient in float32


def test_numerical_gradient_float32_against_analytic():
    rng = np.random.default_rng(7)
    x = (100 + 10 * rng.standard_normal(12)).astype(np.float32)
    grad = numerical_gradient(lambda v: np.sum(v**2) / 2, x)
    assert rel_error(grad, x.astype(np.float64)) < 1e-3  # was all zeros: x + 1e-5 == x there
    x = rng.standard_normal(12).astype(np.float32)
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    assert rel_error(grad, np.cos(x.astype(np.float64))) < 1e-3
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_float64_unchanged_step():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda v: np.sum(np.exp(v)), x)
    assert rel_error(grad, np.exp(x)) < 1e-9
