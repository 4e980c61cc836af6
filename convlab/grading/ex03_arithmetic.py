"""Checks of assignment ``ex03_arithmetic``: output sizes and padding rules (chapter 3).

The student's functions must equal :mod:`convlab.arithmetic`: PyTorch's shape formulas for
convolution and transposed convolution (a ``ValueError`` when the result would not be positive)
and TensorFlow's ``'SAME'`` padding, with the odd pixel after.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from convlab.grading._core import Case, Misconception, case_rng, reference, resolve_seed, run_check

__all__ = ["check_conv_output_size", "check_conv_transpose_output_size", "check_same_padding"]

_conv_ref = reference("convlab.arithmetic", "conv_output_size")
_transpose_ref = reference("convlab.arithmetic", "conv_transpose_output_size")
_same_ref = reference("convlab.arithmetic", "same_padding")


def _draw(rng: np.random.Generator, names: str) -> dict:
    ranges = {"i": (1, 33), "k": (1, 8), "s": (1, 5), "p": (0, 4), "d": (1, 4), "output_padding": (0, 3)}
    return {name: int(rng.integers(*ranges[name])) for name in names.split()}


def check_conv_output_size(conv_output_size: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``conv_output_size(i, k, s=1, p=0, d=1)``: floor((i + 2p - d(k - 1) - 1) / s) + 1.

    Parameters
    ----------
    conv_output_size : callable
        The function under test; it returns an ``int`` and raises ``ValueError`` when the output
        would be empty.
    n_random : int, optional
        Number of random cases added to the fixed ones (the hidden tests use many).
    seed : int, optional
        Seed of the random cases; default ``$CONVLAB_GRADING_SEED``, else drawn afresh.

    Raises
    ------
    CheckFailure
        Names the failing case, expected and received output, and the misconception if recognised.
    """
    seed = resolve_seed(seed)
    fixed = [
        (4, 3, 1, 0, 1),
        (5, 4, 1, 2, 1),
        (5, 3, 2, 1, 1),
        (6, 3, 2, 1, 1),
        (7, 3, 1, 0, 2),
        (2, 5, 1, 0, 1),
    ]
    cases = [Case((), dict(zip("iksp", c[:4], strict=True), d=c[4])) for c in fixed]
    rng = case_rng(seed, "conv_output_size")
    cases += [Case((), _draw(rng, "i k s p d"), random=True) for _ in range(n_random)]
    misconceptions = [
        Misconception(
            "off by one: you rounded up (ceil) where the formula rounds down (floor): a window that "
            "does not fit entirely inside the padded input is not computed.",
            lambda i, k, s=1, p=0, d=1: math.ceil((i + 2 * p - d * (k - 1) - 1) / s) + 1,
        ),
        Misconception(
            "the dilation is missing: a kernel of size k with dilation d spans d(k - 1) + 1 pixels.",
            lambda i, k, s=1, p=0, d=1: (i + 2 * p - (k - 1) - 1) // s + 1,
        ),
        Misconception(
            "the padding is counted once: padding p adds p pixels on each side, 2p in all.",
            lambda i, k, s=1, p=0, d=1: (i + p - d * (k - 1) - 1) // s + 1,
        ),
        Misconception(
            "the stride divides the wrong thing: o = floor((i + 2p - d(k - 1) - 1) / s) + 1, the +1 "
            "(the first window) is outside the division.",
            lambda i, k, s=1, p=0, d=1: (i + 2 * p - d * (k - 1)) // s,
        ),
    ]
    run_check(
        "conv_output_size",
        conv_output_size,
        cases,
        _conv_ref,
        arg_names=(),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        reference_errors=(ValueError,),
    )


