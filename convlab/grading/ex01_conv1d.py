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


#: How the course states where 'same' starts (chapters 1 and 2 and every check say it this way).
SAME_WINDOW = (
    "SciPy and NumPy start the 'same' window at index (m - 1) // 2 of the 'full' result, MATLAB at "
    "m // 2 (m: the kernel's length along that axis); the two differ when m is even."
)


def _cases(default: str) -> list[Case]:
    return [
        Case(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])),  # the default mode
        *(Case(_F, _G, mode=mode) for mode in MODES),
        Case(_F, _EVEN, mode="same"),
        Case(np.array([0.5, -1.0, 2.0, 0.0, 3.0, 1.0]), np.array([1.5]), mode=default),
    ]


def _random(rng: np.random.Generator) -> Case:
    n = int(rng.integers(1, 13))
    m = int(rng.integers(1, n + 1))
    return Case(draw(rng, n), draw(rng, m), mode=str(rng.choice(MODES)))


def _asked(case) -> bool:
    return "mode" in case.kwargs


def _modes(what: str, reference, default: str) -> list[M]:
    hint = (
        "your output is the '{}' " + what + ", not the mode the case asks for. 'full' has length "
        "n + m - 1 (every overlap), 'same' keeps the central n values of 'full', 'valid' keeps the "
        "n - m + 1 positions where g lies entirely inside f."
    )
    modes = [M(hint.format(m), mode=m, when=lambda case: _asked(case)) for m in MODES]
    defaults = [
        M(
            f"called without `mode`, your function returns the '{m}' {what}: the default is "
            f"mode='{default}' (def ...(f, g, mode='{default}')).",
            mode=m,
            when=lambda case: not _asked(case),
        )
        for m in MODES
        if m != default
    ]
    full = lambda f, g: reference(f, g, "full")  # noqa: E731
    return [
        *modes,
        *defaults,
        M(
            "your window is one off: your 'same' starts at m // 2 of the 'full' result, as MATLAB's "
            "conv does; the exercise asks for NumPy's. " + SAME_WINDOW,
            lambda f, g: full(f, g)[len(g) // 2 : len(g) // 2 + len(f)],
            when=lambda g, mode: mode == "same" and len(g) % 2 == 0,
        ),
        M(
            "your 'same' is the first n values of 'full'"
            + (" (the causal crop, as scipy.signal.lfilter gives)" if what == "convolution" else "")
            + ": 'same' keeps the central n values. "
            + SAME_WINDOW,
            lambda f, g: full(f, g)[: len(f)],
            when=lambda g, mode: mode == "same" and len(g) > 2,
        ),
        M(
            "'valid' has n - m + 1 values (every position where g fits inside f, the last one "
            "included); yours stops one early, as range(n - m) would.",
            lambda f, g: full(f, g)[len(g) - 1 : len(f) - 1],
            when=lambda mode: mode == "valid",
        ),
        M(
            "'full' has n + m - 1 values (every shift where f and g overlap); your output drops the "
            "last one, as a loop to n + m - 2 would.",
            lambda f, g: full(f, g)[:-1],
            when=lambda mode: mode == "full",
        ),
    ]


check_convolve1d = exercise(
    "convolve1d(f, g, mode='full')",
    _convolve,
    _cases("full"),
    _random,
    [
        M(
            "your output equals the correlation of f and g: convolution flips the kernel "
            "(y[t] = sum_j f[j] g[t - j]); did you forget to reverse g?",
            lambda f, g, mode: _correlate(f, g, mode),
        ),
        *_modes("convolution", _convolve, "full"),
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
            "flipping it (c[t] = sum_j f[t + j] g[j]); remove the reversal.",
            lambda f, g, mode: _convolve(f, g, mode),
        ),
        M(
            "your output is reversed: correlation index k means g shifted k steps to the right "
            "over f; did you slide in the opposite direction?",
            lambda expected: expected[::-1],
        ),
        *_modes("correlation", _correlate, "valid"),
    ],
    doc='Check a student\'s ``correlate1d(f, g, mode="valid")`` against :func:`numpy.correlate`.',
)
