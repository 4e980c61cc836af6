"""Receptive fields of a layer stack, drawn from :mod:`convlab.arithmetic` and torch autograd.

- :func:`field_table`: size, jump and centre after every layer of a stack (prefix by prefix);
- :func:`input_gradient`: the gradient of one output pixel with respect to the input of a
  one-channel (or few-channel) stack of convolutions, computed by torch autograd; its non-zero
  support is the *empirical* receptive field, its magnitude the *effective* receptive field of
  Luo et al. (2016);
- :func:`receptive_field_figure`: the field of output cell 0 (and the centres of its
  neighbours) after each layer, on the input axis;
- :func:`effective_receptive_field_figure`: the magnitude of one output pixel's input gradient,
  with the theoretical field drawn around it.

Chapter: :doc:`/chapters/channels_pooling`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convlab._validate import check_choice, check_int
from convlab.arithmetic import ReceptiveField, conv_output_size, receptive_field
from convlab.viz.grids import PALETTE, new_figure

__all__ = ["field_table", "input_gradient", "receptive_field_figure", "effective_receptive_field_figure"]

Layer = tuple[int, int, int, int]


def field_table(layers: Sequence[Layer]) -> list[ReceptiveField]:
    """The receptive field after each layer of a stack: ``receptive_field(layers[: l + 1])``.

    Parameters
    ----------
    layers : sequence of (kernel, stride, padding, dilation)
        As in :func:`convlab.arithmetic.receptive_field`, input side first.

    Returns
    -------
    list of ReceptiveField
        One entry per layer.

    Raises
    ------
    TypeError, ValueError
        As :func:`convlab.arithmetic.receptive_field`.

    See Also
    --------
    convlab.arithmetic.receptive_field : the last entry.

    Examples
    --------
    >>> [f.size for f in field_table([(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)])]
    [3, 4, 8]
    """
    receptive_field(layers)  # validates the whole stack once
    return [receptive_field(layers[: n + 1]) for n in range(len(layers))]


def input_gradient(
    layers: Sequence[Layer],
    size: int,
    cell: tuple[int, int] | None = None,
    weights: str = "ones",
    channels: int = 1,
    relu: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Gradient of one output pixel of a convolution stack with respect to its input image.

    Every layer ``(k, s, p, d)`` becomes a ``torch.nn.functional.conv2d`` with that kernel,
    stride, zero padding and dilation (a pooling layer is modelled by its averaging kernel,
    which has the same geometry as max pooling but a gradient on every pixel of the window).

    Parameters
    ----------
    layers : sequence of (kernel, stride, padding, dilation)
        As in :func:`convlab.arithmetic.receptive_field`.
    size : int
        Height and width of the square input image.
    cell : (int, int), optional
        The output pixel ``(row, column)``; default the centre of the output.
    weights : {"ones", "random"}
        All-ones kernels (every path counts once: the gradient counts the paths from each
        input pixel to the output pixel) or standard-normal kernels scaled by
        :math:`1/\\sqrt{C k^2}`, seeded by ``seed``.
    channels : int
        Channels of every hidden layer (the input and output have one).
    relu : bool
        Put a ReLU after every layer but the last.
    seed : int
        Seed of the random weights and of the input image (used only when ``relu`` is True,
        since the gradient of a linear stack does not depend on the input).

    Returns
    -------
    numpy.ndarray, shape (size, size), float64
        :math:`\\partial y_{cell} / \\partial x`.

    Raises
    ------
    TypeError, ValueError
        If ``layers`` is not a valid stack, a size is not a positive integer, ``weights`` is
        not one of the two choices, ``cell`` lies outside the output, or the input is too small
        for the stack.

    See Also
    --------
    convlab.arithmetic.receptive_field : the field this gradient's support equals.
    torch.autograd.grad : what computes it.

    Examples
    --------
    >>> g = input_gradient([(3, 1, 1, 1), (3, 1, 1, 1)], 7)
    >>> g[1:6, 3].astype(int)  # paths through two 3x3 kernels: 1 2 3 2 1 per axis
    array([3, 6, 9, 6, 3])
    """
    import torch
    import torch.nn.functional as tF

    receptive_field(layers)  # validates the stack
    size = check_int(size, "size", minimum=1)
    channels = check_int(channels, "channels", minimum=1)
    seed = check_int(seed, "seed")
    check_choice(weights, "weights", ("ones", "random"))
    if not isinstance(relu, bool):
        raise TypeError(f"`relu` must be a bool; got relu={relu!r}")
    out = size
    for n, (k, s, p, d) in enumerate(layers):
        try:
            out = conv_output_size(out, k, s, p, d)
        except ValueError as exc:
            raise ValueError(f"`size`={size} is too small for the stack at `layers[{n}]`: {exc}") from None
    row, col = (out // 2, out // 2) if cell is None else cell
    for name, value in (("cell", row), ("cell", col)):
        check_int(value, name)
    if not (0 <= row < out and 0 <= col < out):
        raise ValueError(f"`cell` must lie inside the {out}x{out} output; got cell={(row, col)}")

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, size, size, generator=generator, dtype=torch.float64)
    x.requires_grad_(True)
    y = x
    for n, (k, s, p, d) in enumerate(layers):
        c_in, c_out = y.shape[1], 1 if n == len(layers) - 1 else channels
        if weights == "ones":
            w = torch.ones(c_out, c_in, k, k, dtype=torch.float64)
        else:
            w = torch.randn(c_out, c_in, k, k, generator=generator, dtype=torch.float64)
            w /= np.sqrt(c_in * k * k)
        y = tF.conv2d(y, w, stride=s, padding=p, dilation=d)
        if relu and n < len(layers) - 1:
            y = torch.relu(y)
    (grad,) = torch.autograd.grad(y[0, 0, row, col], x)
    return grad[0, 0].numpy()


