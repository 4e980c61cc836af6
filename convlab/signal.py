"""Convolution and correlation in the signal-processing sense: 1-D and 2-D, full/same/valid.

*Convolution* flips one input and slides it across the other, summing products at every
shift; *correlation* slides without flipping. In 1-D,

.. math::

    (f * g)[t] = \\sum_j f[j]\\, g[t - j], \\qquad (f \\star g)[t] = \\sum_j f[t + j]\\, g[j],

so convolving with ``g`` is correlating with ``g[::-1]``, and in 2-D convolving with a kernel
is correlating with the kernel rotated by 180°. What deep-learning frameworks call
"convolution" is this correlation.

The three modes keep different parts of the result (lengths :math:`n \\ge m`, :math:`n` the
longer input's; per axis in 2-D):

- ``"full"``: every shift where the inputs overlap at all, :math:`n + m - 1` samples;
- ``"same"``: the centre :math:`n` samples of the full result;
- ``"valid"``: only shifts where the shorter input lies entirely inside the longer one,
  :math:`n - m + 1` samples.

The functions equal :func:`numpy.convolve`, :func:`numpy.correlate`,
:func:`scipy.signal.convolve2d` and :func:`scipy.signal.correlate2d` (zero boundary). MATLAB's
``conv`` and ``conv2`` give the same ``"full"`` and ``"valid"`` results; their ``"same"`` window
starts at index ``m // 2`` of the full result instead of SciPy's and NumPy's ``(m - 1) // 2``,
so the two differ by one sample when ``m`` is even. The functions are vectorised over the
samples: a loop over the kernel's taps adds each tap's shifted, weighted copy of the input (a
long 1-D integer kernel takes one dot product per output over a window view instead, and a long
kernel of finite floats the FFT), so memory grows with the sizes of the inputs and the output,
not with their product.
Chapters 1 and 2 of the course (``chapters/conv1d.ipynb``, ``chapters/conv2d.ipynb``) build
them from loops first.
"""

from __future__ import annotations

import numpy as np

from convlab._validate import check_array, check_choice
from convlab.arithmetic import _conv_size, _mode_window

__all__ = ["convolve1d", "correlate1d", "convolve2d", "correlate2d"]

_MODES = ("full", "same", "valid")
# Kernels with at least this many taps (finite floating inputs) are correlated by FFT.
_FFT_TAPS = 64
# 1-D integer kernels with at least this many taps take one dot product per output.
_WINDOW_TAPS = 8


def convolve1d(f: np.ndarray, g: np.ndarray, mode: str = "full") -> np.ndarray:
    r"""Discrete linear convolution of two 1-D sequences, equal to :func:`numpy.convolve`.

    Parameters
    ----------
    f, g : array_like, 1-D
        Non-empty real sequences. Convolution is commutative; as in NumPy, when ``g`` is longer
        than ``f`` the two are swapped, so ``"same"`` has the length of the longer one.
    mode : {'full', 'same', 'valid'}
        Which part of the result to return (see Notes).

    Returns
    -------
    numpy.ndarray
        dtype ``numpy.result_type(f, g)`` (integers stay integers, as in NumPy).

    Raises
    ------
    TypeError
        If ``f`` or ``g`` is not a real numeric array.
    ValueError
        If ``f`` or ``g`` is empty or not 1-D, or ``mode`` is unknown.

    See Also
    --------
    numpy.convolve : the oracle this function equals.
    correlate1d : the same sliding sum without the flip.
    convolve2d : the 2-D version.

    Notes
    -----
    With :math:`n = \max(|f|, |g|)` and :math:`m = \min(|f|, |g|)`,
    :math:`y[t] = \sum_j f[j]\, g[t - j]` has :math:`n + m - 1` samples in ``"full"`` mode,
    :math:`n` in ``"same"`` mode (the full result from index :math:`\lfloor (m - 1)/2 \rfloor`
    on) and :math:`n - m + 1` in ``"valid"`` mode.

    Examples
    --------
    >>> convolve1d([1, 2, 3], [0, 1, 2])
    array([0, 1, 4, 7, 6])
    >>> convolve1d([1, 2, 3], [0, 1, 2], mode="same")
    array([1, 4, 7])
    >>> convolve1d([1, 2, 3], [0, 1, 2], mode="valid")
    array([4])
    """
    a = _check_signal(f, "f", 1)
    v = _check_signal(g, "g", 1)
    mode = check_choice(mode, "mode", _MODES)
    if v.size > a.size:
        a, v = v, a
    return _correlate(a, v[::-1], mode)


