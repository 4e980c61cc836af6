"""Backpropagation through a convolution, and the tools to check it
(chapter :doc:`../chapters/matrix_backprop`).

For ``y = conv2d(x, w) + b`` and an upstream gradient ``g = dL/dy``:

- ``dL/dx`` is the transposed convolution of ``g`` with the same kernel (``C.T @ g`` in the
  matrix view of :mod:`convlab.matrix`);
- ``dL/dw`` correlates every input window with ``g``;
- ``dL/db`` sums ``g`` over the batch and the pixels.

:func:`numerical_gradient` and :func:`rel_error` are the gradient check of CS231n: compare an
analytic gradient with central differences, relative to the size of the numbers.

:func:`max_pool2d_backward` routes each upstream gradient to the argmax of its window (the
"switches" that max-unpooling reuses); :func:`avg_pool2d_backward` spreads it evenly over the
window (chapter :doc:`../chapters/channels_pooling`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convlab import functional as F
from convlab._validate import IntPair, _pair, check_array, check_positive, result_dtype
from convlab.arithmetic import _check_fits, _conv_size, _extent, _torch_same_padding, _unread

__all__ = [
    "conv2d_backward",
    "numerical_gradient",
    "rel_error",
    "max_pool2d_backward",
    "avg_pool2d_backward",
]


def _padding_pairs(padding, kernel, dilation, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(before, after)`` zeros per spatial axis for an int, a pair, ``"valid"`` or ``"same"``."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"`padding`='same' needs stride 1, as in PyTorch; got stride={stride}")
            return tuple(_torch_same_padding(k, d) for k, d in zip(kernel, dilation, strict=True))  # type: ignore[return-value]
        raise ValueError(f"`padding` must be an integer, a pair, 'valid' or 'same'; got padding={padding!r}")
    ph, pw = _pair(padding, "padding", minimum=0)
    return (ph, ph), (pw, pw)


def conv2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a 2-D convolution with respect to its input, weight and bias.

    Parameters
    ----------
    grad_output : ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        Upstream gradient :math:`\\partial L / \\partial y`, shaped like the convolution's output.
    input : ndarray, shape (N, C_in, H, W) or (C_in, H, W)
        The input the convolution was applied to.
    weight : ndarray, shape (C_out, C_in / groups, kh, kw)
    stride, padding, dilation, groups
        As in :func:`convlab.functional.conv2d` (``padding`` may be an int, a pair, ``"valid"``
        or ``"same"``; ``"same"`` needs stride 1).

    Returns
    -------
    grad_input : ndarray, shaped like ``input``
    grad_weight : ndarray, shaped like ``weight``
    grad_bias : ndarray, shape (C_out,)
        The gradient the bias would get (whether or not the layer has one).

    Raises
    ------
    ValueError
        If the shapes do not fit together (``grad_output`` must have the convolution's output
        shape) or a hyper-parameter is out of range.
    TypeError
        If an array is not numeric or a hyper-parameter is not an integer.

    See Also
    --------
    torch.autograd.grad : what these equal, for ``torch.nn.functional.conv2d``.
    convlab.functional.conv_transpose2d : computes ``grad_input``.
    numerical_gradient : checks them.

    Notes
    -----
    With padding :math:`p` (before) and :math:`q` (after) along an axis, the forward output size is
    :math:`H_{out} = \\lfloor (H + p + q - d(k-1) - 1)/s \\rfloor + 1`; the floor discards
    :math:`r = (H + p + q - d(k-1) - 1) \\bmod s` trailing pixels, which the convolution never read.
    Hence

    .. math::

        \\frac{\\partial L}{\\partial x} &= \\operatorname{conv\\_transpose2d}(g, W,\\;
            \\text{padding}=p,\\; \\text{output\\_padding}=r) \\\\
        \\frac{\\partial L}{\\partial W}[c_o, c_i, a, b] &= \\sum_{n, i, j} g[n, c_o, i, j]\\,
            x_{pad}[n, c_i, s i + d a, s j + d b] \\\\
        \\frac{\\partial L}{\\partial b}[c_o] &= \\sum_{n, i, j} g[n, c_o, i, j]

    (``output_padding`` gives the result the size of ``x`` again; of the ``r`` unread trailing
    pixels the last :math:`\\min(r, q)` are padding, so the last :math:`\\max(r - q, 0)` pixels of ``x`` get
    zero gradient; for asymmetric "same" padding the extra row is cropped). ``grad_weight`` takes
    strided windows of the padded input (no copy) and contracts them with ``g`` in one ``einsum``:
    no loop over pixels.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 3, 3))
    >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
    >>> gx[0, 0]
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]])
    >>> gw[0, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    >>> gb
    array([4.])
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    w = check_array(weight, "weight", ndim=4, floating=True)
    g = check_array(grad_output, "grad_output", ndim=x.ndim, floating=True)
    unbatched = x.ndim == 3
    if unbatched:
        x, g = x[None], g[None]
    stride = _pair(stride, "stride")
    dilation = _pair(dilation, "dilation")
    groups = check_positive(groups, "groups")
    n, c_in, h, wd = x.shape
    c_out, cig, kh, kw = w.shape
    if c_in % groups or c_out % groups or cig * groups != c_in:
        raise ValueError(
            f"`weight` must have shape (C_out, C_in / groups, kh, kw) with C_in = {c_in}, groups = {groups} "
            f"and C_out divisible by groups; got weight.shape={w.shape}"
        )
    pads = _padding_pairs(padding, (kh, kw), dilation, stride)
    out_size, rest = [], []
    for size, k, s, d, (before, after) in zip((h, wd), (kh, kw), stride, dilation, pads, strict=True):
        _check_fits(size, k, d, before + after, names=("input", "dilation", "padding"))
        out_size.append(_conv_size(size + before + after, k, s, 0, d))
        rest.append(_unread(size, k, s, before + after, d))
    if g.shape != (n, c_out, *out_size):
        raise ValueError(
            f"`grad_output` must have the convolution's output shape {(n, c_out, *out_size)}; got {g.shape}"
        )
    dtype = result_dtype(g, x, w)

    # grad_input: the transposed convolution, symmetric part of the padding cropped by it,
    # any asymmetric rest cropped here; output_padding = r restores the size of x.
    sym = tuple(min(p) for p in pads)
    full = F.conv_transpose2d(
        g, w, stride=stride, padding=sym, output_padding=tuple(rest), groups=groups, dilation=dilation
    )
    top, left = pads[0][0] - sym[0], pads[1][0] - sym[1]
    grad_input = np.asarray(full)[..., top : top + h, left : left + wd]

    # grad_weight: strided windows of the padded input, contracted with grad_output.
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    span = (_extent(kh, dilation[0]), _extent(kw, dilation[1]))
    windows = sliding_window_view(xp, span, axis=(2, 3))[
        :, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]
    ][:, :, : out_size[0], : out_size[1]]
    windows = windows.reshape(n, groups, cig, *out_size, kh, kw)
    gg = g.reshape(n, groups, c_out // groups, *out_size)
    grad_weight = np.einsum("ngohw,ngchwab->gocab", gg, windows, optimize=True).reshape(w.shape)

    grad_bias = g.sum(axis=(0, 2, 3))
    if unbatched:
        grad_input = grad_input[0]
    return grad_input.astype(dtype, copy=False), grad_weight.astype(dtype), grad_bias.astype(dtype)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function, one element at a time.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar (a Python number or a size-1 array). It is called ``2 * x.size``
        times with ``x`` changed in place.
    x : ndarray of floats
        The point; it is modified during the call and restored exactly afterwards (also when
        ``f`` raises). float64 gives the most accurate result; for float32 (or float16) the
        step is scaled (see Notes).
    h : float, optional
        Step. Default 1e-5. For lower precision than float64 the step used for element
        :math:`x_i` is :math:`\\max(h, \\epsilon^{1/3} \\max(1, |x_i|))`.

    Returns
    -------
    ndarray, shaped like ``x``, float64
        :math:`(f(x + h e_i) - f(x - h e_i)) / 2h` for every element :math:`i`.

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``x`` is not a floating-point ndarray (it must be changed in
        place), or ``h`` is not a real number.
    ValueError
        If ``h`` is not positive and finite, ``x`` is empty, or ``f`` does not return a scalar.

    See Also
    --------
    torch.autograd.gradcheck : the same idea in PyTorch.
    rel_error : compare the result with an analytic gradient.

    Notes
    -----
    The error of the central difference is :math:`O(h^2)` (plus rounding of order
    :math:`\\epsilon |f| / h`). This loops over elements on purpose: it is a checker, meant for
    the few dozen parameters of a test, not a way to train.

    In float32 a step of ``1e-5`` is below the spacing of the numbers near any :math:`|x_i| >
    84` (``x + h`` rounds back to ``x``, and the difference would be 0), and near 1 the rounding
    of ``f`` (:math:`\\epsilon \\approx 1.2 \\cdot 10^{-7}`) swamps the difference. So for
    dtypes with a machine epsilon above float64's the step grows to :math:`\\epsilon^{1/3}
    \\max(1, |x_i|)` (``4.9e-3`` near 1 in float32, the step that balances the truncation and
    rounding errors of a central difference), and the quotient divides by the step actually
    taken, ``(x_i + h) - (x_i - h)`` as stored in ``x``'s dtype, computed in float64.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> np.round(numerical_gradient(lambda v: np.sum(v**2), x), 6)
    array([2., 4., 6.])
    >>> x
    array([1., 2., 3.])
    """
    if not callable(f):
        raise TypeError(f"`f` must be callable; got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"`x` must be a floating-point numpy array (it is changed in place); got {kind}")
    if x.size == 0:
        raise ValueError(f"`x` must not be empty; got shape {x.shape}")
    if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)):
        raise TypeError(f"`h` must be a real number; got h={h!r}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"`h` must be positive and finite; got h={h!r}")

    def value() -> float:
        out = np.asarray(f(x))
        if out.size != 1:
            raise ValueError(f"`f` must return a scalar; got an array of shape {out.shape}")
        return float(out.reshape(()))

    grad = np.zeros(x.shape, dtype=np.float64)
    eps = float(np.finfo(x.dtype).eps)
    scaled = eps > float(np.finfo(np.float64).eps)
    for index in np.ndindex(x.shape):
        old = x[index].copy()
        step = max(float(h), eps ** (1 / 3) * max(1.0, abs(float(old)))) if scaled else float(h)
        try:
            x[index] = float(old) + step
            up = float(x[index])
            plus = value()
            x[index] = float(old) - step
            down = float(x[index])
            minus = value()
        finally:
            x[index] = old
        grad[index] = (plus - minus) / (up - down)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray, tiny: float = 1e-8) -> float:
    """Largest elementwise relative error, :math:`\\max_i |a_i - b_i| / \\max(|a_i|, |b_i|, \\text{tiny})`.

    Parameters
    ----------
    a, b : array_like
        Same shape (no broadcasting).
    tiny : float, optional
        Floor of the denominator, so that two near-zero entries do not divide by zero. Default 1e-8.

    Returns
    -------
    float
        0 for identical arrays, at most 2. As a rule of thumb for a float64 gradient check:
        below 1e-7 is right, around 1e-4 is suspicious, above 1e-2 is wrong.

    Raises
    ------
    ValueError
        If the shapes differ or ``tiny`` is not positive.
    TypeError
        If an input is not numeric.

    See Also
    --------
    numpy.testing.assert_allclose : an absolute-plus-relative test instead of one number.

    Notes
    -----
    This is *elementwise* (the CS231n gradient-check measure, with a max instead of a sum in the
    denominator): every entry must be right relative to its own size, so one wrong small entry is
    not hidden by large ones. The price is sensitivity to entries near zero, where rounding is
    relatively large; ``tiny`` sets where "near zero" begins. The course's graders use the
    norm-relative :math:`\\|a - b\\| / \\|b\\|` instead, which is the tolerant choice.

    Examples
    --------
    >>> rel_error([1.0, 100.0], [1.0, 101.0])
    0.009900990099009901
    >>> rel_error([0.0], [0.0])
    0.0
    """
    a = check_array(a, "a", floating=True, allow_empty=True)
    b = check_array(b, "b", floating=True, allow_empty=True)
    if a.shape != b.shape:
        raise ValueError(f"`b` must have the shape of `a`; got a.shape={a.shape}, b.shape={b.shape}")
    if not tiny > 0:
        raise ValueError(f"`tiny` must be positive; got tiny={tiny!r}")
    if a.size == 0:
        return 0.0
    a, b = a.astype(np.float64), b.astype(np.float64)
    denominator = np.maximum(np.maximum(np.abs(a), np.abs(b)), tiny)
    return float(np.max(np.abs(a - b) / denominator))