def _field_interval(field: ReceptiveField, cell: int = 0) -> tuple[float, float]:
    """First and last input pixel centre of output cell ``cell``'s field."""
    centre = field.start + cell * field.jump
    half = (field.size - 1) / 2
    return centre - half, centre + half


def receptive_field_figure(
    layers: Sequence[Layer],
    names: Sequence[str] | None = None,
    input_size: int | None = None,
    cells: int = 3,
    dpi: float = 100,
) -> Figure:
    """The receptive field after every layer of a stack, as intervals on the input axis.

    Row ``l`` (top: the first layer) shows the field of output cell 0 after layer ``l`` as a
    bar from its first to its last input pixel, and the centres of cells ``0 .. cells - 1``
    as dots, ``jump`` pixels apart. With ``input_size``, the input ``[0, input_size)`` is
    shaded, so that the part of a field in the padding shows.

    Parameters
    ----------
    layers : sequence of (kernel, stride, padding, dilation)
        As in :func:`convlab.arithmetic.receptive_field`.
    names : sequence of str, optional
        One label per layer (default ``layer 1``, ``layer 2``, ...).
    input_size : int, optional
        Width of the input image to shade.
    cells : int
        How many neighbouring cell centres to mark (>= 1).
    dpi : float
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; its ``l``-th :class:`~matplotlib.patches.Rectangle` (in ``ax.patches``, after
        the input shading when there is one) spans the field after layer ``l`` (pixel edges:
        half a pixel beyond the first and last centre).

    Raises
    ------
    TypeError, ValueError
        If ``layers`` is invalid or empty, ``names`` has the wrong length, or a size is not
        positive.

    See Also
    --------
    field_table : the numbers drawn.

    Examples
    --------
    >>> fig = receptive_field_figure([(3, 1, 1, 1), (2, 2, 0, 1)], input_size=8)
    >>> [round(p.get_width()) for p in fig.axes[0].patches[1:]]
    [3, 4]
    """
    table = field_table(layers)
    if not table:
        raise ValueError("`layers` must contain at least one layer; got an empty sequence")
    labels = [f"layer {n + 1}" for n in range(len(table))] if names is None else list(names)
    if len(labels) != len(table):
        raise ValueError(f"`names` must have one entry per layer ({len(table)}); got {len(labels)}")
    cells = check_int(cells, "cells", minimum=1)
    if input_size is not None:
        input_size = check_int(input_size, "input_size", minimum=1)
    height = 0.9 + 0.32 * len(table)
    fig = new_figure(7.5, height, dpi=dpi)
    ax = fig.add_axes((0.2, 0.9 / height * 0.6, 0.76, 1 - 0.9 / height))
    if input_size is not None:
        ax.axvspan(-0.5, input_size - 0.5, color=PALETTE["input"], alpha=0.25, lw=0, label="input")
    lo_all, hi_all = 0.0, float(input_size or 1) - 1
    for row, field in enumerate(table):
        lo, hi = _field_interval(field)
        ax.add_patch(
            Rectangle(
                (lo - 0.5, row - 0.35), hi - lo + 1, 0.7,
                facecolor=PALETTE["output"], edgecolor=PALETTE["edge"], lw=0.8,
            )
        )  # fmt: skip
        centres = field.start + field.jump * np.arange(cells)
        ax.plot(centres, np.full(cells, row), "o", color=PALETTE["highlight"], ms=3.5)
        ax.text(hi + 0.5, row, f"  {field.size} px, jump {field.jump}", va="center", fontsize=8)
        lo_all, hi_all = min(lo_all, lo), max(hi_all, hi, centres[-1])
    span = hi_all - lo_all + 1
    ax.set_xlim(lo_all - 0.5 - 0.02 * span, hi_all + 0.5 + 0.3 * span)
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_yticks(range(len(table)), labels, fontsize=8)
    ax.set_xlabel("input pixel (field of output cell 0; dots: centres of cells 0, 1, 2, ...)")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def effective_receptive_field_figure(
    layers: Sequence[Layer],
    size: int,
    weights: str = "ones",
    channels: int = 1,
    relu: bool = False,
    seed: int = 0,
    dpi: float = 100,
) -> Figure:
    """The magnitude of the centre output pixel's input gradient, inside its theoretical field.

    Left: :math:`|\\partial y / \\partial x|` of :func:`input_gradient` as an image, with a
    rectangle around the theoretical receptive field of the centre cell. Right: the middle
    row of the same gradient (normalised to a peak of 1) against the input column, with the
    theoretical field's edges.

    Parameters
    ----------
    layers, size, weights, channels, relu, seed
        As in :func:`input_gradient`.
    dpi : float
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes; the first holds one image (``ax.images[0]``, extent in pixel edges
        ``(-0.5, size - 0.5)``) and one :class:`~matplotlib.patches.Rectangle`, the
        theoretical field.

    Raises
    ------
    TypeError, ValueError
        As :func:`input_gradient`.

    See Also
    --------
    input_gradient : the array drawn.
    convlab.arithmetic.receptive_field : the rectangle.

    Examples
    --------
    >>> fig = effective_receptive_field_figure([(3, 1, 1, 1)] * 4, 15)
    >>> round(fig.axes[0].patches[0].get_width())
    9
    """
    grad = np.abs(input_gradient(layers, size, weights=weights, channels=channels, relu=relu, seed=seed))
    field = receptive_field(layers)
    out = size
    for k, s, p, d in layers:
        out = conv_output_size(out, k, s, p, d)
    lo, hi = _field_interval(field, out // 2)
    peak = grad.max() if grad.max() > 0 else 1.0
    fig = new_figure(8, 3.4, dpi=dpi)
    fig.set_layout_engine("constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.3))
    left.imshow(grad / peak, cmap="magma", extent=(-0.5, size - 0.5, size - 0.5, -0.5))
    left.add_patch(
        Rectangle(
            (lo - 0.5, lo - 0.5), hi - lo + 1, hi - lo + 1,
            fill=False, edgecolor=PALETTE["output"], lw=1.5, ls="--",
        )
    )  # fmt: skip
    left.set_title(f"|∂y/∂x| of the centre pixel; dashed: {field.size}×{field.size} field", fontsize=9)
    middle = int(round(field.start + (out // 2) * field.jump))
    middle = min(max(middle, 0), size - 1)
    right.plot(np.arange(size), grad[middle] / peak, color=PALETTE["footprint"], lw=1.5)
    for edge in (lo - 0.5, hi + 0.5):
        right.axvline(edge, color=PALETTE["output"], ls="--", lw=1.2)
    right.set_xlabel(f"input column (row {middle})")
    right.set_ylabel("gradient / its maximum")
    right.spines[["top", "right"]].set_visible(False)
    return fig
