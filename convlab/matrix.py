"""Convolution as a matrix multiplication (chapter :doc:`../chapters/matrix_backprop`).

A convolution is linear in its input, so for a fixed kernel and input size it *is* a matrix:
flatten the input ``x`` into a vector and the layer computes ``y = C @ x``. Each row of ``C``
holds the kernel laid out at the offsets where one output pixel reads the input; most entries
are zero. The same matrix read the other way, ``C.T @ y``, is the transposed convolution, which
is also the gradient of the convolution with respect to its input:
:math:`\\partial L / \\partial x = C^\\top \\, \\partial L / \\partial y`.
"""

from __future__ import annotations

import numpy as np

from convlab._validate import IntPair, _pair, check_allocation, check_array, check_positive, result_dtype
from convlab.arithmetic import _check_fits, _conv_size

__all__ = ["conv_matrix"]


def _conv_length(size: int, k: int, s: int, p: int, d: int, axis: str) -> int:
    """Output length of a convolution along one axis, refusing sizes the kernel does not fit."""
    _check_fits(size, k, d, 2 * p, axis, names=("input_size", "dilation", "padding"))
    return _conv_size(size, k, s, p, d)


def conv_matrix(
    input_size: IntPair,
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """The dense matrix ``C`` of a 2-D convolution (deep-learning cross-correlation).

    Parameters
    ----------
    input_size : int or (int, int)
        Spatial size ``(H, W)`` of the input the matrix acts on.
    weight : ndarray, shape (C_out, C_in / groups, kh, kw) or (kh, kw)
        Kernel in PyTorch's layout. A 2-D kernel means one input and one output channel, and
        the input vector is then an ``(H, W)`` image flattened.
    stride, padding, dilation : int or (int, int), optional
        As in :func:`convlab.functional.conv2d` (padding is zeros on both sides).
    groups : int, optional
        Split the channels into ``groups`` independent convolutions (the matrix is then
        block-diagonal in the channel blocks). Default 1.

    Returns
    -------
    ndarray, shape (C_out * H_out * W_out, C_in * H * W)
        ``C`` with ``C @ x.ravel() == conv2d(x[None], weight, ...).ravel()`` for ``x`` of shape
        ``(C_in, H, W)`` (or ``(H, W)`` for a 2-D kernel), and ``C.T @ y.ravel()`` equal to the
        matching transposed convolution of ``y``. Floating dtype of ``weight`` (integers give
        float64).

    Raises
    ------
    ValueError
        If ``weight`` is not 2-D or 4-D, a size, stride, padding, dilation or ``groups`` is out of
        range, the channels do not divide into ``groups``, the kernel does not fit the padded input,
        or the dense matrix would be larger than this machine's physical memory (checked before
        allocating: ``conv_matrix(2000, np.ones((3, 3)))`` would need 116 TiB).
    TypeError
        If an argument has the wrong type.

    See Also
    --------
    convlab.functional.conv2d : the convolution this matrix performs (``torch.nn.functional.conv2d``).
    convlab.transposed.conv_transpose2d_matrix : the transposed convolution as ``C.T``.
    convlab.functional.unfold : im2col, the other way to turn a convolution into one matrix product.

    Notes
    -----
    Row ``(c_o, i, j)`` (row-major) and column ``(c_i, h, w)`` meet at

    .. math::

        C[(c_o, i, j), (c_i, h, w)] = W[c_o, c_i, a, b]
        \\quad\\text{where}\\quad h = s_h i - p_h + d_h a,\\; w = s_w j - p_w + d_w b,

    and are zero elsewhere; taps that fall on the zero padding have no column and are dropped.
    The output size is :math:`H_{out} = \\lfloor (H + 2p_h - d_h (k_h - 1) - 1) / s_h \\rfloor + 1`
    (likewise for the width). The matrix is built in one fancy assignment over all
    (output pixel, tap) pairs, with no loop over pixels; it is dense, so it is meant for the small
    sizes of a lesson (it has :math:`C_{out} H_{out} W_{out} \\cdot C_{in} H W` entries).

    Examples
    --------
    A 3x3 kernel on a 4x4 image gives the 4x16 matrix of a 2x2 output:

    >>> import numpy as np
    >>> C = conv_matrix(4, np.arange(1, 10).reshape(3, 3))
    >>> C.shape
    (4, 16)
    >>> C[1].astype(int).reshape(4, 4)
    array([[0, 1, 2, 3],
           [0, 4, 5, 6],
           [0, 7, 8, 9],
           [0, 0, 0, 0]])
    """
    weight = check_array(weight, "weight", ndim=(2, 4), floating=True)
    single = weight.ndim == 2
    if single:
        weight = weight[None, None]
    H, W = _pair(input_size, "input_size")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding", minimum=0)
    dh, dw = _pair(dilation, "dilation")
    groups = check_positive(groups, "groups")
    c_out, c_in_group, kh, kw = weight.shape
    if c_out % groups:
        raise ValueError(
            f"`groups` must divide the output channels; got groups={groups}, weight.shape[0]={c_out}"
        )
    c_in = c_in_group * groups
    ho = _conv_length(H, kh, sh, ph, dh, "height")
    wo = _conv_length(W, kw, sw, pw, dw, "width")
    check_allocation(
        (c_out * ho * wo, c_in * H * W),
        np.dtype(result_dtype(weight)).itemsize,
        f"the matrix for `input_size`={input_size!r} and `weight` of shape {weight.shape}",
    )

    # One axis per index: (c_out, i, j, c_in_group, a, b), broadcast against each other.
    co, i, j, ci, a, b = np.ix_(
        np.arange(c_out), np.arange(ho), np.arange(wo), np.arange(c_in_group), np.arange(kh), np.arange(kw)
    )
    h = sh * i - ph + dh * a
    w = sw * j - pw + dw * b
    channel = (co // (c_out // groups)) * c_in_group + ci  # the input channel tap ci of group reads
    rows = (co * ho + i) * wo + j
    cols = (channel * H + h) * W + w
    rows, cols, h, w = np.broadcast_arrays(rows, cols, h, w)
    values = np.broadcast_to(weight[:, None, None], rows.shape)
    inside = (h >= 0) & (h < H) & (w >= 0) & (w < W)

    matrix = np.zeros((c_out * ho * wo, c_in * H * W), dtype=result_dtype(weight))
    # Distinct taps of one output pixel read distinct input pixels, so no index repeats.
    matrix[rows[inside], cols[inside]] = values[inside]
    return matrix
