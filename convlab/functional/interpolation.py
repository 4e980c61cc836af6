"""Resizing NCHW arrays: nearest, nearest-exact, (bi)linear and bicubic interpolation.

Every mode here is *separable*: the value at output pixel ``(r, c)`` is a weighted sum over
input rows times a weighted sum over input columns. So each spatial axis gets its own small
table, computed once: for every output position, the input positions it reads (``taps``) and
their weights. Resizing an axis gathers each tap and adds it, weighted (two taps for linear,
four for cubic), so the work and memory grow with the output, never with ``out * in``; a short
axis of finite input instead turns the table into a small dense ``(out, in)`` matrix and
resizes with one matrix product, which is faster there.
Nearest modes are pure gathers (``numpy.take``).

The coordinate mapping follows PyTorch exactly, including its less obvious rules (an axis of
``n`` input samples resized to ``m``, output sample ``t``):

- with ``align_corners=False`` output sample ``t`` sits at input coordinate
  ``(t + 0.5) * scale - 0.5``: pixels are squares, and the outer *edges* of input and output
  line up (both cover the same extent); with ``align_corners=True`` it sits at
  ``t * (n - 1) / (m - 1)``: the *centres* of the corner pixels line up;
- when ``scale_factor`` is given (and ``recompute_scale_factor`` is not true), ``scale`` is
  ``1 / scale_factor``, not ``n / m``: the two differ whenever ``n * scale_factor`` is not
  an integer;
- ``(t + 0.5) * scale - 0.5`` is rounded once (PyTorch's vectorised CPU kernels use a fused
  multiply-add), and the interpolating modes take the floor of the coordinate after rounding
  it to float32 (C's ``floorf``), in float64 too. Both decide which taps an output reads, so
  where a NaN or an infinity spreads. (PyTorch's unvectorised ``DEFAULT`` kernel, selected by
  ``ATEN_CPU_CAPABILITY=default`` or on x86 processors without AVX2, rounds twice and can read
  other taps at exact pixel boundaries, such as bicubic at scale 3.)

The course explains these choices in the chapter on upsampling (``chapters/upsampling.ipynb``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from convlab._validate import _ntuple, check_allocation, check_array, check_choice

__all__ = ["interpolate"]

_NEAREST_MODES = ("nearest", "nearest-exact")
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic")
_MODE_NDIM = {"linear": 3, "bilinear": 4, "bicubic": 4}
_DENSE_ENTRIES = 1 << 18  # largest (out, in) matrix used for an axis (2 MiB in float64)
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) choice for the cubic convolution kernel

Size = int | Sequence[int]
Scale = float | Sequence[float]


def interpolate(
    input: np.ndarray,
    size: Size | None = None,
    scale_factor: Scale | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> np.ndarray:
    r"""Resize ``(N, C, L)`` or ``(N, C, H, W)`` arrays, exactly like ``torch.nn.functional.interpolate``.

    Parameters
    ----------
    input : array_like, shape (N, C, L) or (N, C, H, W)
        Integer inputs are promoted to float64; float32 stays float32.
    size : int or sequence of int, optional
        Output spatial size. Exactly one of ``size`` and ``scale_factor`` must be given.
    scale_factor : float or sequence of float, optional
        Multiplier for the spatial size; the output size is
        :math:`\lfloor n \cdot \text{scale\_factor} \rfloor` for an axis of :math:`n` samples.
    mode : {'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic'}
        ``'linear'`` needs 3-D input; ``'bilinear'`` and ``'bicubic'`` need 4-D input.
    align_corners : bool, optional
        Only for the interpolating modes (default False there); must be None for nearest modes.
        True maps the centres of the corner pixels of input and output onto each other.
    recompute_scale_factor : bool, optional
        With True, the scale used to map coordinates is recomputed as ``n / m`` (input over
        output size) instead of ``1 / scale_factor``. Not allowed together with ``size``.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, C, *size)``, same floating dtype as ``input``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (e.g. a float ``size``, a non-bool ``align_corners``).
    ValueError
        If both or neither of ``size`` and ``scale_factor`` are given, ``mode`` is unknown or does
        not fit ``input.ndim``, ``align_corners`` is set for a nearest mode, a size or factor is
        not positive, or the output would be empty or larger than this machine's physical memory.

    See Also
    --------
    torch.nn.functional.interpolate : the oracle this function equals.
    convlab.upsample.bilinear_kernel : bilinear upsampling as a transposed convolution.

    Notes
    -----
    For each spatial axis with input size :math:`n` and output size :math:`m`, output sample
    :math:`t` reads the input coordinate

    .. math::

        \xi(t) = \begin{cases}
            t \, \frac{n - 1}{m - 1} & \text{align\_corners} \\
            (t + \tfrac12)\, s - \tfrac12, \quad
            s = \frac{1}{\text{scale\_factor}} \text{ if given, else } \frac{n}{m} & \text{otherwise}
        \end{cases}

    ``'nearest'`` takes :math:`\lfloor t\,s \rfloor` (an asymmetric rule kept for backward
    compatibility), ``'nearest-exact'`` takes :math:`\lfloor (t + \frac12) s \rfloor`.
    ``'linear'`` blends the two neighbours of :math:`\xi` with weights :math:`1-\lambda, \lambda`
    where :math:`\lambda = \xi - \lfloor \xi \rfloor` (negative :math:`\xi` is clamped to 0);
    ``'bicubic'`` blends four neighbours with Keys' cubic convolution kernel
    (:math:`a = -0.75`), clamping out-of-range neighbours to the border.

    PyTorch evaluates these formulas with slightly different rounding in its different
    kernels; this function reproduces them (see ``_nearest_index`` and ``_fused_source``), so
    nearest indices and interpolation taps agree exactly (NaN and infinities land where PyTorch
    puts them) and interpolated values to float rounding. One known exception: for float64,
    single-channel ``'nearest-exact'`` input, PyTorch's channels-last kernel can pick the
    other neighbour when a coordinate falls exactly on a pixel boundary.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0]]])
    >>> interpolate(x, scale_factor=2, mode="nearest")
    array([[[1., 1., 2., 2.]]])
    >>> interpolate(x, size=4, mode="linear", align_corners=False)
    array([[[1.  , 1.25, 1.75, 2.  ]]])
    >>> interpolate(x, size=3, mode="linear", align_corners=True)
    array([[[1. , 1.5, 2. ]]])
    """
    mode = check_choice(mode, "mode", _MODES)
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    needed = _MODE_NDIM.get(mode)
    if needed is not None and x.ndim != needed:
        layout = "(N, C, L)" if needed == 3 else "(N, C, H, W)"
        raise ValueError(
            f"`mode`={mode!r} needs {needed}-D `input` {layout}; got `input` of shape {x.shape} ({x.ndim}-D)"
        )
    if mode in _NEAREST_MODES:
        if align_corners is not None:
            raise ValueError(
                "`align_corners` can only be set with the interpolating modes 'linear', 'bilinear' "
                f"and 'bicubic'; got align_corners={align_corners!r} with mode={mode!r}"
            )
    else:
        if align_corners is None:
            align_corners = False
        if not isinstance(align_corners, (bool, np.bool_)):
            raise TypeError(f"`align_corners` must be a bool or None; got align_corners={align_corners!r}")
        align_corners = bool(align_corners)
    if recompute_scale_factor is not None and not isinstance(recompute_scale_factor, (bool, np.bool_)):
        raise TypeError(
            "`recompute_scale_factor` must be a bool or None; "
            f"got recompute_scale_factor={recompute_scale_factor!r}"
        )

    in_sizes = x.shape[2:]
    out_sizes, scales = _output_sizes(in_sizes, size, scale_factor, recompute_scale_factor)
    check_allocation(
        (*x.shape[:2], *out_sizes),
        x.itemsize,
        f"the output of `size`={size!r}, `scale_factor`={scale_factor!r}",
    )

    # Coordinates are computed in the input's precision, as PyTorch does (float32 for float32).
    coord_dtype = np.float64 if x.dtype == np.float64 else np.float32
    out = x
    axes = range(2, x.ndim)
    if mode in _NEAREST_MODES:
        # PyTorch runs a (N, C, H, W) array that is also contiguous in channels-last order
        # (C == 1, or H == W == 1) through its channels-last kernel, which rounds differently.
        channels_last = x.ndim == 4 and (x.shape[1] == 1 or x.shape[2] * x.shape[3] == 1)
        for axis, n, m, s in zip(axes, in_sizes, out_sizes, scales, strict=True):
            exact = mode == "nearest-exact"
            index = _nearest_index(
                n, m, s, exact=exact, planar=x.ndim == 4, channels_last=channels_last, dtype=coord_dtype
            )
            if not np.array_equal(index, np.arange(n)):
                out = np.take(out, index, axis=axis)
        return out if out is not x else x.copy()

    cubic = mode == "bicubic"
    work_dtype = np.float64 if x.dtype == np.float64 else np.float32
    # Resize the axis that shrinks the data most first: less work for the second product.
    order = sorted(zip(axes, in_sizes, out_sizes, scales, strict=True), key=lambda t: t[2] / t[1])
    # A small dense (out, in) matrix product is fastest, and exact enough for finite input; large
    # axes, and input with NaN or infinities (which a product would spread to every output),
    # take the gather of the 2 or 4 taps per output.
    finite = bool(np.isfinite(x).all())
    for axis, n, m, s in order:
        out = out.astype(work_dtype, copy=False)
        if finite and n * m <= _DENSE_ENTRIES:
            matrix = _interpolation_matrix(n, m, s, align_corners, cubic, coord_dtype).astype(work_dtype)
            out = _apply_along(out, matrix, axis)
        else:
            index, weights = _taps(n, m, s, align_corners, cubic, coord_dtype)
            with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in PyTorch
                out = _apply_taps(out, index, weights.astype(work_dtype), axis)
    return out.astype(x.dtype, copy=False)


def _output_sizes(
    in_sizes: tuple[int, ...],
    size: object,
    scale_factor: object,
    recompute_scale_factor: bool | None,
) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    """Output size per axis and the scale factor (or None) that the coordinate mapping uses."""
    dim = len(in_sizes)
    if size is not None and scale_factor is not None:
        raise ValueError(
            f"only one of `size` and `scale_factor` may be given; got size={size!r}, "
            f"scale_factor={scale_factor!r}"
        )
    if size is None and scale_factor is None:
        raise ValueError("either `size` or `scale_factor` must be given; got neither")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(
                "`recompute_scale_factor` is not meaningful with an explicit `size`; "
                f"got recompute_scale_factor=True, size={size!r}"
            )
        return _ntuple(size, "size", dim, minimum=1), (None,) * dim

    factors = _scale_factors(scale_factor, dim)
    out_sizes = []
    for n, f in zip(in_sizes, factors, strict=True):
        if not math.isfinite(n * f):
            raise ValueError(
                f"`scale_factor` is too large: {n} * {f} overflows; got scale_factor={scale_factor!r}"
            )
        m = math.floor(n * f)
        if m < 1:
            raise ValueError(
                f"`scale_factor` gives an empty output: floor({n} * {f}) = {m} for input size {n}; "
                f"got scale_factor={scale_factor!r}"
            )
        out_sizes.append(m)
    scales = (None,) * dim if recompute_scale_factor else factors
    return tuple(out_sizes), scales


def _scale_factors(value: object, dim: int) -> tuple[float, ...]:
    """``scale_factor`` as ``dim`` positive finite floats."""

    def is_real(v: object) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))

    if is_real(value):
        items: tuple[object, ...] = (value,) * dim
    elif isinstance(value, (list, tuple)):
        items = tuple(value)
        if len(items) != dim:
            raise ValueError(
                f"`scale_factor` must be a number or a sequence of {dim} numbers (one per spatial axis); "
                f"got scale_factor={value!r}"
            )
        if not all(is_real(v) for v in items):
            raise TypeError(f"`scale_factor` must contain real numbers only; got scale_factor={value!r}")
    else:
        raise TypeError(
            f"`scale_factor` must be a number or a sequence of {dim} numbers; got scale_factor={value!r}"
        )
    factors = tuple(float(v) for v in items)  # type: ignore[arg-type]
    if not all(math.isfinite(f) and f > 0 for f in factors):
        raise ValueError(f"`scale_factor` must be positive and finite; got scale_factor={value!r}")
    return factors


def _scale(n: int, m: int, scale_factor: float | None, dtype: type) -> np.floating:
    """PyTorch's ``compute_scales_value``: ``1 / scale_factor`` when given, else ``n / m``."""
    if scale_factor is not None and scale_factor > 0:
        return dtype(1.0 / scale_factor)
    return dtype(n) / dtype(m)


