"""Figures of the matrix view (chapter 5) and of transposed convolution (chapter 6).

Every array drawn here is computed by :mod:`convlab` itself (``conv_transpose2d``, ``zero_insert``,
``conv_matrix``, ``unfold``), so a picture cannot disagree with the code it illustrates.
Chapters: :doc:`/chapters/matrix_backprop` and :doc:`/chapters/transposed_conv`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convlab._validate import _pair, check_array, check_positive
from convlab.arithmetic import _check_output_padding, _conv_sizes, _transpose_sizes
from convlab.viz.grids import FrameAnimation, draw_grid, grid_axes, grid_row_axes, new_figure
from convlab.viz.palettes import PALETTE, PATCH_COLOURS

__all__ = ["stamping_animation", "zero_insertion_figure", "conv_matrix_figure", "im2col_figure"]

_ACCENT = PALETTE["accent"]  # the pixel / window being worked on
_QUIET = PALETTE["quiet"]  # what was done before
_KEEP = PALETTE["keep"]  # the part of the canvas that is kept
_MAX_FRAMES = 40


def _fmt(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


def _row_layout(
    shapes, *, cell: float = 0.4, gap: float = 0.45, top: float = 0.7, bottom: float = 0.1, dpi: float = 80
):
    """A figure with one axes per grid shape, in a row, all at the same scale (``cell`` inches)."""
    return grid_row_axes(
        shapes, cell=cell, gap=gap, top=top, bottom=bottom, margin=0.15, min_width=2.4, dpi=dpi
    )


def _image(value: object, name: str) -> np.ndarray:
    return check_array(value, name, ndim=2, floating=True).astype(np.float64)


def _outline(ax, row: float, col: float, height: float, width: float, color: str = _ACCENT, **kw):
    """Outline cells ``[row, row + height) x [col, col + width)`` of a grid drawn by ``draw_grid``."""
    kw.setdefault("lw", 2.5)
    rect = Rectangle((col, row), width, height, fill=False, ec=color, zorder=6, **kw)
    ax.add_patch(rect)
    return rect


def _shade(ax, mask: np.ndarray, color: str, alpha: float = 0.35) -> None:
    """Tint the cells where ``mask`` is true (zeros inserted, padding, cropped border)."""
    for r, c in zip(*np.nonzero(mask), strict=True):
        ax.add_patch(Rectangle((c, r), 1, 1, fc=color, ec="none", alpha=alpha, zorder=2))


def _transposed_args(stride, padding, output_padding, weight_shape):
    """The library's rule: ``output_padding`` smaller than the stride (these figures use dilation 1)."""
    s = _pair(stride, "stride")
    p = _pair(padding, "padding", minimum=0)
    op = _pair(output_padding, "output_padding", minimum=0)
    _check_output_padding(op, s, (1, 1))
    return s, p, op


def _ct(x: np.ndarray, w: np.ndarray, **kw) -> np.ndarray:
    from convlab.functional import conv_transpose2d

    return np.asarray(conv_transpose2d(x[None, None], w[None, None], **kw))[0, 0]