def correlate1d(f: np.ndarray, g: np.ndarray, mode: str = "valid") -> np.ndarray:
    r"""Cross-correlation of two 1-D sequences, equal to :func:`numpy.correlate`.

    Parameters
    ----------
    f, g : array_like, 1-D
        Non-empty real sequences. ``g`` slides along ``f`` without being flipped.
    mode : {'valid', 'same', 'full'}
        Which part of the result to return; NumPy's default is ``"valid"``.

    Returns
    -------
    numpy.ndarray
        dtype ``numpy.result_type(f, g)``.

    Raises
    ------
    TypeError
        If ``f`` or ``g`` is not a real numeric array.
    ValueError
        If ``f`` or ``g`` is empty or not 1-D, or ``mode`` is unknown.

    See Also
    --------
    numpy.correlate : the oracle this function equals (for real inputs; NumPy conjugates a
        complex ``g``, which this course does not need).
    convolve1d : correlation with ``g`` reversed.

    Notes
    -----
    :math:`y[t] = \sum_j f[t + j]\, g[j]`, listed from the most negative shift
    :math:`t = -(|g| - 1)` to the largest :math:`t = |f| - 1` in ``"full"`` mode. Output lengths
    are those of :func:`convolve1d`. Correlation is not symmetric: when ``g`` is longer than
    ``f``, NumPy computes ``correlate(g, f)`` and reverses it, and so does this function,
    which is what makes ``correlate1d(f, g) == correlate1d(g, f)[::-1]`` hold in ``"full"`` and
    ``"valid"`` mode, and in ``"same"`` mode unless both lengths are equal and even.

    Examples
    --------
    >>> correlate1d([1, 2, 3], [0, 1, 2], mode="full")
    array([2, 5, 8, 3, 0])
    >>> correlate1d([1, 2, 3], [0, 1, 2])
    array([8])
    """
    a = _check_signal(f, "f", 1)
    v = _check_signal(g, "g", 1)
    mode = check_choice(mode, "mode", _MODES)
    if v.size > a.size:
        return _correlate(v, a, mode)[::-1].copy()
    return _correlate(a, v, mode)