def _nearest_index(
    n: int, m: int, scale_factor: float | None, *, exact: bool, planar: bool, channels_last: bool, dtype: type
) -> np.ndarray:
    """Source index of every output position for the nearest modes.

    For ``'nearest'``, PyTorch's 2-D operator (``planar=True``) copies an axis whose size does
    not change and halves the index of an axis whose size doubles, whatever ``scale_factor``
    says; its 1-D operator and ``'nearest-exact'`` always apply the formula. The two differ when a
    ``scale_factor`` such as 1.1 or 2.17 rounds down to those sizes. The formula itself is
    evaluated in float32 by PyTorch's channels-last kernel and in the input's precision by its
    generic kernel, which can round a coordinate that falls exactly on a pixel boundary
    differently; both are reproduced.
    """
    o = np.arange(m)
    if planar and not exact and m == n:
        return o
    if planar and not exact and m == 2 * n:
        return o >> 1
    if channels_last:
        s = _scale(n, m, scale_factor, np.float32)
        src = ((o + 0.5) * np.float64(s)).astype(np.float32) if exact else o.astype(np.float32) * s
    elif exact:  # floor(x + 1/2) of the clamped centre-aligned coordinate, rounded to float32
        src = _source_coordinate(n, m, scale_factor, False, True, dtype)
        src = (src.astype(np.float64) + 0.5).astype(np.float32)
    else:  # floor(s * o), then rounded to float32
        s = _scale(n, m, scale_factor, dtype)
        src = (s * o.astype(dtype)).astype(np.float32)
    return np.minimum(np.floor(src).astype(np.int64), n - 1)


