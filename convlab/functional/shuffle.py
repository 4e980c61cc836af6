"""Sub-pixel rearrangements: channels to space (``pixel_shuffle``) and back (``pixel_unshuffle``).

``pixel_shuffle`` turns ``(*, C r², H, W)`` into ``(*, C, H r, W r)``: the ``r²`` channels of
each group become the ``r × r`` sub-pixels of one output pixel. It is the upsampling step of
the efficient sub-pixel convolution (Shi et al., 2016) and, as the chapter on upsampling shows
(``chapters/upsampling.ipynb``), a stride-``r`` transposed convolution in disguise. No
arithmetic happens: both functions are a reshape, a transpose and a reshape, so they work for
any dtype and are exact inverses of each other.
"""

from __future__ import annotations

import numpy as np

from convlab._validate import check_array, check_positive

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def pixel_shuffle(input: np.ndarray, upscale_factor: int) -> np.ndarray:
    r"""Rearrange ``(*, C r², H, W)`` into ``(*, C, H r, W r)``, like ``torch.nn.functional.pixel_shuffle``.

    Parameters
    ----------
    input : array_like, shape (\*, C r², H, W)
        At least 3-D; every axis before the last three is a batch axis.
    upscale_factor : int
        :math:`r \ge 1`.

    Returns
    -------
    numpy.ndarray
        Shape ``(*, C, H r, W r)``, same dtype as ``input``.

    Raises
    ------
    TypeError
        If ``upscale_factor`` is not an integer or ``input`` is not numeric.
    ValueError
        If ``input`` has fewer than 3 dimensions, ``upscale_factor`` is not positive, or the
        channel count is not divisible by ``upscale_factor ** 2``.

    See Also
    --------
    torch.nn.functional.pixel_shuffle : the oracle this function equals.
    pixel_unshuffle : the inverse.

    Notes
    -----
    .. math::

        \text{out}[\dots, c, h r + i, w r + j] = \text{in}[\dots, c r^2 + i r + j, h, w],
        \quad 0 \le i, j < r.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4).reshape(1, 4, 1, 1)
    >>> pixel_shuffle(x, 2)
    array([[[[0, 1],
             [2, 3]]]])
    """
    x = _check_input(input)
    r = check_positive(upscale_factor, "upscale_factor")
    *batch, channels, height, width = x.shape
    if channels % (r * r):
        raise ValueError(
            f"the channel count of `input` must be divisible by `upscale_factor`**2 = {r * r}; "
            f"got input.shape={x.shape}, upscale_factor={r}"
        )
    c = channels // (r * r)
    n = len(batch)
    y = x.reshape(*batch, c, r, r, height, width)
    # (*, c, i, j, h, w) -> (*, c, h, i, w, j)
    y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return _new_storage(y.reshape(*batch, c, height * r, width * r), x)


def pixel_unshuffle(input: np.ndarray, downscale_factor: int) -> np.ndarray:
    r"""Rearrange ``(*, C, H r, W r)`` into ``(*, C r², H, W)``, like ``torch.nn.functional.pixel_unshuffle``.

    Parameters
    ----------
    input : array_like, shape (\*, C, H r, W r)
        At least 3-D; height and width divisible by ``downscale_factor``.
    downscale_factor : int
        :math:`r \ge 1`.

    Returns
    -------
    numpy.ndarray
        Shape ``(*, C r², H, W)``, same dtype as ``input``.

    Raises
    ------
    TypeError
        If ``downscale_factor`` is not an integer or ``input`` is not numeric.
    ValueError
        If ``input`` has fewer than 3 dimensions, ``downscale_factor`` is not positive, or the
        height or width is not divisible by it.

    See Also
    --------
    torch.nn.functional.pixel_unshuffle : the oracle this function equals.
    pixel_shuffle : the inverse.

    Notes
    -----
    .. math::

        \text{out}[\dots, c r^2 + i r + j, h, w] = \text{in}[\dots, c, h r + i, w r + j].

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4).reshape(1, 1, 2, 2)
    >>> pixel_unshuffle(x, 2).ravel()
    array([0, 1, 2, 3])
    """
    x = _check_input(input)
    r = check_positive(downscale_factor, "downscale_factor")
    *batch, channels, height, width = x.shape
    if height % r or width % r:
        raise ValueError(
            f"the height and width of `input` must be divisible by `downscale_factor`={r}; "
            f"got input.shape={x.shape}"
        )
    h, w = height // r, width // r
    n = len(batch)
    y = x.reshape(*batch, channels, h, r, w, r)
    # (*, c, h, i, w, j) -> (*, c, i, j, h, w)
    y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return _new_storage(y.reshape(*batch, channels * r * r, h, w), x)


def _check_input(value: object) -> np.ndarray:
    x = check_array(value, "input", allow_empty=True)
    if x.ndim < 3:
        raise ValueError(f"`input` must have at least 3 dimensions (*, C, H, W); got shape {x.shape}")
    return x


def _new_storage(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``out``, copied if it is a view of ``x`` (factor 1, 1x1 maps): never the caller's memory."""
    return out.copy() if np.may_share_memory(out, x) else out