def stamping_animation(
    input: object,
    weight: object,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    *,
    dpi: int = 70,
    interval: int = 1100,
) -> FrameAnimation:
    r"""Animate transposed convolution as "stamping" the kernel, one input pixel per frame.

    Frame ``t`` shows input pixel ``x[i, j]``, the stamp ``x[i, j] * weight`` and the canvas after
    adding that stamp at offset ``(i * stride, j * stride)``; overlapping stamps accumulate. The
    last frame crops ``padding`` from every border of the canvas and shows the result next to
    :func:`convlab.functional.conv_transpose2d` with the same arguments.

    Parameters
    ----------
    input : array_like, shape (H, W)
        One input channel, at most 39 pixels (one frame each, plus the crop frame).
    weight : array_like, shape (kH, kW)
        The kernel.
    stride, padding, output_padding : int or pair of int
        As in :func:`torch.nn.functional.conv_transpose2d`; ``output_padding < stride``.
    dpi : int, default 70
        Resolution of the frames.
    interval : int, default 1100
        Milliseconds between frames.

    Returns
    -------
    convlab.viz.grids.FrameAnimation
        ``H * W + 1`` frames; render with :func:`convlab.viz.animation_html`.

    Raises
    ------
    ValueError
        If the input has more than 39 pixels, ``output_padding >= stride`` or the output would be
        empty.

    See Also
    --------
    torch.nn.functional.conv_transpose2d, convlab.transposed.conv_transpose2d_scatter

    Notes
    -----
    The canvas has :math:`(H - 1) s + k + \text{output\_padding}` rows; cropping :math:`p` on each
    side leaves :math:`(H - 1) s - 2p + k + \text{output\_padding}`.

    Examples
    --------
    >>> from convlab.viz import animation_html
    >>> anim = stamping_animation([[1, 2], [3, 4]], [[1, 1], [1, 1]], stride=1, dpi=30)
    >>> anim.n_frames  # one frame per input pixel, plus the crop
    5
    >>> "<script" in animation_html(anim).data
    True
    """
    x = _image(input, "input")
    w = _image(weight, "weight")
    s, p, op = _transposed_args(stride, padding, output_padding, w.shape)
    check_positive(dpi, "dpi")
    check_positive(interval, "interval")
    H, W = x.shape
    n = H * W
    if n + 1 > _MAX_FRAMES:
        raise ValueError(
            f"`input` must have at most {_MAX_FRAMES - 1} pixels for an animation; got shape {x.shape}"
        )
    canvas_shape = _transpose_sizes(x.shape, w.shape, s, (0, 0), op, (1, 1))
    out_shape = _transpose_sizes(x.shape, w.shape, s, p, op, (1, 1))
    # Partial canvases straight from conv_transpose2d: only the first t pixels are switched on.
    order = np.arange(n).reshape(H, W)
    partial = [_ct(np.where(order < t, x, 0.0), w, stride=s, output_padding=op) for t in range(n + 1)]
    final = _ct(x, w, stride=s, padding=p, output_padding=op)
    shapes = [x.shape, w.shape, canvas_shape, out_shape]
    fig, axes = _row_layout(shapes, dpi=dpi, top=0.75)

    def frame(t: int):
        for ax in axes:
            ax.clear()
            ax.set_axis_off()
        done = t >= n
        i, j = divmod(min(t, n - 1), W)
        draw_grid(axes[0], x, color=PALETTE["input"], highlight=None if done else [(i, j)])
        axes[0].set_title("input $x$", fontsize=10)
        if not done:
            draw_grid(axes[1], x[i, j] * w, color=PALETTE["kernel"], highlight=(0, 0, *w.shape))
            axes[1].set_title(f"stamp $x_{{{i}{j}}} \\cdot w$", fontsize=10)
            seen = _ct((order <= t).astype(float), np.ones_like(w), stride=s, output_padding=op) > 0
            canvas = np.where(seen, partial[t + 1], np.nan)
            draw_grid(axes[2], canvas, color=PALETTE["output"], highlight=(i * s[0], j * s[1], *w.shape))
            axes[2].set_title(f"canvas: add at ({i * s[0]}, {j * s[1]})", fontsize=10)
            axes[3].set_xlim(0, 1)
            axes[3].set_ylim(0, 1)
            axes[3].text(
                0.5,
                0.5,
                f"crop {p[0]} row(s), {p[1]} col(s)\nfrom each border\nafter all stamps",
                ha="center",
                va="center",
                fontsize=10,
                color=_QUIET,
            )
        else:
            draw_grid(axes[1], w, color=PALETTE["kernel"])
            axes[1].set_title("kernel $w$", fontsize=10)
            crop = np.ones(canvas_shape, dtype=bool)
            crop[p[0] : p[0] + out_shape[0], p[1] : p[1] + out_shape[1]] = False
            draw_grid(
                axes[2],
                partial[-1],
                color=PALETTE["output"],
                padding_mask=crop,
                highlight=(p[0], p[1], *out_shape),
                highlight_color=_KEEP,
            )
            axes[2].set_title(f"canvas {canvas_shape[0]}x{canvas_shape[1]}: crop padding", fontsize=10)
            draw_grid(axes[3], final, color=PALETTE["output"])
            axes[3].set_title(f"output {out_shape[0]}x{out_shape[1]}", fontsize=10)
        return list(axes)

    fig.suptitle(f"stamping: stride={_fmt(s)}, padding={_fmt(p)}, output_padding={_fmt(op)}", fontsize=11)
    anim = FrameAnimation(fig, frame, n + 1, interval=interval)
    return anim


