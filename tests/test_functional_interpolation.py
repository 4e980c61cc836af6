"""convlab.functional.interpolate against torch.nn.functional.interpolate."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.functional import interpolate

TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _check(x, **kwargs):
    want = F.interpolate(torch.from_numpy(x), **kwargs).numpy()
    got = interpolate(x, **kwargs)
    assert got.shape == want.shape
    assert got.dtype == want.dtype == x.dtype
    tol = TOL[x.dtype.type]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    return got


SIZES_2D = [(5, 7), (8, 8), (16, 11), (3, 2), (1, 9), (4, 4), (13, 6)]  # up, down, mixed, to one
SCALES_2D = [2, 3, 0.5, 1.5, 2.3, (1.7, 0.6), (2, 3), (0.34, 1.0), 1.1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "mode, align_corners",
    [
        ("nearest", None),
        ("nearest-exact", None),
        ("bilinear", False),
        ("bilinear", True),
        ("bicubic", False),
        ("bicubic", True),
    ],
)
def test_2d_grid_against_torch(mode, align_corners, dtype, rng):
    for shape in [(2, 3, 6, 5), (1, 2, 7, 10), (2, 1, 4, 9)]:  # C == 1 takes torch's channels-last path
        x = rng.standard_normal(shape).astype(dtype)
        for size in SIZES_2D:
            _check(x, size=size, mode=mode, align_corners=align_corners)
        for scale in SCALES_2D:
            _check(x, scale_factor=scale, mode=mode, align_corners=align_corners)
            _check(x, scale_factor=scale, mode=mode, align_corners=align_corners, recompute_scale_factor=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "mode, align_corners",
    [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True)],
)
def test_1d_grid_against_torch(mode, align_corners, dtype, rng):
    x = rng.standard_normal((2, 3, 7)).astype(dtype)
    for size in [1, 2, 7, 8, 14, 15, 3, 30]:
        _check(x, size=size, mode=mode, align_corners=align_corners)
        _check(x, size=(size,), mode=mode, align_corners=align_corners)
    for scale in [2, 0.5, 1.1, 2.05, 1.5, 3.7, (0.3,)]:
        _check(x, scale_factor=scale, mode=mode, align_corners=align_corners)


def test_random_sizes_against_torch(rng):
    """Larger, random sizes: catches float32 rounding differences in the coordinate mapping."""
    modes = ["nearest", "nearest-exact", "bilinear", "bicubic"]
    for mode, align in itertools.product(modes, [False, True]):
        if mode.startswith("nearest") and align:
            continue
        for _ in range(4):
            h, w, oh, ow = (int(v) for v in rng.integers(1, 70, 4))
            x = rng.standard_normal((1, 2, h, w)).astype(np.float32)
            ac = align if not mode.startswith("nearest") else None
            _check(x, size=(oh, ow), mode=mode, align_corners=ac)
            sf = (float(rng.uniform(0.5, 3.5)), float(rng.uniform(0.5, 3.5)))
            _check(x, scale_factor=sf, mode=mode, align_corners=ac)


def test_scale_factor_maps_with_its_reciprocal_not_in_over_out():
    x = np.arange(5.0).reshape(1, 1, 5)
    # 5 * 1.7 = 8.5 -> 8 samples; torch maps with 1/1.7, not 5/8
    with_factor = _check(x, scale_factor=1.7, mode="linear", align_corners=False)
    with_size = _check(x, size=8, mode="linear", align_corners=False)
    recomputed = _check(x, scale_factor=1.7, mode="linear", align_corners=False, recompute_scale_factor=True)
    assert not np.allclose(with_factor, with_size)
    np.testing.assert_allclose(recomputed, with_size)
    # the source coordinate of output 7 is (7 + 0.5) / 1.7 - 0.5
    np.testing.assert_allclose(with_factor[0, 0, 7], min((7.5 / 1.7 - 0.5), 4.0))


def test_hand_examples():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # align_corners=True: the corners stay, the centre is the mean of the four (Q11..Q22)
    out = interpolate(x, size=(3, 3), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(out[0, 0], [[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]])
    # nearest x2 repeats every pixel into a 2x2 block
    np.testing.assert_array_equal(interpolate(x, scale_factor=2)[0, 0], np.kron(x[0, 0], np.ones((2, 2))))
    # identity size leaves every mode unchanged
    for mode, ac in [("nearest", None), ("bilinear", False), ("bicubic", False), ("nearest-exact", None)]:
        np.testing.assert_allclose(interpolate(x, size=(2, 2), mode=mode, align_corners=ac), x)


def test_integer_input_promoted_and_input_not_mutated():
    x = np.arange(12).reshape(1, 1, 3, 4)
    x0 = x.copy()
    out = interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(x, x0)
    _check(x.astype(np.float64), scale_factor=2, mode="bilinear", align_corners=False)


# --- validation ------------------------------------------------------------------------------


@pytest.fixture
def x4():
    return np.zeros((1, 1, 4, 4))


def test_size_and_scale_factor_both_or_neither(x4):
    with pytest.raises(ValueError, match="`size` and `scale_factor`"):
        interpolate(x4, size=8, scale_factor=2)
    with pytest.raises(ValueError, match="`size` or `scale_factor`"):
        interpolate(x4)


def test_bad_mode_and_ndim(x4):
    with pytest.raises(ValueError, match="`mode`"):
        interpolate(x4, size=8, mode="area")
    with pytest.raises(ValueError, match="`mode`.*4-D `input`"):
        interpolate(np.zeros((1, 1, 4)), size=8, mode="bilinear")
    with pytest.raises(ValueError, match="`mode`.*4-D `input`"):
        interpolate(np.zeros((1, 1, 4)), size=8, mode="bicubic")
    with pytest.raises(ValueError, match="`mode`.*3-D `input`"):
        interpolate(x4, size=8, mode="linear")
    with pytest.raises(ValueError, match="`input`.*3 or 4-dimensional"):
        interpolate(np.zeros((4, 4)), size=8)
    with pytest.raises(ValueError, match="`input`"):
        interpolate(np.zeros((1, 1, 0, 4)), size=8)
    with pytest.raises(TypeError, match="`input`"):
        interpolate("image", size=8)


def test_align_corners_rules(x4):
    with pytest.raises(ValueError, match="`align_corners`"):
        interpolate(x4, size=8, mode="nearest", align_corners=False)
    with pytest.raises(ValueError, match="`align_corners`"):
        interpolate(x4, size=8, mode="nearest-exact", align_corners=True)
    with pytest.raises(TypeError, match="`align_corners`"):
        interpolate(x4, size=8, mode="bilinear", align_corners="yes")
    # default for linear modes is False
    np.testing.assert_array_equal(
        interpolate(x4 + np.arange(4), size=7, mode="bilinear"),
        interpolate(x4 + np.arange(4), size=7, mode="bilinear", align_corners=False),
    )


def test_size_rules(x4):
    with pytest.raises(ValueError, match="`size`"):
        interpolate(x4, size=0)
    with pytest.raises(ValueError, match="`size`"):
        interpolate(x4, size=(2, 3, 4))
    with pytest.raises(TypeError, match="`size`"):
        interpolate(x4, size=2.5)
    with pytest.raises(TypeError, match="`size`"):
        interpolate(x4, size=(2, 3.0))


def test_scale_factor_rules(x4):
    with pytest.raises(ValueError, match="`scale_factor`"):
        interpolate(x4, scale_factor=0)
    with pytest.raises(ValueError, match="`scale_factor`"):
        interpolate(x4, scale_factor=-2.0)
    with pytest.raises(ValueError, match="`scale_factor`"):
        interpolate(x4, scale_factor=float("inf"))
    with pytest.raises(ValueError, match="`scale_factor`.*empty output"):
        interpolate(x4, scale_factor=0.1)
    with pytest.raises(ValueError, match="`scale_factor`"):
        interpolate(x4, scale_factor=(2, 2, 2))
    with pytest.raises(TypeError, match="`scale_factor`"):
        interpolate(x4, scale_factor="2")
    with pytest.raises(TypeError, match="`scale_factor`"):
        interpolate(x4, scale_factor=(2, None))
    with pytest.raises(TypeError, match="`scale_factor`"):
        interpolate(x4, scale_factor=True)


def test_recompute_scale_factor_rules(x4):
    with pytest.raises(ValueError, match="`recompute_scale_factor`.*`size`"):
        interpolate(x4, size=8, recompute_scale_factor=True)
    with pytest.raises(TypeError, match="`recompute_scale_factor`"):
        interpolate(x4, scale_factor=2, recompute_scale_factor="yes")
