"""Checks of assignment ``ex03_arithmetic``: output sizes and padding rules (chapter 4).

They must equal :mod:`convlab.arithmetic`: PyTorch's shape formulas and TensorFlow's ``'SAME'`` padding.
"""

from __future__ import annotations

import math

import numpy as np

from convlab.grading.running import Case, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = ["check_conv_output_size", "check_conv_transpose_output_size", "check_same_padding"]

_RANGES = {"i": (1, 33), "k": (1, 8), "s": (1, 5), "p": (0, 4), "d": (1, 4), "output_padding": (0, 3)}


def _drawing(names: str):
    def random(rng: np.random.Generator) -> Case:
        values = {name: int(rng.integers(*_RANGES[name])) for name in names.split()}
        if "output_padding" in values:
            values["output_padding"] = int(rng.integers(0, max(values["s"], values["d"])))
        return Case(**values)

    return random


def _table(names: str, rows: str) -> list[Case]:
    """Cases from a table: ``_table("i k", "4 3, 5 2")`` is ``[Case(i=4, k=3), Case(i=5, k=2)]``."""
    return [Case(**dict(zip(names.split(), map(int, row.split()), strict=True))) for row in rows.split(",")]


_SIZES = {"raises": (ValueError,)}


def _distinct(mine, *others):
    """``when=``: the mistake ``mine`` gives a value that none of the ``others`` gives on this case.

    Two mistakes that land on the same number cannot be told apart by it: neither hint is shown
    (each would be false for the student who made the other one).
    """

    def when(case, i, k, s=1, p=0, d=1, output_padding=0):
        values = {"i": i, "k": k, "s": s, "p": p, "d": d, "output_padding": output_padding}

        def value(fn):
            try:
                return _call(fn, values)
            except Exception:
                return None

        own = value(mine)
        return own is not None and all(value(other) != own for other in others)

    return when


def _call(fn, values):
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    return fn(**{name: values[name] for name in names})


def _size_mistakes():
    """conv_output_size's mistakes: (hint, formula), each shown only where its value is its own."""
    return [
        (
            "off by one: you rounded up (ceil) where the formula rounds down (floor): a window that "
            "does not fit entirely inside the padded input is not computed.",
            lambda i, k, s, p, d: math.ceil((i + 2 * p - d * (k - 1) - 1) / s) + 1,
        ),
        (
            "the dilation is missing: a kernel of size k with dilation d spans d(k - 1) + 1 pixels.",
            lambda i, k, s, p: (i + 2 * p - (k - 1) - 1) // s + 1,
        ),
        (
            "the padding is counted once: padding p adds p pixels on each side, 2p in all.",
            lambda i, k, s, p, d: (i + p - d * (k - 1) - 1) // s + 1,
        ),
        (
            "the stride divides the wrong thing: o = floor((i + 2p - d(k - 1) - 1) / s) + 1, the +1 "
            "(the first window) is outside the division.",
            lambda i, k, s, p, d: (i + 2 * p - d * (k - 1)) // s,
        ),
        (
            "the window spans d(k - 1) + 1 pixels, so o = floor((i + 2p - d(k - 1) - 1) / s) + 1; you "
            "left out the - 1 (you took the span to be d(k - 1)).",
            lambda i, k, s, p, d: (i + 2 * p - d * (k - 1)) // s + 1,
        ),
        (
            "a dilated kernel spans d(k - 1) + 1 pixels, not d * k: o = floor((i + 2p - d(k - 1) - 1) "
            "/ s) + 1.",
            lambda i, k, s, p, d: (i + 2 * p - d * k) // s + 1,
        ),
    ]


def _size_misconceptions():
    mistakes = _size_mistakes()
    found = [
        M(hint, fn, when=_distinct(fn, *(other for _, other in mistakes if other is not fn)))
        for hint, fn in mistakes
    ]
    found.append(
        M(
            "your size is a float: use floor division, (i + 2p - d(k - 1) - 1) // s + 1, which "
            "drops the window that would stick out, and returns an int.",
            lambda i, k, s, p, d: (i + 2 * p - d * (k - 1) - 1) / s + 1,
        )
    )
    return found


check_conv_output_size = exercise(
    "conv_output_size(i, k, s=1, p=0, d=1)",
    reference("convlab.arithmetic", "conv_output_size"),
    _table("i k s p d", "4 3 1 0 1, 5 4 1 2 1, 7 3 3 0 1, 6 3 2 1 1, 7 3 1 0 2, 2 5 1 0 1"),
    _drawing("i k s p d"),
    _size_misconceptions(),
    doc="""Check ``conv_output_size(i, k, s=1, p=0, d=1)``: floor((i + 2p - d(k - 1) - 1) / s) + 1.

    It returns an ``int`` and raises ``ValueError`` when the output would be empty.
    """,
    **_SIZES,
)


