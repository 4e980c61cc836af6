"""Convolution and correlation in the signal-processing sense: 1-D and 2-D, full/same/valid.

*Convolution* flips one input and slides it across the other, summing products at every
shift; *correlation* slides without flipping. In 1-D,

.. math::

    (f * g)[n] = \\sum_k f[k]\\, g[n - k], \\qquad (f \\star g)[n] = \\sum_k f[n + k]\\, g[k],

so convolving with ``g`` is correlating with ``g[::-1]``, and in 2-D convolving with a kernel
is correlating with the kernel rotated by 180°. What deep-learning frameworks call
"convolution" is this correlation.

The three modes keep different parts of the result (sizes ``n1 >= n2``):

- ``"full"``: every shift where the inputs overlap at all, :math:`n_1 + n_2 - 1` samples;
- ``"same"``: the centre :math:`n_1` samples of the full result;
- ``"valid"``: only shifts where the shorter input lies entirely inside the longer one,
  :math:`n_1 - n_2 + 1` samples.

The functions equal :func:`numpy.convolve`, :func:`numpy.correlate`,
:func:`scipy.signal.convolve2d` and :func:`scipy.signal.correlate2d` (zero boundary), which in
turn equal MATLAB's ``conv`` and ``conv2``. They are vectorised: every output sample is one
window of a :func:`numpy.lib.stride_tricks.sliding_window_view` multiplied by the kernel.
Chapters 1 and 2 of the course (``chapters/conv1d.ipynb``, ``chapters/conv2d.ipynb``) build
them from loops first.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convlab._validate import check_array, check_choice

__all__ = ["convolve1d", "correlate1d", "convolve2d", "correlate2d"]

_MODES = ("full", "same", "valid")


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
    With :math:`n_1 = \max(|f|, |g|)` and :math:`n_2 = \min(|f|, |g|)`,
    :math:`y[n] = \sum_k f[k]\, g[n - k]` has :math:`n_1 + n_2 - 1` samples in ``"full"`` mode,
    :math:`n_1` in ``"same"`` mode (the full result from index :math:`\lfloor (n_2 - 1)/2 \rfloor`
    on) and :math:`n_1 - n_2 + 1` in ``"valid"`` mode.

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
    :math:`c[k] = \sum_n f[n + k]\, g[n]`, listed from the most negative shift
    :math:`k = -(|g| - 1)` to the largest :math:`k = |f| - 1` in ``"full"`` mode. Output lengths
    are those of :func:`convolve1d`. Correlation is not symmetric: when ``g`` is longer than
    ``f``, NumPy computes ``correlate(g, f)`` and reverses it, and so does this function,
    which is what makes ``correlate1d(f, g) == correlate1d(g, f)[::-1]`` hold in every mode
    where the lengths allow it.

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
    r"""2-D convolution with zero boundary, equal to :func:`scipy.signal.convolve2d` and MATLAB ``conv2``.

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
    :math:`y[i, j] = \sum_{m, n} x[m, n]\, k[i - m, j - n]`. Per dimension, with input size
    :math:`n_1` and kernel size :math:`n_2`, the output has :math:`n_1 + n_2 - 1` entries
    (``"full"``), :math:`n_1` (``"same"``) or :math:`n_1 - n_2 + 1` (``"valid"``). ``"same"``
    starts at full index :math:`\lfloor (n_2 - 1)/2 \rfloor`: an odd kernel is centred on
    each pixel; an even kernel's centre is taken as the entry just *before* the middle, so the
    result leans one pixel to the top-left (MATLAB's convention).

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
    return _correlate(a, kernel[::-1, ::-1], mode)


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
    :math:`c[i, j] = \sum_{m, n} x[i + m, j + n]\, k[m, n]` (in ``"valid"`` mode). Output sizes
    are those of :func:`convolve2d`. ``"full"`` and ``"valid"`` equal ``convolve2d`` with
    ``k[::-1, ::-1]``; ``"same"`` does too for odd kernel sizes, but for an even size SciPy
    starts the centre part at full index :math:`\lfloor n_2 / 2 \rfloor` here instead of
    :math:`\lfloor (n_2 - 1)/2 \rfloor`, and so does this function.

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
        # SciPy's even-size centring for correlation: the full result from index n2 // 2 on.
        full = _correlate(a, kernel, "full")
        rows, cols = (n2 // 2 for n2 in kernel.shape)
        return full[rows : rows + a.shape[0], cols : cols + a.shape[1]].copy()
    return _correlate(a, kernel, mode)


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


def _correlate(a: np.ndarray, v: np.ndarray, mode: str) -> np.ndarray:
    """Correlate ``a`` with ``v`` (same ndim) by sliding windows; ``"same"`` keeps ``a``'s size.

    The window view has shape ``out + v.shape`` and no copy; the product with ``v`` sums over
    the window axes (``tensordot`` calls BLAS for floating inputs).
    """
    dtype = np.result_type(a, v)
    a = a.astype(dtype, copy=False)
    v = v.astype(dtype, copy=False)
    if mode != "valid":
        a = np.pad(a, [(n - 1, n - 1) for n in v.shape])
    windows = sliding_window_view(a, v.shape)
    out = np.tensordot(windows, v, axes=v.ndim).astype(dtype, copy=False)
    if mode == "same":
        size = tuple(n1 - 2 * (n2 - 1) for n1, n2 in zip(a.shape, v.shape, strict=True))
        start = tuple((n2 - 1) // 2 for n2 in v.shape)
        out = out[tuple(slice(s, s + n) for s, n in zip(start, size, strict=True))].copy()
    return out
