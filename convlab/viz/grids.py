"""Annotated grids of numbers: the basic picture of inputs, kernels and outputs.

Every figure of the course that shows a small array (a signal, an image patch, a kernel, a feature
map) draws it with :func:`draw_grid`: one square per entry with its value written inside, padding
cells greyed and dashed, and optional highlighted cells. :func:`grid_figure` puts several grids in a
row with operators between them ("input ⋆ kernel = output"), and :func:`animation_html` turns a
matplotlib animation into HTML/JavaScript that plays on the static website without a kernel.

The colours follow Dumoulin & Visin's *A guide to convolution arithmetic*: blue input, green output,
a dark shaded kernel footprint, white dashed padding. They live in :data:`PALETTE` so that every
chapter uses the same ones.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation as _animation
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convlab._validate import check_array
from convlab.viz.palettes import PALETTE

__all__ = [
    "PALETTE",
    "GridArtists",
    "FrameAnimation",
    "draw_grid",
    "grid_figure",
    "animation_html",
    "new_figure",
    "grid_axes",
    "grid_row_axes",
]


_Highlight = np.ndarray | Sequence[tuple[int, int]] | tuple[int, int, int, int] | None


@dataclass
class GridArtists:
    """The matplotlib artists of one grid drawn by :func:`draw_grid`, for animations to update.

    Attributes
    ----------
    cells : numpy.ndarray of matplotlib.patches.Rectangle
        One square per entry, indexed like the array.
    texts : numpy.ndarray of matplotlib.text.Text or None
        The value written in each cell (``None`` where nothing is written).
    highlights : list of matplotlib.patches.Rectangle
        The outlines drawn for ``highlight``.
    """

    cells: np.ndarray
    texts: np.ndarray
    highlights: list = field(default_factory=list)


class _Figure(Figure):
    """A figure that shows itself as a PNG when a notebook cell returns it (no pyplot needed)."""

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def new_figure(width: float, height: float, *, dpi: float = 100) -> Figure:
    """A figure that is not registered with pyplot, so it is shown only when a cell returns it.

    Parameters
    ----------
    width, height : float
        Size in inches (positive).
    dpi : float, default 100
        Resolution of the rendered image.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a size or ``dpi`` is not positive.

    Examples
    --------
    >>> fig = new_figure(3, 2)
    >>> [round(v) for v in fig.get_size_inches()]
    [3, 2]
    """
    for name, value in (("width", width), ("height", height), ("dpi", dpi)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
            raise ValueError(f"`{name}` must be a positive number; got {name}={value!r}")
    return _Figure(figsize=(width, height), dpi=dpi, layout=None)


def _text_color(face) -> str:
    """Black on light cells, white on dark cells (relative luminance)."""
    r, g, b = to_rgb(face)
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def _formatter(fmt: str | Callable[[float], str] | None, values: np.ndarray) -> Callable[[float], str]:
    if callable(fmt):
        return fmt
    if fmt is None:
        finite = values[np.isfinite(values)]
        if finite.size == 0 or np.all(finite == np.round(finite)):
            fmt = "{:.0f}"
        else:
            fmt = "{:.2f}"
    if not isinstance(fmt, str):
        raise TypeError(f"`fmt` must be a format string such as '{{:.2f}}' or a callable; got fmt={fmt!r}")
    try:
        fmt.format(1.5)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(
            f"`fmt` must be a format string such as '{{:.2f}}'; got fmt={fmt!r} ({exc})"
        ) from None

    def format_value(value: float) -> str:
        text = fmt.format(value)
        return "0" if text in ("-0", "-0.0", "-0.00") else text.replace("-", "\u2212")

    return format_value


def _highlight_mask(highlight: _Highlight, shape: tuple[int, int]) -> tuple[np.ndarray | None, tuple | None]:
    """Split ``highlight`` into a boolean cell mask or a (row, col, height, width) rectangle."""
    if highlight is None:
        return None, None
    if (
        isinstance(highlight, tuple)
        and len(highlight) == 4
        and all(isinstance(v, numbers.Integral) for v in highlight)
    ):
        r, c, h, w = (int(v) for v in highlight)
        if h < 1 or w < 1:
            raise ValueError(
                f"`highlight` rectangle (row, col, height, width) needs height, width >= 1; got {highlight}"
            )
        return None, (r, c, h, w)
    arr = np.asarray(highlight)
    if arr.dtype == bool:
        if arr.shape != shape:
            raise ValueError(
                f"`highlight` mask must have the shape of `array` {shape}; got shape {arr.shape}"
            )
        return arr, None
    if arr.ndim == 2 and arr.shape[1] == 2 and np.issubdtype(arr.dtype, np.integer):
        mask = np.zeros(shape, dtype=bool)
        for r, c in arr:
            if not (0 <= r < shape[0] and 0 <= c < shape[1]):
                raise ValueError(f"`highlight` cell ({r}, {c}) lies outside an array of shape {shape}")
            mask[r, c] = True
        return mask, None
    raise TypeError(
        "`highlight` must be None, a boolean mask, a list of (row, col) cells or a "
        f"(row, col, height, width) rectangle; got highlight={highlight!r}"
    )


def _padding_mask(padding, padding_mask, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    if padding_mask is not None:
        pm = np.asarray(padding_mask)
        if pm.dtype != bool or pm.shape != shape:
            raise ValueError(
                f"`padding_mask` must be a boolean array of the shape of `array` {shape}; "
                f"got dtype {pm.dtype}, shape {pm.shape}"
            )
        mask |= pm
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        padding = (padding, padding)
    if (
        not isinstance(padding, tuple)
        or len(padding) != 2
        or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0 for p in padding)
    ):
        raise ValueError(
            f"`padding` must be a non-negative integer or a pair of them; got padding={padding!r}"
        )
    ph, pw = padding
    if (ph and 2 * ph >= shape[0]) or (pw and 2 * pw >= shape[1]):
        raise ValueError(f"`padding` {padding} leaves no inner cell in an array of shape {shape}")
    if ph:
        mask[:ph] = mask[-ph:] = True
    if pw:
        mask[:, :pw] = mask[:, -pw:] = True
    return mask


def _check_placement(alpha: object, origin: object) -> None:
    """``alpha`` in [0, 1] and ``origin`` a pair of numbers, for :func:`draw_grid`."""
    if not (isinstance(alpha, numbers.Real) and 0 <= alpha <= 1):
        raise ValueError(f"`alpha` must be a number in [0, 1]; got alpha={alpha!r}")
    if (
        not isinstance(origin, (tuple, list))
        or len(origin) != 2
        or not all(isinstance(v, numbers.Real) for v in origin)
    ):
        raise ValueError(f"`origin` must be a pair (row, col) of numbers; got origin={origin!r}")


def _auto_fontsize(format_value: Callable[[float], str], values: np.ndarray) -> float:
    """11 points for short numbers, smaller for long ones and for grids wider than 10 cells."""
    longest = max((len(format_value(v)) for v in values[np.isfinite(values)]), default=1)
    fontsize = 11 if longest <= 2 else 9 if longest <= 4 else 7
    return fontsize - (0 if values.shape[1] <= 10 else 2)


def _cell_style(value: float, is_pad: bool, color, colormap, lo: float, hi: float) -> tuple:
    """``(face, edge, linestyle)`` of one cell: padding, not yet computed, one colour, or by value."""
    if is_pad:
        return PALETTE["padding"], PALETTE["padding_edge"], "--"
    if not np.isfinite(value):
        return PALETTE["empty"], PALETTE["edge"], "-"
    if color is not None:
        return color, PALETTE["edge"], "-"
    t = 0.5 if hi == lo else (value - lo) / (hi - lo)
    return colormap(0.15 + 0.7 * float(np.clip(t, 0, 1))), PALETTE["edge"], "-"


def draw_grid(
    ax: Axes,
    array,
    *,
    title: str | None = None,
    color: str | None = None,
    cmap: str = "Blues",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = True,
    fmt: str | Callable[[float], str] | None = None,
    fontsize: float | None = None,
    highlight: _Highlight = None,
    highlight_color: str = PALETTE["highlight"],
    padding: int | tuple[int, int] = 0,
    padding_mask=None,
    origin: tuple[float, float] = (0, 0),
    alpha: float = 1.0,
    zorder: float = 1,
) -> GridArtists:
    """Draw a 1-D or 2-D array as a grid of annotated squares.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw. The axes gets equal aspect, no ticks, and the y axis pointing down (row 0 on
        top), so several grids can share one axes through ``origin``.
    array : array_like, 1-D or 2-D
        The values. A 1-D array is drawn as one row. ``NaN`` entries are drawn as empty white cells
        with no number (an output not computed yet, in an animation).
    title : str, optional
        Axes title.
    color : str, optional
        One face colour for every cell (e.g. ``PALETTE["input"]``). When ``None`` the cells are
        coloured by value with ``cmap``.
    cmap : str, default "Blues"
        Colormap used when ``color`` is ``None``.
    vmin, vmax : float, optional
        Colour limits for ``cmap`` (default: the finite minimum and maximum of ``array``).
    annotate : bool, default True
        Write each value in its cell.
    fmt : str or callable, optional
        Format of the written values, a :meth:`str.format` pattern such as ``"{:.1f}"`` or a function
        of one float. Default: integers when every value is integral, else two decimals.
    fontsize : float, optional
        Size of the written values (default: 11, smaller for wide grids).
    highlight : optional
        Cells to emphasise: a boolean mask of ``array``'s shape or a list of ``(row, col)`` cells
        (each gets a thick outline), or a rectangle ``(row, col, height, width)`` (one outline
        around it; it may extend beyond the array).
    highlight_color : str, default ``PALETTE["highlight"]``
        Colour of the highlight outlines.
    padding : int or (int, int), default 0
        Width of a border of padding cells (rows, columns), drawn grey with dashed edges.
    padding_mask : array_like of bool, optional
        Further padding cells anywhere in the grid (e.g. the zeros inserted by a transposed
        convolution), drawn like the border.
    origin : (float, float), default (0, 0)
        Position (row, column) of the top-left cell in data coordinates, to place a grid on top of
        or beside another one on the same axes.
    alpha : float, default 1.0
        Opacity of the cells' faces.
    zorder : float, default 1
        Drawing order of the cells (texts and outlines are drawn above).

    Returns
    -------
    GridArtists
        The patches and texts drawn, indexed like ``array``, for animations to update.

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes, ``array`` is not numeric, or ``highlight``/``fmt`` have
        the wrong type.
    ValueError
        If ``array`` is not 1-D or 2-D, or ``padding``, ``padding_mask``, ``highlight``, ``alpha`` or
        ``origin`` is invalid.

    See Also
    --------
    matplotlib.axes.Axes.matshow : a coloured grid without numbers.
    grid_figure : several labelled grids in a row with operators between them.

    Notes
    -----
    Cell :math:`(r, c)` occupies the unit square
    :math:`[o_c + c, o_c + c + 1] \\times [o_r + r, o_r + r + 1]` for ``origin`` :math:`(o_r, o_c)`,
    so a kernel drawn with ``origin=(i, j)`` covers exactly the input cells it multiplies.

    Examples
    --------
    >>> fig = new_figure(2, 2)
    >>> ax = fig.add_subplot()
    >>> artists = draw_grid(ax, [[1, 2], [3, 4]], padding=0)
    >>> [t.get_text() for t in artists.texts.ravel()]
    ['1', '2', '3', '4']
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes; got {type(ax).__name__}")
    values = check_array(array, "array", ndim=(1, 2)).astype(float)
    if values.ndim == 1:
        values = values[None, :]
    shape = values.shape
    _check_placement(alpha, origin)
    pad = _padding_mask(padding, padding_mask, shape)
    mask, rect = _highlight_mask(highlight, shape)
    format_value = _formatter(fmt, values)
    if fontsize is None:
        fontsize = _auto_fontsize(format_value, values)

    finite = values[np.isfinite(values) & ~pad]
    lo = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
    hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
    colormap = plt.get_cmap(cmap)
    r0, c0 = float(origin[0]), float(origin[1])

    cells = np.empty(shape, dtype=object)
    texts = np.full(shape, None, dtype=object)
    for (r, c), value in np.ndenumerate(values):
        face, edge, style = _cell_style(value, pad[r, c], color, colormap, lo, hi)
        patch = Rectangle(
            (c0 + c, r0 + r), 1, 1, facecolor=face, edgecolor=edge, linestyle=style,
            linewidth=1.0, alpha=alpha, zorder=zorder,
        )  # fmt: skip
        ax.add_patch(patch)
        cells[r, c] = patch
        if annotate and np.isfinite(value):
            texts[r, c] = ax.text(
                c0 + c + 0.5, r0 + r + 0.5, format_value(value), ha="center", va="center",
                fontsize=fontsize, color=PALETTE["padding_text"] if pad[r, c] else _text_color(face),
                zorder=zorder + 2,
            )  # fmt: skip

    boxes = [] if mask is None else [(r, c, 1, 1) for r, c in zip(*np.nonzero(mask), strict=True)]
    boxes += [] if rect is None else [tuple(rect)]
    outlines = [
        Rectangle(
            (c0 + c, r0 + r), w, h, fill=False, edgecolor=highlight_color, linewidth=2.5, zorder=zorder + 3
        )
        for r, c, h, w in boxes
    ]
    for patch in outlines:
        ax.add_patch(patch)

    _finish_axes(ax)
    if title is not None:
        ax.set_title(title, fontsize=12)
    return GridArtists(cells=cells, texts=texts, highlights=outlines)