def _source_coordinate(
    n: int, m: int, scale_factor: float | None, align_corners: bool, clamp: bool, dtype: type
) -> np.ndarray:
    """Input coordinate of every output position (PyTorch's ``area_pixel_compute_source_index``).

    ``s * (t + 0.5) - 0.5`` is rounded once, as the fused multiply-add of PyTorch's vectorised
    CPU kernels (AVX2, AVX-512) rounds it: see :func:`_fused_source`. Rounding twice gives 0
    where PyTorch has ``-2.8e-17`` (float64, ``s = 1/3``, ``t = 1``), and moves the four taps of
    bicubic interpolation one pixel.
    """
    o = np.arange(m, dtype=np.float64)
    if align_corners:
        s = dtype(n - 1) / dtype(m - 1) if m > 1 else dtype(0)
        return (s * o.astype(dtype)).astype(dtype)
    src = _fused_source(_scale(n, m, scale_factor, dtype), m)
    return np.maximum(src, dtype(0)) if clamp else src


def _fused_source(s: np.floating, m: int) -> np.ndarray:
    """``s * (t + 0.5) - 0.5`` for ``t = 0 .. m-1``, exactly rounded once to the type of ``s``.

    In float32 the float64 result is exact (a 24-bit product minus 0.5), so rounding it to float32
    rounds once. In float64 the product ``p = s * (t + 0.5)`` is rounded and its error ``e`` found
    exactly (Dekker's product, no fused operation needed); where ``p >= 0.25``, ``p - 0.5`` is
    exact (Sterbenz's lemma, or 0.5 a multiple of ``p``'s last place), so the one rounding of the
    sum ``(p - 0.5) + e`` is the fused result. The few outputs with ``p < 0.25`` take
    :func:`_fused_exactly`.
    """
    h = np.arange(m) + 0.5
    if s.dtype == np.float32:
        return (np.float64(s) * h - 0.5).astype(np.float32)
    s = np.float64(s)
    p = s * h
    out = (p - 0.5) + _product_error(s, h, p)
    small = np.flatnonzero(p < 0.25)
    out[small] = _fused_exactly(float(s), small)
    return out