def convolve2d(x: np.ndarray, k: np.ndarray, mode: str = "full") -> np.ndarray:
    r"""2-D convolution with zero boundary, equal to :func:`scipy.signal.convolve2d`.

    Parameters
    ----------
    x : array_like, shape (H1, W1)
        The image.
    k : array_like, shape (H2, W2)
        The kernel. It is rotated by 180° and slid over ``x``.
    mode : {'full', 'same', 'valid'}
        ``"full"`` every overlap; ``"same"`` the centre part the size of ``x``; ``"valid"`` only
        positions where no zero padding is used (one input must then be at least as large as
        the other in both dimensions; if ``k`` is the larger, the two are swapped).

    Returns
    -------
    numpy.ndarray
        dtype ``numpy.result_type(x, k)``.

    Raises
    ------
    TypeError
        If ``x`` or ``k`` is not a real numeric array.
    ValueError
        If ``x`` or ``k`` is empty or not 2-D, ``mode`` is unknown, or in ``"valid"`` mode
        neither input is at least as large as the other in every dimension.

    See Also
    --------
    scipy.signal.convolve2d : the oracle this function equals (``boundary="fill"``, ``fillvalue=0``).
    correlate2d : the same without the rotation.
    convlab.functional.conv2d : the deep-learning (correlation) convolution on NCHW batches.

    Notes
    -----
    :math:`y[r, c] = \sum_{u, v} k[u, v]\, x[r - u, c - v]` (row :math:`r`, column :math:`c`,
    kernel tap :math:`(u, v)`). Per dimension, with input size :math:`n` and kernel size
    :math:`m`, the output has :math:`n + m - 1` entries (``"full"``), :math:`n` (``"same"``) or
    :math:`n - m + 1` (``"valid"``). ``"same"`` starts at full index
    :math:`\lfloor (m - 1)/2 \rfloor`: an odd kernel is centred on
    each pixel; an even kernel's centre is taken as the entry just *before* the middle, so the
    result leans one pixel to the top-left (SciPy's and NumPy's convention; MATLAB's ``conv2``
    starts at :math:`\lfloor m/2 \rfloor` and leans the other way, while its ``"full"`` and
    ``"valid"`` results are the same as these).

    Examples
    --------
    A 2×2 image and a 3×3 kernel give a 4×4 full convolution (:math:`2 + 3 - 1 = 4`):

    >>> import numpy as np
    >>> convolve2d(np.array([[1, 2], [3, 4]]), np.ones((3, 3), dtype=int))
    array([[ 1,  3,  3,  2],
           [ 4, 10, 10,  6],
           [ 4, 10, 10,  6],
           [ 3,  7,  7,  4]])
    """
    a = _check_signal(x, "x", 2)
    kernel = _check_signal(k, "k", 2)
    mode = check_choice(mode, "mode", _MODES)
    if mode == "valid" and _swap_for_valid(a.shape, kernel.shape):
        a, kernel = kernel, a
    return _correlate(a, kernel[::-1, ::-1], mode, fill=True)