def grid_axes(fig: Figure, x: float, y: float, shape: tuple[int, int], cell: float) -> Axes:
    """Axes for a grid of ``shape`` cells of ``cell`` inches, lower-left corner at ``(x, y)`` inches.

    Every figure of :mod:`convlab.viz` places its grids with this function (directly or through
    :func:`grid_row_axes`), so all grids of a figure share one scale in inches.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; its size in inches fixes the conversion to figure fractions.
    x, y : float
        Lower-left corner, inches from the figure's lower-left corner.
    shape : (int, int)
        ``(rows, columns)`` of the grid.
    cell : float
        Side of one cell in inches, > 0.

    Returns
    -------
    matplotlib.axes.Axes
        ``shape[1] * cell`` inches wide and ``shape[0] * cell`` inches high.

    Raises
    ------
    ValueError
        If ``cell`` is not positive.

    See Also
    --------
    grid_row_axes : a figure with a row of such axes.

    Examples
    --------
    >>> fig = new_figure(4, 2, dpi=20)
    >>> ax = grid_axes(fig, 0.5, 0.25, (3, 5), 0.25)
    >>> tuple(float(v) for v in ax.get_position().bounds)
    (0.125, 0.125, 0.3125, 0.375)
    """
    if not (isinstance(cell, numbers.Real) and cell > 0):
        raise ValueError(f"`cell` must be a positive number of inches; got cell={cell!r}")
    width, height = fig.get_size_inches()
    rows, cols = shape
    return fig.add_axes((x / width, y / height, cols * cell / width, rows * cell / height))


