"""Window geometry of a sliding-window picture: which input cells each output cell reads.

:func:`window_geometry` computes, for a square 2-D convolution or transposed convolution, the
grid that is drawn (the input with its padding, or the zero-inserted input of a transposed
convolution), the window of every output cell on it and the output itself, all from
:mod:`convlab` (the canvas of a transposed convolution is :func:`convlab.transposed.transposed_canvas`).
:mod:`convlab.viz.sliding` draws it; tests assert on it directly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convlab._validate import check_array, check_int
from convlab.arithmetic import _check_fits, _check_output_padding, _transpose_sizes

__all__ = ["ArithmeticCase", "DUMOULIN_VISIN_CASES", "WindowGeometry", "window_geometry"]


class ArithmeticCase(NamedTuple):
    """One of the cases of Dumoulin & Visin (2016), with the sizes of their figures."""

    name: str
    i: int
    k: int
    s: int
    p: int


#: The six cases of Dumoulin & Visin's *A guide to convolution arithmetic* (section 2-4), with the
#: sizes of their figures, plus the odd case of the last one (``(i + 2p - k) mod s = 1``).
DUMOULIN_VISIN_CASES: tuple[ArithmeticCase, ...] = (
    ArithmeticCase("no padding, unit strides", 4, 3, 1, 0),
    ArithmeticCase("arbitrary padding, unit strides", 5, 4, 1, 2),
    ArithmeticCase("half (same) padding, unit strides", 5, 3, 1, 1),
    ArithmeticCase("full padding, unit strides", 5, 3, 1, 2),
    ArithmeticCase("no padding, non-unit strides", 5, 3, 2, 0),
    ArithmeticCase("padding, non-unit strides", 5, 3, 2, 1),
    ArithmeticCase("padding, non-unit strides, odd", 6, 3, 2, 1),
)


class WindowGeometry(NamedTuple):
    """Where the window of every output cell lies: everything a sliding-window picture draws.

    Attributes
    ----------
    canvas : numpy.ndarray
        Values on the drawn input grid (padding and inserted zeros are 0).
    pad_mask : numpy.ndarray of bool
        True on padding and inserted zeros.
    kernel : numpy.ndarray
        The kernel as applied on the canvas (rotated by 180 degrees for a transposed convolution).
    stride : int
        Step of the window on the canvas (1 for a transposed convolution).
    dilation : int
    output : numpy.ndarray
        The result, computed by :mod:`convlab.functional`.
    starts : list of (int, int)
        Top-left canvas cell of the window of each output cell, row-major.
    source : numpy.ndarray of int
        Per canvas cell, the flat index ``r * i + c`` of the input pixel drawn there, -1 on padding
        and inserted zeros.
    """

    canvas: np.ndarray
    pad_mask: np.ndarray
    kernel: np.ndarray
    stride: int
    dilation: int
    output: np.ndarray
    starts: list
    source: np.ndarray

    def taps(self, index: int) -> list[tuple[int, int]]:
        """Canvas cells under the kernel taps of output cell ``index`` (row-major), in tap order."""
        r0, c0 = self.starts[index]
        k, d = self.kernel.shape[0], self.dilation
        return [(r0 + d * a, c0 + d * b) for a in range(k) for b in range(k)]

    def reads(self, index: int) -> list[tuple[int, int]]:
        """Input pixels ``(row, col)`` that output cell ``index`` reads (not padding or zeros), sorted."""
        width = int(np.sqrt(np.count_nonzero(self.source >= 0)))
        flat = sorted({int(self.source[r, c]) for r, c in self.taps(index)} - {-1})
        return [divmod(f, width) for f in flat]


def _size(value: object, name: str, minimum: int) -> int:
    return check_int(value, name, minimum=minimum)


def window_geometry(
    i: int,
    k: int,
    s: int = 1,
    p: int = 0,
    d: int = 1,
    *,
    transposed: bool = False,
    output_padding: int = 0,
    seed: int = 0,
    input=None,
    weight=None,
) -> WindowGeometry:
    """The grid, kernel, window positions and output of a square 2-D (transposed) convolution.

    A direct convolution is drawn on the input padded by ``p``; a transposed convolution is drawn
    the way Dumoulin & Visin draw it, as the equivalent direct convolution (stride 1, kernel
    rotated by 180°) over its input with ``s - 1`` zeros inserted between neighbours and
    :math:`d(k-1) - p` zeros of padding on each side, plus ``output_padding`` on the bottom and
    right.

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding and dilation (square).
    transposed : bool, default False
        Draw the transposed convolution with these parameters.
    output_padding : int, default 0
        Extra rows/columns of a transposed convolution's output (``< max(s, d)``).
    seed : int, default 0
        Seed of the small integer input and kernel used when ``input``/``weight`` are not given.
    input, weight : array_like, optional
        The ``(i, i)`` input and ``(k, k)`` kernel.

    Returns
    -------
    WindowGeometry
        ``canvas``, ``pad_mask``, ``kernel``, ``stride``, ``dilation``, ``output`` (computed with
        :func:`convlab.functional.conv2d` or :func:`convlab.functional.conv_transpose2d`) and the
        window ``starts`` in row-major output order, and which input pixel each canvas cell shows
        (``source``; ``WindowGeometry.reads`` lists the pixels each output cell reads).

    Raises
    ------
    TypeError, ValueError
        For a parameter that is not an integer in range, an impossible combination (no output),
        ``output_padding >= max(s, d)``, or a transposed padding larger than :math:`d(k-1)`
        (nothing to draw).

    See Also
    --------
    torch.nn.functional.conv2d, torch.nn.functional.conv_transpose2d

    Notes
    -----
    Direct: :math:`o = \\lfloor (i + 2p - d(k-1) - 1)/s \\rfloor + 1`. Transposed:
    :math:`o = (i-1)s - 2p + d(k-1) + a + 1` with :math:`a` = ``output_padding``.

    Examples
    --------
    >>> g = window_geometry(5, 3, s=2, p=1)
    >>> g.canvas.shape, g.output.shape, g.starts[:3]
    ((7, 7), (3, 3), [(0, 0), (0, 2), (0, 4)])
    """
    from convlab.functional import conv2d, conv_transpose2d
    from convlab.transposed import INPUT, transposed_canvas

    i = _size(i, "i", 1)
    k = _size(k, "k", 1)
    s = _size(s, "s", 1)
    p = _size(p, "p", 0)
    d = _size(d, "d", 1)
    a = _size(output_padding, "output_padding", 0)
    seed = check_int(seed, "seed")
    if not transposed and a:
        raise ValueError(f"`output_padding` applies to transposed convolutions only; got output_padding={a}")
    _check_output_padding((a,), (s,), (d,))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (i, i)) if input is None else check_array(input, "input", ndim=2)
    w = rng.integers(-1, 3, (k, k)) if weight is None else check_array(weight, "weight", ndim=2)
    if x.shape != (i, i):
        raise ValueError(f"`input` must have shape (i, i) = {(i, i)}; got {x.shape}")
    if w.shape != (k, k):
        raise ValueError(f"`weight` must have shape (k, k) = {(k, k)}; got {w.shape}")
    x = x.astype(float)
    w = w.astype(float)

    if not transposed:
        _check_fits(i, k, d, 2 * p)
        out = conv2d(x[None, None], w[None, None], stride=s, padding=p, dilation=d)[0, 0]
        canvas = np.pad(x, p)
        pad_mask = np.pad(np.zeros_like(x, dtype=bool), p, constant_values=True)
        source = np.pad(np.arange(i * i).reshape(i, i), p, constant_values=-1)
        kernel, stride = w, s
    else:
        if p > d * (k - 1):
            raise ValueError(
                f"`p` larger than d(k-1) = {d * (k - 1)} crops the transposed output; this picture "
                f"draws only p <= d(k-1); got p={p}"
            )
        _transpose_sizes((i,), (k,), (s,), (p,), (a,), (d,), padding_name="p")
        out = conv_transpose2d(
            x[None, None], w[None, None], stride=s, padding=p, output_padding=a, dilation=d
        )[0, 0]
        drawn = transposed_canvas(x, k, s, p, a, d)
        canvas, pad_mask = drawn.values, drawn.kind != INPUT
        source = transposed_canvas(np.arange(1, i * i + 1).reshape(i, i), k, s, p, a, d).values - 1
        kernel, stride = w[::-1, ::-1], 1
    starts = [(r * stride, c * stride) for r in range(out.shape[0]) for c in range(out.shape[1])]
    return WindowGeometry(canvas, pad_mask, kernel, stride, d, out, starts, source)
