"""Convolution arithmetic: output sizes and padding rules along one spatial axis.

Every function here works on a single axis; apply it once per axis for images. The formulas
are PyTorch's (``torch.nn.Conv2d``, ``torch.nn.ConvTranspose2d``, ``torch.nn.MaxPool2d``) and
TensorFlow's ``'SAME'`` rule, which the course derives in the chapter on
:doc:`/chapters/conv_arithmetic` following Dumoulin & Visin,
*A guide to convolution arithmetic for deep learning* (2016).

Symbols: ``i`` input size, ``k`` kernel size, ``s`` stride, ``p`` zero padding on each side,
``d`` dilation, ``o`` output size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from convlab._validate import _is_int, check_nonnegative, check_positive

__all__ = [
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "same_padding",
    "mode_window",
    "TransposedEquivalent",
    "transposed_equivalent",
    "tf_transpose_output_sizes",
    "ReceptiveField",
    "receptive_field",
]


def _check_common(i: object, k: object, s: object, d: object) -> tuple[int, int, int, int]:
    return (
        check_positive(i, "i"),
        check_positive(k, "k"),
        check_positive(s, "s"),
        check_positive(d, "d"),
    )


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    r"""Output size of a convolution along one axis (PyTorch's ``Conv2d`` formula).

    Parameters
    ----------
    i : int
        Input size, >= 1.
    k : int
        Kernel size, >= 1.
    s : int, optional
        Stride, >= 1.
    p : int, optional
        Zero padding added on *each* side, >= 0.
    d : int, optional
        Dilation (spacing between kernel taps), >= 1.

    Returns
    -------
    int
        The number of positions at which the dilated kernel fits in the padded input.

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If an argument is out of range, or if the dilated kernel :math:`d(k-1)+1` is larger than
        the padded input :math:`i+2p` (the output would be empty; the message says "the kernel
        does not fit the padded input").

    See Also
    --------
    torch.nn.Conv2d : whose *Shape* section states the same formula.
    conv_transpose_output_size : the size going the other way.

    Notes
    -----
    .. math:: o = \left\lfloor \frac{i + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    With :math:`d=1` this is Dumoulin & Visin's relationship
    :math:`o = \lfloor (i + 2p - k)/s \rfloor + 1`, which contains all their convolution cases:
    no padding and unit strides (:math:`o = i - k + 1`), half padding (:math:`o = i`),
    full padding (:math:`o = i + k - 1`) and so on.

    Chapter: :doc:`/chapters/conv_arithmetic`.

    Examples
    --------
    >>> conv_output_size(5, 3)
    3
    >>> conv_output_size(5, 3, s=2, p=1)
    3
    >>> conv_output_size(7, 3, d=2)
    3
    """
    i, k, s, d = _check_common(i, k, s, d)
    p = check_nonnegative(p, "p")
    _check_fits(i, k, d, 2 * p)
    return _conv_size(i, k, s, p, d)


def conv_transpose_output_size(
    i: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0, d: int = 1
) -> int:
    r"""Output size of a transposed convolution along one axis (PyTorch's ``ConvTranspose2d``).

    Parameters
    ----------
    i : int
        Input size, >= 1.
    k : int
        Kernel size, >= 1.
    s : int, optional
        Stride of the convolution being transposed, >= 1.
    p : int, optional
        Padding of the convolution being transposed (removed from each side of the output), >= 0.
    output_padding : int, optional
        Extra rows/columns added on one side (the end) of the output, to pick one of the ``s``
        input sizes that a strided convolution maps to the same size; only ``0 <= a < s`` does
        that. Accepted when smaller than ``s`` or smaller than ``d``, as PyTorch does (with
        ``s <= a < d`` the size is one the convolution does not map back to the input size).
    d : int, optional
        Dilation, >= 1.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If an argument is out of range, if ``output_padding`` is not smaller than ``s`` or ``d``,
        or if the result is not positive (too much padding).

    See Also
    --------
    torch.nn.ConvTranspose2d : whose *Shape* section states the same formula.
    conv_output_size : the forward direction.

    Notes
    -----
    .. math:: o = (i - 1)s - 2p + d(k - 1) + \mathrm{output\_padding} + 1

    A strided convolution floors, so ``s`` different input sizes give the same output size; the
    transposed convolution cannot know which one to return, and ``output_padding``
    (:math:`a = (i + 2p - k) \bmod s` in Dumoulin & Visin) chooses.

    Chapter: :doc:`/chapters/conv_arithmetic`.

    Examples
    --------
    >>> conv_transpose_output_size(3, 3)
    5
    >>> conv_transpose_output_size(3, 3, s=2, p=1)
    5
    >>> conv_transpose_output_size(3, 3, s=2, p=1, output_padding=1)
    6
    """
    i, k, s, d = _check_common(i, k, s, d)
    p = check_nonnegative(p, "p")
    output_padding = check_nonnegative(output_padding, "output_padding")
    (o,) = _transpose_sizes((i,), (k,), (s,), (p,), (output_padding,), (d,), padding_name="p")
    return o


def same_padding(i: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    r"""TensorFlow's ``padding='SAME'`` along one axis, as ``(before, after)``.

    Parameters
    ----------
    i : int
        Input size, >= 1.
    k : int
        Kernel size, >= 1.
    s : int, optional
        Stride, >= 1.
    d : int, optional
        Dilation, >= 1.

    Returns
    -------
    (int, int)
        Zeros to add before and after the input. When the total is odd, the extra zero goes
        *after* (bottom/right), unlike PyTorch's symmetric integer ``padding``.

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If an argument is out of range.

    See Also
    --------
    tf.nn.conv2d : with ``padding="SAME"``.
    torch.nn.functional.conv2d : with ``padding="same"`` (stride 1 only; also pads extra after).

    Notes
    -----
    The output size is :math:`o = \lceil i / s \rceil` and the total padding is

    .. math:: p_{\mathrm{total}} = \max\bigl((o - 1)s + d(k - 1) + 1 - i,\; 0\bigr),

    split as :math:`\lfloor p_{\mathrm{total}}/2 \rfloor` before and the rest after.

    Chapter: :doc:`/chapters/conv_arithmetic`.

    Examples
    --------
    >>> same_padding(5, 3)
    (1, 1)
    >>> same_padding(5, 4)
    (1, 2)
    >>> same_padding(6, 3, s=2)
    (0, 1)
    """
    i, k, s, d = _check_common(i, k, s, d)
    o = -(-i // s)
    total = max((o - 1) * s + d * (k - 1) + 1 - i, 0)
    return total // 2, total - total // 2


def mode_window(n: int, m: int, mode: str = "full", same: str = "scipy") -> tuple[int, int]:
    r"""Where a ``full``, ``same`` or ``valid`` convolution sits in the full one, as ``(start, length)``.

    Parameters
    ----------
    n : int
        Length of the signal, >= 1.
    m : int
        Length of the kernel, >= 1 (and <= ``n`` for ``valid``).
    mode : {"full", "same", "valid"}, optional
    same : {"scipy", "matlab"}, optional
        Where ``same`` starts: SciPy and NumPy at :math:`\lfloor (m-1)/2 \rfloor`, MATLAB's ``conv2``
        at :math:`\lfloor m/2 \rfloor`; the two differ for even kernels.

    Returns
    -------
    (int, int)
        The first index of the ``mode`` result within the full result (of length
        :math:`n + m - 1`), and its length: :math:`n + m - 1`, :math:`n` or :math:`n - m + 1`.

    Raises
    ------
    TypeError
        If ``n`` or ``m`` is not an integer.
    ValueError
        If an argument is out of range, or ``m > n`` for ``valid``.

    See Also
    --------
    numpy.convolve, scipy.signal.convolve2d : their ``mode`` argument (per axis for 2-D).

    Notes
    -----
    Chapters: :doc:`/chapters/conv1d` and :doc:`/chapters/conv2d`.

    Examples
    --------
    >>> mode_window(5, 3, "same")
    (1, 5)
    >>> mode_window(5, 4, "same"), mode_window(5, 4, "same", same="matlab")
    ((1, 5), (2, 5))
    >>> mode_window(5, 3, "valid")
    (2, 3)
    """
    n, m = check_positive(n, "n"), check_positive(m, "m")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"`mode` must be 'full', 'same' or 'valid'; got mode={mode!r}")
    if same not in ("scipy", "matlab"):
        raise ValueError(f"`same` must be 'scipy' or 'matlab'; got same={same!r}")
    if mode == "valid" and m > n:
        raise ValueError(f"'valid' needs `m` <= `n`; got n={n}, m={m}")
    return _mode_window(n, m, mode, same)


def _mode_window(n: int, m: int, mode: str, same: str = "scipy") -> tuple[int, int]:
    """:func:`mode_window` without validation, for hot loops."""
    if mode == "full":
        return 0, n + m - 1
    if mode == "same":
        return (m // 2 if same == "matlab" else (m - 1) // 2), n
    return m - 1, n - m + 1


class TransposedEquivalent(NamedTuple):
    """The direct convolution that performs a transposed convolution (Dumoulin & Visin).

    Attributes
    ----------
    k : int
        Kernel size of the equivalent direct convolution (unchanged).
    s : int
        Its stride: always 1.
    p : int
        Its padding on each side, ``p' = d(k-1) - p``, applied to the *stretched* input.
    stretch : int
        Zeros inserted between neighbouring input values (``s - 1``).
    a : int
        Extra zeros on one side (bottom/right): ``a = (i + 2p - d(k-1) - 1) mod s``, the
        ``output_padding`` that brings the size back to ``i``.
    o : int
        Output size of the transposed convolution, equal to the original input size ``i``.
    """

    k: int
    s: int
    p: int
    stretch: int
    a: int
    o: int


def transposed_equivalent(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> TransposedEquivalent:
    r"""Describe the transposed convolution that undoes the *shape* of a convolution.

    A convolution maps size ``i`` to :math:`o` = :func:`conv_output_size` ``(i, k, s, p, d)``.
    Its transpose maps ``o`` back to ``i``, and can be run as a direct stride-1 convolution of
    the input stretched with ``s - 1`` zeros between values, padded by :math:`p' = d(k-1) - p`
    on each side plus :math:`a` extra zeros on one side.

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding and dilation of the forward convolution.

    Returns
    -------
    TransposedEquivalent
        ``(k, s, p, stretch, a, o)`` of the equivalent direct convolution.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv_output_size`.

    See Also
    --------
    conv_transpose_output_size : the output size, given ``output_padding = a``.

    Notes
    -----
    The transposed partner takes size :math:`o` back to size :math:`i` (the notation page's rule):

    .. math:: a = (i + 2p - d(k-1) - 1) \bmod s, \qquad s(o - 1) + a + d(k-1) + 1 - 2p = i

    Chapter: :doc:`/chapters/conv_arithmetic`.

    Examples
    --------
    >>> transposed_equivalent(5, 3, s=2, p=1)
    TransposedEquivalent(k=3, s=1, p=1, stretch=1, a=0, o=5)
    >>> transposed_equivalent(6, 3, s=2, p=1)
    TransposedEquivalent(k=3, s=1, p=1, stretch=1, a=1, o=6)
    """
    o = conv_output_size(i, k, s, p, d)
    a = _unread(i, k, s, 2 * p, d)
    back = conv_transpose_output_size(o, k, s, p, a, d)
    stretch, before, _ = _canvas_pads(k, s, p, a, d)
    return TransposedEquivalent(k=k, s=1, p=before, stretch=stretch, a=a, o=back)


def tf_transpose_output_sizes(i: int, k: int, s: int = 1, padding: str = "SAME") -> range:
    r"""The ``output_shape`` sizes TensorFlow's ``conv2d_transpose`` accepts along one axis.

    TensorFlow asks for the output size of a transposed convolution and checks it: the forward
    convolution (``tf.nn.conv2d`` with the same ``padding``) of that many pixels must give the
    input size ``i``. Because the forward convolution rounds, ``s`` sizes pass.

    Parameters
    ----------
    i : int
        Input size of the transposed convolution, >= 1.
    k : int
        Kernel size, >= 1.
    s : int, optional
        Stride, >= 1.
    padding : {"SAME", "VALID"}, optional
        TensorFlow's padding mode (case-insensitive).

    Returns
    -------
    range
        The accepted output sizes, smallest first (always ``s`` of them).

    Raises
    ------
    TypeError
        If a size is not an integer or ``padding`` is not a string.
    ValueError
        If a size is out of range or ``padding`` is neither ``"SAME"`` nor ``"VALID"``.

    See Also
    --------
    same_padding : TensorFlow's ``'SAME'`` padding of the forward convolution.
    conv_transpose_output_size : PyTorch's rule, which picks one size with ``output_padding``.

    Notes
    -----
    ``'SAME'`` maps :math:`o` to :math:`\lceil o/s \rceil`, so :math:`(i-1)s + 1 \le o \le is`;
    ``'VALID'`` maps :math:`o \ge k` to :math:`\lceil (o-k+1)/s \rceil`, so
    :math:`(i-1)s + k \le o \le is + k - 1`.

    Chapter: :doc:`/chapters/transposed_conv`.

    Examples
    --------
    >>> list(tf_transpose_output_sizes(3, 3, 2))
    [5, 6]
    >>> list(tf_transpose_output_sizes(3, 3, 2, "VALID"))
    [7, 8]
    """
    i = check_positive(i, "i")
    k = check_positive(k, "k")
    s = check_positive(s, "s")
    if not isinstance(padding, str):
        raise TypeError(f"`padding` must be 'SAME' or 'VALID'; got padding={padding!r}")
    mode = padding.upper()
    if mode not in ("SAME", "VALID"):
        raise ValueError(f"`padding` must be 'SAME' or 'VALID'; got padding={padding!r}")
    first = (i - 1) * s + (1 if mode == "SAME" else k)
    return range(first, first + s)


def _tf_forward_size(o: int, k: int, s: int, padding: str) -> int:
    """TensorFlow's forward output size: ``ceil(o/s)`` ('SAME'), ``ceil((o-k+1)/s)`` or 0 ('VALID')."""
    if padding == "SAME":
        return -(-o // s)
    return _conv_size(o, k, s, 0, 1) if o >= k else 0


def pool_output_size(
    i: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False
) -> int:
    r"""Output size of max or average pooling along one axis (PyTorch's ``MaxPool2d`` rule).

    Parameters
    ----------
    i : int
        Input size, >= 1.
    k : int
        Window (kernel) size, >= 1.
    s : int or None, optional
        Stride, >= 1; ``None`` (the default) means ``s = k``: windows that tile the input.
    p : int, optional
        Implicit padding on each side, >= 0 and at most ``k // 2`` (PyTorch refuses more).
    d : int, optional
        Dilation, >= 1 (max pooling only; average pooling has none).
    ceil_mode : bool, optional
        Round up instead of down, so that a last partial window is kept, but only if it
        starts inside the input or the left padding (not in the right padding).

    Returns
    -------
    int
        The number of windows.

    Raises
    ------
    TypeError
        If a size is not an integer or ``ceil_mode`` is not a bool.
    ValueError
        If a size is out of range, if ``p`` exceeds ``k // 2`` (PyTorch's ``padding`` rule), or if
        no window fits (the dilated window is larger than the padded input and ``ceil_mode``
        does not keep a partial one).

    See Also
    --------
    torch.nn.MaxPool2d : whose *Shape* section states the same formula.
    conv_output_size : the same formula without ``ceil_mode`` and the padding limit.

    Notes
    -----
    .. math:: o = \left\lfloor \frac{i + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    With ``ceil_mode`` the floor becomes a ceiling, then :math:`o` drops by one if
    :math:`(o - 1)s \ge i + p`, i.e. if the last window would start in the right padding.

    Chapter: :doc:`/chapters/channels_pooling`.

    Examples
    --------
    >>> pool_output_size(6, 2)
    3
    >>> pool_output_size(5, 2)
    2
    >>> pool_output_size(5, 2, ceil_mode=True)
    3
    >>> pool_output_size(5, 3, s=2, p=1)
    3
    """
    i = check_positive(i, "i")
    k = check_positive(k, "k")
    s = k if s is None else check_positive(s, "s")
    p = check_nonnegative(p, "p")
    d = check_positive(d, "d")
    if not isinstance(ceil_mode, bool):
        raise TypeError(
            f"`ceil_mode` must be a bool; got ceil_mode={ceil_mode!r} ({type(ceil_mode).__name__})"
        )
    if p > k // 2:
        raise ValueError(
            f"`p` (`padding`) must be at most half the window size, k // 2 = {k // 2}; got p={p}, k={k}"
        )
    o = _pool_size(i, k, s, p, d, ceil_mode)
    if o < 1:
        raise ValueError(
            f"the dilated window does not fit: `k`={k} with `d`={d} spans d*(k-1)+1={d * (k - 1) + 1}, "
            f"larger than the padded input i+2p={i + 2 * p} (`i`={i}, `p`={p}, `ceil_mode`={ceil_mode})"
        )
    return o


class ReceptiveField(NamedTuple):
    """Receptive field of one output cell of a stack of layers, along one axis.

    Attributes
    ----------
    size : int
        Number of input pixels, first to last, that the output cell depends on.
    jump : int
        Distance in input pixels between the fields of neighbouring output cells: the product
        of the strides (the network's *stride* or *output stride*).
    start : float
        Input coordinate of the centre of output cell 0's field, with input pixel centres at
        0, 1, 2, ... (half-integer for even windows; negative when the field reaches into the
        padding). Output cell ``j`` is centred at ``start + j * jump``.
    """

    size: int
    jump: int
    start: float


def receptive_field(layers: Sequence[tuple[int, int, int, int]]) -> ReceptiveField:
    r"""Receptive field, jump and centre of a stack of convolutions and poolings along one axis.

    Parameters
    ----------
    layers : sequence of (int, int, int, int)
        One ``(kernel, stride, padding, dilation)`` tuple per layer, input side first: kernel,
        stride and dilation >= 1, padding >= 0. A pooling layer is a layer like any other
        (its stride defaults to its kernel in PyTorch: write it out here). An empty sequence
        is the identity, ``ReceptiveField(1, 1, 0.0)``.

    Returns
    -------
    ReceptiveField
        ``(size, jump, start)``: the field's size in input pixels, the product of the strides,
        and the input coordinate of the centre of output cell 0's field (pixel centres at
        0, 1, 2, ...).

    Raises
    ------
    TypeError
        If ``layers`` is not a sequence, or a layer is not a tuple of four integers.
    ValueError
        If a layer has the wrong length or an entry out of range (the message names
        ``layers[i]``).

    See Also
    --------
    conv_output_size : the size of each layer's output.
    pool_output_size : the same for pooling layers.

    Notes
    -----
    Starting from :math:`r_0 = 1`, :math:`j_0 = 1`, :math:`c_0 = 0`, layer :math:`l` with kernel
    :math:`k`, stride :math:`s`, padding :math:`p` and dilation :math:`d` gives

    .. math::

        r_l = r_{l-1} + d(k-1)\,j_{l-1}, \qquad
        c_l = c_{l-1} + \left(\frac{d(k-1)}{2} - p \right) j_{l-1}, \qquad
        j_l = s\,j_{l-1}.

    The size counts every pixel between the first and the last one the cell reads; with
    dilation some pixels inside are skipped, and near the border part of the field may lie in
    the padding.

    Chapter: :doc:`/chapters/channels_pooling`.

    Examples
    --------
    >>> receptive_field([(3, 1, 1, 1), (3, 1, 1, 1)])
    ReceptiveField(size=5, jump=1, start=0.0)
    >>> receptive_field([(3, 1, 1, 1), (2, 2, 0, 1)])
    ReceptiveField(size=4, jump=2, start=0.5)
    >>> conv, pool = (3, 1, 1, 1), (2, 2, 0, 1)
    >>> vgg16_pool5 = [conv, conv, pool] * 2 + [conv, conv, conv, pool] * 3
    >>> receptive_field(vgg16_pool5)
    ReceptiveField(size=212, jump=32, start=15.5)
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(
            "`layers` must be a sequence of (kernel, stride, padding, dilation) tuples; "
            f"got layers={layers!r} ({type(layers).__name__})"
        )
    size, jump, start = 1, 1, 0.0
    for n, layer in enumerate(layers):
        k, s, p, d = _check_layer(layer, f"layers[{n}]")
        span = d * (k - 1)
        size += span * jump
        start += (span / 2 - p) * jump
        jump *= s
    return ReceptiveField(size=size, jump=jump, start=start)


def _check_layer(layer: object, name: str) -> tuple[int, int, int, int]:
    """One ``(kernel, stride, padding, dilation)`` tuple of :func:`receptive_field`."""
    if isinstance(layer, (str, bytes)) or not isinstance(layer, Sequence):
        raise TypeError(f"`{name}` must be a (kernel, stride, padding, dilation) tuple; got {name}={layer!r}")
    if len(layer) != 4:
        raise ValueError(
            f"`{name}` must have 4 entries (kernel, stride, padding, dilation); "
            f"got {name}={layer!r} with {len(layer)} entries"
        )
    for value in layer:
        if not _is_int(value):
            raise TypeError(f"`{name}` must contain integers only; got {name}={layer!r}")
    k, s, p, d = (int(v) for v in layer)
    for label, value, minimum in (("kernel", k, 1), ("stride", s, 1), ("padding", p, 0), ("dilation", d, 1)):
        if value < minimum:
            rule = "positive" if minimum else "non-negative"
            raise ValueError(f"the {label} of `{name}` must be {rule}; got {name}={layer!r}")
    return k, s, p, d


# --------------------------------------------------------------------------------------------
# Private variants for the library's hot paths: arguments already validated by the caller, one
# wording per error (every module that sizes a convolution raises these messages).


def _extent(k: int, d: int) -> int:
    """Input pixels a dilated kernel spans, first tap to last: ``d(k-1) + 1``."""
    return d * (k - 1) + 1


def _conv_size(i: int, k: int, s: int, p: int, d: int) -> int:
    """:func:`conv_output_size` without validation, for hot loops (may return <= 0)."""
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


def _transpose_size(i: int, k: int, s: int, p: int, output_padding: int, d: int) -> int:
    """:func:`conv_transpose_output_size` without validation, for hot loops."""
    return (i - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def _pool_size(i: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """:func:`pool_output_size` without validation (PyTorch's ``pooling_output_shape``)."""
    o = (i + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= i + p:
        o -= 1  # the last window would start in the right padding
    return o


def _unread(i: int, k: int, s: int, pad_total: int, d: int) -> int:
    """Input pixels past the last window, ``(i + pad_total - d(k-1) - 1) mod s``: the
    ``output_padding`` (Dumoulin & Visin's ``a``) that gives a transposed convolution size ``i``."""
    return (i + pad_total - d * (k - 1) - 1) % s


def _torch_same_padding(k: int, d: int) -> tuple[int, int]:
    """PyTorch's ``padding='same'`` (stride 1): ``d(k-1)`` zeros, the odd one after.

    Equal to :func:`same_padding` ``(i, k, 1, d)`` for every ``i``.
    """
    total = d * (k - 1)
    return total // 2, total - total // 2


def _canvas_pads(k: int, s: int, p: int, output_padding: int, d: int) -> tuple[int, int, int]:
    """``(stretch, before, after)`` of the zero-inserted, padded input of a transposed convolution.

    ``stretch = s - 1`` zeros between pixels, ``before = d(k-1) - p`` zeros before and
    ``before + output_padding`` after (negative amounts crop).
    """
    before = d * (k - 1) - p
    return s - 1, before, before + output_padding


def _check_fits(
    i: int,
    k: int,
    d: int,
    pad_total: int,
    axis: str | None = None,
    names: tuple[str, str, str] = ("i", "d", "p"),
) -> None:
    """Raise the one "kernel does not fit" error when ``d(k-1)+1 > i + pad_total``.

    ``names`` are the caller's names for the input, the dilation and the padding (``input``,
    ``dilation``, ``padding`` in :mod:`convlab.functional`).
    """
    span = d * (k - 1) + 1
    if span > i + pad_total:
        along = f" along the {axis}" if axis else ""
        raise ValueError(
            f"the kernel does not fit the padded input{along}: a kernel of size {k} with "
            f"`{names[1]}`={d} spans d*(k-1)+1={span}, more than the input size {i} (`{names[0]}`) "
            f"plus {pad_total} zeros of `{names[2]}` = {i + pad_total}"
        )


def _conv_sizes(
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    axes: Sequence[str] = ("height", "width"),
) -> tuple[int, ...]:
    """Per-axis :func:`conv_output_size` of validated tuples (padding on each side)."""
    for i, k, p, d, axis in zip(sizes, kernel, padding, dilation, axes[-len(sizes) :], strict=True):
        _check_fits(i, k, d, 2 * p, axis if len(sizes) > 1 else None, names=("input", "dilation", "padding"))
    return tuple(
        _conv_size(i, k, s, p, d)
        for i, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True)
    )


def _show(values: Sequence[int]) -> object:
    """One number when every axis has the same value (as PyTorch accepts it), else the tuple."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def _check_output_padding(
    output_padding: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> None:
    """Raise the one ``output_padding`` error (PyTorch's rule: smaller than stride or dilation)."""
    if any(a >= max(s, d) for a, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise ValueError(
            "`output_padding` must be smaller than `stride` or `dilation`; got "
            f"output_padding={_show(output_padding)}, stride={_show(stride)}, dilation={_show(dilation)}"
        )


def _transpose_sizes(
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    output_padding: Sequence[int],
    dilation: Sequence[int],
    padding_name: str = "padding",
) -> tuple[int, ...]:
    """Per-axis :func:`conv_transpose_output_size` of validated tuples, with its two errors."""
    _check_output_padding(output_padding, stride, dilation)
    out = tuple(
        _transpose_size(*args)
        for args in zip(sizes, kernel, stride, padding, output_padding, dilation, strict=True)
    )
    if min(out) < 1:
        raise ValueError(
            f"`{padding_name}`={_show(padding)} is too large: the output size "
            f"(i-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1 = {_show(out)} is not "
            f"positive (input size {_show(sizes)}, kernel size {_show(kernel)}, stride={_show(stride)}, "
            f"output_padding={_show(output_padding)}, dilation={_show(dilation)})"
        )
    return out
