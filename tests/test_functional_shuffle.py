"""convlab.functional.pixel_shuffle / pixel_unshuffle against torch.nn.functional."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.functional import pixel_shuffle, pixel_unshuffle


@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_matches_torch_any_batch_dims(r, batch, rng):
    for c, h, w in itertools.product([1, 2], [1, 3], [2, 5]):
        x = rng.standard_normal((*batch, c * r * r, h, w)).astype(np.float32)
        want = F.pixel_shuffle(torch.from_numpy(x), r).numpy()
        got = pixel_shuffle(x, r)
        assert got.shape == want.shape == (*batch, c, h * r, w * r)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
        y = rng.standard_normal((*batch, c, h * r, w * r))
        np.testing.assert_array_equal(
            pixel_unshuffle(y, r), F.pixel_unshuffle(torch.from_numpy(y), r).numpy()
        )


def test_channel_order_and_inverse(rng):
    x = np.arange(2 * 4 * 2 * 3).reshape(1, 8, 2, 3)  # integers keep their dtype
    out = pixel_shuffle(x, 2)
    assert out.dtype == x.dtype
    # out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w]
    c, h, w, i, j = 1, 1, 2, 1, 0
    assert out[0, c, h * 2 + i, w * 2 + j] == x[0, c * 4 + i * 2 + j, h, w]
    np.testing.assert_array_equal(pixel_unshuffle(out, 2), x)
    y = rng.standard_normal((2, 3, 6, 4))
    np.testing.assert_array_equal(pixel_shuffle(pixel_unshuffle(y, 2), 2), y)


def test_pixel_shuffle_rules():
    with pytest.raises(ValueError, match="`upscale_factor`"):
        pixel_shuffle(np.zeros((1, 4, 2, 2)), 0)
    with pytest.raises(TypeError, match="`upscale_factor`"):
        pixel_shuffle(np.zeros((1, 4, 2, 2)), 2.0)
    with pytest.raises(ValueError, match="divisible by `upscale_factor`\\*\\*2 = 4"):
        pixel_shuffle(np.zeros((1, 3, 2, 2)), 2)
    with pytest.raises(ValueError, match="`input`.*at least 3 dimensions"):
        pixel_shuffle(np.zeros((4, 2)), 2)
    with pytest.raises(TypeError, match="`input`"):
        pixel_shuffle("pixels", 2)


def test_pixel_unshuffle_rules():
    with pytest.raises(ValueError, match="`downscale_factor`"):
        pixel_unshuffle(np.zeros((1, 1, 4, 4)), -1)
    with pytest.raises(TypeError, match="`downscale_factor`"):
        pixel_unshuffle(np.zeros((1, 1, 4, 4)), None)
    with pytest.raises(ValueError, match="divisible by `downscale_factor`=2"):
        pixel_unshuffle(np.zeros((1, 1, 5, 4)), 2)
    with pytest.raises(ValueError, match="divisible by `downscale_factor`=3"):
        pixel_unshuffle(np.zeros((1, 1, 3, 4)), 3)
    with pytest.raises(ValueError, match="`input`.*at least 3 dimensions"):
        pixel_unshuffle(np.zeros((4, 4)), 2)
