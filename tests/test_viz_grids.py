"""Tests of convlab.viz.grids: the numbers drawn are the numbers given, arguments are validated."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from convlab.viz.grids import PALETTE, animation_html, draw_grid, grid_figure, new_figure


def _ax():
    return new_figure(3, 3).add_subplot()


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_draw_grid_writes_every_value_in_row_major_order():
    ax = _ax()
    arr = np.array([[1, -2, 3], [4, 5, -6]])
    artists = draw_grid(ax, arr)
    assert artists.cells.shape == (2, 3)
    assert _texts(ax) == ["1", "\u22122", "3", "4", "5", "\u22126"]
    # each text sits in the centre of its cell, row 0 on top
    x, y = artists.texts[1, 2].get_position()
    assert (x, y) == (2.5, 1.5)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]


def test_draw_grid_float_format_and_nan_cells():
    ax = _ax()
    artists = draw_grid(ax, [0.5, np.nan, 1.25])
    assert _texts(ax) == ["0.50", "1.25"]
    assert artists.texts[0, 1] is None
    ax = _ax()
    draw_grid(ax, [0.5, 1.0], fmt="{:.1f}")
    assert _texts(ax) == ["0.5", "1.0"]
    ax = _ax()
    draw_grid(ax, [3, 4], fmt=lambda v: f"<{v:g}>")
    assert _texts(ax) == ["<3>", "<4>"]


def test_draw_grid_annotate_false_draws_no_text():
    ax = _ax()
    draw_grid(ax, np.ones((2, 2)), annotate=False)
    assert len(ax.texts) == 0
    assert len(ax.patches) == 4


def test_padding_cells_are_grey_and_dashed():
    ax = _ax()
    artists = draw_grid(ax, np.pad(np.ones((2, 2)), 1), padding=1, color=PALETTE["input"])
    border = artists.cells[0, 0]
    inner = artists.cells[1, 1]
    assert border.get_linestyle() == "--"
    assert inner.get_linestyle() == "-"
    assert matplotlib.colors.to_hex(border.get_facecolor()) == PALETTE["padding"]
    assert matplotlib.colors.to_hex(inner.get_facecolor()) == PALETTE["input"]
    mask = np.zeros((2, 3), dtype=bool)
    mask[0, 1] = True
    artists = draw_grid(_ax(), np.zeros((2, 3)), padding_mask=mask)
    assert artists.cells[0, 1].get_linestyle() == "--"
    assert artists.cells[0, 0].get_linestyle() == "-"


def test_highlight_forms():
    artists = draw_grid(_ax(), np.zeros((3, 3)), highlight=(0, 1, 2, 2))
    (rect,) = artists.highlights
    assert rect.get_xy() == (1.0, 0.0) and rect.get_width() == 2 and rect.get_height() == 2
    artists = draw_grid(_ax(), np.zeros((3, 3)), highlight=[(0, 0), (2, 1)])
    assert sorted(p.get_xy() for p in artists.highlights) == [(0.0, 0.0), (1.0, 2.0)]
    artists = draw_grid(_ax(), np.zeros((3, 3)), highlight=np.eye(3, dtype=bool))
    assert len(artists.highlights) == 3


def test_origin_places_a_grid_over_another():
    ax = _ax()
    draw_grid(ax, np.zeros((4, 4)))
    artists = draw_grid(ax, np.ones((2, 2)), origin=(1, 2))
    assert artists.cells[0, 0].get_xy() == (2.0, 1.0)
    assert ax.get_xlim()[0] < 0 < 4 < ax.get_xlim()[1]


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"array": np.zeros((2, 2, 2))}, ValueError, "array"),
        ({"array": "abc"}, TypeError, "array"),
        ({"padding": -1}, ValueError, "padding"),
        ({"padding": 2}, ValueError, "padding"),
        ({"padding_mask": np.zeros((3, 3))}, ValueError, "padding_mask"),
        ({"highlight": "x"}, TypeError, "highlight"),
        ({"highlight": [(5, 5)]}, ValueError, "highlight"),
        ({"highlight": np.zeros((2, 2), dtype=bool)}, ValueError, "highlight"),
        ({"fmt": 3}, TypeError, "fmt"),
        ({"fmt": "{:q}"}, ValueError, "fmt"),
        ({"alpha": 2}, ValueError, "alpha"),
        ({"origin": (1,)}, ValueError, "origin"),
    ],
)
def test_draw_grid_rejects_bad_arguments(kwargs, exc, name):
    kwargs = {"array": np.zeros((3, 3)), **kwargs}
    with pytest.raises(exc, match=f"`{name}`"):
        draw_grid(_ax(), **kwargs)


def test_draw_grid_rejects_non_axes():
    with pytest.raises(TypeError, match="`ax`"):
        draw_grid("not axes", np.zeros((2, 2)))


def test_grid_figure_axes_titles_operators_and_numbers():
    fig = grid_figure({"input": [[1, 2], [3, 4]], "kernel": [[1]], "output": [[1, 2], [3, 4]]})
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["input", "kernel", "output"]
    assert [t.get_text() for t in fig.texts] == ["\u2217", "="]
    assert _texts(fig.axes[0]) == ["1", "2", "3", "4"]
    fig = grid_figure({"a": [1], "b": [2]}, operators=["\u22c6"], suptitle="s")
    assert [t.get_text() for t in fig.texts] == ["\u22c6", "s"]
    # grids share one scale: a 4-wide grid is twice as wide as a 2-wide one
    fig = grid_figure({"a": np.zeros((1, 4)), "b": np.zeros((1, 2))})
    w0, w1 = (ax.get_position(original=True).width for ax in fig.axes)
    assert w0 == pytest.approx(2 * w1)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "name"),
    [
        (([1, 2],), {}, TypeError, "arrays"),
        (({},), {}, ValueError, "arrays"),
        (({"a": [1], "b": [2]},), {"operators": ["+", "="]}, ValueError, "operators"),
        (({"a": [1]},), {"colors": {"z": "red"}}, ValueError, "colors"),
        (({"a": [1]},), {"grid_kwargs": {"z": {}}}, ValueError, "grid_kwargs"),
        (({"a": [1]},), {"cell_size": 0}, ValueError, "cell_size"),
        (({"a": np.zeros((1, 1, 1))},), {}, ValueError, "arrays"),
    ],
)
def test_grid_figure_rejects_bad_arguments(args, kwargs, exc, name):
    with pytest.raises(exc, match=f"`{name}"):
        grid_figure(*args, **kwargs)


def test_animation_html_embeds_every_frame_and_closes_the_figure():
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1), dpi=20)
    anim = FuncAnimation(fig, lambda i: [], frames=3)
    html = animation_html(anim, fps=2).data
    assert html.count("data:image/png;base64") == 3
    assert "loop_select" in html or "loop" in html
    assert not plt.fignum_exists(fig.number)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [({"fps": 0}, ValueError, "fps"), ({"embed_limit_mb": -1}, ValueError, "embed_limit_mb")],
)
def test_animation_html_rejects_bad_arguments(kwargs, exc, name):
    fig = new_figure(1, 1, dpi=20)
    anim = FuncAnimation(fig, lambda i: [], frames=1)
    with pytest.raises(exc, match=f"`{name}`"):
        animation_html(anim, **kwargs)


def test_animation_html_rejects_non_animations():
    with pytest.raises(TypeError, match="`anim`"):
        animation_html(new_figure(1, 1))


def test_new_figure_rejects_bad_size():
    with pytest.raises(ValueError, match="`width`"):
        new_figure(0, 1)


def test_animation_html_makes_no_third_party_request_on_the_course_site():
    """The player's icon stylesheet is fetched only by pages without Font Awesome (Jupyter, Colab)."""
    import re

    from matplotlib.animation import FuncAnimation

    from convlab.viz import animation_html, new_figure

    fig = new_figure(1, 1, dpi=20)
    fig.add_subplot()
    html = animation_html(FuncAnimation(fig, lambda i: [], frames=2)).data
    assert not re.search(r"<link[^>]+https://", html)
    assert 'querySelector(\'script[src*="fontawesome"]' in html
    assert "font-awesome.min.css" in html