def _zero_insert_padded(x, s, k, p, op):
    """Zero-insert ``x``, pad by ``k - p - 1`` (plus ``output_padding`` after), cropping if negative."""
    from convlab.transposed import transposed_canvas

    canvas = transposed_canvas(x, k, s, p, op)
    return canvas.values, canvas.kind, list(canvas.before)


def zero_insertion_figure(
    input: object,
    weight: object,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    *,
    position: tuple[int, int] = (0, 0),
) -> Figure:
    r"""Transposed convolution as an ordinary convolution of a zero-inserted, padded input.

    Panels: the input; the input with ``stride - 1`` zeros between neighbours and ``k - p - 1``
    zeros of padding around it (``output_padding`` extra rows/columns after); the kernel rotated
    by 180°; the output of the stride-1 "valid" cross-correlation of the two, which equals
    :func:`convlab.functional.conv_transpose2d`. The window that produces output ``position`` is
    outlined on the padded input and on the output.

    Parameters
    ----------
    input : array_like, shape (H, W)
    weight : array_like, shape (kH, kW)
    stride, padding, output_padding : int or pair of int
        As in :func:`torch.nn.functional.conv_transpose2d`.
    position : pair of int, default (0, 0)
        The output pixel whose window is outlined.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``output_padding >= stride``, the output would be empty or ``position`` lies outside it.

    See Also
    --------
    convlab.transposed.conv_transpose2d_zero_insert, torch.nn.functional.conv_transpose2d

    Notes
    -----
    The padded input has :math:`(H - 1)s + 1 + 2(k - p - 1) + \text{output\_padding}` rows, so the
    valid correlation with the :math:`k \times k` kernel has :math:`(H-1)s - 2p + k +
    \text{output\_padding}` rows.

    Examples
    --------
    >>> fig = zero_insertion_figure([[1, 2], [3, 4]], [[1, 0], [0, 1]], stride=2)
    >>> len(fig.axes)
    4
    """
    from convlab.functional import conv2d

    x = _image(input, "input")
    w = _image(weight, "weight")
    s, p, op = _transposed_args(stride, padding, output_padding, w.shape)
    z, kind, before = _zero_insert_padded(x, s, w.shape, p, op)
    if z.shape[0] < w.shape[0] or z.shape[1] < w.shape[1]:
        raise ValueError(f"`padding` is too large for this input: padding={padding!r} leaves no output")
    flipped = w[::-1, ::-1]
    out = np.asarray(conv2d(z[None, None], flipped[None, None]))[0, 0]
    reference = _ct(x, w, stride=s, padding=p, output_padding=op)
    agrees = out.shape == reference.shape and np.allclose(out, reference)
    r0, c0 = (int(v) for v in position)
    if not (0 <= r0 < out.shape[0] and 0 <= c0 < out.shape[1]):
        raise ValueError(f"`position` must lie inside the {out.shape} output; got position={position!r}")

    fig, axes = _row_layout([x.shape, z.shape, w.shape, out.shape], top=0.95)
    draw_grid(axes[0], x, color=PALETTE["input"], title="input")
    draw_grid(axes[1], z, color=PALETTE["input"], padding_mask=kind != 0, highlight=(r0, c0, *w.shape))
    _shade(axes[1], kind == 1, PALETTE["kernel"], alpha=0.45)
    pad_text = str(before[0]) if before[0] == before[1] else str(tuple(before))
    axes[1].set_title(
        f"{s[0] - 1} zero(s) between pixels (amber)\nborder k-p-1 = {pad_text} (grey)", fontsize=10
    )
    draw_grid(axes[2], flipped, color=PALETTE["kernel"], title="kernel rotated 180°")
    draw_grid(axes[3], out, color=PALETTE["output"], highlight=[(r0, c0)])
    axes[3].set_title(f"output {out.shape[0]}x{out.shape[1]}", fontsize=10)
    for ax in axes:
        ax.title.set_fontsize(10)
    check = "equals" if agrees else "DIFFERS FROM"
    fig.suptitle(
        f"zero insertion: stride={_fmt(s)}, padding={_fmt(p)}, output_padding={_fmt(op)} "
        f"({check} conv_transpose2d)",
        fontsize=11,
    )
    return fig


def _entry_labels(shape: tuple[int, int]) -> np.ndarray:
    return np.array([[f"$w_{{{a}{b}}}$" for b in range(shape[1])] for a in range(shape[0])])


