"""convlab.arithmetic against torch's shapes, TensorFlow's SAME rule and Dumoulin & Visin's table."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as tf

from convlab import arithmetic
from convlab.arithmetic import (
    ReceptiveField,
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    receptive_field,
    same_padding,
    tf_transpose_output_sizes,
    transposed_equivalent,
)


def _torch_conv_size(i, k, s, p, d):
    try:
        return tf.conv1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[
            -1
        ]
    except RuntimeError:
        return None


def _torch_conv_transpose_size(i, k, s, p, op, d):
    layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d, bias=False)
    try:
        with torch.no_grad():
            return layer(torch.zeros(1, 1, i)).shape[-1]
    except RuntimeError:
        return None


# --------------------------------------------------------------------------- against torch


@pytest.mark.parametrize("s,d", list(itertools.product([1, 2, 3], [1, 2])))
def test_conv_output_size_matches_torch(s, d):
    checked = 0
    for i, k, p in itertools.product(range(1, 9), range(1, 5), range(4)):
        expected = _torch_conv_size(i, k, s, p, d)
        if expected is None or expected <= 0:
            with pytest.raises(ValueError, match="kernel does not fit the padded input: a kernel of size"):
                conv_output_size(i, k, s, p, d)
        else:
            assert conv_output_size(i, k, s, p, d) == expected, (i, k, s, p, d)
            checked += 1
    assert checked > 40


@pytest.mark.parametrize("s,d", list(itertools.product([1, 2, 3], [1, 2])))
def test_conv_transpose_output_size_matches_torch(s, d):
    checked = 0
    for i, k, p, op in itertools.product(range(1, 6), range(1, 5), range(3), range(3)):
        expected = _torch_conv_transpose_size(i, k, s, p, op, d)
        if expected is None or expected <= 0:
            with pytest.raises(ValueError, match="`output_padding` must be smaller|`p`=.* is too large"):
                conv_transpose_output_size(i, k, s, p, op, d)
        else:
            assert conv_transpose_output_size(i, k, s, p, op, d) == expected, (i, k, s, p, op, d)
            checked += 1
    assert checked > 40


# --------------------------------------------------------------------------- TensorFlow SAME


# (i, k, s, d) -> (before, after), each derived by hand from o = ceil(i/s),
# total = max((o-1)s + d(k-1) + 1 - i, 0), extra zero after.
SAME_TABLE = [
    ((5, 3, 1, 1), (1, 1)),  # o=5, total 2
    ((5, 4, 1, 1), (1, 2)),  # o=5, total 3: the extra zero goes after
    ((6, 3, 2, 1), (0, 1)),  # o=3, total 1
    ((5, 3, 2, 1), (1, 1)),  # o=3, total 2
    ((7, 1, 3, 1), (0, 0)),  # o=3, total 0
    ((4, 3, 3, 1), (1, 1)),  # o=2, total 2
    ((10, 3, 2, 2), (1, 2)),  # o=5, dilated span 5, total 3
    ((2, 5, 1, 1), (2, 2)),  # o=2, kernel larger than input, total 4
    ((8, 2, 2, 1), (0, 0)),  # o=4, total 0
    ((3, 3, 2, 1), (1, 1)),  # o=2, total 2 (the 3x3 input of the transposed-convolution chapter)
    ((1, 4, 3, 1), (1, 2)),  # o=1, total 3
]


@pytest.mark.parametrize(
    "args,expected", SAME_TABLE, ids=[f"i{a}-k{b}-s{c}-d{e}" for (a, b, c, e), _ in SAME_TABLE]
)
def test_same_padding_table(args, expected):
    i, k, s, d = args
    assert same_padding(i, k, s, d) == expected
    before, after = expected
    assert conv_output_size(i + before + after, k, s, 0, d) == -(-i // s)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k,d", list(itertools.product(range(1, 6), [1, 2, 3])))
def test_same_padding_equals_torch_same_at_stride_one(k, d):
    x = torch.arange(11.0).reshape(1, 1, 11)
    w = torch.arange(1.0, k + 1).reshape(1, 1, k)
    before, after = same_padding(11, k, 1, d)
    manual = tf.conv1d(tf.pad(x, (before, after)), w, dilation=d)
    # exact: small integers in float32, so every partial sum is exact whatever the kernel's order
    np.testing.assert_array_equal(manual.numpy(), tf.conv1d(x, w, padding="same", dilation=d).numpy())


# --------------------------------------------------------------------------- Dumoulin & Visin

# The six cases, each with the example of the guide's figures: (i, k, s, p), o, relationship.
DV_CASES = [
    ("no padding, unit strides: o = i - k + 1", (4, 3, 1, 0), 2),
    ("arbitrary padding, unit strides: o = i - k + 2p + 1", (5, 4, 1, 2), 6),
    ("half padding (k = 2n + 1, p = n): o = i", (5, 3, 1, 1), 5),
    ("full padding (p = k - 1): o = i + k - 1", (5, 3, 1, 2), 7),
    ("no padding, strides: o = floor((i - k) / s) + 1", (5, 3, 2, 0), 2),
    ("padding and strides: o = floor((i + 2p - k) / s) + 1", (5, 3, 2, 1), 3),
    ("padding and strides, (i + 2p - k) mod s = 1: o = floor((i + 2p - k) / s) + 1", (6, 3, 2, 1), 3),
]


def _dv_formula(case, i, k, s, p):
    return {
        0: i - k + 1,
        1: i - k + 2 * p + 1,
        2: i,
        3: i + k - 1,
        4: (i - k) // s + 1,
        5: (i + 2 * p - k) // s + 1,
        6: (i + 2 * p - k) // s + 1,
    }[case]


@pytest.mark.parametrize("case", range(len(DV_CASES)), ids=[c[0] for c in DV_CASES])
def test_dumoulin_visin_convolution(case):
    _, (i, k, s, p), o = DV_CASES[case]
    assert conv_output_size(i, k, s, p) == o == _dv_formula(case, i, k, s, p)
    # the relationship holds over a range of sizes, not just the figure's
    for i2 in range(k, k + 8):
        p2 = {2: k // 2, 3: k - 1}.get(case, p)
        assert conv_output_size(i2, k, s, p2) == _dv_formula(case, i2, k, s, p2)


# Transposed counterparts: the transpose of the convolution above maps o back to i.
DV_TRANSPOSED = [
    ("no padding, unit strides: o' = i' + (k - 1)", (4, 3, 1, 0)),
    ("arbitrary padding, unit strides: o' = i' + (k - 1) - 2p", (5, 4, 1, 2)),
    ("half padding: o' = i'", (5, 3, 1, 1)),
    ("full padding: o' = i' - (k - 1)", (5, 3, 1, 2)),
    ("no padding, strides: o' = s(i' - 1) + k", (5, 3, 2, 0)),
    ("padding and strides: o' = s(i' - 1) + k - 2p", (5, 3, 2, 1)),
    ("padding and strides, a = (i + 2p - k) mod s: o' = s(i' - 1) + a + k - 2p", (6, 3, 2, 1)),
]


def _dv_transposed_formula(case, i_prime, k, s, p, a):
    return {
        0: i_prime + (k - 1),
        1: i_prime + (k - 1) - 2 * p,
        2: i_prime,
        3: i_prime - (k - 1),
        4: s * (i_prime - 1) + k,
        5: s * (i_prime - 1) + k - 2 * p,
        6: s * (i_prime - 1) + a + k - 2 * p,
    }[case]


@pytest.mark.parametrize("case", range(len(DV_TRANSPOSED)), ids=[c[0] for c in DV_TRANSPOSED])
def test_dumoulin_visin_transposed(case):
    _, (i, k, s, p) = DV_TRANSPOSED[case]
    i_prime = conv_output_size(i, k, s, p)
    a = (i + 2 * p - k) % s
    assert (a != 0) == (case == 6)
    expected = _dv_transposed_formula(case, i_prime, k, s, p, a)
    assert conv_transpose_output_size(i_prime, k, s, p, output_padding=a) == expected == i
    assert _torch_conv_transpose_size(i_prime, k, s, p, a, 1) == i
    # the equivalent direct convolution: stretch by s - 1 zeros, pad k - p - 1 (+ a after), stride 1
    eq = transposed_equivalent(i, k, s, p)
    assert (eq.k, eq.s, eq.p, eq.stretch, eq.a, eq.o) == (k, 1, k - p - 1, s - 1, a, i)
    stretched = s * (i_prime - 1) + 1
    assert stretched + 2 * eq.p + eq.a - k + 1 == i


def test_transposed_equivalent_dilated():
    eq = transposed_equivalent(9, 3, s=2, p=1, d=2)  # span 5, o = 4, a = (9 + 2 - 5) mod 2 = 0
    assert eq == (3, 1, 3, 1, 0, 9)
    eq = transposed_equivalent(10, 3, s=2, p=1, d=2)  # a = 1
    assert eq.a == 1 and eq.o == 10


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"i": 0}, ValueError, "`i`"),
        ({"i": 2.0}, TypeError, "`i`"),
        ({"i": True}, TypeError, "`i`"),
        ({"k": 0}, ValueError, "`k`"),
        ({"k": "3"}, TypeError, "`k`"),
        ({"s": 0}, ValueError, "`s`"),
        ({"s": 1.5}, TypeError, "`s`"),
        ({"p": -1}, ValueError, "`p`"),
        ({"p": None}, TypeError, "`p`"),
        ({"d": 0}, ValueError, "`d`"),
        (
            {"i": 2, "k": 4},
            ValueError,
            "size 4 with `d`=1 spans d\\*\\(k-1\\)\\+1=4.*size 2 \\(`i`\\) plus 0 zeros of `p` = 2",
        ),
        ({"i": 4, "k": 3, "d": 2}, ValueError, "`d`=2 spans d\\*\\(k-1\\)\\+1=5"),
    ],
)
def test_conv_output_size_rejects(kwargs, exc, match):
    args = {"i": 5, "k": 3, **kwargs}
    with pytest.raises(exc, match=match):
        conv_output_size(**args)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"i": 0}, ValueError, "`i`"),
        ({"k": -2}, ValueError, "`k`"),
        ({"s": 0}, ValueError, "`s`"),
        ({"p": -1}, ValueError, "`p`"),
        ({"d": 0}, ValueError, "`d`"),
        ({"output_padding": -1}, ValueError, "`output_padding`"),
        ({"output_padding": 1.0}, TypeError, "`output_padding`"),
        ({"output_padding": 1}, ValueError, "`output_padding` must be smaller than `stride` or `dilation`"),
        ({"s": 2, "output_padding": 2}, ValueError, "output_padding=2, stride=2, dilation=1"),
        ({"i": 1, "k": 1, "p": 1}, ValueError, "`p`=1 is too large.*= -1 is not positive"),
        ({"i": 2, "k": 3, "s": 1, "p": 2}, ValueError, "\\(i-1\\)\\*stride - 2\\*padding"),
    ],
)
def test_conv_transpose_output_size_rejects(kwargs, exc, match):
    args = {"i": 3, "k": 3, **kwargs}
    with pytest.raises(exc, match=match):
        conv_transpose_output_size(**args)


def test_output_padding_allowed_below_dilation():
    assert conv_transpose_output_size(3, 3, s=1, d=2, output_padding=1) == _torch_conv_transpose_size(
        3, 3, 1, 0, 1, 2
    )


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"i": 0}, ValueError, "`i`"),
        ({"k": 0}, ValueError, "`k`"),
        ({"s": -1}, ValueError, "`s`"),
        ({"d": 0}, ValueError, "`d`"),
        ({"i": 4.0}, TypeError, "`i`"),
    ],
)
def test_same_padding_rejects(kwargs, exc, match):
    args = {"i": 5, "k": 3, **kwargs}
    with pytest.raises(exc, match=match):
        same_padding(**args)


def test_transposed_equivalent_rejects():
    with pytest.raises(ValueError, match="kernel does not fit"):
        transposed_equivalent(2, 5)


# --------------------------------------------------------------------------- pooling


def _torch_pool_size(i, k, s, p, d, ceil_mode):
    try:
        x = torch.zeros(1, 1, i)
        return tf.max_pool1d(x, k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode).shape[-1]
    except RuntimeError:
        return None


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("s,d", list(itertools.product([None, 1, 2, 3], [1, 2])))
def test_pool_output_size_matches_torch(s, d, ceil_mode):
    checked = 0
    for i, k, p in itertools.product(range(1, 10), range(1, 6), range(4)):
        expected = _torch_pool_size(i, k, s, p, d, ceil_mode)
        if expected is None or expected <= 0:
            with pytest.raises(ValueError, match="`padding`|`k`"):
                pool_output_size(i, k, s, p, d, ceil_mode)
        else:
            assert pool_output_size(i, k, s, p, d, ceil_mode) == expected, (i, k, s, p, d, ceil_mode)
            checked += 1
    assert checked > 60


def test_pool_output_size_ceil_mode_drops_a_window_in_the_right_padding():
    # i=5, k=2, s=2, p=1: padded 0..6; ceil gives windows starting at -1, 1, 3, 5, but the last
    # starts at 5 >= i + p - p = 5 (right padding), so torch keeps 3 windows, not 4.
    assert pool_output_size(5, 2, 2, 1, ceil_mode=True) == 3 == _torch_pool_size(5, 2, 2, 1, 1, True)
    assert pool_output_size(6, 2, 2, 1, ceil_mode=True) == 4 == _torch_pool_size(6, 2, 2, 1, 1, True)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"i": 0}, ValueError, "`i`"),
        ({"k": 0}, ValueError, "`k`"),
        ({"s": 0}, ValueError, "`s`"),
        ({"s": 2.0}, TypeError, "`s`"),
        ({"p": -1}, ValueError, "`p`"),
        ({"d": 0}, ValueError, "`d`"),
        ({"p": 2}, ValueError, "`padding`.*k // 2 = 1; got p=2, k=3"),
        ({"ceil_mode": 1}, TypeError, "`ceil_mode`"),
        ({"i": 2, "k": 5}, ValueError, "does not fit"),
    ],
)
def test_pool_output_size_rejects(kwargs, exc, match):
    args = {"i": 5, "k": 3, **kwargs}
    with pytest.raises(exc, match=match):
        pool_output_size(**args)


# --------------------------------------------------------------------------- receptive field


def _empirical_field(layers, n):
    """Extent of the input gradient of every output cell of a 1-D stack, measured with autograd.

    Convolutions and average poolings with all-ones weights on a positive input: every path
    adds a positive amount, so the gradient is non-zero exactly on the cells the output reads.
    Returns, per output cell, (first, last) input index read (clipped to the input).
    """
    x = torch.rand(1, 1, n, dtype=torch.float64) + 0.5
    x.requires_grad_(True)
    y = x
    for kind, (k, s, p, d) in layers:
        if kind == "conv":
            y = tf.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p, dilation=d)
        else:
            y = tf.avg_pool1d(y, k, stride=s, padding=p)
    extents = []
    for j in range(y.shape[-1]):
        (grad,) = torch.autograd.grad(y[0, 0, j], x, retain_graph=True)
        support = np.flatnonzero(grad[0, 0].numpy())
        extents.append((support[0], support[-1]))
    return extents


def _random_stack(rng):
    layers = []
    for _ in range(rng.integers(1, 5)):
        if rng.random() < 0.6:
            k, s, d = int(rng.integers(1, 6)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
            layers.append(("conv", (k, s, int(rng.integers(0, k)), d)))
        else:
            k = int(rng.integers(1, 4))
            layers.append(("pool", (k, int(rng.integers(1, k + 1)), int(rng.integers(0, k // 2 + 1)), 1)))
    return layers


@pytest.mark.parametrize("seed", range(25))
def test_receptive_field_matches_autograd_support(seed):
    rng = np.random.default_rng(seed)
    layers = _random_stack(rng)
    n = 70
    extents = _empirical_field(layers, n)
    rf = receptive_field([spec for _, spec in layers])
    assert isinstance(rf, ReceptiveField)
    half = (rf.size - 1) / 2
    inside = 0
    for j, (first, last) in enumerate(extents):
        centre = rf.start + j * rf.jump
        lo, hi = centre - half, centre + half  # the field, possibly reaching into the padding
        if lo >= 0 and hi <= n - 1:
            assert (lo, hi) == (first, last), (layers, j)
            inside += 1
        else:  # near the border part of the field is padding (and dilation may skip the edge)
            assert lo <= first and last <= hi, (layers, j)
    assert inside > 0, layers  # at least one field lies wholly inside, so its size is checked


def test_receptive_field_of_vgg16():
    conv, pool = (3, 1, 1, 1), (2, 2, 0, 1)
    pool5 = [conv, conv, pool, conv, conv, pool] + [conv, conv, conv, pool] * 3
    rf = receptive_field(pool5)
    assert (rf.size, rf.jump) == (212, 32)
    fc6 = receptive_field([*pool5, (7, 1, 0, 1)])
    assert (fc6.size, fc6.jump) == (404, 32)


def test_receptive_field_conventions():
    assert receptive_field([]) == (1, 1, 0.0)
    assert receptive_field(()) == ReceptiveField(size=1, jump=1, start=0.0)
    # an even window is centred between two pixels
    assert receptive_field([(2, 2, 0, 1)]) == (2, 2, 0.5)
    # padding moves the centre of cell 0 to the left, into the padding
    assert receptive_field([(3, 1, 2, 1)]).start == -1.0
    # dilation: a 3-tap kernel with d=2 spans 5 pixels
    assert receptive_field([(3, 1, 0, 2)]) == (5, 1, 2.0)
    assert isinstance(receptive_field([(3, 1, 1, 1)]).start, float)


@pytest.mark.parametrize(
    "layers,exc,match",
    [
        ("3131", TypeError, "`layers`"),
        (5, TypeError, "`layers`"),
        ([(3, 1, 1)], ValueError, "`layers\\[0\\]` must have 4 entries"),
        ([(3, 1, 1, 1), 3], TypeError, "`layers\\[1\\]`"),
        ([(3, 1, 1, 1), (3.0, 1, 1, 1)], TypeError, "`layers\\[1\\]` must contain integers"),
        ([(0, 1, 0, 1)], ValueError, "kernel of `layers\\[0\\]` must be positive"),
        ([(3, 0, 0, 1)], ValueError, "stride of `layers\\[0\\]`"),
        ([(3, 1, -1, 1)], ValueError, "padding of `layers\\[0\\]` must be non-negative"),
        ([(3, 1, 0, 1), (3, 1, 0, 0)], ValueError, "dilation of `layers\\[1\\]`"),
        ([(3, 1, True, 1)], TypeError, "`layers\\[0\\]`"),
    ],
)
def test_receptive_field_rejects(layers, exc, match):
    with pytest.raises(exc, match=match):
        receptive_field(layers)


# --------------------------------------------------------------------------- TensorFlow transposed sizes


def _tf_forward(o, k, s, padding):
    """TensorFlow's conv2d output size (tensorflow/core/framework/kernel_shape_util.cc)."""
    if padding == "SAME":
        return (o + s - 1) // s
    return (o - k + s) // s if o >= k else 0


