"""Max pooling that remembers where each maximum came from, and the unpooling that puts it back.

``max_pool2d(..., return_indices=True)`` returns, next to the pooled values, the *flat index*
``h * W + w`` of every maximum inside its ``H × W`` input plane. ``max_unpool2d`` scatters the
pooled values back to those positions in a zero array: the "switches" that SegNet and
DeconvNet use for upsampling. Both equal ``torch.nn.functional`` of the same name, including
the choice among tied maxima (the first in row-major scan order) and NaN handling (a NaN is
the maximum; the last NaN of a window wins, as in PyTorch's CPU kernel).

The chapter on upsampling (``chapters/upsampling.ipynb``) compares unpooling with repeat
upsampling. ``avg_pool2d`` (the window mean, equal to ``torch.nn.functional.avg_pool2d``) and
both pooling layers' output sizes and backward passes are taught in
``chapters/channels_pooling.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convlab._validate import _is_int, _pair, check_array
from convlab.arithmetic import _extent, _pool_size, _transpose_size

__all__ = ["max_pool2d", "max_unpool2d", "avg_pool2d"]

IntPair = int | tuple[int, int]


def max_pool2d(
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``, equal to ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    input : array_like, shape (N, C, H, W) or (C, H, W)
        Integer inputs are promoted to float64.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or (int, int)
        Implicit :math:`-\infty` padding on both sides; at most half the kernel size.
    dilation : int or (int, int)
        Spacing between the window's taps.
    ceil_mode : bool
        Round the output size up instead of down, keeping a last partial window only if it
        starts inside the input or the left padding.
    return_indices : bool
        Also return the flat index of every maximum in its ``H × W`` plane (for
        :func:`max_unpool2d`).

    Returns
    -------
    output : numpy.ndarray
        Shape ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``), dtype of ``input``.
    indices : numpy.ndarray of int64, optional
        Same shape as ``output``; only when ``return_indices`` is True.

    Raises
    ------
    TypeError
        If ``input`` is not numeric or a size argument is not an integer.
    ValueError
        If ``input`` is not 3-D or 4-D or is empty, a size is not positive, ``padding`` exceeds
        half of ``kernel_size``, or the output would be empty.

    See Also
    --------
    torch.nn.functional.max_pool2d : the oracle this function equals.
    max_unpool2d : the inverse scatter.

    Notes
    -----
    Per spatial dimension, with input :math:`i`, kernel :math:`k`, stride :math:`s`,
    padding :math:`p` and dilation :math:`d`,

    .. math::

        o = \left\lfloor \frac{i + 2p - d(k - 1) - 1}{s} \right\rfloor + 1

    (with ``ceil_mode`` the floor becomes a ceiling, then :math:`o` drops by one if
    :math:`(o - 1)s \ge i + p`, i.e. if the last window would start in the right padding).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 0, 3]]]])
    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> out
    array([[[[5., 8.],
             [7., 3.]]]])
    >>> idx
    array([[[[ 1,  6],
             [12, 15]]]])
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if _is_default_stride(stride) else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding", minimum=0)
    dh, dw = _pair(dilation, "dilation")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"`padding` must be at most half of `kernel_size`; got padding={(ph, pw)}, kernel_size={(kh, kw)}"
        )
    _check_bool(ceil_mode, "ceil_mode")
    _check_bool(return_indices, "return_indices")
    height, width = x.shape[-2:]
    oh = _pool_output_size(height, kh, sh, ph, dh, ceil_mode)
    ow = _pool_output_size(width, kw, sw, pw, dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"`input` of spatial size {(height, width)} is too small for kernel_size={(kh, kw)}, "
            f"stride={(sh, sw)}, padding={(ph, pw)}, dilation={(dh, dw)}: output size {(oh, ow)}"
        )

    # Pad with -inf (and mark padded positions with index -1) far enough for the last window.
    span_h, span_w = _extent(kh, dh), _extent(kw, dw)
    extra_h = max(0, (oh - 1) * sh + span_h - height - ph)
    extra_w = max(0, (ow - 1) * sw + span_w - width - pw)
    pad = [(0, 0)] * (x.ndim - 2) + [(ph, extra_h), (pw, extra_w)]
    padded = np.pad(x, pad, constant_values=-np.inf)
    flat = np.pad(np.arange(height * width).reshape(height, width), pad[-2:], constant_values=-1)

    def windows(a: np.ndarray) -> np.ndarray:
        view = sliding_window_view(a, (span_h, span_w), axis=(-2, -1))
        view = view[..., : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
        return view.reshape(*view.shape[:-2], kh * kw)

    values = windows(padded)  # (..., oh, ow, kh * kw)
    where = windows(flat)  # (oh, ow, kh * kw)
    pick = np.argmax(values, axis=-1)  # first maximum in scan order
    if np.isnan(x).any():  # a NaN beats everything; PyTorch keeps the last one it meets
        isnan = np.isnan(values)
        last_nan = values.shape[-1] - 1 - np.argmax(isnan[..., ::-1], axis=-1)
        pick = np.where(isnan.any(axis=-1), last_nan, pick)
    output = np.take_along_axis(values, pick[..., None], axis=-1)[..., 0]
    if not return_indices:
        return output
    indices = np.take_along_axis(np.broadcast_to(where, values.shape), pick[..., None], axis=-1)[..., 0]
    # A window with no real value above -inf: PyTorch reports the position of its first tap
    # row and column that are not in the top/left padding (outside the plane if every tap is
    # padding, which only dilation can cause).
    first_h = _first_tap(oh, sh, ph, dh)
    first_w = _first_tap(ow, sw, pw, dw)
    first_inside = first_h[:, None] * width + first_w[None, :]
    indices = np.where(indices < 0, first_inside, indices).astype(np.int64)
    return output, indices


def max_unpool2d(
    input: np.ndarray,
    indices: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    output_size: Sequence[int] | None = None,
) -> np.ndarray:
    r"""Scatter pooled values back to their recorded positions, equal to ``torch.nn.functional.max_unpool2d``.

    Parameters
    ----------
    input : array_like, shape (N, C, H, W) or (C, H, W)
        Pooled values (the first output of :func:`max_pool2d`).
    indices : array_like of int, same shape as ``input``
        Flat indices into each output plane (the second output of :func:`max_pool2d`).
    kernel_size, stride, padding : int or (int, int)
        The arguments the pooling used; ``stride`` defaults to ``kernel_size``.
    output_size : sequence of int, optional
        ``(H_out, W_out)`` (or with leading ``N, C``, which are ignored) to resolve the
        ambiguity of the default size; each entry must lie strictly between
        ``default - stride`` and ``default + stride``.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``): zeros except at ``indices``.

    Raises
    ------
    TypeError
        If ``input`` is not numeric, ``indices`` is not an integer array, or a size is not an integer.
    ValueError
        If the shapes disagree, ``output_size`` has the wrong length or is out of range, or an
        index does not fit in the output plane.

    See Also
    --------
    torch.nn.functional.max_unpool2d : the oracle this function equals.
    max_pool2d : produces ``input`` and ``indices``.

    Notes
    -----
    The default output size inverts the pooling formula (without dilation):

    .. math::

        o = (i - 1)\, s - 2p + k.

    Several input sizes pool to the same size (for example 4 and 5 with :math:`k = s = 2`),
    so pass ``output_size`` to get back the one you started from.

    Examples
    --------
    >>> import numpy as np
    >>> out = max_unpool2d(np.array([[[[5.0, 8.0]]]]), np.array([[[[1, 6]]]]), 2)
    >>> out
    array([[[[0., 5., 0., 0.],
             [0., 0., 8., 0.]]]])
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    idx = check_array(indices, "indices", ndim=x.ndim, allow_empty=True)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"`indices` must be an integer array; got dtype {idx.dtype}")
    if idx.shape != x.shape:
        raise ValueError(f"`indices` must have the shape of `input` {x.shape}; got shape {idx.shape}")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if _is_default_stride(stride) else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding", minimum=0)
    default = (_transpose_size(x.shape[-2], kh, sh, ph, 0, 1), _transpose_size(x.shape[-1], kw, sw, pw, 0, 1))
    if output_size is None:
        oh, ow = default
        if oh < 1 or ow < 1:
            raise ValueError(f"`padding`={(ph, pw)} is too large: the default output size would be {default}")
    else:
        oh, ow = _unpool_output_size(output_size, default, (sh, sw))
    plane = oh * ow
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise ValueError(
            f"`indices` must lie in [0, {plane}) for an output plane of size {(oh, ow)}; found index {bad}"
        )
    out = np.zeros((*x.shape[:-2], plane), dtype=x.dtype)
    np.put_along_axis(
        out,
        idx.reshape(*idx.shape[:-2], -1).astype(np.intp),
        x.reshape(*x.shape[:-2], -1),
        axis=-1,
    )
    return out.reshape(*x.shape[:-2], oh, ow)


