"""Three views of one transposed convolution, and TensorFlow's ``conv2d_transpose``
(chapter :doc:`../chapters/transposed_conv`).

A transposed convolution is the adjoint of a convolution: it sends each input pixel back along
the same kernel taps that the convolution used to gather it. Three ways of computing it give
one answer, and each explains a different part of the picture:

- :func:`conv_transpose2d_scatter` -- "stamp the kernel": every input pixel adds a copy of the
  kernel, scaled by its value, into the output at ``stride`` offsets; overlaps are summed.
- :func:`conv_transpose2d_zero_insert` -- insert ``stride - 1`` zeros between input pixels, pad by
  ``dilation * (k - 1) - padding``, and run an ordinary stride-1 convolution with the kernel
  rotated by 180 degrees (the "fractionally strided convolution").
- :func:`conv_transpose2d_matrix` -- multiply by ``C.T``, the transpose of the convolution's matrix.

:func:`tf_conv2d_transpose` is TensorFlow's variant, which takes the output shape explicitly and
pads the way TensorFlow's ``'SAME'`` convolution does (the extra pixel after).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from convlab import functional as F
from convlab._validate import (
    IntPair,
    _is_int,
    _ntuple,
    _pair,
    check_allocation,
    check_array,
    check_positive,
    result_dtype,
)
from convlab.arithmetic import (
    _canvas_pads,
    _check_output_padding,
    _conv_size,
    _tf_forward_size,
    _transpose_size,
    _transpose_sizes,
    same_padding,
    tf_transpose_output_sizes,
)
from convlab.matrix import conv_matrix

__all__ = [
    "zero_insert",
    "TransposedCanvas",
    "transposed_canvas",
    "conv_transpose2d_scatter",
    "conv_transpose2d_zero_insert",
    "conv_transpose2d_matrix",
    "tf_conv2d_transpose",
]

# --------------------------------------------------------------------------------------------
# shared helpers


def _check_transpose_args(input, weight, bias, stride, padding, output_padding, groups, dilation):
    """Validate the arguments of a ``conv_transpose2d`` view; return them normalised.

    The input comes back 4-D (``unbatched`` says whether a batch axis was added).
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    w = check_array(weight, "weight", ndim=4, floating=True)
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    stride = _pair(stride, "stride")
    padding = _pair(padding, "padding", minimum=0)
    output_padding = _pair(output_padding, "output_padding", minimum=0)
    dilation = _pair(dilation, "dilation")
    groups = check_positive(groups, "groups")
    c_in = x.shape[1]
    if w.shape[0] != c_in:
        raise ValueError(
            f"`weight` must have shape (C_in, C_out / groups, kh, kw) with C_in = {c_in} input "
            f"channels; got weight.shape={w.shape}"
        )
    if c_in % groups:
        raise ValueError(f"`groups` must divide the input channels; got groups={groups}, C_in={c_in}")
    out_size = _transpose_sizes(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
    c_out = w.shape[1] * groups
    b = None
    if bias is not None:
        b = check_array(bias, "bias", ndim=1, floating=True)
        if b.shape != (c_out,):
            raise ValueError(f"`bias` must have shape ({c_out},); got bias.shape={b.shape}")
    dtype = result_dtype(x, w) if b is None else result_dtype(x, w, b)
    check_allocation(
        (x.shape[0], c_out, *out_size),
        np.dtype(dtype).itemsize,
        f"the output of `stride`={stride}, `padding`={padding}, `dilation`={dilation}",
    )
    return x, w, b, stride, padding, output_padding, groups, dilation, unbatched, out_size, dtype


def _finish(out, b, unbatched, dtype):
    """Add the bias, drop a batch axis that was added, cast to the result dtype."""
    if b is not None:
        out = out + b[:, None, None]
    if unbatched:
        out = out[0]
    return out.astype(dtype, copy=False)


def _pad_or_crop(x: np.ndarray, before: Sequence[int], after: Sequence[int], value: int = 0) -> np.ndarray:
    """Pad with ``value`` (positive amounts) or crop (negative amounts) the last two axes."""
    widths = [(0, 0)] * (x.ndim - 2) + [(max(b, 0), max(a, 0)) for b, a in zip(before, after, strict=True)]
    x = np.pad(x, widths, constant_values=value)
    crop = tuple(
        slice(max(-b, 0), x.shape[-2 + k] - max(-a, 0))
        for k, (b, a) in enumerate(zip(before, after, strict=True))
    )
    return x[(..., *crop)]


def _stamp(x, w, stride, dilation, groups, extra=(0, 0)):
    """The full transposed convolution before cropping: each input pixel stamps the kernel.

    ``x`` is (N, C_in, H, W), ``w`` is (C_in, C_out / groups, kh, kw). The canvas has size
    ``(H - 1) * s + d * (k - 1) + 1 + extra``. The loop runs over kernel taps only: tap ``(a, b)``
    of every input pixel lands on one strided slice of the canvas.
    """
    n, c_in, h, wd = x.shape
    _, cog, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    canvas = np.zeros(
        (
            n,
            groups,
            cog,
            _transpose_size(h, kh, sh, 0, extra[0], dh),
            _transpose_size(wd, kw, sw, 0, extra[1], dw),
        ),
        dtype=np.result_type(x, w),
    )
    xg = x.reshape(n, groups, c_in // groups, h, wd)
    wg = w.reshape(groups, c_in // groups, cog, kh, kw)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + (h - 1) * sh + 1, sh)
            cols = slice(b * dw, b * dw + (wd - 1) * sw + 1, sw)
            canvas[..., rows, cols] += np.einsum("ngchw,gco->ngohw", xg, wg[..., a, b])
    return canvas.reshape(n, groups * cog, *canvas.shape[-2:])


# --------------------------------------------------------------------------------------------
# zero insertion


def zero_insert(input: np.ndarray, stride: IntPair) -> np.ndarray:
    """Insert ``stride - 1`` zeros between neighbouring pixels of the last two axes.

    Parameters
    ----------
    input : ndarray, shape (..., H, W)
        Any array with at least two dimensions; leading axes are kept.
    stride : int or (int, int)
        Spacing of the original pixels in the result (1 leaves the input unchanged).

    Returns
    -------
    ndarray, shape (..., (H - 1) * s_h + 1, (W - 1) * s_w + 1)
        Same dtype as ``input``; ``out[..., ::s_h, ::s_w] == input`` and every other entry is 0.

    Raises
    ------
    ValueError
        If ``input`` has fewer than two dimensions or is empty, or ``stride`` is not positive.
    TypeError
        If ``input`` is not numeric or ``stride`` is not an integer (pair).

    See Also
    --------
    conv_transpose2d_zero_insert : the transposed convolution built on it.

    Notes
    -----
    This is the "fractional stride" of a transposed convolution: a stride-1 convolution over the
    zero-inserted input moves :math:`1/s` of an original pixel per step. Along each axis
    :math:`H' = (H - 1) s + 1`: no zeros are added after the last pixel.

    Examples
    --------
    >>> import numpy as np
    >>> zero_insert(np.array([[1, 2], [3, 4]]), 2)
    array([[1, 0, 2],
           [0, 0, 0],
           [3, 0, 4]])
    """
    x = check_array(input, "input")
    if x.ndim < 2:
        raise ValueError(f"`input` must have at least 2 dimensions (..., H, W); got shape {x.shape}")
    sh, sw = _pair(stride, "stride")
    h, w = x.shape[-2:]
    shape = (*x.shape[:-2], _transpose_size(h, 1, sh, 0, 0, 1), _transpose_size(w, 1, sw, 0, 0, 1))
    check_allocation(shape, x.itemsize, f"the output of `stride`={stride!r}")
    out = np.zeros(shape, dtype=x.dtype)
    out[..., ::sh, ::sw] = x
    return out


class TransposedCanvas(NamedTuple):
    """The zero-inserted, padded input that the zero-insertion view convolves.

    Attributes
    ----------
    values : numpy.ndarray
        Shape ``(..., H', W')``: the input with ``stride - 1`` zeros between pixels, then
        ``before`` zeros before and ``after`` after along each axis (a negative amount crops
        instead).
    kind : numpy.ndarray
        Shape ``(H', W')``, dtype int8: what each cell is, ``INPUT`` (0), ``INSERTED`` (1, a zero
        between pixels) or ``PADDING`` (2).
    before : tuple of int
        Zeros added before each axis: ``d(k-1) - p`` (negative: rows/columns cropped).
    after : tuple of int
        Zeros added after each axis: ``before`` plus ``output_padding``.
    """

    values: np.ndarray
    kind: np.ndarray
    before: tuple[int, int]
    after: tuple[int, int]


INPUT, INSERTED, PADDING = 0, 1, 2


def transposed_canvas(
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> TransposedCanvas:
    r"""Zero-insert and pad an input the way a transposed convolution's direct form needs.

    The stride-1 convolution of this canvas with the kernel rotated by 180 degrees is the
    transposed convolution (:func:`conv_transpose2d_zero_insert`); the figures and the explorer
    draw the same canvas, with :attr:`TransposedCanvas.kind` telling input pixels, inserted zeros
    and padding apart.

    Parameters
    ----------
    input : array_like, shape (..., H, W)
        At least two dimensions; leading axes are kept.
    kernel_size : int or (int, int)
        Size of the kernel of the transposed convolution.
    stride, padding, output_padding, dilation : int or (int, int), optional
        As in :func:`torch.nn.functional.conv_transpose2d`.

    Returns
    -------
    TransposedCanvas
        ``(values, kind, before, after)``; along each axis
        :math:`H' = (H - 1)s + 1 + 2(d(k-1) - p) + \mathrm{output\_padding}`.

    Raises
    ------
    TypeError
        If ``input`` is not numeric or a size is not an integer.
    ValueError
        If ``input`` has fewer than two dimensions, a size is out of range, or
        ``output_padding`` is not smaller than ``stride`` or ``dilation``.

    See Also
    --------
    convlab.arithmetic.transposed_equivalent : the same geometry as numbers.
    zero_insert : the stretching step alone.

    Examples
    --------
    >>> import numpy as np
    >>> canvas = transposed_canvas(np.array([[1, 2], [3, 4]]), 3, stride=2, padding=1)
    >>> canvas.values
    array([[0, 0, 0, 0, 0],
           [0, 1, 0, 2, 0],
           [0, 0, 0, 0, 0],
           [0, 3, 0, 4, 0],
           [0, 0, 0, 0, 0]])
    >>> canvas.kind
    array([[2, 2, 2, 2, 2],
           [2, 0, 1, 0, 2],
           [2, 1, 1, 1, 2],
           [2, 0, 1, 0, 2],
           [2, 2, 2, 2, 2]], dtype=int8)
    """
    x = check_array(input, "input")
    if x.ndim < 2:
        raise ValueError(f"`input` must have at least 2 dimensions (..., H, W); got shape {x.shape}")
    k = _pair(kernel_size, "kernel_size")
    s = _pair(stride, "stride")
    p = _pair(padding, "padding", minimum=0)
    op = _pair(output_padding, "output_padding", minimum=0)
    d = _pair(dilation, "dilation")
    _check_output_padding(op, s, d)
    _, before_h, after_h = _canvas_pads(k[0], s[0], p[0], op[0], d[0])
    _, before_w, after_w = _canvas_pads(k[1], s[1], p[1], op[1], d[1])
    before, after = (before_h, before_w), (after_h, after_w)
    z = zero_insert(x, s)
    kind = np.full(z.shape[-2:], INSERTED, dtype=np.int8)
    kind[:: s[0], :: s[1]] = INPUT
    return TransposedCanvas(
        _pad_or_crop(z, before, after), _pad_or_crop(kind, before, after, PADDING), before, after
    )


# --------------------------------------------------------------------------------------------
# the three views


def conv_transpose2d_scatter(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Transposed convolution as "stamp the kernel": scatter-add, then crop.

    Every input pixel adds ``value * kernel`` into a canvas at ``stride`` offsets (taps
    ``dilation`` apart); overlapping stamps are summed. ``padding`` is then cropped from each side
    and ``output_padding`` extra rows/columns are kept at the bottom/right.

    Parameters
    ----------
    input : ndarray, shape (N, C_in, H, W) or (C_in, H, W)
    weight : ndarray, shape (C_in, C_out / groups, kh, kw)
        PyTorch's ``ConvTranspose2d`` layout (input channels first).
    bias : ndarray, shape (C_out,), optional
    stride : int or (int, int), optional
        Distance between the stamps of neighbouring input pixels. Default 1.
    padding : int or (int, int), optional
        Rows/columns cropped from each side of the full result (the padding of the convolution
        this one transposes). Default 0.
    output_padding : int or (int, int), optional
        Extra rows/columns kept at the bottom/right; must be smaller than ``stride`` or
        ``dilation``. Default 0.
    groups : int, optional
        Independent channel groups. Default 1.
    dilation : int or (int, int), optional
        Spacing between kernel taps. Default 1.

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        Float32 for float32 inputs, float64 for integer ones.

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel counts that do not match, non-positive stride or
        dilation, negative padding, ``output_padding`` too large, or an empty output.
    TypeError
        Non-numeric arrays or non-integer hyper-parameters.

    See Also
    --------
    torch.nn.functional.conv_transpose2d, convlab.functional.conv_transpose2d : same result.
    conv_transpose2d_zero_insert, conv_transpose2d_matrix : the other two views.

    Notes
    -----
    .. math::

        H_{out} = (H - 1)\\, s - 2p + d\\,(k_h - 1) + \\text{output\\_padding} + 1

    **Why** ``output_padding`` **exists.** With ``stride > 1`` the convolution maps several input
    sizes to one output size (a 7- and an 8-pixel input give 3 pixels with ``k=3, s=2, p=0``),
    so its transpose cannot tell which size to return. ``output_padding`` picks the larger ones;
    it adds rows/columns at the bottom/right only. The first ``min(output_padding, padding)`` of
    them are rows of the stamped canvas that the crop would have removed; the rest, beyond the
    canvas, are zeros.

    The loop runs over the :math:`k_h k_w` kernel taps; each tap of every input pixel at once is
    one strided slice-add, so there is no loop over pixels.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1, 2]]]])                    # one 1x2 image
    >>> w = np.ones((1, 1, 1, 3))                     # a 1x3 kernel of ones
    >>> conv_transpose2d_scatter(x, w, stride=2)[0, 0]
    array([[1., 1., 3., 2., 2.]])
    """
    x, w, b, stride, padding, output_padding, groups, dilation, unbatched, out_size, dtype = (
        _check_transpose_args(input, weight, bias, stride, padding, output_padding, groups, dilation)
    )
    canvas = _stamp(x, w, stride, dilation, groups, extra=output_padding)
    out = canvas[..., padding[0] : padding[0] + out_size[0], padding[1] : padding[1] + out_size[1]]
    return _finish(out, b, unbatched, dtype)


def conv_transpose2d_zero_insert(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Transposed convolution as zero insertion, padding and a stride-1 convolution.

    Parameters
    ----------
    input, weight, bias, stride, padding, output_padding, groups, dilation
        As in :func:`conv_transpose2d_scatter`.

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        Equal to :func:`conv_transpose2d_scatter`.

    Raises
    ------
    ValueError, TypeError
        As in :func:`conv_transpose2d_scatter`.

    See Also
    --------
    torch.nn.functional.conv_transpose2d, convlab.functional.conv_transpose2d : same result.
    zero_insert : step 1.

    Notes
    -----
    Three steps, along each axis:

    1. :func:`zero_insert`: ``s - 1`` zeros between pixels, :math:`H \\to (H-1)s + 1`;
    2. pad :math:`d(k-1) - p` zeros before and :math:`d(k-1) - p + \\text{output\\_padding}` after
       (a negative amount crops);
    3. a stride-1 :func:`convlab.functional.conv2d` with dilation ``d`` and the kernel rotated by
       180 degrees, its in/out channel axes swapped (per group).

    The output size is then
    :math:`(H-1)s + 1 + 2(d(k-1) - p) + \\text{output\\_padding} - d(k-1)`, the formula of
    :func:`conv_transpose2d_scatter`. With ``s = 1, p = 0`` this is the "full" convolution.

    Examples
    --------
    The 3x3 -> 5x5 example: zero insertion gives 5x5, padding 7x7, a 3x3 convolution 5x5.

    >>> import numpy as np
    >>> x = np.arange(1, 10).reshape(1, 1, 3, 3)
    >>> conv_transpose2d_zero_insert(x, np.ones((1, 1, 3, 3)), stride=2, padding=1)[0, 0]
    array([[ 1.,  3.,  2.,  5.,  3.],
           [ 5., 12.,  7., 16.,  9.],
           [ 4.,  9.,  5., 11.,  6.],
           [11., 24., 13., 28., 15.],
           [ 7., 15.,  8., 17.,  9.]])
    """
    x, w, b, stride, padding, output_padding, groups, dilation, unbatched, _, dtype = _check_transpose_args(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )
    c_in, cog, kh, kw = w.shape
    z = transposed_canvas(x, (kh, kw), stride, padding, output_padding, dilation).values
    # (C_in, C_out/g, kh, kw) -> per group swap in/out -> (C_out, C_in/g, kh, kw), rotated 180 degrees.
    flipped = (
        w.reshape(groups, c_in // groups, cog, kh, kw)
        .swapaxes(1, 2)
        .reshape(groups * cog, c_in // groups, kh, kw)[..., ::-1, ::-1]
    )
    out = F.conv2d(z, np.ascontiguousarray(flipped), stride=1, padding=0, dilation=dilation, groups=groups)
    return _finish(np.asarray(out), b, unbatched, dtype)


def conv_transpose2d_matrix(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Transposed convolution as the transpose of the convolution matrix, ``C.T @ x``.

    Parameters
    ----------
    input, weight, bias, stride, padding, output_padding, groups, dilation
        As in :func:`conv_transpose2d_scatter`.

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        Equal to :func:`conv_transpose2d_scatter`.

    Raises
    ------
    ValueError, TypeError
        As in :func:`conv_transpose2d_scatter`.

    See Also
    --------
    convlab.matrix.conv_matrix : builds ``C``.
    torch.nn.functional.conv_transpose2d, convlab.functional.conv_transpose2d : same result.

    Notes
    -----
    ``C = conv_matrix((H_out, W_out), weight, stride, padding, dilation, groups)`` is the matrix
    of the convolution from the output size back to the input size; the weight needs no change,
    since ``(C_in, C_out/g, kh, kw)`` read as a convolution kernel maps ``C_out`` channels to
    ``C_in``. That convolution returns :math:`H + \\lfloor \\text{output\\_padding} / s \\rfloor`
    rows, so the rows of ``C`` past ``H`` (possible only when ``output_padding >= stride``,
    allowed with dilation) are dropped before transposing. ``C`` is dense: small sizes only.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1, 2]]]])
    >>> conv_transpose2d_matrix(x, np.ones((1, 1, 1, 3)), stride=2)[0, 0]
    array([[1., 1., 3., 2., 2.]])
    """
    x, w, b, stride, padding, output_padding, groups, dilation, unbatched, out_size, dtype = (
        _check_transpose_args(input, weight, bias, stride, padding, output_padding, groups, dilation)
    )
    n, c_in, h, wd = x.shape
    c = conv_matrix(out_size, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    rows_h, rows_w = (
        _conv_size(out_size[a], w.shape[2 + a], stride[a], padding[a], dilation[a]) for a in range(2)
    )
    c = c.reshape(c_in, rows_h, rows_w, -1)[:, :h, :wd].reshape(c_in * h * wd, -1)
    if np.isfinite(x).all() and np.isfinite(w).all():
        out = (x.reshape(n, -1) @ c).reshape(n, -1, *out_size)
        return _finish(out, b, unbatched, dtype)
    # NaN or infinities: multiply only the entries of C that hold a weight (the structural zeros
    # would turn an infinity into NaN), as PyTorch's scatter does
    taps = conv_matrix(
        out_size, np.ones(w.shape), stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    taps = taps.reshape(c_in, rows_h, rows_w, -1)[:, :h, :wd].reshape(c_in * h * wd, -1)
    rows, cols = np.nonzero(taps)
    out = np.zeros((n, c.shape[1]), dtype=np.result_type(x, c))
    with np.errstate(invalid="ignore"):
        np.add.at(out, (slice(None), cols), x.reshape(n, -1)[:, rows] * c[rows, cols])
    return _finish(out.reshape(n, -1, *out_size), b, unbatched, dtype)


# --------------------------------------------------------------------------------------------
# TensorFlow's conv2d_transpose


def _tf_strides(strides) -> tuple[int, int]:
    """TensorFlow accepts an int or a list of length 1, 2 or 4 (``[1, s_h, s_w, 1]``)."""
    if _is_int(strides):
        return _pair(strides, "strides")
    if isinstance(strides, (str, bytes)) or not isinstance(strides, (Sequence, np.ndarray)):
        raise TypeError(
            f"`strides` must be an integer or a list of 1, 2 or 4 integers; got strides={strides!r}"
        )
    items = list(strides)
    if len(items) == 1:
        return _pair(items[0], "strides")
    if len(items) == 2:
        return _pair(tuple(items), "strides")
    if len(items) == 4:
        full = _ntuple(tuple(items), "strides", 4)
        if full[0] != 1 or full[3] != 1:
            raise ValueError(
                "`strides` in the batch and channel dimensions must be 1 (NHWC: [1, s_h, s_w, 1]); "
                f"got strides={items}"
            )
        return full[1], full[2]
    raise ValueError(f"`strides` must have length 1, 2 or 4; got strides={items!r} with {len(items)} entries")


def _tf_geometry(i: int, o: int, k: int, s: int, padding: str, axis: str) -> int:
    """Check that a ``padding`` convolution of ``o`` pixels gives ``i``; return its padding before."""
    computed = _tf_forward_size(o, k, s, padding)
    accepted = tf_transpose_output_sizes(i, k, s, padding)
    low, high = accepted[0], accepted[-1]
    if computed != i:
        raise ValueError(
            f"`output_shape` does not match the input along the {axis}: a {padding!r} convolution "
            f"with a {k}-pixel kernel and stride {s} maps {o} pixels to {computed}, but the input has {i}; "
            f"output {axis}s consistent with it are {low} to {high}"
        )
    if padding == "VALID":
        return 0
    return same_padding(o, k, s)[0]


def tf_conv2d_transpose(
    input: np.ndarray,
    filters: np.ndarray,
    output_shape: Sequence[int],
    strides: int | Sequence[int],
    padding: str = "SAME",
) -> np.ndarray:
    """TensorFlow's ``tf.nn.conv2d_transpose``: the gradient of ``tf.nn.conv2d`` w.r.t. its input.

    Parameters
    ----------
    input : ndarray, shape (N, H, W, C_in)
        NHWC, TensorFlow's default layout.
    filters : ndarray, shape (kh, kw, C_out, C_in)
        TensorFlow's layout for a transposed convolution: output channels *before* input channels.
    output_shape : sequence of int, (N, H_out, W_out, C_out) or (H_out, W_out)
        The size of the result, which TensorFlow requires because several sizes are possible.
    strides : int or sequence of int
        ``s``, ``[s]``, ``[s_h, s_w]`` or ``[1, s_h, s_w, 1]``.
    padding : {"SAME", "VALID"}, optional
        The padding of the forward convolution this one is the gradient of. Default ``"SAME"``.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, C_out)
        Float32 for float32 inputs.

    Raises
    ------
    ValueError
        If ``output_shape`` is impossible: a ``padding`` convolution of ``H_out`` pixels must give
        ``H`` (the message lists the sizes that would), or its batch/channel entries disagree with
        ``input`` and ``filters``; if ``filters`` does not match the input channels; if ``strides``
        or ``padding`` is malformed.
    TypeError
        Non-numeric arrays or non-integer sizes.

    See Also
    --------
    tf.nn.conv2d_transpose : the TensorFlow function this reproduces.
    conv_transpose2d_scatter, torch.nn.functional.conv_transpose2d : the PyTorch form (symmetric
        padding and ``output_padding`` instead of an output shape).

    Notes
    -----
    The forward convolution maps ``H_out`` to ``H``:

    - ``"SAME"``: :math:`H = \\lceil H_{out} / s \\rceil`, padded by
      :math:`P = \\max((H - 1)s + k - H_{out}, 0)` in total, :math:`\\lfloor P/2 \\rfloor` before and
      the rest **after** (so an odd total puts the extra pixel at the bottom/right);
    - ``"VALID"``: :math:`H = \\lceil (H_{out} - k + 1) / s \\rceil`, no padding.

    This function stamps the kernel (as :func:`conv_transpose2d_scatter`) into a canvas of
    :math:`(H - 1)s + k` pixels that starts at the first padded pixel, and keeps the
    :math:`H_{out}` pixels from :math:`\\lfloor P/2 \\rfloor` on (zeros where the canvas is short).
    In PyTorch's terms: ``padding = floor(P/2)``, ``output_padding = max(H_out - (H-1)s - k + 2 padding, 0)``,
    then crop to ``H_out``. The kernel is *not* flipped here: TensorFlow's filters already hold
    the taps of the forward convolution.

    Examples
    --------
    A 3x3 image, the 3x3 identity kernel, stride 2, to 5x5:

    >>> import numpy as np
    >>> x = np.arange(1, 10).reshape(1, 3, 3, 1)
    >>> k = np.eye(3).reshape(3, 3, 1, 1)
    >>> tf_conv2d_transpose(x, k, output_shape=[1, 5, 5, 1], strides=2)[0, :, :, 0]
    array([[ 1.,  0.,  2.,  0.,  3.],
           [ 0.,  6.,  0.,  8.,  0.],
           [ 4.,  0.,  5.,  0.,  6.],
           [ 0., 12.,  0., 14.,  0.],
           [ 7.,  0.,  8.,  0.,  9.]])
    """
    x = check_array(input, "input", ndim=4, floating=True)
    f = check_array(filters, "filters", ndim=4, floating=True)
    kh, kw, c_out, c_in = f.shape
    if x.shape[3] != c_in:
        raise ValueError(
            f"`filters` must have shape (kh, kw, C_out, C_in) with C_in = {x.shape[3]} "
            "(the input's last axis); "
            f"got filters.shape={f.shape}"
        )
    if isinstance(output_shape, (str, bytes)) or not isinstance(output_shape, (Sequence, np.ndarray)):
        raise TypeError(
            f"`output_shape` must be a sequence of 2 or 4 integers; got output_shape={output_shape!r}"
        )
    shape = (
        list(np.asarray(output_shape).ravel()) if isinstance(output_shape, np.ndarray) else list(output_shape)
    )
    if len(shape) == 4:
        if not all(_is_int(v) for v in shape):
            raise TypeError(f"`output_shape` must contain integers only; got output_shape={output_shape!r}")
        if int(shape[0]) != x.shape[0] or int(shape[3]) != c_out:
            raise ValueError(
                f"`output_shape` must be (N, H_out, W_out, C_out) = ({x.shape[0]}, H_out, W_out, {c_out}) "
                f"for this input and filters; got output_shape={output_shape!r}"
            )
        shape = shape[1:3]
    elif len(shape) != 2:
        raise ValueError(
            f"`output_shape` must have length 4 (N, H, W, C) or 2 (H, W); got output_shape={output_shape!r}"
        )
    oh, ow = _pair(tuple(shape), "output_shape")
    sh, sw = _tf_strides(strides)
    if not isinstance(padding, str):
        raise TypeError(f"`padding` must be 'SAME' or 'VALID'; got padding={padding!r}")
    pad = padding.upper()
    if pad not in ("SAME", "VALID"):
        raise ValueError(f"`padding` must be 'SAME' or 'VALID'; got padding={padding!r}")
    before_h = _tf_geometry(x.shape[1], oh, kh, sh, pad, "height")
    before_w = _tf_geometry(x.shape[2], ow, kw, sw, pad, "width")

    weight = f.transpose(3, 2, 0, 1)  # -> PyTorch's (C_in, C_out, kh, kw)
    canvas = _stamp(x.transpose(0, 3, 1, 2), weight, (sh, sw), (1, 1), 1)
    full_h, full_w = canvas.shape[-2:]
    out = _pad_or_crop(canvas, (-before_h, -before_w), (oh - full_h + before_h, ow - full_w + before_w))
    return out.transpose(0, 2, 3, 1).astype(result_dtype(x, f), copy=False)
