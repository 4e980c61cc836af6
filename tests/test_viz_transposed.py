"""Figures of the matrix view and of transposed convolution show what convlab and torch compute."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from convlab.viz import conv_matrix_figure, im2col_figure, stamping_animation, zero_insertion_figure

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _grid_values(ax, shape):
    """Read back the numbers draw_grid wrote, in row-major order (minus signs normalised)."""
    values = [
        float(t.replace("\u2212", "-")) for t in _texts(ax) if t.replace("\u2212", "-").lstrip("-").isdigit()
    ]
    return np.array(values[: shape[0] * shape[1]]).reshape(shape)


def test_stamping_animation_frames_and_final_output_match_torch():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.arange(16.0).reshape(4, 4) % 3
    anim = stamping_animation(x, w, stride=3)
    assert isinstance(anim, FuncAnimation)
    assert anim.n_frames == x.size + 1
    anim.draw_frame(x.size)  # the crop frame: the last axes holds the output
    fig = anim.figure
    out = _grid_values(fig.axes[3], (7, 7))
    ref = F.conv_transpose2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=3)[0, 0]
    np.testing.assert_allclose(out, ref.numpy())
    assert fig.axes[3].get_title() == "output 7x7"


def test_stamping_animation_canvas_shows_the_partial_sum():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    anim = stamping_animation(x, np.ones((3, 3)), stride=2, padding=1, output_padding=1)
    anim.draw_frame(0)  # first stamp: only the top-left 3x3 block of the 6x6 canvas is written
    numbers = [t for t in _texts(anim.figure.axes[2]) if t]
    assert numbers == ["1"] * 9
    anim.draw_frame(4)
    assert anim.figure.axes[3].get_title() == "output 4x4"  # (2-1)*2 - 2 + 3 + 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"output_padding": 2, "stride": 2}, "`output_padding`"),
        ({"stride": 0}, "`stride`"),
        ({"padding": 5}, "`padding`"),
    ],
)
def test_stamping_animation_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stamping_animation(np.ones((2, 2)), np.ones((3, 3)), **kwargs)


def test_stamping_animation_limits_frames():
    with pytest.raises(ValueError, match="`input`"):
        stamping_animation(np.ones((7, 7)), np.ones((2, 2)))


def test_zero_insertion_figure_agrees_with_torch(rng):
    x = rng.integers(-3, 4, (3, 3)).astype(float)
    w = rng.integers(-2, 3, (3, 3)).astype(float)
    fig = zero_insertion_figure(x, w, stride=2, padding=1, output_padding=1, position=(1, 2))
    assert isinstance(fig, Figure)
    assert "equals conv_transpose2d" in fig._suptitle.get_text()
    ref = F.conv_transpose2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=2, padding=1,
                             output_padding=1)[0, 0].numpy()  # fmt: skip
    assert fig.axes[3].get_title() == f"output {ref.shape[0]}x{ref.shape[1]}"
    # the padded input: 2 zero-inserted rows/cols plus k-p-1 = 1 before and 1 + output_padding after
    assert len(fig.axes[1].patches) >= 7 * 7
    assert _texts(fig.axes[2])[:3] == [f"{v:.0f}".replace("-", "\u2212") for v in w[::-1, ::-1][0]]


def test_zero_insertion_figure_rejects_position_outside():
    with pytest.raises(ValueError, match="`position`"):
        zero_insertion_figure(np.ones((2, 2)), np.ones((3, 3)), position=(9, 0))


def test_conv_matrix_figure_labels_each_kernel_entry():
    fig = conv_matrix_figure(4)
    ax_t, ax_c = fig.axes[:2]
    assert ax_c.images[0].get_array().shape == (4, 16)
    assert ax_t.images[0].get_array().shape == (16, 4)
    labels = _texts(ax_c)
    assert len(labels) == 36  # 4 rows x 9 taps
    assert labels.count("$w_{11}$") == 4
    # row 0 of C is w laid over the top-left 3x3 window: w00 at column 0, w22 at column 10
    idx = np.asarray(ax_c.images[0].get_array())
    assert idx[0, 0] == 1 and idx[0, 10] == 9 and idx[0, 3] == 0


def test_conv_matrix_figure_rejects_large_input():
    with pytest.raises(ValueError, match="`input_size`"):
        conv_matrix_figure(30)


def test_im2col_figure_product_equals_conv2d():
    x = np.arange(16.0).reshape(4, 4)
    w = np.arange(9.0).reshape(3, 3) - 4
    fig = im2col_figure(x, w)
    assert "equals conv2d" in fig.axes[3].get_title()
    ref = F.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(_grid_values(fig.axes[3], (2, 2)), ref)
    with pytest.raises(ValueError, match="`weight`"):
        im2col_figure(np.ones((2, 2)), np.ones((3, 3)))
