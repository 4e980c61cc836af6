"""Tests of convlab.viz.sliding: frames, axes and the numbers drawn agree with torch and numpy."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from convlab.viz.grids import animation_html
from convlab.viz.sliding import (
    DUMOULIN_VISIN_CASES,
    all_windows_figure,
    arithmetic_cases_figure,
    conv_modes_figure,
    flip_and_slide_animation,
    sliding_window_animation,
    window_geometry,
    window_positions_figure,
)


def _numbers(ax):
    return [t.get_text().replace("\u2212", "-") for t in ax.texts]


@pytest.mark.parametrize(
    ("i", "k", "s", "p", "d"), [(4, 3, 1, 0, 1), (5, 3, 2, 1, 1), (7, 3, 1, 0, 2), (6, 2, 3, 2, 1)]
)
def test_geometry_output_equals_torch_and_the_drawn_windows(i, k, s, p, d):
    geo = window_geometry(i, k, s, p, d, seed=3)
    x = torch.tensor(geo.canvas[p : p + i, p : p + i])[None, None]
    w = torch.tensor(geo.kernel)[None, None]
    expected = torch.nn.functional.conv2d(x, w, stride=s, padding=p, dilation=d)[0, 0].numpy()
    np.testing.assert_allclose(geo.output, expected)
    # each window, read off the drawn canvas, gives its output cell
    for (r, c), value in zip(geo.starts, geo.output.ravel(), strict=True):
        patch = geo.canvas[r : r + d * (k - 1) + 1 : d, c : c + d * (k - 1) + 1 : d]
        assert (patch * geo.kernel).sum() == pytest.approx(value)


@pytest.mark.parametrize(
    ("i", "k", "s", "p", "a"), [(2, 3, 1, 0, 0), (3, 3, 2, 1, 0), (3, 3, 2, 1, 1), (2, 4, 3, 0, 0)]
)
def test_transposed_geometry_equals_torch_and_the_drawn_windows(i, k, s, p, a):
    geo = window_geometry(i, k, s, p, transposed=True, output_padding=a, seed=1)
    x = torch.tensor(geo.canvas[~geo.pad_mask].reshape(i, i))[None, None]
    w = torch.tensor(geo.kernel[::-1, ::-1].copy())[None, None]
    expected = torch.nn.functional.conv_transpose2d(x, w, stride=s, padding=p, output_padding=a)[0, 0].numpy()
    np.testing.assert_allclose(geo.output, expected)
    assert geo.output.shape[0] == (i - 1) * s - 2 * p + k + a
    for (r, c), value in zip(geo.starts, geo.output.ravel(), strict=True):
        assert (geo.canvas[r : r + k, c : c + k] * geo.kernel).sum() == pytest.approx(value)


def test_sliding_window_animation_frames_and_numbers():
    anim = sliding_window_animation(4, 3, input=np.arange(16).reshape(4, 4), weight=np.eye(3))
    assert anim.n_frames == 4
    ax_in, ax_out = anim.figure.axes
    anim.draw_frame(3)
    out = _numbers(ax_out)
    expected = torch.nn.functional.conv2d(torch.arange(16.0).reshape(1, 1, 4, 4), torch.eye(3)[None, None])[
        0, 0
    ].numpy()
    assert out == [f"{v:g}" for v in expected.ravel()]
    anim.draw_frame(0)
    assert _numbers(ax_out) == [f"{expected[0, 0]:g}"]
    assert [str(v) for v in range(16)] == [t for t in _numbers(ax_in) if len(t) <= 2][:16]
    html = animation_html(anim).data
    assert html.count("data:image/png;base64") == 4


def test_transposed_animation_has_one_frame_per_output_cell():
    anim = sliding_window_animation(2, 3, 2, 0, transposed=True, numbers_shown=False, dpi=20)
    assert anim.n_frames == 25 == window_geometry(2, 3, 2, 0, transposed=True).output.size
    assert len(anim.figure.axes) == 2
    assert animation_html(anim).data.count("data:image/png;base64") == 25  # what the page plays
    with pytest.raises(ValueError, match="`t`"):
        anim.draw_frame(25)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"i": 0, "k": 3}, ValueError, "`i`"),
        ({"i": 4, "k": 2.0}, TypeError, "`k`"),
        ({"i": 2, "k": 5}, ValueError, "kernel does not fit the padded input"),
        ({"i": 10, "k": 3}, ValueError, "`max_frames`"),
        ({"i": 4, "k": 3, "output_padding": 1}, ValueError, "`output_padding`"),
        ({"i": 4, "k": 3, "s": 2, "transposed": True, "output_padding": 2}, ValueError, "`output_padding`"),
        ({"i": 4, "k": 3, "p": 3, "transposed": True}, ValueError, "`p`"),
        ({"i": 4, "k": 3, "input": np.zeros((3, 3))}, ValueError, "`input`"),
    ],
)
def test_sliding_window_animation_rejects_bad_arguments(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        sliding_window_animation(**kwargs)


def test_flip_and_slide_frames_title_and_output():
    f, g = [1, 2, 3], [0, 1, 0.5]
    anim = flip_and_slide_animation(f, g)
    assert anim.n_frames == 5
    (ax,) = anim.figure.axes
    anim.draw_frame(4)
    expected = np.convolve(f, g)
    assert ax.get_title().endswith(f"= {expected[4]:g}")
    assert [f"{v:g}" for v in expected] == _numbers(ax)[-5 - 4 : -4]
    with pytest.raises(ValueError, match="`f`"):
        flip_and_slide_animation(np.zeros((2, 2)), g)
    with pytest.raises(ValueError, match="40"):
        flip_and_slide_animation(np.ones(30), np.ones(12))


def test_all_windows_and_positions_figures():
    fig = all_windows_figure(5, 3, 2, 1)
    assert len(fig.axes) == 2 * 9
    fig = all_windows_figure(6, 3, max_panels=5)
    assert len(fig.axes) == 10
    fig = window_positions_figure(7, 3, 2, 1, 2)
    dots = fig.axes[0].lines[0]
    assert len(dots.get_xdata()) == 9  # o = floor((7 + 2 - 5) / 2) + 1 = 3
    assert sorted(set(dots.get_xdata() - 0.5)) == [0, 2, 4]
    with pytest.raises(ValueError, match="`max_panels`"):
        all_windows_figure(5, 3, max_panels=0)


def test_conv_modes_figure_keeps_matlab_and_scipy_regions():
    x = np.arange(1, 10).reshape(3, 3)
    k = np.ones((2, 2))
    import scipy.signal

    full = scipy.signal.convolve2d(x, k)
    for same, top in (("matlab", 1), ("scipy", 0)):
        fig = conv_modes_figure(x, k, same=same)
        assert [ax.get_title().split()[0] for ax in fig.axes] == ["full", "same", "valid"]
        assert _numbers(fig.axes[0]) == [f"{v:g}" for v in full.ravel()]
        (rect,) = [p for p in fig.axes[1].patches if p.get_fill() is False]
        assert rect.get_xy() == (top, top) and rect.get_width() == 3
    if top == 0:
        np.testing.assert_allclose(scipy.signal.convolve2d(x, k, "same"), full[:3, :3])
    with pytest.raises(ValueError, match="`same`"):
        conv_modes_figure(x, k, same="numpy")
    with pytest.raises(ValueError, match="`kernel`"):
        conv_modes_figure(k, x)


@pytest.mark.parametrize("transposed", [False, True])
def test_arithmetic_cases_figure(transposed):
    fig = arithmetic_cases_figure(transposed=transposed)
    assert len(fig.axes) == 2 * len(DUMOULIN_VISIN_CASES)
    titles = [ax.get_title() for ax in fig.axes[::2]]
    for case, title in zip(DUMOULIN_VISIN_CASES, titles, strict=True):
        assert title.startswith(case.name)
    # sizes are named after the convolution: i -> o, and the transposed partner o -> i, giving
    # back the direct cases' input sizes
    into, out = ("o", "i") if transposed else ("i", "o")
    assert all(f"\n{into}=" in t and f" → {out}=" in t for t in titles), titles
    sizes = [t.rsplit(f"{out}=", 1)[1] for t in titles]
    if transposed:
        assert sizes == [str(c.i) for c in DUMOULIN_VISIN_CASES]
    with pytest.raises(TypeError, match="`transposed`"):
        arithmetic_cases_figure(transposed=1)


def _gradient_support(i, k, s, p, d, transposed, a, index):
    """Input pixels that output cell ``index`` depends on, from torch autograd (all-ones kernel)."""
    x = torch.rand(1, 1, i, i, dtype=torch.float64, requires_grad=True)
    w = torch.ones(1, 1, k, k, dtype=torch.float64)
    if transposed:
        y = torch.nn.functional.conv_transpose2d(x, w, stride=s, padding=p, output_padding=a, dilation=d)
    else:
        y = torch.nn.functional.conv2d(x, w, stride=s, padding=p, dilation=d)
    (grad,) = torch.autograd.grad(y[0, 0].flatten()[index], x)
    return [tuple(int(v) for v in rc) for rc in np.argwhere(grad[0, 0].numpy() != 0)]


@pytest.mark.parametrize(
    ("i", "k", "s", "p", "d", "transposed", "a"),
    [
        (5, 3, 2, 1, 1, False, 0),
        (7, 3, 1, 0, 2, False, 0),
        (6, 2, 3, 2, 1, False, 0),
        (3, 3, 2, 1, 1, True, 1),
        (2, 4, 3, 0, 1, True, 0),
        (3, 3, 1, 1, 2, True, 1),
    ],
)
def test_geometry_reads_exactly_the_cells_autograd_finds(i, k, s, p, d, transposed, a):
    geo = window_geometry(i, k, s, p, d, transposed=transposed, output_padding=a)
    for index in range(geo.output.size):
        assert geo.reads(index) == _gradient_support(i, k, s, p, d, transposed, a, index), index
        assert len(geo.taps(index)) == k * k