def grid_row_axes(
    shapes: Sequence[tuple[int, int]],
    *,
    cell: float,
    gap: float,
    top: float,
    bottom: float,
    margin: float,
    min_width: float = 0.0,
    align: str = "center",
    dpi: float = 80,
):
    """A figure with one bare axes per grid shape, in a row, all at the same scale (``cell`` inches).

    Parameters
    ----------
    shapes : sequence of (int, int)
        ``(rows, columns)`` of each grid, left to right.
    cell : float
        Side of one cell, inches.
    gap : float
        Inches between neighbouring slots.
    top, bottom : float
        Inches above (room for titles) and below the tallest grid.
    margin : float
        Inches left free at the left and the right.
    min_width : float, optional
        Each grid sits in a slot at least this many cells wide (room for its title).
    align : {"center", "start"}, optional
        ``"center"``: each grid centred in its slot and vertically; ``"start"``: at the slot's
        left edge and on the bottom line.
    dpi : float, optional

    Returns
    -------
    (matplotlib.figure.Figure, list of matplotlib.axes.Axes)

    Raises
    ------
    ValueError
        If ``align`` is not one of the two choices.

    See Also
    --------
    grid_axes : one grid's axes at a given place.
    grid_figure : grids with operators between them.

    Examples
    --------
    >>> fig, axes = grid_row_axes([(3, 3), (5, 5)], cell=0.3, gap=0.5, top=0.4, bottom=0.1, margin=0.2)
    >>> len(axes), [float(round(v, 2)) for v in fig.get_size_inches()]
    (2, [3.3, 2.0])
    """
    if align not in ("center", "start"):
        raise ValueError(f"`align` must be one of 'center', 'start'; got align={align!r}")
    widths = [max(w, min_width) * cell for _, w in shapes]
    rows = max(h for h, _ in shapes)
    fig_w = sum(widths) + gap * (len(shapes) - 1) + 2 * margin
    fig_h = rows * cell + top + bottom
    fig = new_figure(fig_w, fig_h, dpi=dpi)
    axes, x0 = [], margin
    centred = align == "center"
    for (h, w), width in zip(shapes, widths, strict=True):
        y = bottom + (rows - h) * cell / 2 if centred else bottom
        x = x0 + (width - w * cell) / 2 if centred else x0
        ax = grid_axes(fig, x, y, (h, w), cell)
        ax.set_axis_off()
        axes.append(ax)
        x0 += width + gap
    return fig, axes


