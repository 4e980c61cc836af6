"""im2col and col2im: ``unfold`` cuts an image into flattened sliding blocks, ``fold`` sums them back.

``unfold`` turns a convolution into one matrix product (the Caffe trick taught in the chapter
:doc:`/chapters/matrix_backprop`); ``fold`` is its adjoint,
which is why a transposed convolution is "matrix product, then fold".
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convlab._validate import IntPair, _pair, check_allocation, check_array
from convlab.arithmetic import _conv_size, _conv_sizes

__all__ = ["unfold", "fold"]


def _block_arguments(kernel_size, dilation, padding, stride) -> tuple[tuple[int, int], ...]:
    """The four block arguments of ``unfold``/``fold`` as validated pairs, in that order."""
    return (
        _pair(kernel_size, "kernel_size"),
        _pair(dilation, "dilation"),
        _pair(padding, "padding", minimum=0),
        _pair(stride, "stride"),
    )


def _pad2d(x: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Zero-pad the last two axes (faster than :func:`numpy.pad`; no copy when nothing to pad)."""
    if top == bottom == left == right == 0:
        return x
    h, w = x.shape[-2:]
    out = np.zeros((*x.shape[:-2], h + top + bottom, w + left + right), dtype=x.dtype)
    out[..., top : top + h, left : left + w] = x
    return out