def check_conv_transpose_output_size(
    conv_transpose_output_size: Callable, *, n_random: int = 0, seed: int | None = None
) -> None:
    """Check ``conv_transpose_output_size(i, k, s=1, p=0, output_padding=0, d=1)``.

    The size is :math:`(i - 1)s - 2p + d(k - 1) + \\text{output\\_padding} + 1` (PyTorch's
    ``ConvTranspose2d``); a ``ValueError`` is expected when it is not positive or when
    ``output_padding`` is not smaller than ``s`` or ``d``. Parameters as in
    :func:`check_conv_output_size`.
    """
    seed = resolve_seed(seed)
    fixed = [
        (2, 3, 1, 0, 0, 1),
        (3, 3, 2, 1, 0, 1),
        (3, 3, 2, 1, 1, 1),
        (2, 4, 3, 0, 0, 1),
        (4, 3, 1, 0, 0, 2),
    ]
    fixed += [(3, 4, 2, 1, 1, 2), (1, 1, 1, 1, 0, 1)]
    cases = [Case((), dict(zip(("i", "k", "s", "p", "output_padding", "d"), c, strict=True))) for c in fixed]
    rng = case_rng(seed, "conv_transpose_output_size")
    for _ in range(n_random):
        kw = _draw(rng, "i k s p output_padding d")
        kw["output_padding"] = int(rng.integers(0, max(kw["s"], kw["d"])))
        cases.append(Case((), kw, random=True))

    def formula(i, k, s=1, p=0, output_padding=0, d=1):
        return (i - 1) * s - 2 * p + d * (k - 1) + output_padding + 1

    misconceptions = [
        Misconception(
            "`output_padding` is missing: it adds that many rows/columns at the end of the output "
            "(it picks one of the sizes a stride > 1 convolution maps onto the same input size).",
            lambda i, k, s=1, p=0, output_padding=0, d=1: formula(i, k, s, p, 0, d),
            applies=lambda i, k, s=1, p=0, output_padding=0, d=1: output_padding > 0,
        ),
        Misconception(
            "the dilation is missing: the dilated kernel spans d(k - 1) + 1 pixels.",
            lambda i, k, s=1, p=0, output_padding=0, d=1: formula(i, k, s, p, output_padding, 1),
        ),
        Misconception(
            "the padding is removed once: a transposed convolution with padding p crops p pixels "
            "from each side of the full result, 2p in all.",
            lambda i, k, s=1, p=0, output_padding=0, d=1: formula(i, k, s, p, output_padding, d) + p,
        ),
        Misconception(
            "the stride multiplies i, not i - 1: the n input pixels are s apart, so they span (i - 1)s + 1.",
            lambda i, k, s=1, p=0, output_padding=0, d=1: formula(i, k, s, p, output_padding, d) + s,
        ),
    ]
    run_check(
        "conv_transpose_output_size",
        conv_transpose_output_size,
        cases,
        _transpose_ref,
        arg_names=(),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        reference_errors=(ValueError,),
    )


def _same_total(i, k, s=1, d=1):
    out = -(-i // s)
    return (out - 1) * s + d * (k - 1) + 1 - i


def check_same_padding(same_padding: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check ``same_padding(i, k, s=1, d=1) -> (before, after)``: TensorFlow's ``'SAME'`` rule.

    The output has ceil(i / s) pixels; the total padding ``max((o - 1)s + d(k - 1) + 1 - i, 0)`` is
    split with the odd pixel *after*. Parameters as in :func:`check_conv_output_size`.
    """
    seed = resolve_seed(seed)
    fixed = [(5, 3, 1, 1), (5, 2, 1, 1), (5, 3, 2, 1), (6, 3, 2, 1), (4, 1, 2, 1), (7, 3, 2, 2), (6, 4, 1, 1)]
    cases = [Case((), dict(zip("iksd", c, strict=True))) for c in fixed]
    rng = case_rng(seed, "same_padding")
    cases += [Case((), _draw(rng, "i k s d"), random=True) for _ in range(n_random)]

    def split(total, odd_after=True):
        half = total // 2
        return (half, total - half) if odd_after else (total - half, half)

    misconceptions = [
        Misconception(
            "the odd pixel is on the wrong side: when the total padding is odd, TensorFlow puts the "
            "extra pixel after (bottom/right), not before.",
            lambda i, k, s=1, d=1: split(max(_same_total(i, k, s, d), 0), odd_after=False),
        ),
        Misconception(
            "the padding can be negative in your answer: when the windows already cover the input, "
            "the total padding is max(..., 0) = 0.",
            lambda i, k, s=1, d=1: split(_same_total(i, k, s, d)),
        ),
        Misconception(
            "the stride is missing: with stride s, 'SAME' means ceil(i / s) outputs, so the total "
            "padding is (ceil(i / s) - 1)s + d(k - 1) + 1 - i, not d(k - 1).",
            lambda i, k, s=1, d=1: split(d * (k - 1)),
            applies=lambda i, k, s=1, d=1: s > 1,
        ),
        Misconception(
            "the dilation is missing: the dilated kernel spans d(k - 1) + 1 pixels.",
            lambda i, k, s=1, d=1: split(max(_same_total(i, k, s, 1), 0)),
        ),
    ]
    run_check(
        "same_padding",
        same_padding,
        cases,
        _same_ref,
        arg_names=(),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
        reference_errors=(ValueError,),
    )