_row_axes = grid_row_axes  # the name the figure modules used before it was public


def _finish_axes(ax: Axes) -> None:
    """Equal aspect, no ticks or spines, limits around everything drawn, row 0 on top."""
    x0, y0, x1, y1 = ax.dataLim.extents
    margin = 0.08
    ax.set_xlim(x0 - margin, x1 + margin)
    ax.set_ylim(y1 + margin, y0 - margin)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def grid_figure(
    arrays: Mapping[str, object],
    *,
    operators: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    grid_kwargs: Mapping[str, Mapping] | None = None,
    cell_size: float = 0.42,
    suptitle: str | None = None,
    dpi: float = 100,
) -> Figure:
    """A row of labelled grids with operators between them, e.g. "input ⋆ kernel = output".

    Parameters
    ----------
    arrays : dict of str to array_like
        The grids to draw, left to right; each key is the title above its grid.
    operators : sequence of str, optional
        The ``len(arrays) - 1`` symbols written between neighbouring grids. Default: ``"∗"``
        between all but the last pair and ``"="`` before the last grid.
    colors : dict of str to str, optional
        Flat face colour per title (missing titles are coloured by value with a colormap).
    grid_kwargs : dict of str to dict, optional
        Extra keyword arguments of :func:`draw_grid` per title (``highlight``, ``padding``, ...).
    cell_size : float, default 0.42
        Size of one cell in inches.
    suptitle : str, optional
        A title over the whole figure.
    dpi : float, default 100
        Resolution of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per array, in the order given.

    Raises
    ------
    TypeError
        If ``arrays`` is not a mapping.
    ValueError
        If ``arrays`` is empty, ``operators`` has the wrong length, a key of ``colors`` or
        ``grid_kwargs`` names no array, or ``cell_size`` is not positive.

    See Also
    --------
    draw_grid : one grid.

    Notes
    -----
    The grids share one scale (``cell_size`` inches per cell), so a :math:`2 \\times 2` input and the
    :math:`4 \\times 4` result of its full convolution with a :math:`3 \\times 3` kernel look their
    true relative sizes.

    Examples
    --------
    >>> fig = grid_figure({"f": [1, 2, 3], "g": [0, 1], "f ∗ g": [0, 1, 2, 3]})
    >>> len(fig.axes)
    3
    """
    if not isinstance(arrays, Mapping):
        raise TypeError(f"`arrays` must be a dict of title -> array; got {type(arrays).__name__}")
    if len(arrays) == 0:
        raise ValueError("`arrays` must hold at least one array; got an empty dict")
    n = len(arrays)
    if operators is None:
        operators = ["\u2217"] * (n - 2) + ["="] if n >= 2 else []
    operators = list(operators)
    if len(operators) != n - 1:
        raise ValueError(
            f"`operators` must have len(arrays) - 1 = {n - 1} entries; got {len(operators)}: {operators!r}"
        )
    colors = dict(colors or {})
    grid_kwargs = dict(grid_kwargs or {})
    for name, mapping in (("colors", colors), ("grid_kwargs", grid_kwargs)):
        unknown = set(mapping) - set(arrays)
        if unknown:
            raise ValueError(f"`{name}` names no array: {sorted(unknown)}; arrays are {list(arrays)}")
    if not (isinstance(cell_size, numbers.Real) and cell_size > 0):
        raise ValueError(f"`cell_size` must be a positive number; got cell_size={cell_size!r}")

    shapes = []
    for title, value in arrays.items():
        arr = check_array(value, f"arrays[{title!r}]", ndim=(1, 2))
        shapes.append(arr.shape if arr.ndim == 2 else (1, arr.shape[0]))
    gap = 0.8  # inches between grids, where the operator goes
    widths = [w * cell_size for _, w in shapes]
    height_cells = max(h for h, _ in shapes)
    top, bottom = 0.5 if suptitle is None else 0.85, 0.1
    fig_w = sum(widths) + gap * (n - 1) + 0.3
    fig_h = height_cells * cell_size + top + bottom
    fig = new_figure(fig_w, fig_h, dpi=dpi)
    x = 0.15
    centers = []
    for (title, value), (h, _w), width in zip(arrays.items(), shapes, widths, strict=True):
        height = h * cell_size
        y = bottom + (height_cells * cell_size - height) / 2
        ax = grid_axes(fig, x, y, (h, _w), cell_size)
        kwargs = {"color": colors.get(title), **grid_kwargs.get(title, {})}
        draw_grid(ax, value, **kwargs)
        ax.set_title(title, fontsize=12)
        centers.append((x, x + width))
        x += width + gap
    y_mid = (bottom + height_cells * cell_size / 2) / fig_h
    for op, (left, right) in zip(operators, zip(centers[:-1], centers[1:], strict=True), strict=True):
        fig.text((left[1] + right[0]) / 2 / fig_w, y_mid, op, ha="center", va="center", fontsize=20)
    if suptitle is not None:
        fig.suptitle(suptitle, fontsize=13, y=1 - 0.15 / fig_h, va="top")
    return fig