def _windows(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> np.ndarray:
    """Read-only view ``(N, C, kh, kw, Ho, Wo)`` of the blocks of an already padded ``(N, C, H, W)``."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = _conv_size(h, kh, sh, 0, dh), _conv_size(w, kw, sw, 0, dw)
    # a single block position has no step: any stride is 1 there (a stride of 10**18 would
    # overflow the byte strides of the view)
    sh, sw = (sh if ho > 1 else 1), (sw if wo > 1 else 1)
    bn, bc, bh, bw = x.strides
    return as_strided(
        x, (n, c, kh, kw, ho, wo), (bn, bc, bh * dh, bw * dw, bh * sh, bw * sw), writeable=False
    )


def _col2im(
    cols: np.ndarray,
    size: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Scatter-add blocks ``(N, C, kh, kw, Lh, Lw)`` into a zero ``(N, C, *size)`` canvas.

    One strided slice per kernel tap: a loop over ``kh * kw`` taps, never over pixels.
    """
    n, c, kh, kw, lh, lw = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    if out is None:
        out = np.zeros((n, c, *size), dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + (lh - 1) * sh + 1, sh)
        for j in range(kw):
            out[:, :, rows, j * dw : j * dw + (lw - 1) * sw + 1 : sw] += cols[:, :, i, j]
    return out


def unfold(
    input: np.ndarray,
    kernel_size: IntPair,
    dilation: IntPair = 1,
    padding: IntPair = 0,
    stride: IntPair = 1,
) -> np.ndarray:
    r"""Extract sliding blocks as columns (im2col), like :func:`torch.nn.functional.unfold`.

    Parameters
    ----------
    input : array_like, shape (N, C, H, W) or (C, H, W)
        Image batch (or one image).
    kernel_size : int or (int, int)
        Block size ``(kh, kw)``.
    dilation : int or (int, int), optional
        Spacing between block elements.
    padding : int or (int, int), optional
        Zeros added on both sides of each spatial axis.
    stride : int or (int, int), optional
        Step between blocks.

    Returns
    -------
    numpy.ndarray, shape (N, C * kh * kw, L) or (C * kh * kw, L)
        Row index ``(c, i, j)`` in C order, column index = block position in row-major order.
        Floating dtypes are kept; integers become float64.

    Raises
    ------
    TypeError
        If ``input`` is not numeric or a size argument is not an integer.
    ValueError
        If ``input`` is not 3-D/4-D, or an argument is out of range, or no block fits.

    See Also
    --------
    torch.nn.functional.unfold : the oracle.
    fold : the adjoint (col2im with summation).

    Notes
    -----
    The number of blocks is :math:`L = L_h L_w` with

    .. math:: L_h = \left\lfloor \frac{H + 2p_h - d_h(k_h - 1) - 1}{s_h} \right\rfloor + 1

    and the same for the width.

    Chapter: :doc:`/chapters/matrix_backprop`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> unfold(x, 2)[0]
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    k, d, p, s = _block_arguments(kernel_size, dilation, padding, stride)
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    n, c, h, w = x.shape
    lh, lw = _conv_sizes((h, w), k, s, p, d)  # raises when no block fits
    check_allocation(
        (n, c, x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1]),
        x.itemsize,
        f"the input padded by `padding`={padding!r}",
    )
    cols = _windows(_pad2d(x, p[0], p[0], p[1], p[1]), k, s, d).reshape(n, c * k[0] * k[1], lh * lw)
    if not cols.flags.writeable:  # reshape returned a view of the input: hand back a fresh array
        cols = cols.copy()
    return cols[0] if unbatched else cols


def fold(
    input: np.ndarray,
    output_size: IntPair,
    kernel_size: IntPair,
    dilation: IntPair = 1,
    padding: IntPair = 0,
    stride: IntPair = 1,
) -> np.ndarray:
    r"""Sum sliding blocks back into an image (col2im), like :func:`torch.nn.functional.fold`.

    Parameters
    ----------
    input : array_like, shape (N, C * kh * kw, L) or (C * kh * kw, L)
        Columns as produced by :func:`unfold`.
    output_size : int or (int, int)
        Spatial size ``(H, W)`` of the image (before padding).
    kernel_size, dilation, padding, stride : int or (int, int)
        As in :func:`unfold`.

    Returns
    -------
    numpy.ndarray, shape (N, C, H, W) or (C, H, W)
        Overlapping block entries are *summed*; entries falling in the padding are dropped.

    Raises
    ------
    TypeError
        If ``input`` is not numeric or a size argument is not an integer.
    ValueError
        If ``input`` is not 2-D/3-D, its second-to-last axis is not divisible by ``kh * kw``,
        its last axis does not equal the number of blocks ``L``, or an argument is out of range.

    See Also
    --------
    torch.nn.functional.fold : the oracle.
    unfold : the adjoint; ``fold(unfold(x))`` multiplies each pixel by the number of blocks covering it.

    Notes
    -----
    ``L`` must equal :math:`L_h L_w` computed from ``output_size`` as in :func:`unfold`.

    Chapter: :doc:`/chapters/matrix_backprop`.

    Examples
    --------
    >>> import numpy as np
    >>> fold(np.ones((1, 4, 4)), output_size=3, kernel_size=2)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    cols = check_array(input, "input", ndim=(2, 3), floating=True)
    size = _pair(output_size, "output_size")
    k, d, p, s = _block_arguments(kernel_size, dilation, padding, stride)
    unbatched = cols.ndim == 2
    if unbatched:
        cols = cols[None]
    n, ckk, length = cols.shape
    if ckk % (k[0] * k[1]):
        raise ValueError(
            f"`input` must have C * kh * kw rows; got {ckk} rows, not divisible by "
            f"kh * kw = {k[0] * k[1]} (`kernel_size`={k})"
        )
    lh, lw = (_conv_size(size[a], k[a], s[a], p[a], d[a]) for a in range(2))
    if lh <= 0 or lw <= 0 or lh * lw != length:
        raise ValueError(
            f"`input` must have L = {max(lh, 0) * max(lw, 0)} columns (blocks {max(lh, 0)} x {max(lw, 0)} "
            f"for `output_size`={size}, `kernel_size`={k}, `dilation`={d}, `padding`={p}, "
            f"`stride`={s}); got L = {length}"
        )
    c = ckk // (k[0] * k[1])
    blocks = cols.reshape(n, c, k[0], k[1], lh, lw)
    canvas = _col2im(blocks, (size[0] + 2 * p[0], size[1] + 2 * p[1]), s, d)
    out = canvas[:, :, p[0] : p[0] + size[0], p[1] : p[1] + size[1]]
    if p != (0, 0):
        out = np.ascontiguousarray(out)
    return out[0] if unbatched else out