def _product_error(a: np.float64, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``a * b - p`` exactly, for ``p = fl(a * b)`` (Dekker's TwoProduct with Veltkamp's split)."""

    def split(x):
        c = 134217729.0 * x  # 2**27 + 1
        high = c - (c - x)
        return high, x - high

    a_high, a_low = split(a)
    b_high, b_low = split(b)
    return ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


def _fused_exactly(s: float, t: np.ndarray) -> np.ndarray:
    """``s * (t + 0.5) - 0.5`` rounded once, with Python integers: with ``s = M * 2**E`` (``M`` a
    53-bit integer) it is ``(M * (2t + 1) - 2**-E) * 2**(E - 1)``, and ``float`` of the integer
    numerator rounds once (half to even, as the hardware does)."""
    mantissa, exponent = math.frexp(s)
    scaled, e = int(mantissa * 2**53), exponent - 53
    if e > 0:  # s >= 2**53: the product is a multiple of 2**(e - 1); nothing is rounded
        return s * (t + 0.5) - 0.5
    numerators = [float(scaled * (2 * int(k) + 1) - (1 << -e)) for k in t]
    return np.ldexp(np.array(numerators, dtype=np.float64), e - 1)


def _floor_index(src: np.ndarray, n: int) -> np.ndarray:
    """PyTorch's ``min(floorf(src), n - 1)``: ``floorf`` takes a float32, so a float64 coordinate
    is rounded to float32 first (``2.9999999999999996`` gives index 3 and fraction 0, not 2 and
    0.9999999999999996)."""
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n - 1)


def _taps(
    n: int, m: int, scale_factor: float | None, align_corners: bool, cubic: bool, dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    """Input indices ``(m, taps)`` and weights ``(m, taps)`` of one axis (2 taps linear, 4 cubic)."""
    src = _source_coordinate(n, m, scale_factor, align_corners, not cubic, dtype)
    left = _floor_index(src, n)
    t = np.clip(src - left.astype(dtype), dtype(0), dtype(1))
    if not cubic:
        if m == n:  # PyTorch keeps the values when the size does not change: x = 1 * x + 0 * x
            same = np.arange(m)  # (so an infinity becomes NaN there, as in PyTorch)
            return np.stack([same, same], axis=1), np.stack([np.ones(m, dtype), np.zeros(m, dtype)], axis=1)
        right = np.minimum(left + 1, n - 1)
        return np.stack([left, right], axis=1), np.stack([1 - t, t], axis=1)
    a = dtype(_CUBIC_A)
    index = np.clip(left[:, None] + np.arange(-1, 3), 0, n - 1)
    weights = np.stack(
        [_cubic_far(t + 1, a), _cubic_near(t, a), _cubic_near(1 - t, a), _cubic_far(2 - t, a)], axis=1
    )
    return index, weights


def _cubic_near(d: np.ndarray, a: np.floating) -> np.ndarray:
    """Keys' kernel for distances ``0 <= d <= 1``: ``(a+2)|d|^3 - (a+3)|d|^2 + 1``."""
    return ((a + 2) * d - (a + 3)) * d * d + 1


def _cubic_far(d: np.ndarray, a: np.floating) -> np.ndarray:
    """Keys' kernel for distances ``1 <= d <= 2``: ``a|d|^3 - 5a|d|^2 + 8a|d| - 4a``."""
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a


def _apply_taps(x: np.ndarray, index: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """Resize ``x`` along ``axis``: output ``t`` is ``sum_k weights[t, k] * x[index[t, k]]``.

    One gather and one multiply-add per tap (2 for linear, 4 for cubic), as PyTorch's kernels
    do: memory is the size of the output, and every output reads only its own taps, so a NaN or
    an infinity reaches only the outputs whose taps include it (a zero weight still multiplies
    its tap, as in PyTorch: ``0 * inf`` is NaN there too).
    """
    shape = [1] * x.ndim
    shape[axis] = index.shape[0]
    out = np.take(x, index[:, 0], axis=axis)
    out *= weights[:, 0].reshape(shape)
    for t in range(1, index.shape[1]):
        part = np.take(x, index[:, t], axis=axis)
        part *= weights[:, t].reshape(shape)
        out += part
    return out


def _interpolation_matrix(
    n: int, m: int, scale_factor: float | None, align_corners: bool, cubic: bool, dtype: type
) -> np.ndarray:
    """Dense ``(m, n)`` matrix ``A`` with ``resized = A @ signal`` along one axis."""
    index, weights = _taps(n, m, scale_factor, align_corners, cubic, dtype)
    matrix = np.zeros((m, n), dtype=dtype)
    rows = np.broadcast_to(np.arange(m)[:, None], index.shape)
    np.add.at(matrix, (rows, index), weights)  # clamped border taps accumulate
    return matrix


def _apply_along(x: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """Multiply every 1-D line of ``x`` along ``axis`` by ``matrix`` (shape ``(out, in)``)."""
    if axis == x.ndim - 1:
        lead = x.shape[:-1]
        flat = np.ascontiguousarray(x).reshape(-1, x.shape[-1]) @ matrix.T
        return flat.reshape(*lead, matrix.shape[0])
    # axis == ndim - 2 (H of NCHW): a batched (out, in) @ (in, W) product per plane
    return np.matmul(matrix, x)