# matplotlib's player links Font Awesome from a CDN for its button icons. The course website
# already ships Font Awesome, so the player only fetches the stylesheet where the page has none
# (Jupyter, Colab): the static site then makes no third-party request.
_FONT_AWESOME_LINK = re.compile(r'<link rel="stylesheet"\s+href="(https://[^"]*font-awesome[^"]*)">')
_FONT_AWESOME_LOADER = r"""<script>
(function () {
  if (!document.querySelector('script[src*="fontawesome"], link[href*="font-awesome"]')) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "\1";
    document.head.appendChild(link);
  }
})();
</script>"""


class FrameAnimation(_animation.FuncAnimation):
    """A :class:`~matplotlib.animation.FuncAnimation` whose figure, frame count and frames are public.

    Every animation of :mod:`convlab.viz` is one, so that a page or a test can draw any frame and
    read the figure without reaching into matplotlib's private attributes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure the frames are drawn on.
    draw : callable
        ``draw(t)`` draws frame ``t`` (``0 <= t < n_frames``) and returns the changed artists.
    n_frames : int
        Number of frames, >= 1.
    interval : int, optional
        Milliseconds between frames when played.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
    n_frames : int

    See Also
    --------
    animation_html : the player the chapters embed.

    Examples
    --------
    >>> fig = new_figure(1, 1, dpi=20)
    >>> anim = FrameAnimation(fig, lambda t: [], 3)
    >>> anim.n_frames, anim.figure is fig
    (3, True)
    """

    def __init__(
        self, fig: Figure, draw: Callable[[int], object], n_frames: int, interval: int = 200
    ) -> None:
        super().__init__(fig, draw, frames=n_frames, interval=interval, blit=False)
        self.figure = fig
        self.n_frames = n_frames
        self._draw_frame_function = draw

    def draw_frame(self, t: int) -> object:
        """Draw frame ``t`` on ``figure`` (as the player would) and return what ``draw`` returns."""
        if not 0 <= t < self.n_frames:
            raise ValueError(f"`t` must be a frame index in [0, {self.n_frames}); got t={t!r}")
        return self._draw_frame_function(t)


