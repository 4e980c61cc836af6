"""Learned and fixed upsampling: bilinear kernels, resize-convolution and checkerboard maps
(chapter :doc:`../chapters/upsampling`).

A transposed convolution with stride ``f`` upsamples by ``f``. Initialised with
:func:`bilinear_kernel` it *is* bilinear interpolation (away from the border), which is how FCN
starts its learned upsampling layers. Left free, its stamps overlap unevenly whenever the kernel
size is not a multiple of the stride (:func:`checkerboard_overlap`), which shows up as checkerboard
artifacts; :func:`resize_conv` -- interpolate, then convolve -- avoids them (Odena, Dumoulin and
Olah, "Deconvolution and Checkerboard Artifacts", Distill, 2016).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convlab import functional as F
from convlab._validate import IntPair, _is_int, _pair, check_array, check_positive

__all__ = ["bilinear_kernel", "resize_conv", "checkerboard_overlap"]


def bilinear_kernel(channels: int, factor: int) -> np.ndarray:
    """The FCN initialisation of a transposed convolution that upsamples bilinearly by ``factor``.

    Parameters
    ----------
    channels : int
        Number of channels ``C``; each channel is upsampled on its own.
    factor : int
        Upsampling factor ``f`` (the stride of the transposed convolution), >= 1.

    Returns
    -------
    ndarray, shape (C, C, K, K), float32, with K = 2f - f % 2
        Zero except on the channel diagonal, where every ``weight[c, c]`` is the same separable
        "tent" :math:`(1 - |a - c|/f)(1 - |b - c|/f)`.

    Raises
    ------
    ValueError
        If ``channels`` or ``factor`` is not positive.
    TypeError
        If either is not an integer.

    See Also
    --------
    convlab.functional.interpolate : ``mode="bilinear", align_corners=False``, which it reproduces.
    torch.nn.functional.conv_transpose2d : the layer it initialises.

    Notes
    -----
    The tent is centred at :math:`c = f - 1` for odd :math:`K` and :math:`c = f - 1/2` for even
    :math:`K`. Use it as ``conv_transpose2d(x, w, stride=f, padding=f // 2)`` -- the same
    ``padding = f // 2`` for both parities (for odd ``f`` that is ``(f - 1) // 2``). The output is
    then exactly :math:`f` times larger,

    .. math:: (H - 1) f + (2f - f \\bmod 2) - 2 \\lfloor f / 2 \\rfloor = f H,

    and output pixel ``j`` gets :math:`\\sum_i x_i (1 - |(j + 1/2)/f - 1/2 - i|)_+`, which is bilinear
    interpolation with ``align_corners=False``. Only the outer ``f // 2``-or-so pixels differ:
    interpolation clamps to the edge pixel there, while the transposed convolution fades to zero.

    Examples
    --------
    >>> bilinear_kernel(1, 2)[0, 0] * 16
    array([[1., 3., 3., 1.],
           [3., 9., 9., 3.],
           [3., 9., 9., 3.],
           [1., 3., 3., 1.]], dtype=float32)
    """
    channels = check_positive(channels, "channels")
    factor = check_positive(factor, "factor")
    size = 2 * factor - factor % 2
    center = factor - 1 if size % 2 else factor - 0.5
    tent = 1 - np.abs(np.arange(size) - center) / factor
    weight = np.zeros((channels, channels, size, size), dtype=np.float32)
    weight[np.arange(channels), np.arange(channels)] = np.outer(tent, tent)
    return weight


def resize_conv(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    scale_factor: int = 2,
    mode: str = "nearest",
    padding: IntPair | str | None = None,
) -> np.ndarray:
    """Resize-convolution: interpolate by ``scale_factor``, then a stride-1 convolution.

    Parameters
    ----------
    input : ndarray, shape (N, C_in, H, W)
    weight : ndarray, shape (C_out, C_in, kh, kw)
        Convolution kernel (PyTorch's ``conv2d`` layout).
    bias : ndarray, shape (C_out,), optional
    scale_factor : int, optional
        Upsampling factor. Default 2.
    mode : str, optional
        Interpolation mode of :func:`convlab.functional.interpolate` (``"nearest"``,
        ``"nearest-exact"``, ``"bilinear"``, ``"bicubic"``; the last two with ``align_corners=False``).
        Default ``"nearest"``.
    padding : int, (int, int), "same", "valid" or None, optional
        Padding of the convolution. ``None`` (default) means ``"same"``: the output is exactly
        ``scale_factor`` times the input, for odd and even kernels alike (an even kernel gets its
        extra zero after, as in PyTorch).

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out)
        With the default padding, ``H_out = scale_factor * H``.

    Raises
    ------
    ValueError
        If ``scale_factor`` is not positive, ``mode`` is unknown, or the shapes do not fit
        (raised by the interpolation and the convolution, naming the argument).
    TypeError
        If ``scale_factor`` is not an integer or an array is not numeric.

    See Also
    --------
    torch.nn.Upsample followed by torch.nn.Conv2d : the same layer in PyTorch.
    checkerboard_overlap : why a plain transposed convolution can leave a checkerboard.

    Notes
    -----
    Every output pixel of the convolution sees the same number of kernel taps, so unlike a
    transposed convolution with ``k % s != 0`` there is no built-in uneven overlap; the upsampling
    itself is fixed and only the convolution is learned. With "same" padding,
    :math:`H_{out} = sH + p_{before} + p_{after} - d(k - 1) = sH`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1.0, 2.0]]]])
    >>> resize_conv(x, np.ones((1, 1, 1, 1)))        # nearest upsampling, identity convolution
    array([[[[1., 1., 2., 2.],
             [1., 1., 2., 2.]]]])
    """
    x = check_array(input, "input", ndim=4, floating=True)
    scale_factor = check_positive(scale_factor, "scale_factor")
    if padding is None:
        padding = "same"
    upsampled = F.interpolate(x, scale_factor=scale_factor, mode=mode)
    return F.conv2d(upsampled, weight, bias, stride=1, padding=padding)


def checkerboard_overlap(
    kernel_size: IntPair | Sequence[int],
    stride: IntPair | Sequence[int],
    size: IntPair | Sequence[int],
) -> np.ndarray:
    """How many kernel taps of a transposed convolution land on each output pixel.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Kernel size ``k``.
    stride : int or (int, int)
        Stride ``s``.
    size : int or (int, int)
        Number of input pixels ``n`` along each axis.

    Returns
    -------
    ndarray of int64
        1-D, of length ``(n - 1) s + k``, when all three arguments are integers; 2-D, of shape
        ``((n_h - 1) s_h + k_h, (n_w - 1) s_w + k_w)``, when any of them is a pair (integers
        then stand for both axes). The 2-D map is the outer product of the two 1-D maps.

    Raises
    ------
    ValueError
        If an entry is not positive or a sequence does not have two entries.
    TypeError
        If an entry is not an integer.

    See Also
    --------
    torch.nn.functional.conv_transpose2d : the map equals it applied to ones with a kernel of ones.
    resize_conv : the fix.

    Notes
    -----
    Input pixel :math:`i` stamps the kernel on outputs :math:`is, \\dots, is + k - 1`, so output
    :math:`j` is covered :math:`\\#\\{i : 0 \\le j - is < k,\\ 0 \\le i < n\\}` times. Away from the
    border that is :math:`\\lceil k/s \\rceil` or :math:`\\lfloor k/s \\rfloor` -- the same for every
    pixel only when :math:`s` divides :math:`k`. Otherwise the counts alternate with period
    :math:`s` (``k=3, s=2``: 1, 2, 1, 2, ...), and in 2-D the product of two such rows is the
    checkerboard of Odena et al. (2016).

    Examples
    --------
    >>> checkerboard_overlap(3, 2, 4)
    array([1, 1, 2, 1, 2, 1, 2, 1, 1])
    >>> checkerboard_overlap(4, 2, 4)
    array([1, 1, 2, 2, 2, 2, 2, 2, 1, 1])
    >>> checkerboard_overlap(3, 2, (2, 2))
    array([[1, 1, 2, 1, 1],
           [1, 1, 2, 1, 1],
           [2, 2, 4, 2, 2],
           [1, 1, 2, 1, 1],
           [1, 1, 2, 1, 1]])
    """
    two_d = not all(_is_int(v) for v in (kernel_size, stride, size))
    k = _pair(kernel_size, "kernel_size")
    s = _pair(stride, "stride")
    n = _pair(size, "size")
    maps = []
    for kk, ss, nn in zip(k, s, n, strict=True):
        j = np.arange((nn - 1) * ss + kk)
        # inputs i with 0 <= j - i*s < k: i from ceil((j - k + 1)/s) to floor(j/s), clipped to [0, n)
        first = np.maximum(-((kk - 1 - j) // ss), 0)
        last = np.minimum(j // ss, nn - 1)
        maps.append((last - first + 1).astype(np.int64))
    if not two_d:
        return maps[0]
    return np.outer(maps[0], maps[1])