def conv_matrix_figure(
    input_size: int | tuple[int, int] = 4,
    weight: object | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Figure:
    r"""The convolution matrix :math:`C` and its transpose, non-zeros labelled by kernel entry.

    Row ``r`` of ``C`` holds the kernel laid out over the flattened input at the position of
    output pixel ``r``; ``C @ x.ravel()`` is the convolution, ``C.T @ y.ravel()`` the transposed
    convolution. Both come from :func:`convlab.matrix.conv_matrix`.

    Parameters
    ----------
    input_size : int or pair of int, default 4
        Height and width of the input.
    weight : array_like, shape (kH, kW), optional
        The kernel; default ``arange(1, 10).reshape(3, 3)`` so colours tell entries apart.
    stride, padding : int or pair of int
        As in :func:`torch.nn.functional.conv2d`.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: ``C.T`` (inputs x outputs, left) and ``C`` (outputs x inputs, right).

    Raises
    ------
    ValueError
        If the kernel does not fit the padded input, or ``C`` would have more than 400 columns.

    See Also
    --------
    convlab.matrix.conv_matrix

    Notes
    -----
    For an :math:`n \times n` input and :math:`k \times k` kernel (stride 1, no padding),
    :math:`C` has shape :math:`(n - k + 1)^2 \times n^2`: :math:`4 \times 16` for
    :math:`n = 4, k = 3`.

    Examples
    --------
    >>> fig = conv_matrix_figure(4)
    >>> [tuple(ax.images[0].get_array().shape) for ax in fig.axes[:2]]  # C^T, then C
    [(16, 4), (4, 16)]
    """
    from convlab.matrix import conv_matrix

    size = _pair(input_size, "input_size")
    if size[0] * size[1] > 400:
        raise ValueError(f"`input_size` must have at most 400 pixels for a readable figure; got {size}")
    w = np.arange(1.0, 10.0).reshape(3, 3) if weight is None else _image(weight, "weight")
    s = _pair(stride, "stride")
    p = _pair(padding, "padding", minimum=0)
    # An index kernel (1, 2, ..., k*k) tells which entry of w sits in each cell of C.
    index = np.arange(1.0, w.size + 1).reshape(w.shape)
    where = np.asarray(conv_matrix(size, index[None, None], stride=s, padding=p))
    C = np.asarray(conv_matrix(size, w[None, None], stride=s, padding=p))
    labels = _entry_labels(w.shape).ravel()
    colours = ListedColormap(
        [PALETTE["empty"], *[plt.get_cmap("tab20")(2 * m % 20 + 1) for m in range(w.size)]]
    )
    cell, gap, top, bottom, left = 0.4, 1.1, 0.9, 0.55, 0.6
    fig_w = left + cell * (C.shape[1] + C.shape[0]) + gap + 0.2
    fig_h = top + bottom + cell * max(C.shape)
    fig = new_figure(fig_w, fig_h, dpi=80)
    ax_t = grid_axes(fig, left, bottom, C.T.shape, cell)
    c_bottom = bottom + cell * (max(C.shape) - C.shape[0])
    ax_c = grid_axes(fig, left + cell * C.shape[0] + gap, c_bottom, C.shape, cell)
    for ax, idx, name in ((ax_c, where, "C"), (ax_t, where.T, "C^\\top")):
        ax.imshow(idx, cmap=colours, vmin=-0.5, vmax=w.size + 0.5, aspect="auto")
        for r, c in zip(*np.nonzero(idx), strict=True):
            ax.text(c, r, labels[int(round(idx[r, c])) - 1], ha="center", va="center", fontsize=9)
        ax.set_xticks(np.arange(idx.shape[1]))
        ax.set_yticks(np.arange(idx.shape[0]))
        ax.tick_params(labelsize=8, length=0)
        ax.set_xticks(np.arange(-0.5, idx.shape[1]), minor=True)
        ax.set_yticks(np.arange(-0.5, idx.shape[0]), minor=True)
        ax.grid(which="minor", color=PALETTE["gridline"], lw=0.6)
        ax.tick_params(which="minor", length=0)
        ax.set_title(f"${name}$: {idx.shape[0]} x {idx.shape[1]}", fontsize=11)
    ax_c.set_xlabel("input pixel (row-major index)", fontsize=9)
    ax_c.set_ylabel("output pixel", fontsize=9)
    ax_t.set_xlabel("output pixel", fontsize=9)
    ax_t.set_ylabel("input pixel", fontsize=9)
    fig.text(
        (left + cell * C.shape[0] + gap) / fig_w,
        (c_bottom - 1.2) / fig_h,
        "$y = Cx$ is the convolution.\n$C^\\top$ maps the output grid back to the input grid:\n"
        "it is the transposed convolution, and the gradient\n"
        "$\\partial L/\\partial x = C^\\top\\,\\partial L/\\partial y$.",
        va="top",
        fontsize=10,
    )
    fig.suptitle(
        f"convolution matrix of a {size[0]}x{size[1]} input and a {w.shape[0]}x{w.shape[1]} kernel: "
        f"{int((where > 0).sum())} non-zeros of {C.size}",
        fontsize=11,
    )
    return fig


def im2col_figure(input: object, weight: object, stride: int | tuple[int, int] = 1) -> Figure:
    r"""im2col + GEMM: the patches of the input as columns, times the flattened kernel.

    Panels: the input with each patch in its own colour; the column matrix from
    :func:`convlab.functional.unfold` (one column per output pixel, coloured like its patch);
    the kernel flattened to a row; the product reshaped to the output, which equals
    :func:`convlab.functional.conv2d`.

    Parameters
    ----------
    input : array_like, shape (H, W)
    weight : array_like, shape (kH, kW)
    stride : int or pair of int, default 1

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If there are more than 12 patches (too many to colour apart) or the kernel does not fit.

    See Also
    --------
    torch.nn.functional.unfold, convlab.functional.conv2d

    Notes
    -----
    The column matrix has :math:`k_H k_W` rows and :math:`H_{out} W_{out}` columns; the
    convolution is the :math:`1 \times k_H k_W` by :math:`k_H k_W \times H_{out} W_{out}` product.

    Examples
    --------
    >>> fig = im2col_figure(np.arange(16).reshape(4, 4), np.ones((3, 3)))
    >>> fig.axes[1].get_title()
    'columns = unfold(x): 9 x 4'
    """
    from convlab.functional import conv2d, unfold

    x = _image(input, "input")
    w = _image(weight, "weight")
    s = _pair(stride, "stride")
    kh, kw = w.shape
    if kh > x.shape[0] or kw > x.shape[1]:
        raise ValueError(f"`weight` of shape {w.shape} does not fit the input of shape {x.shape}")
    cols = np.asarray(unfold(x[None, None], (kh, kw), stride=s))[0]
    oh, ow = _conv_sizes(x.shape, (kh, kw), s, (0, 0), (1, 1))
    if oh * ow > 12:
        raise ValueError(f"`input` gives {oh * ow} patches; at most 12 can be told apart by colour")
    product = (w.ravel() @ cols).reshape(oh, ow)
    direct = np.asarray(conv2d(x[None, None], w[None, None], stride=s))[0, 0]
    palette = list(PATCH_COLOURS)
    shapes = [x.shape, cols.shape, (1, kh * kw), product.shape]
    fig, axes = _row_layout(shapes, top=0.9)
    ax_x, ax_cols, ax_w, ax_y = axes
    draw_grid(ax_x, x, color=PALETTE["input"], title="input $x$")
    draw_grid(
        ax_cols, cols, color=PALETTE["input"], title=f"columns = unfold(x): {cols.shape[0]} x {cols.shape[1]}"
    )
    for n in range(oh * ow):
        i, j = divmod(n, ow)
        inset = 0.07 * (n % 4)
        ax_x.add_patch(
            Rectangle(
                (j * s[1] + inset, i * s[0] + inset),
                kw - 2 * inset,
                kh - 2 * inset,
                fill=False,
                ec=palette[n],
                lw=2.2,
                zorder=6,
            )
        )
        _outline(ax_cols, 0, n, kh * kw, 1, color=palette[n], lw=2.2)
    draw_grid(ax_w, w.reshape(1, -1), color=PALETTE["kernel"], title=f"$w$ as a 1 x {kh * kw} row")
    draw_grid(ax_y, product, color=PALETTE["output"])
    for n in range(oh * ow):
        _outline(ax_y, *divmod(n, ow), 1, 1, color=palette[n], lw=2.2)
    same = "equals" if np.allclose(product, direct) else "DIFFERS FROM"
    ax_y.set_title(f"row x columns\n({same} conv2d)", fontsize=10)
    for ax in axes:
        ax.title.set_fontsize(10)
    fig.suptitle(
        "im2col + GEMM: each patch becomes a column; the convolution is one matrix product", fontsize=11
    )
    return fig
