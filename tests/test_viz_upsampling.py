"""Upsampling figures show what convlab computes, checked against torch and by hand."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from convlab.viz import (
    align_corners_figure,
    bilinear_diagram,
    checkerboard_artifact_figure,
    checkerboard_overlap_figure,
    interpolation_modes_figure,
    photo_upsampling_figure,
    pixel_shuffle_figure,
    sample_photo,
    unpooling_figure,
)


def _numbers(ax):
    return [float(t.get_text().replace("\u2212", "-")) for t in ax.texts if t.get_text()]


def test_sample_photo_is_a_float_rgb_crop():
    photo = sample_photo(32)
    assert photo.shape == (3, 32, 32) and photo.dtype == np.float32
    assert 0 <= photo.min() and photo.max() <= 1 and photo.std() > 0.05
    with pytest.raises(ValueError, match="`size`"):
        sample_photo(1000)


def test_photo_figure_panels_match_torch_interpolate():
    fig = photo_upsampling_figure(factor=4, size=32)
    assert isinstance(fig, Figure)
    small = torch.tensor(sample_photo(32))[None]
    small = F.avg_pool2d(small, 4)
    ref = F.interpolate(small, scale_factor=4, mode="bilinear", align_corners=True)[0].numpy()
    shown = fig.axes[4].images[0].get_array()
    np.testing.assert_allclose(shown, np.clip(ref.transpose(1, 2, 0), 0, 1), atol=1e-5)
    assert fig.axes[4].get_title().startswith("bilinear, align_corners=True")
    with pytest.raises(ValueError, match="`factor`"):
        photo_upsampling_figure(factor=3, size=32)


def test_bilinear_diagram_value_by_hand():
    fig = bilinear_diagram([[10, 20], [30, 60]], point=(0.3, 0.6))
    # R1 = 0.7*10 + 0.3*20 = 13, R2 = 0.7*30 + 0.3*60 = 39, P = 0.4*13 + 0.6*39 = 28.6
    title = fig.axes[0].get_title()
    assert "= 13$" in title and "= 39$" in title and "f(P) = 28.6" in title
    with pytest.raises(ValueError, match="`point`"):
        bilinear_diagram(point=(1.5, 0))
    with pytest.raises(ValueError, match="`values`"):
        bilinear_diagram(np.ones((3, 3)))


def test_align_corners_figure_source_coordinates():
    fig = align_corners_figure(4, 8)
    false_coords = [t for t in fig.axes[0].texts if "." in t.get_text()]
    true_coords = [t for t in fig.axes[1].texts if "." in t.get_text()]
    assert [t.get_text() for t in false_coords] == [
        "0.00",
        "0.25",
        "0.75",
        "1.25",
        "1.75",
        "2.25",
        "2.75",
        "3.00",
    ]
    np.testing.assert_allclose([float(t.get_text()) for t in true_coords], np.arange(8) * 3 / 7, atol=5e-3)
    with pytest.raises(ValueError, match="`in_size`"):
        align_corners_figure(1, 8)


def test_unpooling_figure_matches_torch():
    x = np.array([[1, 5, 2, 0], [3, 2, 8, 1], [0, 4, 1, 3], [6, 1, 2, 7]], dtype=float)
    fig = unpooling_figure(x)
    t = torch.tensor(x)[None, None]
    pooled, idx = F.max_pool2d(t, 2, return_indices=True)
    unpooled = F.max_unpool2d(pooled, idx, 2)[0, 0].numpy()
    np.testing.assert_allclose(np.reshape(_numbers(fig.axes[2]), (4, 4)), unpooled)
    repeated = F.interpolate(pooled, scale_factor=2, mode="nearest")[0, 0].numpy()
    np.testing.assert_allclose(np.reshape(_numbers(fig.axes[3]), (4, 4)), repeated)
    with pytest.raises(ValueError, match="`kernel_size`"):
        unpooling_figure(np.ones((5, 5)), kernel_size=2)


def test_pixel_shuffle_figure_matches_torch():
    fig = pixel_shuffle_figure(2, 2)
    x = torch.arange(16.0).reshape(1, 4, 2, 2)
    ref = F.pixel_shuffle(x, 2)[0, 0].numpy()
    np.testing.assert_allclose(np.reshape(_numbers(fig.axes[-1]), (4, 4)), ref)
    with pytest.raises(ValueError, match="`upscale_factor`"):
        pixel_shuffle_figure(5)


def test_checkerboard_overlap_figure_maps_equal_transposed_conv_of_ones():
    fig = checkerboard_overlap_figure(((3, 2), (4, 2)), size=3)
    for ax, (k, s) in zip(fig.axes, ((3, 2), (4, 2)), strict=True):
        ref = F.conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, k, k), stride=s)[0, 0].numpy()
        np.testing.assert_array_equal(ax.images[0].get_array(), ref)
    assert "checkerboard" in fig.axes[0].get_title() and "even" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="`cases`"):
        checkerboard_overlap_figure(())


def test_checkerboard_artifact_figure_flat_only_where_expected():
    fig = checkerboard_artifact_figure(size=8)
    spreads = [float(ax.get_title().split("= ")[-1].split("%")[0]) for ax in fig.axes]
    assert spreads[0] > 50 and spreads[2] > 50  # k=3, s=2: uneven overlap
    assert spreads[1] == 0 and spreads[3] == 0  # k=4, s=2 with ones; resize-convolution


def test_interpolation_modes_figure_uses_one_scale():
    fig = interpolation_modes_figure([[0, 1], [1, 0]], scale_factor=3)
    assert [ax.get_title() for ax in fig.axes] == ["input 2x2", "nearest 6x6", "bilinear 6x6", "bicubic 6x6"]
    ref = F.interpolate(torch.tensor([[[[0.0, 1], [1, 0]]]]), scale_factor=3, mode="bilinear")[0, 0].numpy()
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), ref, atol=1e-6)
    with pytest.raises(ValueError, match="`modes`"):
        interpolation_modes_figure([[0, 1]], modes=["area"])


def test_interpolation_modes_figure_draws_the_bicubic_overshoot():
    # Bicubic output dips below the input's minimum; a scale clipped at the input's range would
    # draw those pixels in the same colour as the input's darkest.
    image = np.zeros((5, 5))
    image[1, 1] = 1.0
    fig = interpolation_modes_figure(image, scale_factor=6)
    ref = F.interpolate(torch.tensor(image)[None, None], scale_factor=6, mode="bicubic")[0, 0].numpy()
    assert ref.min() < -0.1  # the ring around the bright pixel
    for ax in fig.axes:
        lo, hi = ax.images[0].get_clim()
        assert lo == pytest.approx(ref.min()) and hi == pytest.approx(max(ref.max(), 1.0))
    assert fig.axes[3].get_xlabel() == f"min {ref.min():.3g}, max {ref.max():.3g}"
