"""Checks of assignment ``ex01_conv1d``: 1-D convolution and correlation (chapter 1).

They must equal :func:`convlab.signal.convolve1d` and :func:`convlab.signal.correlate1d` (NumPy's).
"""

from __future__ import annotations

import numpy as np

from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = ["check_convolve1d", "check_correlate1d"]

MODES = ("full", "same", "valid")
_convolve, _correlate = reference("convlab.signal", "convolve1d"), reference("convlab.signal", "correlate1d")
_F, _G, _EVEN = (
    np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    np.array([2.0, 1.0, -1.0]),
    np.array([1.0, 3.0, -2.0, 0.5]),
)


def _cases(default: str) -> list[Case]:
    return [
        Case(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), mode="full"),
        *(Case(_F, _G, mode=mode) for mode in MODES),
        Case(_F, _EVEN, mode="same"),
        Case(np.array([0.5, -1.0, 2.0, 0.0, 3.0, 1.0]), np.array([1.5]), mode=default),
    ]


def _random(rng: np.random.Generator) -> Case:
    n = int(rng.integers(1, 13))
    m = int(rng.integers(1, n + 1))
    return Case(draw(rng, n), draw(rng, m), mode=str(rng.choice(MODES)))


def _modes(what: str, reference) -> list[M]:
    hint = (
        "your output is the '{}' " + what + ", not the mode the case asks for. 'full' has length "
        "n + m - 1 (every overlap), 'same' keeps the central n values of 'full', 'valid' keeps the "
        "n - m + 1 positions where g lies entirely inside f."
    )
    modes = [M(hint.format(m), mode=m) for m in MODES]
    same_late = M(
        "with an even-length kernel, 'same' is off by one: numpy starts the central part at "
        "index (m - 1) // 2 of the 'full' result, not m // 2.",
        lambda f, g: reference(f, g, "full")[len(g) // 2 : len(g) // 2 + len(f)],
        when=lambda g, mode: mode == "same" and len(g) % 2 == 0,
    )
    return [*modes, same_late]


check_convolve1d = exercise(
    "convolve1d(f, g, mode='full')",
    _convolve,
    _cases("full"),
    _random,
    [
        M(
            "your output equals the correlation of f and g: convolution flips the kernel "
            "(y[n] = sum_k f[k] g[n - k]); did you forget to reverse g?",
            lambda f, g, mode: _correlate(f, g, mode),
        ),
        *_modes("convolution", _convolve),
    ],
    doc='Check a student\'s ``convolve1d(f, g, mode="full")`` against :func:`numpy.convolve`.',
)

check_correlate1d = exercise(
    "correlate1d(f, g, mode='valid')",
    _correlate,
    _cases("valid"),
    _random,
    [
        M(
            "your output equals the convolution of f and g: correlation slides g without "
            "flipping it (c[k] = sum_n f[n + k] g[n]); remove the reversal.",
            lambda f, g, mode: _convolve(f, g, mode),
        ),
        M(
            "your output is reversed: correlation index k means g shifted k steps to the right "
            "over f; did you slide in the opposite direction?",
            lambda expected: expected[::-1],
        ),
        *_modes("correlation", _correlate),
    ],
    doc='Check a student\'s ``correlate1d(f, g, mode="valid")`` against :func:`numpy.correlate`.',
)