@pytest.mark.parametrize("padding", ["SAME", "VALID", "same"])
def test_tf_transpose_output_sizes_is_the_set_tf_accepts(padding):
    for i, k, s in itertools.product(range(1, 6), range(1, 6), range(1, 5)):
        accepted = [o for o in range(1, 40) if _tf_forward(o, k, s, padding.upper()) == i]
        sizes = tf_transpose_output_sizes(i, k, s, padding)
        assert list(sizes) == accepted, (i, k, s, padding)
        assert len(sizes) == s


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"i": 0}, ValueError, "`i`"),
        ({"k": 1.0}, TypeError, "`k`"),
        ({"s": 0}, ValueError, "`s`"),
        ({"padding": "FULL"}, ValueError, "`padding`"),
        ({"padding": 1}, TypeError, "`padding`"),
    ],
)
def test_tf_transpose_output_sizes_rejects(kwargs, exc, match):
    args = {"i": 3, "k": 3, "s": 2, **kwargs}
    with pytest.raises(exc, match=match):
        tf_transpose_output_sizes(**args)


@pytest.mark.parametrize("n", range(1, 9))
@pytest.mark.parametrize("m", range(1, 9))
def test_mode_window_is_where_scipy_puts_each_mode(n, m):
    from scipy.signal import convolve

    f, g = np.arange(1.0, n + 1), np.arange(2.0, m + 2) ** 2
    full = np.convolve(f, g, "full")
    for mode in ("full", "same", "valid"):
        if mode == "valid" and m > n:
            continue
        start, length = arithmetic.mode_window(n, m, mode)
        # integer-valued floats: the sums are exact, so the windows compare exactly
        np.testing.assert_array_equal(full[start : start + length], convolve(f, g, mode, method="direct"))
    matlab, _ = arithmetic.mode_window(n, m, "same", same="matlab")
    assert matlab == m // 2  # MATLAB's conv(..., 'same'): one later than numpy for even m


def test_mode_window_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`mode`"):
        arithmetic.mode_window(5, 3, "circular")
    with pytest.raises(ValueError, match="`same`"):
        arithmetic.mode_window(5, 3, "same", same="octave")
    with pytest.raises(ValueError, match="'valid' needs"):
        arithmetic.mode_window(3, 5, "valid")
    with pytest.raises(TypeError):
        arithmetic.mode_window(5.0, 3)
