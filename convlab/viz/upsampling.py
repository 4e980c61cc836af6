"""Figures of upsampling (chapter 7): interpolation, unpooling, PixelShuffle, checkerboards.

Every array drawn here is computed by :mod:`convlab` (``interpolate``, ``max_pool2d``,
``max_unpool2d``, ``pixel_shuffle``, ``conv_transpose2d``, ``checkerboard_overlap``,
``resize_conv``), so a picture cannot disagree with the code. The photograph is matplotlib's
sample image of Grace Hopper, which ships with matplotlib: nothing is downloaded.
Chapter: :doc:`/chapters/upsampling`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convlab._validate import check_array, check_choice, check_int, check_positive
from convlab.viz.grids import draw_grid, grid_row_axes, new_figure
from convlab.viz.palettes import CHANNEL_COLOURS, PALETTE

__all__ = [
    "sample_photo",
    "photo_upsampling_figure",
    "interpolation_modes_figure",
    "bilinear_diagram",
    "align_corners_figure",
    "unpooling_figure",
    "pixel_shuffle_figure",
    "checkerboard_overlap_figure",
    "checkerboard_artifact_figure",
]

_MODES = ("nearest", "bilinear", "bicubic")
_CHANNEL_COLOURS = list(CHANNEL_COLOURS)


def sample_photo(size: int = 160) -> np.ndarray:
    """A square crop of matplotlib's sample photograph of Grace Hopper, as floats in [0, 1].

    Parameters
    ----------
    size : int, default 160
        Side of the crop in pixels, between 8 and 400 (the face is centred in it).

    Returns
    -------
    numpy.ndarray, shape (3, size, size), float32
        Channels first (RGB), ready for NCHW operators with ``[None]``.

    Raises
    ------
    ValueError
        If ``size`` is outside [8, 400].

    See Also
    --------
    matplotlib.cbook.get_sample_data : where the photograph comes from.

    Examples
    --------
    >>> sample_photo(32).shape
    (3, 32, 32)
    """
    size = check_int(size, "size", minimum=8)
    if size > 400:
        raise ValueError(f"`size` must be at most 400 (the photograph is 512 pixels wide); got size={size}")
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        image = plt.imread(f, format="jpg")
    top, left = max(215 - size // 2, 0), 256 - size // 2  # the face
    crop = image[top : top + size, left : left + size].astype(np.float32) / 255.0
    return np.ascontiguousarray(crop.transpose(2, 0, 1))


def _block_mean(x: np.ndarray, factor: int) -> np.ndarray:
    c, h, w = x.shape
    return x.reshape(c, h // factor, factor, w // factor, factor).mean(axis=(2, 4))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.clip(a, 0, 1) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _show(ax, chw: np.ndarray, title: str) -> None:
    ax.imshow(np.clip(chw.transpose(1, 2, 0), 0, 1), interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def photo_upsampling_figure(factor: int = 8, size: int = 160) -> Figure:
    r"""A photograph shrunk by ``factor`` and enlarged back with each interpolation mode.

    The crop of :func:`sample_photo` is shrunk by averaging ``factor x factor`` blocks, then
    enlarged by :func:`convlab.functional.interpolate` with nearest, bilinear and bicubic, the
    last two with ``align_corners`` False and True. Each title gives the PSNR against the original.

    Parameters
    ----------
    factor : int, default 8
        Shrink and enlargement factor; must divide ``size``.
    size : int, default 160
        Side of the photograph crop.

    Returns
    -------
    matplotlib.figure.Figure
        Eight panels: original, small input, and the six enlargements.

    Raises
    ------
    ValueError
        If ``factor`` is below 2 or does not divide ``size``.

    See Also
    --------
    torch.nn.functional.interpolate

    Notes
    -----
    PSNR is :math:`10 \log_{10}(1 / \mathrm{MSE})` for images in :math:`[0, 1]`; bicubic output is
    clipped to :math:`[0, 1]` before it is measured and shown.

    Examples
    --------
    >>> fig = photo_upsampling_figure(factor=4, size=32)
    >>> len(fig.axes)
    8
    """
    from convlab.functional import interpolate

    factor = check_int(factor, "factor", minimum=2)
    photo = sample_photo(size)
    if size % factor:
        raise ValueError(f"`factor` must divide `size`; got factor={factor}, size={size}")
    small = _block_mean(photo, factor)
    cases = [
        ("nearest", None),
        ("bilinear", False),
        ("bilinear", True),
        ("bicubic", False),
        ("bicubic", True),
    ]
    fig = new_figure(10.5, 5.6, dpi=80)
    axes = fig.subplots(2, 4)
    _show(axes[0, 0], photo, f"original {size}x{size}")
    _show(axes[0, 1], small, f"input {size // factor}x{size // factor} (block mean)")
    for ax, (mode, ac) in zip(axes.ravel()[2:7], cases, strict=True):
        up = interpolate(small[None], scale_factor=factor, mode=mode, align_corners=ac)[0]
        label = mode if ac is None else f"{mode}, align_corners={ac}"
        _show(ax, up, f"{label}\nPSNR {_psnr(up, photo):.1f} dB")
    axes[1, 3].set_axis_off()
    axes[1, 3].text(
        0.02,
        0.5,
        f"Upsampled x{factor} from the same\n{size // factor}x{size // factor} input.\n\n"
        "nearest: blocks\nbilinear: smooth, a little blurry\nbicubic: sharper, may overshoot\n"
        "align_corners=True: corner pixels\npinned, the grid slightly stretched",
        va="center",
        fontsize=10,
        transform=axes[1, 3].transAxes,
    )
    fig.suptitle(f"one photograph, shrunk {factor}x and enlarged back by convlab.functional.interpolate")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.86, wspace=0.05, hspace=0.32)
    return fig


def interpolation_modes_figure(
    image: object,
    scale_factor: int = 4,
    modes: Sequence[str] = _MODES,
    align_corners: bool | None = False,
) -> Figure:
    """A small image and its enlargements by several interpolation modes, side by side.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A small grey-level image.
    scale_factor : int, default 4
    modes : sequence of str, default ("nearest", "bilinear", "bicubic")
        Modes of :func:`convlab.functional.interpolate`.
    align_corners : bool or None, default False
        Passed to the bilinear and bicubic modes (nearest modes take none).

    Returns
    -------
    matplotlib.figure.Figure
        ``1 + len(modes)`` panels on one colour scale, from the smallest value of the input and
        the outputs to the largest (so a mode's overshoot is drawn, not clipped); each panel's
        minimum and maximum are written under it.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, ``modes`` is empty or names an unknown mode.

    See Also
    --------
    torch.nn.functional.interpolate

    Examples
    --------
    >>> fig = interpolation_modes_figure([[0, 1], [1, 0]], scale_factor=2)
    >>> [ax.get_title() for ax in fig.axes]
    ['input 2x2', 'nearest 4x4', 'bilinear 4x4', 'bicubic 4x4']
    """
    from convlab.functional import interpolate

    x = check_array(image, "image", ndim=2, floating=True).astype(np.float64)
    scale_factor = check_positive(scale_factor, "scale_factor")
    modes = list(modes)
    if not modes:
        raise ValueError("`modes` must name at least one interpolation mode; got an empty sequence")
    for mode in modes:
        check_choice(mode, "modes", ("nearest", "nearest-exact", "bilinear", "bicubic"))
    outs = []
    for mode in modes:
        ac = align_corners if mode in ("bilinear", "bicubic") else None
        outs.append(interpolate(x[None, None], scale_factor=scale_factor, mode=mode, align_corners=ac)[0, 0])
    # One scale that holds every panel, so that overshoot below the input's minimum or above its
    # maximum (bicubic) is drawn darker or brighter than any input pixel instead of being clipped.
    arrays = [x, *outs]
    lo, hi = min(float(a.min()) for a in arrays), max(float(a.max()) for a in arrays)
    fig = new_figure(2.6 * (1 + len(modes)), 3.3, dpi=80)
    axes = fig.subplots(1, 1 + len(modes))
    for ax, arr, title in zip(axes, arrays, ["input", *modes], strict=True):
        ax.imshow(arr, cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{title} {arr.shape[0]}x{arr.shape[1]}", fontsize=10)
        ax.set_xlabel(f"min {arr.min():.3g}, max {arr.max():.3g}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.09, top=0.9, wspace=0.06)
    return fig


def bilinear_diagram(
    values: object = ((10.0, 20.0), (30.0, 60.0)), point: tuple[float, float] = (0.3, 0.6)
) -> Figure:
    r"""Bilinear interpolation of one point from its four neighbours :math:`Q_{11} \dots Q_{22}`.

    The unit cell has the known pixels :math:`Q_{11} = (x_1, y_1)`, :math:`Q_{21} = (x_2, y_1)`,
    :math:`Q_{12} = (x_1, y_2)`, :math:`Q_{22} = (x_2, y_2)` at its corners (image convention: ``y``
    grows downwards). The figure shows the two interpolations along ``x`` (to :math:`R_1` and
    :math:`R_2`), the one along ``y`` (to :math:`P`), and the weight of each corner as the area of
    the opposite sub-rectangle.

    Parameters
    ----------
    values : array_like, shape (2, 2), default ((10, 20), (30, 60))
        ``values[0] = (f(Q11), f(Q21))`` (top row), ``values[1] = (f(Q12), f(Q22))`` (bottom row),
        as they sit in an image.
    point : (float, float), default (0.3, 0.6)
        ``(x, y)`` of :math:`P` inside the cell, both in [0, 1].

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``values`` is not 2x2 or ``point`` lies outside the unit cell.

    See Also
    --------
    convlab.functional.interpolate : ``mode="bilinear"``.

    Notes
    -----
    .. math::

        f(R_1) = (1 - x) f(Q_{11}) + x f(Q_{21}), \quad f(R_2) = (1 - x) f(Q_{12}) + x f(Q_{22}),\\
        f(P) = (1 - y) f(R_1) + y f(R_2).

    Examples
    --------
    >>> fig = bilinear_diagram([[0, 1], [2, 3]], point=(0.5, 0.5))
    >>> "f(P) = 1.5" in fig.axes[0].get_title()
    True
    """
    q = check_array(values, "values", ndim=2, floating=True).astype(np.float64)
    if q.shape != (2, 2):
        raise ValueError(f"`values` must be a 2x2 array; got shape {q.shape}")
    if not (isinstance(point, (tuple, list)) and len(point) == 2):
        raise ValueError(f"`point` must be a pair (x, y); got point={point!r}")
    x, y = (float(v) for v in point)
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise ValueError(f"`point` must lie in the unit cell [0, 1] x [0, 1]; got point={point!r}")
    r1 = (1 - x) * q[0, 0] + x * q[0, 1]
    r2 = (1 - x) * q[1, 0] + x * q[1, 1]
    p = (1 - y) * r1 + y * r2
    fig = new_figure(6.4, 5.4, dpi=80)
    ax = fig.add_axes((0.1, 0.05, 0.8, 0.78))
    corners = {
        "Q_{11}": (0, 0, q[0, 0]),
        "Q_{21}": (1, 0, q[0, 1]),
        "Q_{12}": (0, 1, q[1, 0]),
        "Q_{22}": (1, 1, q[1, 1]),
    }
    # the weight of each corner is the area of the sub-rectangle opposite it
    areas = {
        "Q_{11}": (x, y, 1 - x, 1 - y),
        "Q_{21}": (0, y, x, 1 - y),
        "Q_{12}": (x, 0, 1 - x, y),
        "Q_{22}": (0, 0, x, y),
    }
    colours = dict(zip(corners, CHANNEL_COLOURS[:4], strict=True))
    for name, (ax0, ay0, w, h) in areas.items():
        ax.add_patch(Rectangle((ax0, ay0), w, h, fc=colours[name], ec="white", alpha=0.55, zorder=1))
        ax.text(
            ax0 + w / 2,
            ay0 + h / 2,
            f"weight of ${name}$\n= {w * h:.2f}",
            ha="center",
            va="center",
            fontsize=9,
            color=PALETTE["text"],
            zorder=2,
        )
    ax.plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], color=PALETTE["edge"], lw=1.5, zorder=3)
    for name, (cx, cy, v) in corners.items():
        ax.plot(cx, cy, "o", ms=11, color=colours[name], mec="black", zorder=5)
        ax.annotate(
            f"${name}$ = {v:g}",
            (cx, cy),
            xytext=(-14 if cx == 0 else 14, -14 if cy == 0 else 16),
            textcoords="offset points",
            ha="right" if cx == 0 else "left",
            fontsize=10,
        )
    ax.plot([x, x], [0, 1], ls="--", color=PALETTE["guide"], lw=1, zorder=3)
    for ry, val, label in ((0, r1, "R_1"), (1, r2, "R_2")):
        ax.plot(x, ry, "s", ms=9, color="white", mec="black", zorder=5)
        ax.annotate(
            f"${label}$ = {val:.4g}",
            (x, ry),
            xytext=(0, 12 if ry == 0 else -16),
            textcoords="offset points",
            ha="center",
            fontsize=10,
            va="bottom" if ry == 0 else "top",
        )
    ax.plot(x, y, "*", ms=18, color=PALETTE["highlight"], mec="black", zorder=6)
    ax.annotate(
        f"$P$ = ({x:g}, {y:g})",
        (x, y),
        xytext=(10, 8),
        textcoords="offset points",
        fontsize=11,
        fontweight="bold",
    )
    ax.set_xlim(-0.35, 1.35)
    ax.set_ylim(1.25, -0.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(
        f"$f(R_1) = {1 - x:.2g}\\cdot{q[0, 0]:g} + {x:.2g}\\cdot{q[0, 1]:g} = {r1:.4g}$,  "
        f"$f(R_2) = {1 - x:.2g}\\cdot{q[1, 0]:g} + {x:.2g}\\cdot{q[1, 1]:g} = {r2:.4g}$\n"
        f"$f(P) = {1 - y:.2g}\\cdot f(R_1) + {y:.2g}\\cdot f(R_2)$,  f(P) = {p:.4g}",
        fontsize=11,
    )
    return fig


def _source_coordinates(n_in: int, n_out: int, align_corners: bool) -> np.ndarray:
    """Where each output pixel samples the input, read off bilinear interpolation of a ramp."""
    from convlab.functional import interpolate

    ramp = np.arange(n_in, dtype=np.float64)[None, None, None, :]
    return interpolate(ramp, size=(1, n_out), mode="bilinear", align_corners=align_corners)[0, 0, 0]


def align_corners_figure(in_size: int = 4, out_size: int = 8) -> Figure:
    r"""Where each output pixel samples the input, with ``align_corners`` False and True.

    The input pixels (top row) and output pixels (bottom row) are drawn over the same physical
    extent; a line joins each output pixel centre to the input coordinate it reads. The coordinates
    are read off :func:`convlab.functional.interpolate` applied to the ramp ``0, 1, ..., n - 1``
    (linear interpolation of a ramp returns the coordinate itself, clamped at the border).

    Parameters
    ----------
    in_size : int, default 4
        Input length, at least 2.
    out_size : int, default 8
        Output length, at least 2.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: ``align_corners=False`` and ``align_corners=True``.

    Raises
    ------
    ValueError
        If a size is below 2 or above 32.

    See Also
    --------
    torch.nn.functional.interpolate

    Notes
    -----
    For output index :math:`j`, scale :math:`n_{in}/n_{out}`:

    .. math::

        \text{False: } x_{src} = (j + \tfrac12)\frac{n_{in}}{n_{out}} - \tfrac12 \text{ (clamped at 0)},\qquad
        \text{True: } x_{src} = j\,\frac{n_{in} - 1}{n_{out} - 1}.

    Examples
    --------
    >>> fig = align_corners_figure(2, 4)
    >>> len(fig.axes)
    2
    """
    n_in = check_int(in_size, "in_size", minimum=2)
    n_out = check_int(out_size, "out_size", minimum=2)
    for name, v in (("in_size", n_in), ("out_size", n_out)):
        if v > 32:
            raise ValueError(f"`{name}` must be at most 32 for a readable figure; got {name}={v}")
    fig = new_figure(9.5, 4.6, dpi=80)
    axes = fig.subplots(2, 1)
    unit = n_in / n_out  # physical width of one output pixel
    for ax, ac in zip(axes, (False, True), strict=True):
        src = _source_coordinates(n_in, n_out, ac)
        for i in range(n_in):
            ax.add_patch(Rectangle((i, 1.2), 1, 0.6, fc=PALETTE["input"], ec=PALETTE["edge"]))
            ax.text(i + 0.5, 1.5, str(i), ha="center", va="center", fontsize=9)
            ax.plot(i + 0.5, 1.2, "o", color=PALETTE["footprint"], ms=4, zorder=4)
        for j in range(n_out):
            ax.add_patch(Rectangle((j * unit, 0), unit, 0.6, fc=PALETTE["output"], ec=PALETTE["edge"]))
            ax.text((j + 0.5) * unit, 0.3, str(j), ha="center", va="center", fontsize=8)
            ax.annotate(
                "",
                xy=(src[j] + 0.5, 1.2),
                xytext=((j + 0.5) * unit, 0.6),
                arrowprops={"arrowstyle": "->", "color": PALETTE["highlight"], "lw": 1.2},
            )
            ax.text(
                (j + 0.5) * unit,
                -0.12,
                f"{src[j]:.2f}",
                ha="center",
                va="top",
                fontsize=7.5,
                color=PALETTE["label"],
            )
        formula = (
            r"$x_{src} = (j + \frac{1}{2})\,\frac{n_{in}}{n_{out}} - \frac{1}{2}$, clamped to $[0, n_{in}-1]$"
            if not ac
            else r"$x_{src} = j\,\frac{n_{in} - 1}{n_{out} - 1}$: first and last centres coincide"
        )
        ax.set_title(f"align_corners={ac}:  {formula}", fontsize=10)
        ax.set_xlim(-0.2, n_in + 0.2)
        ax.set_ylim(-0.5, 1.9)
        ax.set_axis_off()
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.92, hspace=0.35)
    return fig


def _row_layout(shapes, *, cell: float = 0.42, gap: float = 0.7, top: float = 0.75, bottom: float = 0.1):
    """A figure with one axes per grid shape, in a row, all at the same scale (``cell`` inches)."""
    return grid_row_axes(
        shapes, cell=cell, gap=gap, top=top, bottom=bottom, margin=0.5, min_width=2.5, dpi=80
    )


def unpooling_figure(input: object | None = None, kernel_size: int = 2) -> Figure:
    """Max-unpooling with the pooling switches versus repeat (nearest) upsampling.

    Panels: the input with the maximum of each pooling window outlined; the max-pooled map;
    :func:`convlab.functional.max_unpool2d` of it, which puts each maximum back where it came
    from and zeros elsewhere (DeconvNet); nearest upsampling of the same map, which copies each
    value over its whole window.

    Parameters
    ----------
    input : array_like, shape (H, W), optional
        Default: a fixed 4x4 example.
    kernel_size : int, default 2
        Pooling window and stride.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``kernel_size`` does not divide the input size.

    See Also
    --------
    torch.nn.MaxUnpool2d, torch.nn.Upsample

    Examples
    --------
    >>> fig = unpooling_figure()
    >>> len(fig.axes)
    4
    """
    from convlab.functional import interpolate, max_pool2d, max_unpool2d

    x = np.array([[1, 5, 2, 0], [3, 2, 8, 1], [0, 4, 1, 3], [6, 1, 2, 7]], dtype=np.float64)
    if input is not None:
        x = check_array(input, "input", ndim=2, floating=True).astype(np.float64)
    k = check_positive(kernel_size, "kernel_size")
    if x.shape[0] % k or x.shape[1] % k:
        raise ValueError(f"`kernel_size` must divide the input size {x.shape}; got kernel_size={k}")
    pooled, idx = max_pool2d(x[None, None], k, return_indices=True)
    unpooled = max_unpool2d(pooled, idx, k, output_size=x.shape)[0, 0]
    repeated = interpolate(pooled, scale_factor=k, mode="nearest")[0, 0]
    switches = np.zeros(x.shape, dtype=bool)
    switches.ravel()[np.asarray(idx).ravel()] = True
    fig, axes = _row_layout([x.shape, pooled.shape[2:], x.shape, x.shape], top=0.95)
    draw_grid(axes[0], x, color=PALETTE["input"], highlight=switches)
    for r in range(0, x.shape[0], k):
        for c in range(0, x.shape[1], k):
            axes[0].add_patch(Rectangle((c, r), k, k, fill=False, ec=PALETTE["edge"], lw=2.2, zorder=5))
    axes[0].set_title("input, maxima outlined", fontsize=10)
    draw_grid(axes[1], pooled[0, 0], color=PALETTE["kernel"])
    axes[1].set_title(f"max_pool2d({k})\n+ indices", fontsize=10)
    draw_grid(axes[2], unpooled, color=PALETTE["output"], highlight=switches, padding_mask=~switches)
    axes[2].set_title("max_unpool2d:\nvalues back at the switches", fontsize=10)
    draw_grid(axes[3], repeated, color=PALETTE["output"])
    axes[3].set_title("nearest (repeat):\nvalue copied over the window", fontsize=10)
    return fig


def pixel_shuffle_figure(upscale_factor: int = 2, size: int = 2) -> Figure:
    r"""PixelShuffle: ``r^2`` low-resolution channels interleaved into one image ``r`` times larger.

    Each input channel gets its own colour; the output, computed by
    :func:`convlab.functional.pixel_shuffle`, is coloured by the channel each pixel came from, so
    the periodic pattern -- channel ``c`` fills offset ``(c // r, c % r)`` of every ``r x r`` block --
    is visible.

    Parameters
    ----------
    upscale_factor : int, default 2
        ``r``, between 2 and 3.
    size : int, default 2
        Height and width of the input, between 1 and 4.

    Returns
    -------
    matplotlib.figure.Figure
        ``r^2 + 1`` axes: the input channels, then the output.

    Raises
    ------
    ValueError
        If ``upscale_factor`` or ``size`` is out of range.

    See Also
    --------
    torch.nn.PixelShuffle

    Notes
    -----
    :math:`(C r^2, H, W) \to (C, rH, rW)` with
    :math:`y[c, rh + i, rw + j] = x[c r^2 + r i + j, h, w]`.

    Examples
    --------
    >>> len(pixel_shuffle_figure(2, 2).axes)
    5
    """
    from convlab.functional import pixel_shuffle

    r = check_int(upscale_factor, "upscale_factor", minimum=2)
    if r > 3:
        raise ValueError(f"`upscale_factor` must be 2 or 3 for a readable figure; got upscale_factor={r}")
    n = check_int(size, "size", minimum=1)
    if n > 4:
        raise ValueError(f"`size` must be at most 4 for a readable figure; got size={n}")
    x = np.arange(r * r * n * n, dtype=np.float64).reshape(1, r * r, n, n)
    channel = np.broadcast_to(np.arange(r * r, dtype=np.float64)[None, :, None, None], x.shape)
    y = pixel_shuffle(x, r)[0, 0]
    source = pixel_shuffle(np.ascontiguousarray(channel), r)[0, 0].astype(int)
    shapes = [(n, n)] * (r * r) + [y.shape]
    fig, axes = _row_layout(shapes, gap=0.35, top=0.9)
    for c in range(r * r):
        draw_grid(axes[c], x[0, c], color=_CHANNEL_COLOURS[c])
        axes[c].set_title(f"channel {c}", fontsize=10)
    draw_grid(axes[-1], y, color="white")
    for (i, j), c in np.ndenumerate(source):
        axes[-1].add_patch(Rectangle((j, i), 1, 1, fc=_CHANNEL_COLOURS[c], ec=PALETTE["edge"], zorder=2))
    for i in range(0, y.shape[0], r):
        for j in range(0, y.shape[1], r):
            axes[-1].add_patch(Rectangle((j, i), r, r, fill=False, ec="black", lw=2.2, zorder=6))
    axes[-1].set_title(f"pixel_shuffle(x, {r}): {y.shape[0]}x{y.shape[1]}", fontsize=10)
    fig.suptitle(
        f"sub-pixel convolution's last step: {r * r} channels of {n}x{n} become one {r * n}x{r * n} image",
        fontsize=11,
    )
    return fig


def checkerboard_overlap_figure(
    cases: Sequence[tuple[int, int]] = ((3, 1), (3, 2), (4, 2), (5, 2), (3, 3)), size: int = 5
) -> Figure:
    r"""How many kernel stamps land on each output pixel, for several (kernel size, stride) pairs.

    Each panel is :func:`convlab.upsample.checkerboard_overlap` for a ``size x size`` input: even
    maps (``s`` divides ``k``) except at the border; checkerboards where it does not.

    Parameters
    ----------
    cases : sequence of (kernel_size, stride), default ((3, 1), (3, 2), (4, 2), (5, 2), (3, 3))
    size : int, default 5
        Input side, between 2 and 12.

    Returns
    -------
    matplotlib.figure.Figure
        One heat map per case.

    Raises
    ------
    ValueError
        If ``cases`` is empty or a case is not a pair of positive integers.

    See Also
    --------
    convlab.upsample.checkerboard_overlap

    Notes
    -----
    Away from the border the counts are :math:`\lceil k/s \rceil` and :math:`\lfloor k/s \rfloor`,
    equal only when :math:`s \mid k` (Odena, Dumoulin & Olah, 2016).

    Examples
    --------
    >>> len(checkerboard_overlap_figure(((3, 2),), size=3).axes)
    1
    """
    from convlab.upsample import checkerboard_overlap

    cases = list(cases)
    if not cases:
        raise ValueError("`cases` must hold at least one (kernel_size, stride) pair; got none")
    n = check_int(size, "size", minimum=2)
    if n > 12:
        raise ValueError(f"`size` must be at most 12 for a readable figure; got size={n}")
    maps = []
    for case in cases:
        if not (isinstance(case, (tuple, list)) and len(case) == 2):
            raise ValueError(f"`cases` must hold (kernel_size, stride) pairs; got {case!r}")
        k = check_positive(case[0], "kernel_size")
        s = check_positive(case[1], "stride")
        maps.append((k, s, checkerboard_overlap((k, k), (s, s), (n, n))))
    vmax = max(int(m.max()) for *_, m in maps)
    fig = new_figure(2.7 * len(maps), 3.3, dpi=80)
    axes = np.atleast_1d(fig.subplots(1, len(maps)))
    for ax, (k, s, m) in zip(axes, maps, strict=True):
        ax.imshow(m, cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
        if m.shape[0] <= 16:
            for (i, j), v in np.ndenumerate(m):
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if v < vmax * 0.6 else "black",
                )
        verdict = "even" if k % s == 0 else "checkerboard"
        ax.set_title(f"k={k}, s={s}: {verdict}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"stamps per output pixel, transposed convolution of a {n}x{n} input", fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8, wspace=0.08)
    return fig


def checkerboard_artifact_figure(size: int = 12, seed: int = 0) -> Figure:
    """Checkerboard artifacts of transposed convolutions versus resize-convolution, on a flat input.

    A constant image carries no structure, so any pattern in an upsampled version of it is made
    by the layer. Panels: transposed convolutions (stride 2) with a kernel of ones, ``k = 3`` and
    ``k = 4``; two stacked transposed convolutions ``k = 3`` with random positive kernels; two
    stacked resize-convolutions (nearest x2, then 3x3) with the same kernels. The border is cropped
    so only the interior shows.

    Parameters
    ----------
    size : int, default 12
        Side of the constant input, between 6 and 32.
    seed : int, default 0
        Seed of the random kernels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``size`` is out of range.

    See Also
    --------
    convlab.upsample.resize_conv, convlab.upsample.checkerboard_overlap

    Examples
    --------
    >>> len(checkerboard_artifact_figure(size=6).axes)
    4
    """
    from convlab.functional import conv_transpose2d
    from convlab.upsample import resize_conv

    n = check_int(size, "size", minimum=6)
    if n > 32:
        raise ValueError(f"`size` must be at most 32; got size={n}")
    seed = check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    x = np.ones((1, 1, n, n))
    k1, k2 = rng.uniform(0.2, 1.0, (2, 1, 1, 3, 3))
    panels = {
        "transposed k=3, s=2\nkernel of ones": conv_transpose2d(x, np.ones((1, 1, 3, 3)), stride=2),
        "transposed k=4, s=2\nkernel of ones": conv_transpose2d(
            x, np.ones((1, 1, 4, 4)), stride=2, padding=1
        ),
        "2 x transposed k=3, s=2\nrandom kernels": conv_transpose2d(
            conv_transpose2d(x, k1, stride=2), k2, stride=2
        ),
        "2 x resize-conv (nearest, 3x3)\nsame random kernels": resize_conv(resize_conv(x, k1), k2),
    }
    fig = new_figure(11, 3.4, dpi=80)
    axes = fig.subplots(1, len(panels))
    for ax, (title, out) in zip(axes, panels.items(), strict=True):
        img = out[0, 0]
        m = img.shape[0] // 5
        img = img[m:-m, m:-m]
        img = img / img.mean()
        spread = img.max() - img.min()
        ax.imshow(img, cmap="gray", vmin=0, vmax=2, interpolation="nearest")
        ax.set_title(f"{title}\nmax - min = {100 * spread:.0f}% of mean", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "a constant input, upsampled: every pattern below is made by the layer (border cropped)", fontsize=11
    )
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.74, wspace=0.08)
    return fig