def correlate2d(x: np.ndarray, k: np.ndarray, mode: str = "valid") -> np.ndarray:
    r"""2-D cross-correlation with zero boundary, equal to :func:`scipy.signal.correlate2d`.

    Parameters
    ----------
    x : array_like, shape (H1, W1)
        The image.
    k : array_like, shape (H2, W2)
        The template, slid over ``x`` without rotation.
    mode : {'valid', 'same', 'full'}
        As in :func:`convolve2d`; the default here is ``"valid"``, the deep-learning choice.

    Returns
    -------
    numpy.ndarray
        dtype ``numpy.result_type(x, k)``.

    Raises
    ------
    TypeError
        If ``x`` or ``k`` is not a real numeric array.
    ValueError
        If ``x`` or ``k`` is empty or not 2-D, ``mode`` is unknown, or in ``"valid"`` mode
        neither input is at least as large as the other in every dimension.

    See Also
    --------
    scipy.signal.correlate2d : the oracle this function equals.
    convolve2d : correlation with the kernel rotated by 180°.

    Notes
    -----
    :math:`y[r, c] = \sum_{u, v} x[r + u, c + v]\, k[u, v]` (in ``"valid"`` mode). Output sizes
    are those of :func:`convolve2d`. ``"full"`` and ``"valid"`` equal ``convolve2d`` with
    ``k[::-1, ::-1]``; ``"same"`` does too for odd kernel sizes, but for an even kernel size
    :math:`m` SciPy starts the centre part at full index :math:`\lfloor m / 2 \rfloor` here
    instead of :math:`\lfloor (m - 1)/2 \rfloor`, and so does this function.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9).reshape(3, 3)
    >>> correlate2d(x, np.array([[1, 0], [0, -1]]))
    array([[-4, -4],
           [-4, -4]])
    """
    a = _check_signal(x, "x", 2)
    kernel = _check_signal(k, "k", 2)
    mode = check_choice(mode, "mode", _MODES)
    if mode == "valid" and _swap_for_valid(a.shape, kernel.shape):
        return _correlate(kernel, a, mode)[::-1, ::-1].copy()
    if mode == "same":
        # SciPy's even-size centring for correlation: the full result from index m // 2 on.
        full = _correlate(a, kernel, "full", fill=True)
        rows, cols = (m // 2 for m in kernel.shape)
        return full[rows : rows + a.shape[0], cols : cols + a.shape[1]].copy()
    return _correlate(a, kernel, mode, fill=True)


def _check_signal(value: object, name: str, ndim: int) -> np.ndarray:
    """A non-empty real numeric array with ``ndim`` dimensions."""
    return check_array(value, name, ndim=ndim)


def _swap_for_valid(shape1: tuple[int, ...], shape2: tuple[int, ...]) -> bool:
    """SciPy's rule for ``"valid"``: True when the second input is the larger one."""
    if all(a >= b for a, b in zip(shape1, shape2, strict=True)):
        return False
    if all(b >= a for a, b in zip(shape1, shape2, strict=True)):
        return True
    raise ValueError(
        "in 'valid' mode one of `x` and `k` must be at least as large as the other in every "
        f"dimension; got x.shape={shape1}, k.shape={shape2}"
    )


def _correlate(a: np.ndarray, v: np.ndarray, mode: str, fill: bool = False) -> np.ndarray:
    """Correlate ``a`` with ``v`` (same ndim); ``"same"`` keeps ``a``'s size.

    A loop over the taps of ``v``: tap ``t`` adds ``v[t] * a`` (shifted by ``t``) onto the
    outputs it reaches, so memory stays at the sizes of the inputs and the output (a window
    view contracted in one product would copy ``out.size * v.size`` elements). Each tap touches
    only the outputs where it overlaps real samples of ``a``: the zero boundary is not
    multiplied, so an ``inf`` in ``v`` gives ``inf`` at the 1-D edges, as in NumPy. SciPy's 2-D
    functions (``boundary="fill"``) do multiply ``v`` by the fill value 0, which makes a NaN
    wherever a non-finite tap of ``v`` meets the boundary; ``fill=True`` reproduces that.
    """
    dtype = np.result_type(a, v)
    a = a.astype(dtype, copy=False)
    v = v.astype(dtype, copy=False)
    if mode != "valid" and v.size > a.size:
        # loop over the smaller operand's taps: the full correlation of v with a is this one
        # reversed; "same" is the centre of the full result
        full_result = _correlate(v, a, "full")[(slice(None, None, -1),) * a.ndim]
        if fill:
            full_result = np.ascontiguousarray(full_result)
            _fill_nan(full_result, a.shape, v, tuple(1 - m for m in v.shape))
        if mode == "full":
            return np.ascontiguousarray(full_result)
        start = tuple(_mode_window(n, m, "same")[0] for n, m in zip(a.shape, v.shape, strict=True))
        return full_result[tuple(slice(s, s + n) for s, n in zip(start, a.shape, strict=True))].copy()
    if v.size >= _FFT_TAPS and dtype.kind == "f" and np.isfinite(a).all() and np.isfinite(v).all():
        return _fft_correlate(a, v, mode)
    if a.ndim == 1 and v.size >= _WINDOW_TAPS and dtype.kind in "biu":
        return _window_correlate(a, v, mode)
    # full-mode offset of output index 0: the output at full index o reads a[o - pad + t]
    pad = tuple(0 if mode == "valid" else m - 1 for m in v.shape)
    full = tuple(_conv_size(n, m, 1, p, 1) for n, m, p in zip(a.shape, v.shape, pad, strict=True))
    if mode == "same":
        start = tuple(_mode_window(n, m, "same")[0] for n, m in zip(a.shape, v.shape, strict=True))
        size = a.shape
    else:
        start, size = (0,) * a.ndim, full
    first = tuple(s - p for s, p in zip(start, pad, strict=True))  # a index read by output 0, tap 0
    out = np.zeros(size, dtype=dtype)
    buffer = np.empty(size, dtype=dtype)
    for tap in np.ndindex(v.shape):
        target, source = [], []
        for t, f0, n_out, n in zip(tap, first, size, a.shape, strict=True):
            # outputs o with 0 <= f0 + o + t < n
            lo, hi = max(0, -(f0 + t)), min(n_out, n - f0 - t)
            if lo >= hi:
                break
            target.append(slice(lo, hi))
            source.append(slice(f0 + t + lo, f0 + t + hi))
        else:
            target_t, source_t = tuple(target), tuple(source)
            part = buffer[tuple(slice(0, s.stop - s.start) for s in target_t)]
            np.multiply(a[source_t], v[tap], out=part)
            out[target_t] += part
    if fill and mode != "valid":
        _fill_nan(out, a.shape, v, first)
    return out


def _window_correlate(a: np.ndarray, v: np.ndarray, mode: str) -> np.ndarray:
    """:func:`_correlate` of 1-D integer (or boolean) sequences: one dot product per output.

    Output ``t`` is the window of ``a`` (zero-padded where the mode needs it) that starts at
    ``first + t``, times ``v``: a matrix-vector product of a strided window view (never copied)
    with ``v``. NumPy's integer products run in the dtype's own arithmetic, wrapping on overflow
    exactly as :func:`numpy.convolve` does, so the result is exact in the same sense; memory is
    ``O(n + m)`` and every sample is read once per tap from cache. ``benchmarks/bench_memory.py``
    times it against :func:`numpy.convolve` at ``10**5`` by ``10**4`` samples.
    """
    n, m = a.size, v.size
    pad = 0 if mode == "valid" else m - 1
    if mode == "same":
        start, size = _mode_window(n, m, "same")[0], n
    else:
        start, size = 0, _conv_size(n, m, 1, pad, 1)
    first = start - pad  # the index of ``a`` that output 0 reads with tap 0
    left, right = max(0, -first), max(0, first + size + m - 1 - n)
    padded = a
    if left or right:
        padded = np.zeros(n + left + right, dtype=a.dtype)
        padded[left : left + n] = a
    windows = np.lib.stride_tricks.sliding_window_view(padded, m)[first + left : first + left + size]
    return windows @ v


def _fill_nan(out: np.ndarray, a_shape: tuple[int, ...], v: np.ndarray, first: tuple[int, ...]) -> None:
    """Set NaN where a non-finite tap of ``v`` meets the zero boundary (``inf * 0``, as in SciPy).

    ``first[d]``: index of ``a`` read by output 0 with tap 0 (negative outside ``a``).
    """
    for tap in np.argwhere(~np.isfinite(v)):
        outside = np.ones(out.shape, dtype=bool)
        inside = []
        for t, f0, n_out, n in zip(tap, first, out.shape, a_shape, strict=True):
            lo, hi = max(0, -(f0 + t)), min(n_out, n - f0 - t)
            inside.append(slice(lo, max(lo, hi)))
        outside[tuple(inside)] = False
        out[outside] = np.nan


def _fast_length(n: int) -> int:
    """The smallest ``2**a * 3**b * 5**c >= n``: a length the FFT handles quickly."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _fft_correlate(a: np.ndarray, v: np.ndarray, mode: str) -> np.ndarray:
    """:func:`_correlate` for a large kernel and finite floating inputs, by FFT.

    The product of the two zero-padded spectra is the full convolution of ``a`` with ``v``
    reversed, that is the full correlation; memory and time are ``O(L log L)`` for the full
    length ``L = n + m - 1`` per axis. The sums agree with the direct ones up to rounding of
    order ``1e-16`` times the largest possible sum (``sum |a| * sum |v|`` per output), which
    is why non-finite inputs (that an FFT would spread over every output) and integers (that
    must stay exact) take the direct loop instead.
    """
    full = tuple(_mode_window(n, m, "full")[1] for n, m in zip(a.shape, v.shape, strict=True))
    shape = tuple(_fast_length(n) for n in full)
    axes = tuple(range(a.ndim))
    spectrum = np.fft.rfftn(a, shape, axes) * np.fft.rfftn(v[(slice(None, None, -1),) * v.ndim], shape, axes)
    result = np.fft.irfftn(spectrum, shape, axes)
    windows = [_mode_window(n, m, mode) for n, m in zip(a.shape, v.shape, strict=True)]
    start, size = tuple(w[0] for w in windows), tuple(w[1] for w in windows)
    window = tuple(slice(s0, s0 + n) for s0, n in zip(start, size, strict=True))
    return result[window].astype(a.dtype)