def _transposed(i, k, s, p, output_padding, d):
    return (i - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def _transposed_misconceptions():
    mistakes = [
        (
            "`output_padding` is missing: it adds that many rows/columns at the end of the output "
            "(it picks one of the sizes a stride > 1 convolution maps onto the same input size).",
            lambda i, k, s, p, d: _transposed(i, k, s, p, 0, d),
        ),
        (
            "the dilation is missing: the dilated kernel spans d(k - 1) + 1 pixels.",
            lambda i, k, s, p, output_padding: _transposed(i, k, s, p, output_padding, 1),
        ),
        (
            "the padding is removed once: a transposed convolution with padding p crops p pixels "
            "from each side of the full result, 2p in all.",
            lambda i, k, s, p, output_padding, d: _transposed(i, k, s, p, output_padding, d) + p,
        ),
        (
            "you multiplied i by the stride; it multiplies i - 1: the i input pixels are s apart, "
            "so they span (i - 1)s + 1.",
            lambda i, k, s, p, output_padding, d: _transposed(i, k, s, p, output_padding, d) + s,
        ),
        (
            "the padding has the wrong sign: a transposed convolution with padding p crops p pixels "
            "from each side, so its size subtracts 2p, (i - 1)s - 2p + d(k - 1) + output_padding + 1; "
            "you added 2p.",
            lambda i, k, s, p, output_padding, d: _transposed(i, k, s, p, output_padding, d) + 4 * p,
        ),
        (
            "a dilated kernel spans d(k - 1) + 1 pixels, not d * k: the size is (i - 1)s - 2p + "
            "d(k - 1) + output_padding + 1.",
            lambda i, k, s, p, output_padding, d: _transposed(i, k, s, p, output_padding, d) + d - 1,
        ),
    ]
    return [
        M(hint, fn, when=_distinct(fn, *(other for _, other in mistakes if other is not fn)))
        for hint, fn in mistakes
    ]


check_conv_transpose_output_size = exercise(
    "conv_transpose_output_size(i, k, s=1, p=0, output_padding=0, d=1)",
    reference("convlab.arithmetic", "conv_transpose_output_size"),
    _table(
        "i k s p output_padding d",
        "2 3 1 0 0 1, 3 3 2 1 0 1, 3 3 2 1 1 1, 2 4 3 0 0 1, 4 3 2 0 1 2, 3 4 2 1 1 2, 1 1 1 1 0 1",
    ),
    _drawing("i k s p output_padding d"),
    _transposed_misconceptions(),
    doc="""Check ``conv_transpose_output_size(i, k, s=1, p=0, output_padding=0, d=1)``.

    The size is :math:`(i - 1)s - 2p + d(k - 1) + \\text{output\\_padding} + 1` (PyTorch's
    ``ConvTranspose2d``); a ``ValueError`` is expected when it is not positive or when
    ``output_padding`` is not smaller than ``s`` or ``d``.
    """,
    **_SIZES,
)


def _split(total: int) -> tuple[int, int]:
    return total // 2, total - total // 2


def _same_total(i, k, s, d):
    return (-(-i // s) - 1) * s + d * (k - 1) + 1 - i


_same = reference("convlab.arithmetic", "same_padding")


def _same_misconceptions():
    mistakes = [
        (
            "the odd pixel is on the wrong side: when the total padding is odd, TensorFlow puts the "
            "extra pixel after (bottom/right), not before.",
            lambda i, k, s, d: _same(i, k, s, d)[::-1],
        ),
        (
            "the padding can be negative in your answer: when the windows already cover the input, "
            "the total padding is max(..., 0) = 0.",
            lambda i, k, s, d: _split(_same_total(i, k, s, d)),
        ),
        (
            "'SAME' gives ceil(i / s) outputs; you used floor(i / s), so the total padding "
            "(o - 1)s + d(k - 1) + 1 - i comes out too small.",
            lambda i, k, s, d: _split(max((max(i // s, 1) - 1) * s + d * (k - 1) + 1 - i, 0)),
        ),
        (
            "you split the total padding P symmetrically and lost the odd pixel: before = P // 2, "
            "after = P - P // 2 (TensorFlow puts the extra pixel after).",
            lambda i, k, s, d: (_same(i, k, s, d)[0],) * 2,
        ),
        (
            "the stride is missing: with stride s, 'SAME' means ceil(i / s) outputs, so the total "
            "padding is (ceil(i / s) - 1)s + d(k - 1) + 1 - i, not d(k - 1).",
            lambda k, d: _split(d * (k - 1)),
        ),
        (
            "the dilation is missing: the dilated kernel spans d(k - 1) + 1 pixels.",
            lambda i, k, s: _same(i, k, s, 1),
        ),
    ]
    return [
        M(hint, fn, when=_distinct(fn, *(other for _, other in mistakes if other is not fn)))
        for hint, fn in mistakes
    ]


check_same_padding = exercise(
    "same_padding(i, k, s=1, d=1)",
    _same,
    _table("i k s d", "5 3 1 1, 5 2 1 1, 5 3 2 1, 6 3 2 1, 4 1 2 1, 8 3 2 2, 6 4 1 1"),
    _drawing("i k s d"),
    _same_misconceptions(),
    doc="""Check ``same_padding(i, k, s=1, d=1) -> (before, after)``: TensorFlow's ``'SAME'`` rule.

    The output has ceil(i / s) pixels; the total padding ``max((o - 1)s + d(k - 1) + 1 - i, 0)``
    is split with the odd pixel *after*.
    """,
    **_SIZES,
)