def animation_html(anim, *, fps: float | None = None, embed_limit_mb: float = 20.0, loop: bool = True):
    """Render a matplotlib animation as self-contained HTML/JavaScript and close its figure.

    The frames are embedded as PNG images in a small JavaScript player
    (:meth:`matplotlib.animation.Animation.to_jshtml`), so the animation plays on the static
    website with no kernel. The figure is closed afterwards, so the notebook does not also show it
    as a static image.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
        The animation, e.g. a :class:`~matplotlib.animation.FuncAnimation`.
    fps : float, optional
        Frames per second of the player (default: the animation's own interval).
    embed_limit_mb : float, default 20.0
        Largest size of the embedded frames in MB; matplotlib stops embedding beyond it.
    loop : bool, default True
        Whether the player starts in "loop" mode (else "once").

    Returns
    -------
    IPython.display.HTML
        Displayed by Jupyter when it is the last expression of a cell.

    Raises
    ------
    TypeError
        If ``anim`` is not a matplotlib animation.
    ValueError
        If ``fps`` or ``embed_limit_mb`` is not positive.

    See Also
    --------
    matplotlib.animation.Animation.to_jshtml : the renderer used.

    Notes
    -----
    The page weight is roughly :math:`n_\\text{frames} \\times` the PNG size of one frame (times
    4/3 for base64); keep animations to at most 40 frames at about 70 dpi.

    Examples
    --------
    >>> from matplotlib.animation import FuncAnimation
    >>> fig = new_figure(1, 1, dpi=20)
    >>> ax = fig.add_subplot()
    >>> anim = FuncAnimation(fig, lambda i: [], frames=2)
    >>> "<script" in animation_html(anim).data
    True
    """
    from IPython.display import HTML

    if not isinstance(anim, _animation.Animation):
        raise TypeError(f"`anim` must be a matplotlib.animation.Animation; got {type(anim).__name__}")
    if fps is not None and not (isinstance(fps, numbers.Real) and not isinstance(fps, bool) and fps > 0):
        raise ValueError(f"`fps` must be a positive number; got fps={fps!r}")
    if not (isinstance(embed_limit_mb, numbers.Real) and embed_limit_mb > 0):
        raise ValueError(f"`embed_limit_mb` must be a positive number; got embed_limit_mb={embed_limit_mb!r}")
    fig = anim.figure if isinstance(anim, FrameAnimation) else anim._fig  # matplotlib keeps it private
    with plt.rc_context({"animation.embed_limit": float(embed_limit_mb)}):
        html = anim.to_jshtml(fps=fps, default_mode="loop" if loop else "once")
    plt.close(fig)
    return HTML(_FONT_AWESOME_LINK.sub(_FONT_AWESOME_LOADER, html, count=1))
