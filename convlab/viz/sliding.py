"""The sliding window, drawn from convlab's own results.

Animations and figures of chapters 1, 2 and 4 in the style of Dumoulin & Visin's *conv_arithmetic*: the
input in blue, zero padding (and the zeros a transposed convolution inserts) grey and dashed, the
kernel's footprint shaded dark, the output in green. Every number shown is computed by
:mod:`convlab.signal` or :mod:`convlab.functional`, so a picture cannot disagree with the code.

- :func:`flip_and_slide_animation`: 1-D convolution as "flip the kernel, slide it, sum products";
- :func:`sliding_window_animation`: a 2-D (transposed) convolution for any ``(i, k, s, p, d)``;
- :func:`all_windows_figure`: every window position as small multiples (a static animation);
- :func:`window_positions_figure`: one window, the start of every other one, and the output;
- :func:`conv_modes_figure`: which part of the full convolution ``full``/``same``/``valid`` keep;
- :func:`arithmetic_cases_figure`: the six cases of Dumoulin & Visin, direct or transposed.

The geometry they draw (:func:`window_geometry`: the drawn grid, every window, the output) is
computed in :mod:`convlab.viz.windows`; this module only draws it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convlab._validate import check_array, check_choice, check_int
from convlab.arithmetic import _extent, _mode_window
from convlab.viz.grids import FrameAnimation, draw_grid, grid_axes, new_figure
from convlab.viz.palettes import PALETTE
from convlab.viz.windows import DUMOULIN_VISIN_CASES, ArithmeticCase, WindowGeometry, window_geometry

__all__ = [
    "ArithmeticCase",
    "DUMOULIN_VISIN_CASES",
    "window_geometry",
    "flip_and_slide_animation",
    "sliding_window_animation",
    "all_windows_figure",
    "window_positions_figure",
    "conv_modes_figure",
    "arithmetic_cases_figure",
]


_FOOTPRINT_ALPHA = 0.55


def _footprint(ax, start, kernel, d, *, numbers_shown: bool) -> None:
    """Shade the cells under the (dilated) kernel and write the weights in their corners."""
    r0, c0 = start
    k = kernel.shape[0]
    for (a, b), weight in np.ndenumerate(kernel):
        r, c = r0 + d * a, c0 + d * b
        ax.add_patch(
            Rectangle(
                (c, r),
                1,
                1,
                facecolor=PALETTE["footprint"],
                alpha=_FOOTPRINT_ALPHA,
                edgecolor="none",
                zorder=2,
            )
        )
        if numbers_shown:
            text = f"{weight:g}".replace("-", "\u2212")
            ax.text(
                c + 0.93,
                r + 0.93,
                text,
                ha="right",
                va="bottom",
                fontsize=7,
                color=PALETTE["weight_text"],
                fontweight="bold",
                zorder=4,
            )
    span = _extent(k, d)
    ax.add_patch(
        Rectangle((c0, r0), span, span, fill=False, edgecolor=PALETTE["footprint"], linewidth=2, zorder=5)
    )


def _draw_input(ax_in, geo: WindowGeometry, index: int, *, numbers_shown: bool) -> None:
    """The drawn input (padding, inserted zeros) with the window of output cell ``index``."""
    draw_grid(
        ax_in,
        geo.canvas,
        color=PALETTE["input"],
        padding_mask=geo.pad_mask,
        annotate=numbers_shown,
        fmt="{:.0f}",
    )
    _footprint(ax_in, geo.starts[index], geo.kernel, geo.dilation, numbers_shown=numbers_shown)
    ax_in.set_xlim(-0.1, geo.canvas.shape[1] + 0.1)
    ax_in.set_ylim(geo.canvas.shape[0] + 0.1, -0.1)


def _draw_output(ax_out, geo: WindowGeometry, index: int, *, numbers_shown: bool) -> None:
    """The output computed up to cell ``index`` (later cells empty), cell ``index`` outlined."""
    shown = geo.output.astype(float).copy()
    shown.ravel()[index + 1 :] = np.nan
    r, c = divmod(index, geo.output.shape[1])
    draw_grid(ax_out, shown, color=PALETTE["output"], annotate=numbers_shown, fmt="{:g}", highlight=[(r, c)],
              highlight_color=PALETTE["footprint"])  # fmt: skip


def _draw_frame(ax_in, ax_out, geo: WindowGeometry, index: int, *, numbers_shown: bool) -> None:
    """One animation frame: the previous frame is cleared, then input and output are drawn."""
    ax_in.clear()
    ax_out.clear()
    _draw_input(ax_in, geo, index, numbers_shown=numbers_shown)
    _draw_output(ax_out, geo, index, numbers_shown=numbers_shown)


def _two_panel_figure(geo: WindowGeometry, cell: float, dpi: float, title_space: float = 0.55):
    n_in, n_out = geo.canvas.shape[0], geo.output.shape[0]
    gap = 0.6
    width = (n_in + n_out) * cell + gap + 0.3
    height = max(n_in, n_out) * cell + title_space + 0.15
    fig = new_figure(width, height, dpi=dpi)
    bottom = 0.15
    ax_in = grid_axes(fig, 0.15, bottom, (n_in, n_in), cell)
    y_out = bottom + (n_in - n_out) * cell / 2 if n_in > n_out else bottom
    ax_out = grid_axes(fig, 0.15 + n_in * cell + gap, y_out, (n_out, n_out), cell)
    return fig, ax_in, ax_out


def _describe(i, k, s, p, d, transposed, a) -> str:
    # Sizes are named after the convolution (the notation page): a transposed one maps o to i.
    if transposed:
        extra = f", a={a}" if a else ""
        return f"transposed convolution: o={i}, k={k}, s={s}, p={p}, d={d}{extra}"
    return f"convolution: i={i}, k={k}, s={s}, p={p}, d={d}"


def sliding_window_animation(
    i: int,
    k: int,
    s: int = 1,
    p: int = 0,
    d: int = 1,
    *,
    transposed: bool = False,
    output_padding: int = 0,
    numbers_shown: bool | None = None,
    input=None,
    weight=None,
    seed: int = 0,
    max_frames: int = 40,
    dpi: float = 70,
    interval: int = 700,
) -> FrameAnimation:
    """Animate a 2-D (transposed) convolution window by window, Dumoulin & Visin style.

    Left, the (padded, and for a transposed convolution zero-inserted) input in blue with the
    kernel's footprint shaded; right, the output in green filling in cell by cell. Values come
    from :func:`window_geometry` (i.e. from :mod:`convlab.functional`).

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding and dilation (square).
    transposed : bool, default False
        Animate the transposed convolution as its equivalent direct convolution.
    output_padding : int, default 0
        ``a`` of a transposed convolution.
    numbers_shown : bool, optional
        Write values in the cells and kernel weights in the footprint (default: when the drawn
        grid is at most 9 cells wide).
    input, weight : array_like, optional
        The ``(i, i)`` input and ``(k, k)`` kernel (default: small integers drawn with ``seed``).
    seed : int, default 0
        Seed of the default input and kernel.
    max_frames : int, default 40
        Most output cells (frames) allowed, to keep pages light.
    dpi : float, default 70
        Resolution of each frame.
    interval : int, default 700
        Milliseconds between frames.

    Returns
    -------
    convlab.viz.grids.FrameAnimation
        One frame per output cell; display it with :func:`convlab.viz.animation_html`.

    Raises
    ------
    TypeError, ValueError
        As :func:`window_geometry`, and when the output has more than ``max_frames`` cells.

    See Also
    --------
    torch.nn.functional.conv2d, torch.nn.functional.conv_transpose2d
    all_windows_figure : the same frames side by side, for print.

    Notes
    -----
    The output is :math:`o \\times o` with :math:`o = \\lfloor (i + 2p - d(k-1) - 1)/s \\rfloor + 1`
    (direct) or :math:`o = (i-1)s - 2p + d(k-1) + a + 1` (transposed).

    Examples
    --------
    >>> anim = sliding_window_animation(4, 3)
    >>> anim.n_frames
    4
    """
    geo = window_geometry(
        i,
        k,
        s,
        p,
        d,
        transposed=transposed,
        output_padding=output_padding,
        seed=seed,
        input=input,
        weight=weight,
    )
    max_frames = check_int(max_frames, "max_frames", minimum=1)
    n = geo.output.size
    if n > max_frames:
        raise ValueError(
            f"the output has {geo.output.shape[0]}x{geo.output.shape[1]} = {n} cells, more than "
            f"`max_frames`={max_frames}; use smaller sizes (or all_windows_figure / window_positions_figure)"
        )
    if numbers_shown is None:
        numbers_shown = geo.canvas.shape[0] <= 9
    cell = 0.42 if numbers_shown else 0.3
    fig, ax_in, ax_out = _two_panel_figure(geo, cell, dpi)
    fig.suptitle(_describe(i, k, s, p, d, transposed, output_padding), fontsize=10, y=0.99, va="top")

    def update(index):
        _draw_frame(ax_in, ax_out, geo, index, numbers_shown=numbers_shown)
        return []

    update(0)
    return FrameAnimation(fig, update, n, interval=interval)


def all_windows_figure(
    i: int,
    k: int,
    s: int = 1,
    p: int = 0,
    d: int = 1,
    *,
    transposed: bool = False,
    output_padding: int = 0,
    max_panels: int = 16,
    columns: int | None = None,
    dpi: float = 80,
) -> Figure:
    """Every window position as small multiples: the static twin of :func:`sliding_window_animation`.

    Each panel shows the input grid with one window's footprint shaded and, below it, the output
    with the cell that window computes filled in.

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding and dilation (square).
    transposed : bool, default False
        Draw the transposed convolution as its equivalent direct convolution.
    output_padding : int, default 0
        ``a`` of a transposed convolution.
    max_panels : int, default 16
        Most windows drawn (the first ones in row-major order).
    columns : int, optional
        Panels per row (default: the output width).
    dpi : float, default 80
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (input, output) per panel.

    Raises
    ------
    TypeError, ValueError
        As :func:`window_geometry`, or for a non-positive ``max_panels``/``columns``.

    See Also
    --------
    sliding_window_animation

    Notes
    -----
    Panel :math:`(r, c)` shows the window starting at row :math:`rs`, column :math:`cs` of the
    padded input (stride 1 on the zero-inserted grid of a transposed convolution).

    Examples
    --------
    >>> fig = all_windows_figure(4, 3)
    >>> len(fig.axes)
    8
    """
    geo = window_geometry(i, k, s, p, d, transposed=transposed, output_padding=output_padding)
    max_panels = check_int(max_panels, "max_panels", minimum=1)
    n = min(geo.output.size, max_panels)
    columns = geo.output.shape[1] if columns is None else check_int(columns, "columns", minimum=1)
    columns = min(columns, n)
    rows = -(-n // columns)
    n_in, n_out = geo.canvas.shape[0], geo.output.shape[0]
    cell = 0.16
    panel_w = n_in * cell + 0.25
    panel_h = (n_in + n_out) * cell + 0.45
    fig = new_figure(columns * panel_w, rows * panel_h + 0.35, dpi=dpi)
    H = fig.get_size_inches()[1]
    for index in range(n):
        row, col = divmod(index, columns)
        x0 = col * panel_w + 0.12
        y_top = H - 0.35 - row * panel_h
        ax_in = grid_axes(fig, x0, y_top - n_in * cell - 0.05, (n_in, n_in), cell)
        ax_out = grid_axes(
            fig, x0 + (n_in - n_out) * cell / 2, y_top - (n_in + n_out) * cell - 0.2, (n_out, n_out), cell
        )
        _draw_input(ax_in, geo, index, numbers_shown=False)
        shown = np.full(geo.output.shape, np.nan)
        shown.ravel()[index] = 1
        draw_grid(ax_out, shown, color=PALETTE["output"], annotate=False)
    fig.suptitle(_describe(i, k, s, p, d, transposed, output_padding), fontsize=10, y=1 - 0.05 / H, va="top")
    return fig


def window_positions_figure(
    i: int,
    k: int,
    s: int = 1,
    p: int = 0,
    d: int = 1,
    *,
    transposed: bool = False,
    output_padding: int = 0,
    dpi: float = 80,
) -> Figure:
    """One window's footprint, a dot at the start of every window, and the output grid.

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding and dilation (square).
    transposed : bool, default False
        Draw the transposed convolution as its equivalent direct convolution.
    output_padding : int, default 0
        ``a`` of a transposed convolution.
    dpi : float, default 80
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the input grid and the output grid. The dots are the only
        :class:`~matplotlib.lines.Line2D` of the input axes; there is one per output cell.

    Raises
    ------
    TypeError, ValueError
        As :func:`window_geometry`.

    See Also
    --------
    sliding_window_animation, all_windows_figure

    Notes
    -----
    There are :math:`o^2` dots, spaced :math:`s` cells apart (1 for a transposed convolution).

    Examples
    --------
    >>> fig = window_positions_figure(5, 3, s=2, p=1)
    >>> len(fig.axes[0].lines[0].get_xdata())
    9
    """
    geo = window_geometry(i, k, s, p, d, transposed=transposed, output_padding=output_padding)
    cell = 0.3 if geo.canvas.shape[0] <= 16 else 0.18
    fig, ax_in, ax_out = _two_panel_figure(geo, cell, dpi, title_space=0.75)
    _draw_input(ax_in, geo, 0, numbers_shown=False)
    draw_grid(ax_out, np.zeros(geo.output.shape), color=PALETTE["output"], annotate=False,
              highlight=[(0, 0)], highlight_color=PALETTE["footprint"])  # fmt: skip
    rows, cols = zip(*geo.starts, strict=True)
    ax_in.plot(
        np.array(cols) + 0.5, np.array(rows) + 0.5, "o", color=PALETTE["highlight"], markersize=4, zorder=6
    )
    o = geo.output.shape[0]
    ax_in.set_title(f"input {geo.canvas.shape[0]}×{geo.canvas.shape[0]} as drawn", fontsize=9)
    ax_out.set_title(f"output {o}×{o}", fontsize=9)
    fig.suptitle(_describe(i, k, s, p, d, transposed, output_padding), fontsize=10, y=0.99, va="top")
    return fig


def flip_and_slide_animation(f, g, *, dpi: float = 70, interval: int = 1000) -> FrameAnimation:
    """Animate 1-D convolution: flip ``g``, slide it over zero-padded ``f``, sum the products.

    Rows, top to bottom: ``f`` padded with ``len(g) - 1`` zeros on each side; the flipped kernel
    ``g[n - m]`` at shift ``n``; the products under it; the output ``f ∗ g`` filling in. The title
    writes the sum of products of the current frame. Values come from
    :func:`convlab.signal.convolve1d`.

    Parameters
    ----------
    f, g : array_like, 1-D
        Signal and kernel; ``len(f) + len(g) - 1`` (the number of frames) must be at most 40.
    dpi : float, default 70
        Resolution of each frame.
    interval : int, default 1000
        Milliseconds between frames.

    Returns
    -------
    convlab.viz.grids.FrameAnimation
        One frame per output sample, ``n = 0 .. len(f) + len(g) - 2``.

    Raises
    ------
    TypeError, ValueError
        If ``f`` or ``g`` is not a non-empty 1-D numeric array, or there would be more than 40 frames.

    See Also
    --------
    numpy.convolve : the same numbers, ``mode="full"``.

    Notes
    -----
    .. math:: (f * g)[n] = \\sum_m f[m]\\, g[n - m], \\qquad n = 0, \\dots, n_1 + n_2 - 2

    Examples
    --------
    >>> anim = flip_and_slide_animation([1, 2, 3], [0, 1, 0.5])
    >>> anim.n_frames
    5
    """
    from convlab.signal import convolve1d

    f = check_array(f, "f", ndim=1).astype(float)
    g = check_array(g, "g", ndim=1).astype(float)
    n1, n2 = len(f), len(g)
    frames = n1 + n2 - 1
    if frames > 40:
        raise ValueError(f"len(f) + len(g) - 1 = {frames} frames is more than 40; use shorter `f` and `g`")
    y = np.asarray(convolve1d(f, g, mode="full"), dtype=float)
    padded = np.pad(f, n2 - 1)
    pad = np.zeros(padded.shape, dtype=bool)
    pad[: n2 - 1] = pad[n2 - 1 + n1 :] = True
    width = len(padded)
    cell = 0.42
    fig = new_figure((width + 2.2) * cell, 5.6 * cell + 0.75, dpi=dpi)
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.8))
    fmt = "{:g}"

    def label(row, text):
        ax.text(-0.25, row + 0.5, text, ha="right", va="center", fontsize=10)

    def update(n):
        ax.clear()
        draw_grid(ax, padded, color=PALETTE["input"], padding_mask=pad[None], fmt=fmt, origin=(0, 2))
        draw_grid(ax, g[::-1], color=PALETTE["kernel"], fmt=fmt, origin=(1.4, 2 + n))
        products = padded[n : n + n2] * g[::-1]
        draw_grid(ax, products, color=PALETTE["product"], fmt=fmt, origin=(2.8, 2 + n))
        shown = np.full(frames, np.nan)
        shown[: n + 1] = y[: n + 1]
        draw_grid(ax, shown, color=PALETTE["output"], fmt=fmt, origin=(4.2, 2 + (n2 - 1)),
                  highlight=[(0, n)], highlight_color=PALETTE["footprint"])  # fmt: skip
        for row, text in ((0, "f (padded)"), (1.4, "g flipped"), (2.8, "products"), (4.2, "f ∗ g")):
            ax.text(1.85, row + 0.5, text, ha="right", va="center", fontsize=10)
        ax.set_xlim(-0.2, width + 2.1)
        ax.set_ylim(5.3, -0.1)
        terms = " + ".join(f"{a:g}·{b:g}" for a, b in zip(padded[n : n + n2], g[::-1], strict=True)).replace(
            "-", "\u2212"
        )
        ax.set_title(f"(f ∗ g)[{n}] = {terms} = {fmt.format(y[n])}".replace("-", "\u2212"), fontsize=10)
        return []

    update(0)
    return FrameAnimation(fig, update, frames, interval=interval)


def conv_modes_figure(x, kernel, *, same: str = "matlab", dpi: float = 90) -> Figure:
    """Which part of the full 2-D convolution the modes ``full``, ``same`` and ``valid`` keep.

    Three panels show the full convolution of ``x`` with ``kernel`` (computed with
    :func:`convlab.signal.convolve2d`); the cells a mode keeps are green, the cells it drops grey
    and dashed.

    Parameters
    ----------
    x : array_like, 2-D
        The image.
    kernel : array_like, 2-D
        The kernel (odd or even sizes).
    same : {"matlab", "scipy"}, default "matlab"
        Where ``same`` starts for an even kernel: MATLAB's ``conv2`` keeps rows from
        :math:`\\lfloor k_h/2 \\rfloor`, SciPy's ``convolve2d`` from :math:`\\lfloor (k_h-1)/2 \\rfloor`
        (they agree for odd kernels).
    dpi : float, default 90
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: full, same, valid.

    Raises
    ------
    TypeError, ValueError
        If ``x`` or ``kernel`` is not a non-empty 2-D numeric array, ``same`` is not a known
        convention, or ``kernel`` is larger than ``x``.

    See Also
    --------
    scipy.signal.convolve2d, convlab.signal.convolve2d

    Notes
    -----
    Full: :math:`(n_h + k_h - 1) \\times (n_w + k_w - 1)`; same: :math:`n_h \\times n_w`;
    valid: :math:`(n_h - k_h + 1) \\times (n_w - k_w + 1)`.

    Examples
    --------
    >>> fig = conv_modes_figure([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 1], [1, 1]])
    >>> [ax.get_title().split()[0] for ax in fig.axes]
    ['full', 'same', 'valid']
    """
    from convlab.signal import convolve2d

    x = check_array(x, "x", ndim=2)
    kernel = check_array(kernel, "kernel", ndim=2)
    check_choice(same, "same", ("matlab", "scipy"))
    (nh, nw), (kh, kw) = x.shape, kernel.shape
    if kh > nh or kw > nw:
        raise ValueError(
            f"`kernel` must not be larger than `x` for 'valid'; got {kernel.shape} and {x.shape}"
        )
    full = np.asarray(convolve2d(x, kernel, mode="full"), dtype=float)
    convention = "matlab" if same == "matlab" else "scipy"
    rows = {m: _mode_window(nh, kh, m, convention) for m in ("full", "same", "valid")}
    cols = {m: _mode_window(nw, kw, m, convention) for m in ("full", "same", "valid")}
    regions = {m: (rows[m][0], cols[m][0], rows[m][1], cols[m][1]) for m in ("full", "same", "valid")}
    cell = 0.42
    gap = 0.5
    fig = new_figure(3 * full.shape[1] * cell + 2 * gap + 0.3, full.shape[0] * cell + 0.8, dpi=dpi)
    for index, (mode, (r, c, h, w)) in enumerate(regions.items()):
        ax = grid_axes(fig, 0.15 + index * (full.shape[1] * cell + gap), 0.1, full.shape, cell)
        dropped = np.ones(full.shape, dtype=bool)
        dropped[r : r + h, c : c + w] = False
        draw_grid(ax, full, color=PALETTE["output"], padding_mask=dropped, fmt="{:g}",
                  highlight=(r, c, h, w), highlight_color=PALETTE["footprint"])  # fmt: skip
        ax.set_title(f"{mode} {h}×{w}" + (f" ({same})" if mode == "same" else ""), fontsize=10)
    return fig


def arithmetic_cases_figure(*, transposed: bool = False, dpi: float = 80) -> Figure:
    """The cases of Dumoulin & Visin side by side: first window, all window starts, output.

    Parameters
    ----------
    transposed : bool, default False
        Draw the transposed convolution of each case (input size = the direct case's output,
        ``output_padding`` = :math:`(i + 2p - k) \\bmod s` so that it gives back size ``i``).
    dpi : float, default 80
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes per case of ``DUMOULIN_VISIN_CASES`` (input and output), titled with the case.

    Raises
    ------
    TypeError
        If ``transposed`` is not a bool.

    See Also
    --------
    window_positions_figure : one case at a time, any parameters.

    Notes
    -----
    Direct: :math:`o = \\lfloor (i + 2p - k)/s \\rfloor + 1`; transposed (its partner, which
    takes size :math:`o` back to size :math:`i`): :math:`i = s(o - 1) + a + k - 2p` with
    :math:`a = (i + 2p - k) \\bmod s`.

    Examples
    --------
    >>> fig = arithmetic_cases_figure()
    >>> len(fig.axes) == 2 * len(DUMOULIN_VISIN_CASES)
    True
    """
    from convlab.arithmetic import conv_output_size

    if not isinstance(transposed, bool):
        raise TypeError(f"`transposed` must be a bool; got transposed={transposed!r}")
    geos = []
    for case in DUMOULIN_VISIN_CASES:
        if transposed:
            o = conv_output_size(case.i, case.k, case.s, case.p)
            a = (case.i + 2 * case.p - case.k) % case.s
            geos.append(
                (case, o, a, window_geometry(o, case.k, case.s, case.p, transposed=True, output_padding=a))
            )
        else:
            geos.append((case, case.i, 0, window_geometry(case.i, case.k, case.s, case.p)))
    cell = 0.17
    n = len(geos)
    cols = 4
    rows = -(-n // cols)
    panel_w = max(max(g.canvas.shape[0], g.output.shape[0]) for *_, g in geos) * cell + 0.5
    panel_h = max(g.canvas.shape[0] + g.output.shape[0] for *_, g in geos) * cell + 0.95
    fig = new_figure(cols * panel_w, rows * panel_h, dpi=dpi)
    H = fig.get_size_inches()[1]
    for index, (case, i, a, geo) in enumerate(geos):
        row, col = divmod(index, cols)
        x_mid = col * panel_w + panel_w / 2
        y_top = H - row * panel_h - 0.62
        n_in, n_out = geo.canvas.shape[0], geo.output.shape[0]
        ax_in = grid_axes(fig, x_mid - n_in * cell / 2, y_top - n_in * cell, (n_in, n_in), cell)
        ax_out = grid_axes(
            fig, x_mid - n_out * cell / 2, y_top - (n_in + n_out) * cell - 0.15, (n_out, n_out), cell
        )
        _draw_input(ax_in, geo, 0, numbers_shown=False)
        draw_grid(ax_out, np.zeros(geo.output.shape), color=PALETTE["output"], annotate=False)
        rs, cs = zip(*geo.starts, strict=True)
        ax_in.plot(
            np.array(cs) + 0.5, np.array(rs) + 0.5, "o", color=PALETTE["highlight"], markersize=2.5, zorder=6
        )
        # named after the convolution (the notation page): the transposed partner maps o to i
        into, out = ("o", "i") if transposed else ("i", "o")
        sizes = f"{into}={i}, k={case.k}, s={case.s}, p={case.p}" + (f", a={a}" if transposed else "")
        ax_in.set_title(f"{case.name}\n{sizes} → {out}={n_out}", fontsize=7.5)
    return fig