def max_pool2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Gradient of :func:`convlab.functional.max_pool2d` with respect to its input.

    Parameters
    ----------
    grad_output : ndarray, shape (N, C, H_out, W_out) or (C, H_out, W_out)
        Upstream gradient, shaped like the pooling's output.
    input : ndarray, shape (N, C, H, W) or (C, H, W)
        The input the pooling was applied to.
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`convlab.functional.max_pool2d` (``stride`` defaults to ``kernel_size``).

    Returns
    -------
    ndarray, shaped like ``input``
        Each ``grad_output`` entry added to the input pixel its window chose as maximum (the
        first maximum in row-major order when several tie, as PyTorch chooses); zero elsewhere.

    Raises
    ------
    ValueError
        If ``grad_output`` does not have the pooling's output shape, or the pooling arguments
        break a rule of :func:`convlab.functional.max_pool2d`.
    TypeError
        If an array is not numeric or a pooling argument has the wrong type.

    See Also
    --------
    torch.autograd.grad : what this equals, for ``torch.nn.functional.max_pool2d``.
    convlab.functional.max_unpool2d : the same scatter, without the sum over overlapping windows.
    avg_pool2d_backward : the gradient of average pooling.

    Notes
    -----
    With :math:`m(o)` the flat index of the maximum of window :math:`o` in its plane,

    .. math::

        \\frac{\\partial L}{\\partial x_j} = \\sum_{o \\,:\\, m(o) = j} g_o,

    so a pixel that is the maximum of several overlapping windows (stride smaller than the
    kernel) collects the sum of their gradients.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1.0, 5.0, 2.0], [3.0, 4.0, 0.0], [0.0, 2.0, 1.0]]]])
    >>> max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)[0, 0]
    array([[0., 2., 0.],
           [0., 2., 0.],
           [0., 0., 0.]])
    """
    x = check_array(input, "input", ndim=(3, 4), floating=True)
    g = check_array(grad_output, "grad_output", ndim=x.ndim, floating=True)
    _, indices = F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
    _check_pool_grad_shape(g, indices.shape, "max_pool2d")
    plane = x.shape[-2] * x.shape[-1]
    lead = int(np.prod(x.shape[:-2]))
    flat_idx = indices.reshape(lead, -1)
    flat_g = g.reshape(lead, -1).astype(np.float64)
    keep = (flat_idx >= 0) & (flat_idx < plane)  # windows of padding alone carry no pixel
    rows = np.broadcast_to(np.arange(lead)[:, None], flat_idx.shape)
    grad = np.zeros((lead, plane), dtype=np.float64)
    np.add.at(grad, (rows[keep], flat_idx[keep]), flat_g[keep])
    return grad.reshape(x.shape).astype(result_dtype(g, x), copy=False)


def avg_pool2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Gradient of :func:`convlab.functional.avg_pool2d` with respect to its input.

    Parameters
    ----------
    grad_output : ndarray, shape (N, C, H_out, W_out) or (C, H_out, W_out)
        Upstream gradient, shaped like the pooling's output.
    input : ndarray, shape (N, C, H, W) or (C, H, W)
        The input the pooling was applied to (only its shape and dtype matter).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in :func:`convlab.functional.avg_pool2d`.

    Returns
    -------
    ndarray, shaped like ``input``
        Every ``grad_output`` entry divided by its window's divisor and added to each input
        pixel of the window (the padding's share is dropped).

    Raises
    ------
    ValueError
        If ``grad_output`` does not have the pooling's output shape, or the pooling arguments
        break a rule of :func:`convlab.functional.avg_pool2d`.
    TypeError
        If an array is not numeric or a pooling argument has the wrong type.

    See Also
    --------
    torch.autograd.grad : what this equals, for ``torch.nn.functional.avg_pool2d``.
    max_pool2d_backward : the gradient of max pooling.

    Notes
    -----
    With :math:`D_o` the divisor of window :math:`W_o`,

    .. math::

        \\frac{\\partial L}{\\partial x_j} = \\sum_{o \\,:\\, j \\in W_o} \\frac{g_o}{D_o}.

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool2d_backward(np.array([[[[4.0, 8.0]]]]), np.zeros((1, 1, 2, 4)), 2)[0, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """
    from convlab.functional import pooling as P  # the forward's own geometry and divisor

    x = check_array(input, "input", ndim=(3, 4), floating=True)
    g = check_array(grad_output, "grad_output", ndim=x.ndim, floating=True)
    geometry = P._avg_pool_geometry(x.shape, kernel_size, stride, padding, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = geometry
    P._check_bool(count_include_pad, "count_include_pad")
    divisor = P._avg_divisor(x.shape[-2:], geometry, count_include_pad, divisor_override)
    _check_pool_grad_shape(g, (*x.shape[:-2], oh, ow), "avg_pool2d")
    share = g.astype(np.float64) / divisor
    padded = P._zero_pad_for_windows(np.zeros(x.shape), geometry)
    for u in range(kh):  # one strided add per kernel tap (u, v), vectorised over all windows
        for v in range(kw):
            padded[..., u : u + (oh - 1) * sh + 1 : sh, v : v + (ow - 1) * sw + 1 : sw] += share
    grad = padded[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]]
    return grad.astype(result_dtype(g, x))


def _check_pool_grad_shape(g: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if g.shape != tuple(shape):
        raise ValueError(f"`grad_output` must have the {name} output shape {tuple(shape)}; got {g.shape}")
