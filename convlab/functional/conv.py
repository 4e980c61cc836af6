"""Convolution and transposed convolution in NCHW NumPy, equal to ``torch.nn.functional``.

Deep-learning "convolution" is cross-correlation: the kernel is not flipped. ``conv2d`` is an
im2col (as :func:`convlab.functional.unfold`) followed by one matrix product per group, done in
cache-sized pieces. ``conv_transpose2d`` is its adjoint: without dilation, with finite operands and
no more phases than kernel taps it runs as a single stride-1 convolution that produces all
``stride**2`` output phases at once (the sub-pixel view); otherwise as a matrix product to
columns followed by a col2im scatter-add (as :func:`convlab.functional.fold`), which adds only
the products that reach each output. The 1-D versions run the 2-D code on a height-1 image.
The chapters :doc:`/chapters/conv2d` and :doc:`/chapters/transposed_conv` build both from loops
first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab._validate import (
    IntPair,
    _pair,
    _single,
    check_allocation,
    check_array,
    check_choice,
    check_positive,
    result_dtype,
)
from convlab.arithmetic import _check_fits, _conv_size, _torch_same_padding, _transpose_size, _transpose_sizes
from convlab.functional import _pieces
from convlab.functional.im2col import _col2im, _windows

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

Padding = int | tuple[int, ...] | str


# --------------------------------------------------------------------------- validation


def _check_operands(
    input: object, weight: object, bias: object, spatial: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bool, np.dtype]:
    """Arrays in, batched, in the computation dtype; returns (x, w, b, unbatched, dtype)."""
    x = check_array(input, "input", ndim=(spatial + 1, spatial + 2), floating=True)
    w = check_array(weight, "weight", ndim=spatial + 2, floating=True)
    b = None if bias is None else check_array(bias, "bias", ndim=1, floating=True)
    dtype = result_dtype(x, w) if b is None else result_dtype(x, w, b)
    unbatched = x.ndim == spatial + 1
    if unbatched:
        x = x[None]
    return x, w, b, unbatched, dtype


def _check_groups(groups: object, in_channels: int, out_channels: int, out_name: str) -> int:
    groups = check_positive(groups, "groups")
    if in_channels % groups:
        raise ValueError(
            f"`groups` must divide the input channels; got groups={groups} for {in_channels} input channels"
        )
    if out_channels % groups:
        raise ValueError(
            f"`groups` must divide the output channels ({out_name}); "
            f"got groups={groups} for {out_channels} output channels"
        )
    return groups


def _check_bias(b: np.ndarray | None, out_channels: int) -> None:
    if b is not None and b.shape != (out_channels,):
        raise ValueError(f"`bias` must have shape ({out_channels},), one per output channel; got {b.shape}")


def _spatial(value: object, name: str, spatial: int, minimum: int) -> tuple[int, int]:
    """A 1-D or 2-D size argument as a pair (1-D: height axis fixed to ``1``/``0``)."""
    if spatial == 2:
        return _pair(value, name, minimum=minimum)
    return (1 if minimum else 0, *_single(value, name, minimum=minimum))  # type: ignore[return-value]


def _cast(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return a if a.dtype == dtype else a.astype(dtype)


# --------------------------------------------------------------------------- kernels


# Piece size: about 8 MiB of columns (one 32-channel 64x64 sample with a 3x3 kernel is 4.9 MiB).
# Big enough to keep the BLAS at full speed, small enough to stay in the last-level cache.
_PIECE_BYTES = 8 << 20


def _conv2d_core(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilation: tuple[int, int],
    groups: int,
    bias: np.ndarray | None = None,
    emit: Callable[[int, int, int, int, np.ndarray], None] | None = None,
) -> np.ndarray | None:
    """Cross-correlate ``x (N, C, H, W)`` with ``w (F, C/g, kh, kw)`` and add ``bias``; sizes validated.

    Returns the ``(N, F, Ho, Wo)`` result, or, when ``emit`` is given, hands each piece to
    ``emit(a, b, u, v, rows)`` instead (``rows``: samples ``a..b-1``, output rows ``u..v-1``,
    shape ``(b - a, F, v - u, Wo)``; called from the piece's thread) and returns None.

    im2col + GEMM, piece by piece: a few samples (or a band of output rows of one sample) are
    zero-padded, their windows copied tap by tap into a ``(C, kh, kw, positions)`` column matrix,
    and one batched matrix product per piece (one per group) gives their outputs. Pieces are
    independent, so they run side by side on all cores (:mod:`convlab.functional._pieces`).

    With stride 1 the columns are cheaper still: in the flattened padded image a window row for
    tap ``(i, j)`` is the contiguous run starting at ``i * dh * Wp + j * dw``, so each tap is one
    block copy. Each output row then comes out ``Wp`` wide and its last ``Wp - Wo`` entries
    (windows that wrapped around the row end) are dropped.
    """
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    top, bottom, left, right = pads
    (sh, sw), (dh, dw) = stride, dilation
    hp, wp = h + top + bottom, wd + left + right
    ho, wo = _conv_size(hp, kh, sh, 0, dh), _conv_size(wp, kw, sw, 0, dw)
    k = cg * kh * kw
    flat = stride == (1, 1) and 4 * (wp - wo) <= wo  # at most 20% of wrapped-around windows
    row = wp if flat else wo  # columns per output row
    weights = w.reshape(groups, f // groups, k)
    out = np.empty((n, f, ho, wo), dtype=x.dtype) if emit is None else None
    direct = out is not None and not flat  # the product can be written straight into `out`
    bias_column = None if bias is None else bias[:, None]

    def piece(bounds: tuple[int, int, int, int]) -> None:
        a, b, u, v = bounds  # samples a..b-1, output rows u..v-1
        m, r = b - a, v - u
        y0, span = u * sh, (r - 1) * sh + dh * (kh - 1) + 1  # padded rows read: y0 .. y0+span-1
        tail = (kw - 1) * dw if flat else 0  # the last window row runs past the grid
        canvas = np.zeros((m, c, span * wp + tail), dtype=x.dtype)
        grid = canvas[:, :, : span * wp].reshape(m, c, span, wp)
        lo, hi = max(y0, top), min(y0 + span, top + h)  # padded rows that hold input rows
        if lo < hi:
            grid[:, :, lo - y0 : hi - y0, left : left + wd] = x[a:b, :, lo - top : hi - top]
        cols = np.empty((m, c, kh, kw, r * row), dtype=x.dtype)
        if flat:
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    cols[:, :, i, j] = canvas[:, :, start : start + r * wp]
        else:
            windows = _windows(grid, (kh, kw), stride, dilation)  # view (m, C, kh, kw, r, Wo)
            for i in range(kh):
                for j in range(kw):
                    cols[:, :, i, j] = windows[:, :, i, j].reshape(m, c, r * wo)
        # one product per group
        rows = out.reshape(n, f, ho * wo)[a:b, :, u * wo : v * wo] if direct else None
        result = np.matmul(
            weights,
            cols.reshape(m, groups, k, r * row),
            out=rows.reshape(m, groups, f // groups, r * wo) if direct else None,
        ).reshape(m, f, r * row)
        if bias_column is not None:
            result += bias_column  # on whole rows while they are contiguous
        result = result.reshape(m, f, r, row)[..., :wo]
        if emit is not None:
            emit(a, b, u, v, result)
        elif not direct:
            out[a:b, :, u:v] = result

    row_bytes = c * kh * kw * row * x.itemsize
    if row_bytes * ho <= _PIECE_BYTES:  # whole samples per piece
        samples = _PIECE_BYTES // (row_bytes * ho)
        pieces = [(a, b, 0, ho) for a, b in _pieces.split(n, samples, _pieces.threads())]
    else:  # bands of output rows of one sample
        bands = _pieces.split(ho, max(1, _PIECE_BYTES // row_bytes), 1)
        pieces = [(s, s + 1, u, v) for s in range(n) for u, v in bands]
    _pieces.run(piece, pieces, flops=2.0 * n * f * ho * wo * k)
    return out


def _conv_transpose2d_core(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_size: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Adjoint of :func:`_conv2d_core` (plus ``bias``): ``w (C_in, C_out/g, kh, kw)``; sizes validated.

    The sub-pixel route (:func:`_conv_transpose2d_phases`) is the fast one, but it multiplies
    zero taps (the sub-kernels are padded to ``ceil(k / s)`` taps) and zero padding, so it
    only runs on finite input and weights (where ``0 * x = 0``), and only while the
    ``s_h s_w`` phases, one Python step each, are not more than the ``k_h k_w`` taps of the
    scatter route. Otherwise each output gets exactly the products that reach it (a NaN or an
    infinity lands where PyTorch puts it), and a stride far larger than the kernel costs
    ``k_h k_w`` strided writes, not ``s_h s_w`` phases.
    """
    (sh, sw), (kh, kw) = stride, w.shape[2:]
    if (
        dilation == (1, 1)
        and sh * sw <= kh * kw
        and bool(np.isfinite(x).all())
        and bool(np.isfinite(w).all())
    ):
        return _conv_transpose2d_phases(x, w, stride, padding, out_size, groups, bias)
    n, c, h, wd = x.shape
    _, fg, kh, kw = w.shape
    cg = c // groups
    wt = w.reshape(groups, cg, fg * kh * kw).transpose(0, 2, 1)  # (G, fg*kh*kw, cg)
    cols = np.matmul(wt, x.reshape(n, groups, cg, h * wd))  # (N, G, fg*kh*kw, H*W)
    cols = cols.reshape(n, groups * fg, kh, kw, h, wd)
    (sh, sw), (dh, dw), (ph, pw), (oh, ow) = stride, dilation, padding, out_size
    canvas = (
        max(_transpose_size(h, kh, sh, 0, 0, dh), ph + oh),
        max(_transpose_size(wd, kw, sw, 0, 0, dw), pw + ow),
    )
    full = _col2im(cols, canvas, stride, dilation)
    out = full[:, :, ph : ph + oh, pw : pw + ow]
    out = out if out.shape == full.shape else np.ascontiguousarray(out)
    if bias is not None:
        out += bias[:, None, None]
    return out


def _conv_transpose2d_phases(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_size: tuple[int, int],
    groups: int,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Undilated transposed convolution as ONE stride-1 convolution and a pixel shuffle.

    Output row ``Y = s q + r`` (before cropping ``padding``) only receives the taps
    ``i = r + s t``, from input row ``q - t``. So each of the ``s_h s_w`` phases ``(r_h, r_w)``
    is a stride-1 correlation of the input (padded by ``k' - 1``, ``k' = ceil(k / s)``) with the
    flipped sub-kernel ``w[..., r + s (k' - 1 - u)]``. All phases share the same windows, so
    they run as one :func:`_conv2d_core` with ``s_h s_w`` times the output channels, and each
    piece of it copies its phases, cropped, into their strided slices of the output while they
    are still in cache.
    """
    n, c, h, wd = x.shape
    _, fg, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow) = stride, padding, out_size
    th, tw = -(-kh // sh), -(-kw // sw)  # sub-kernel size k'
    # phase rows/columns: at least the h + k' - 1 of a full correlation, more if the crop needs them
    qh, qw = max(-(-(ph + oh) // sh), h + th - 1), max(-(-(pw + ow) // sw), wd + tw - 1)
    cg = c // groups
    taps = np.zeros((c, fg, th * sh, tw * sw), dtype=w.dtype)
    taps[:, :, :kh, :kw] = w
    taps = taps.reshape(groups, cg, fg, th, sh, tw, sw)[:, :, :, ::-1, :, ::-1, :]
    sub = taps.transpose(0, 2, 4, 6, 1, 3, 5).reshape(groups * fg * sh * sw, cg, th, tw)
    pads = (th - 1, qh - h, tw - 1, qw - wd)
    phase_bias = None if bias is None else np.repeat(bias, sh * sw)  # channels (C_out, r_h, r_w)
    out = np.empty((n, groups * fg, oh, ow), dtype=x.dtype)

    def scatter(a: int, b: int, u: int, v: int, rows: np.ndarray) -> None:
        """Copy phase rows ``u..v-1`` of samples ``a..b-1`` into their strided slices of ``out``."""
        phase = rows.reshape(b - a, groups * fg, sh, sw, v - u, qw)
        for rh in range(sh):
            # phase row q is output row s q + r - p: the rows of this piece that land inside
            first, stop = max(u, -((rh - ph) // sh)), min(v, -((rh - ph - oh) // sh))
            if first >= stop:
                continue
            top = sh * first + rh - ph
            for rw in range(sw):
                c0, c1 = max(0, -((rw - pw) // sw)), min(qw, -((rw - pw - ow) // sw))
                if c0 >= c1:
                    continue
                left = sw * c0 + rw - pw
                out[a:b, :, top : top + sh * (stop - first) : sh, left : left + sw * (c1 - c0) : sw] = phase[
                    :, :, rh, rw, first - u : stop - u, c0:c1
                ]

    _conv2d_core(x, np.ascontiguousarray(sub), (1, 1), pads, (1, 1), groups, phase_bias, emit=scatter)
    return out


# --------------------------------------------------------------------------- public API


def _conv_nd(input, weight, bias, stride, padding, dilation, groups, spatial: int) -> np.ndarray:
    x, w, b, unbatched, dtype = _check_operands(input, weight, bias, spatial)
    if spatial == 1:
        x, w = x[:, :, None, :], w[:, :, None, :]
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    groups = _check_groups(groups, c, f, "`weight`.shape[0]")
    if cg * groups != c:
        raise ValueError(
            f"`weight` must have in_channels / groups = {c // groups} channels on axis 1 "
            f"for {c} input channels and groups={groups}; got weight of shape {_weight_shape(w, spatial)}"
        )
    _check_bias(b, f)
    s = _spatial(stride, "stride", spatial, 1)
    d = _spatial(dilation, "dilation", spatial, 1)
    if isinstance(padding, str):
        check_choice(padding, "padding", ("valid", "same"))
        if padding == "same" and s != (1, 1):
            raise ValueError(
                f"`padding`='same' is only supported with stride 1 (like torch); got stride={stride}"
            )
        if padding == "valid":
            pads = (0, 0, 0, 0)
        else:  # torch: total d*(k-1), the odd extra zero on the bottom/right
            pads = (*_torch_same_padding(kh, d[0]), *_torch_same_padding(kw, d[1]))
    else:
        p = _spatial(padding, "padding", spatial, 0)
        pads = (p[0], p[0], p[1], p[1])
    for axis, size, k, dd, before, after in (
        ("height", h, kh, d[0], pads[0], pads[1]),
        ("width", wd, kw, d[1], pads[2], pads[3]),
    ):
        if spatial == 1 and axis == "height":
            continue
        _check_fits(
            size, k, dd, before + after, axis if spatial == 2 else None, ("input", "dilation", "padding")
        )
    check_allocation(
        (n, c, h + pads[0] + pads[1], wd + pads[2] + pads[3]),
        np.dtype(dtype).itemsize,
        f"the input padded by `padding`={padding!r}",
    )
    out = _conv2d_core(
        _cast(x, dtype), _cast(w, dtype), s, pads, d, groups, None if b is None else _cast(b, dtype)
    )
    if spatial == 1:
        out = out[:, :, 0, :]
    return out[0] if unbatched else out


def _weight_shape(w: np.ndarray, spatial: int) -> tuple[int, ...]:
    return tuple(w.shape) if spatial == 2 else (w.shape[0], w.shape[1], w.shape[3])


def _conv_transpose_nd(
    input, weight, bias, stride, padding, output_padding, groups, dilation, spatial: int
) -> np.ndarray:
    x, w, b, unbatched, dtype = _check_operands(input, weight, bias, spatial)
    if spatial == 1:
        x, w = x[:, :, None, :], w[:, :, None, :]
    n, c, h, wd = x.shape
    cw, fg, kh, kw = w.shape
    if cw != c:
        raise ValueError(
            f"`weight` must have in_channels = {c} on axis 0 (layout (C_in, C_out/groups, k...)); "
            f"got weight of shape {_weight_shape(w, spatial)}"
        )
    groups = check_positive(groups, "groups")
    groups = _check_groups(groups, c, fg * groups, "`weight`.shape[1] * groups")
    _check_bias(b, fg * groups)
    s = _spatial(stride, "stride", spatial, 1)
    d = _spatial(dilation, "dilation", spatial, 1)
    if isinstance(padding, str):
        raise TypeError(f"`padding` must be an integer or a tuple of integers; got padding={padding!r}")
    p = _spatial(padding, "padding", spatial, 0)
    op = _spatial(output_padding, "output_padding", spatial, 0)
    axes = slice(2 - spatial, None)  # a 1-D operator reports its one axis
    size = (1,) * (2 - spatial) + _transpose_sizes(
        (h, wd)[axes], (kh, kw)[axes], s[axes], p[axes], op[axes], d[axes]
    )
    check_allocation(
        (n, fg * groups, *size),
        np.dtype(dtype).itemsize,
        f"the output of `stride`={stride!r}, `padding`={padding!r}, `dilation`={dilation!r}",
    )
    bias = None if b is None else _cast(b, dtype)
    out = _conv_transpose2d_core(_cast(x, dtype), _cast(w, dtype), s, p, size, d, groups, bias)
    if spatial == 1:
        out = out[:, :, 0, :]
    return out[0] if unbatched else out


def conv1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int] = 1,
    padding: Padding = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> np.ndarray:
    r"""1-D cross-correlation of a batch of signals, like :func:`torch.nn.functional.conv1d`.

    Parameters
    ----------
    input : array_like, shape (N, C_in, L) or (C_in, L)
        Signals (an unbatched input gives an unbatched output).
    weight : array_like, shape (C_out, C_in / groups, k)
        Filters. They are *not* flipped (cross-correlation, as in every deep-learning framework).
    bias : array_like, shape (C_out,), optional
        Added to every output position of each channel.
    stride : int or (int,), optional
        Step between windows, >= 1.
    padding : int, (int,), ``"valid"`` or ``"same"``, optional
        Zeros added on both ends. ``"valid"`` is 0; ``"same"`` (stride 1 only) keeps the length,
        padding :math:`d(k-1)` in total with the odd extra zero on the right.
    dilation : int or (int,), optional
        Spacing between kernel taps, >= 1.
    groups : int, optional
        Split channels into ``groups`` independent convolutions; must divide ``C_in`` and ``C_out``.

    Returns
    -------
    numpy.ndarray, shape (N, C_out, L_out) or (C_out, L_out)
        float32 when every operand is float32, float64 for integer inputs.

    Raises
    ------
    TypeError
        If an operand is not a real numeric array or a size argument is not an integer.
    ValueError
        If a shape, channel count, group count or size argument breaks a rule, or the kernel
        does not fit the padded input.

    See Also
    --------
    torch.nn.functional.conv1d : the oracle.
    conv2d : the 2-D version; ``conv1d`` runs it on a height-1 image.
    convlab.signal.correlate1d : one signal, one kernel, signal-processing modes.

    Notes
    -----
    .. math:: L_{out} = \left\lfloor \frac{L + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    Chapter: :doc:`/chapters/conv1d`.

    Examples
    --------
    >>> import numpy as np
    >>> conv1d(np.array([[[1, 2, 3, 4]]]), np.array([[[1, 0, -1]]]))
    array([[[-2., -2.]]])
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, spatial=1)


def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    r"""2-D cross-correlation of an image batch, like :func:`torch.nn.functional.conv2d`.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
        Images (an unbatched input gives an unbatched output).
    weight : array_like, shape (C_out, C_in / groups, kh, kw)
        Filters. They are *not* flipped (cross-correlation, as in every deep-learning framework).
    bias : array_like, shape (C_out,), optional
        Added to every pixel of each output channel.
    stride : int or (int, int), optional
        Step between windows, >= 1.
    padding : int, (int, int), ``"valid"`` or ``"same"``, optional
        Zeros added on both sides of each axis. ``"valid"`` is 0; ``"same"`` (stride 1 only) keeps
        the size, padding :math:`d(k-1)` in total per axis with the odd extra zero at the
        bottom/right, as torch does.
    dilation : int or (int, int), optional
        Spacing between kernel taps, >= 1.
    groups : int, optional
        Split channels into ``groups`` independent convolutions (``groups = C_in`` is a depthwise
        convolution); must divide ``C_in`` and ``C_out``.

    Returns
    -------
    numpy.ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        float32 when every operand is float32, float64 for integer inputs.

    Raises
    ------
    TypeError
        If an operand is not a real numeric array or a size argument is not an integer.
    ValueError
        If a shape, channel count, group count or size argument breaks a rule, ``padding="same"``
        comes with a stride, or the kernel does not fit the padded input.

    See Also
    --------
    torch.nn.functional.conv2d : the oracle.
    convlab.functional.unfold : the im2col step this function is built on.
    conv_transpose2d : the adjoint.
    convlab.arithmetic.conv_output_size : the output size along one axis.

    Notes
    -----
    With :math:`p` the padding on each side,

    .. math:: H_{out} = \left\lfloor \frac{H + 2p_h - d_h(k_h-1) - 1}{s_h} \right\rfloor + 1

    and the same for :math:`W_{out}`. Each output pixel is

    .. math::
        y_{n,f,u,v} = b_f + \sum_{c,i,j} w_{f,c,i,j}\,
        x_{n,\,c,\,s_h u + d_h i - p_h,\,s_w v + d_w j - p_w}

    with :math:`c` running over the input channels of the group of :math:`f`.

    Chapter: :doc:`/chapters/conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16).reshape(1, 1, 4, 4)
    >>> conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, spatial=2)


def conv_transpose1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] = 0,
    output_padding: int | tuple[int] = 0,
    groups: int = 1,
    dilation: int | tuple[int] = 1,
) -> np.ndarray:
    r"""1-D transposed convolution, like :func:`torch.nn.functional.conv_transpose1d`.

    Parameters
    ----------
    input : array_like, shape (N, C_in, L) or (C_in, L)
        Signals (an unbatched input gives an unbatched output).
    weight : array_like, shape (C_in, C_out / groups, k)
        Filters, in the layout of the convolution being transposed (input channels first).
    bias : array_like, shape (C_out,), optional
        Added to every output position of each channel.
    stride, padding, dilation : int or (int,), optional
        Those of the convolution being transposed: ``padding`` is *removed* from both ends.
    output_padding : int or (int,), optional
        Extra positions at the end of the output; must be smaller than ``stride`` or ``dilation``.
    groups : int, optional
        Must divide ``C_in``.

    Returns
    -------
    numpy.ndarray, shape (N, C_out, L_out) or (C_out, L_out)

    Raises
    ------
    TypeError
        If an operand is not a real numeric array or a size argument is not an integer.
    ValueError
        If a shape, channel count or size argument breaks a rule, ``output_padding`` is too large,
        or the output size would not be positive.

    See Also
    --------
    torch.nn.functional.conv_transpose1d : the oracle.
    conv_transpose2d : the 2-D version; this one runs it on a height-1 image.

    Notes
    -----
    .. math:: L_{out} = (L - 1)s - 2p + d(k - 1) + \mathrm{output\_padding} + 1

    Chapter: :doc:`/chapters/transposed_conv`.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose1d(np.array([[[1, 2]]]), np.array([[[1, 1, 1]]]))
    array([[[1., 3., 3., 2.]]])
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    r"""2-D transposed convolution, like :func:`torch.nn.functional.conv_transpose2d`.

    Each input pixel stamps its value times the kernel onto the output at stride ``s``; the
    stamps are summed and ``padding`` is cropped from every side. This is the adjoint (the
    gradient with respect to the input) of :func:`conv2d` with the same ``weight``, ``stride``,
    ``padding``, ``dilation`` and ``groups``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
        Images (an unbatched input gives an unbatched output).
    weight : array_like, shape (C_in, C_out / groups, kh, kw)
        Filters, in the layout of the convolution being transposed (input channels first).
    bias : array_like, shape (C_out,), optional
        Added to every pixel of each output channel.
    stride, padding, dilation : int or (int, int), optional
        Those of the convolution being transposed: ``padding`` is *removed* from every side.
    output_padding : int or (int, int), optional
        Extra rows/columns at the bottom/right of the output; must be smaller than ``stride`` or
        ``dilation``. A strided convolution maps several input sizes to one output size, and this
        picks which of them the transpose returns.
    groups : int, optional
        Must divide ``C_in``.

    Returns
    -------
    numpy.ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        float32 when every operand is float32, float64 for integer inputs.

    Raises
    ------
    TypeError
        If an operand is not a real numeric array or a size argument is not an integer.
    ValueError
        If a shape, channel count or size argument breaks a rule, ``output_padding`` is too large,
        or the output size would not be positive.

    See Also
    --------
    torch.nn.functional.conv_transpose2d : the oracle.
    convlab.functional.fold : col2im, the scatter-add view of this function.
    conv2d : the adjoint.
    convlab.arithmetic.conv_transpose_output_size : the output size along one axis.

    Notes
    -----
    .. math:: H_{out} = (H - 1)s_h - 2p_h + d_h(k_h - 1) + \mathrm{output\_padding}_h + 1

    and the same for :math:`W_{out}`.

    Chapter: :doc:`/chapters/transposed_conv`.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose2d(np.array([[[[1, 2], [3, 4]]]]), np.ones((1, 1, 2, 2)), stride=2)[0, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.],
           [3., 3., 4., 4.],
           [3., 3., 4., 4.]])
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)