def _pool_output_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape`` for one dimension (arguments already validated)."""
    return _pool_size(size, k, s, p, d, ceil_mode)


def _first_tap(out: int, s: int, p: int, d: int) -> np.ndarray:
    """Per output position, the first window tap at a coordinate >= 0 (PyTorch's ``ih0``)."""
    start = np.arange(out) * s - p
    behind = np.maximum(0, -start)
    return start + d * (-(-behind // d))


def _unpool_output_size(
    output_size: object, default: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int]:
    """Validate ``output_size`` the way PyTorch's ``_unpool_output_size`` does."""
    if isinstance(output_size, (str, bytes)) or not isinstance(output_size, (Sequence, np.ndarray)):
        raise TypeError(
            f"`output_size` must be a sequence of 2 or 4 integers; got output_size={output_size!r}"
        )
    sizes = tuple(output_size)
    if len(sizes) == 4:
        sizes = sizes[2:]
    if len(sizes) != 2:
        raise ValueError(
            f"`output_size` must have 2 or 4 entries; got output_size={output_size!r} "
            f"with {len(sizes)} entries"
        )
    if not all(_is_int(v) for v in sizes):
        raise TypeError(f"`output_size` must contain integers only; got output_size={output_size!r}")
    for axis, (size, base, s) in enumerate(zip(sizes, default, stride, strict=True)):
        if not base - s < size < base + s:
            raise ValueError(
                f"`output_size` entry {axis} must lie strictly between {base - s} and {base + s} "
                f"(default {base} plus or minus the stride {s}); got output_size={output_size!r}"
            )
        if size < 1:
            raise ValueError(f"`output_size` must be positive; got output_size={output_size!r}")
    return int(sizes[0]), int(sizes[1])


def _is_default_stride(stride: object) -> bool:
    """``None`` (and, as in PyTorch, an empty sequence) means "same as ``kernel_size``"."""
    return stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)


def _check_bool(value: object, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool; got {name}={value!r}")


def avg_pool2d(
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    r"""2-D average pooling over ``(N, C, H, W)`` or ``(C, H, W)``, equal to torch's ``avg_pool2d``.

    Parameters
    ----------
    input : array_like, shape (N, C, H, W) or (C, H, W)
        Integer inputs are promoted to float64.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or (int, int)
        Implicit zero padding on both sides; at most half the kernel size.
    ceil_mode : bool
        Round the output size up instead of down, keeping a last partial window only if it
        starts inside the input or the left padding.
    count_include_pad : bool
        Divide by the window's size including the zero padding it covers (default, as in
        PyTorch) instead of by the number of input pixels it covers.
    divisor_override : int, optional
        Divide every window sum by this non-zero integer instead.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``), dtype of ``input``.

    Raises
    ------
    TypeError
        If ``input`` is not numeric, a size argument or ``divisor_override`` is not an integer,
        or a flag is not a bool.
    ValueError
        If ``input`` is not 3-D or 4-D or is empty, a size is not positive, ``padding`` exceeds
        half of ``kernel_size``, ``divisor_override`` is 0, or the output would be empty.

    See Also
    --------
    torch.nn.functional.avg_pool2d : the oracle this function equals.
    max_pool2d : the same windows, keeping their maximum.
    convlab.autograd.avg_pool2d_backward : its gradient.

    Notes
    -----
    The output size is that of :func:`max_pool2d` with dilation 1. A window covers input rows
    :math:`[o s - p, \min(o s - p + k, H + p))`; with ``count_include_pad`` its divisor is the
    size of that range (a ``ceil_mode`` window hanging beyond the right padding counts only up
    to the padding), otherwise the size of its intersection with the input :math:`[0, H)`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 0, 3]]]])
    >>> avg_pool2d(x, 2)
    array([[[[3.25, 2.75],
             [2.5 , 1.25]]]])
    >>> ones = np.ones((1, 1, 4, 4))
    >>> avg_pool2d(ones, 3, stride=2, padding=1, divisor_override=1)[0, 0]  # pixels covered
    array([[4., 6.],
           [6., 9.]])
    >>> avg_pool2d(ones, 3, stride=2, padding=1, count_include_pad=False)[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    geometry = _avg_pool_geometry(x.shape, kernel_size, stride, padding, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = geometry
    _check_bool(count_include_pad, "count_include_pad")
    divisor = _avg_divisor(x.shape[-2:], geometry, count_include_pad, divisor_override)
    padded = _zero_pad_for_windows(x, geometry)
    view = sliding_window_view(padded, (kh, kw), axis=(-2, -1))
    view = view[..., : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, :, :]
    sums = view.sum(axis=(-2, -1))
    return (sums / divisor).astype(x.dtype, copy=False)


def _avg_pool_geometry(
    shape: tuple[int, ...],
    kernel_size: object,
    stride: object,
    padding: object,
    ceil_mode: object,
) -> tuple[tuple[int, int], ...]:
    """Validated ``(kernel, stride, padding, output size)`` pairs of an average pooling."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if _is_default_stride(stride) else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding", minimum=0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"`padding` must be at most half of `kernel_size`; got padding={(ph, pw)}, kernel_size={(kh, kw)}"
        )
    _check_bool(ceil_mode, "ceil_mode")
    height, width = shape[-2:]
    oh = _pool_output_size(height, kh, sh, ph, 1, ceil_mode)
    ow = _pool_output_size(width, kw, sw, pw, 1, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"`input` of spatial size {(height, width)} is too small for kernel_size={(kh, kw)}, "
            f"stride={(sh, sw)}, padding={(ph, pw)}: output size {(oh, ow)}"
        )
    return (kh, kw), (sh, sw), (ph, pw), (oh, ow)


def _avg_divisor(
    size: tuple[int, int],
    geometry: tuple[tuple[int, int], ...],
    count_include_pad: bool,
    divisor_override: object,
) -> np.ndarray | int:
    """Per output pixel, what PyTorch divides the window sum by (``(H_out, W_out)`` or an int)."""
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(
                f"`divisor_override` must be an integer or None; got divisor_override={divisor_override!r}"
            )
        if divisor_override == 0:
            raise ValueError("`divisor_override` must not be zero; got divisor_override=0")
        return int(divisor_override)
    counts = []
    for n, k, s, p, o in zip(size, *geometry, strict=True):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.outer(counts[0], counts[1])


def _zero_pad_for_windows(x: np.ndarray, geometry: tuple[tuple[int, int], ...]) -> np.ndarray:
    """``x`` padded with zeros on the left by ``padding`` and on the right far enough for the last window."""
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = geometry
    extra_h = max(0, (oh - 1) * sh + kh - x.shape[-2] - ph)
    extra_w = max(0, (ow - 1) * sw + kw - x.shape[-1] - pw)
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, extra_h), (pw, extra_w)])
