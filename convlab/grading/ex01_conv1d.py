"""Checks of assignment ``ex01_conv1d``: 1-D convolution and correlation (chapter 1).

The student's ``convolve1d(f, g, mode)`` must equal :func:`convlab.signal.convolve1d`
(= :func:`numpy.convolve`) and ``correlate1d(f, g, mode)`` must equal
:func:`convlab.signal.correlate1d` (= :func:`numpy.correlate`), for ``len(g) <= len(f)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading._core import Case, Misconception, case_rng, reference, resolve_seed, run_check

__all__ = ["check_convolve1d", "check_correlate1d"]

_MODES = ("full", "same", "valid")
_np_convolve = np.convolve
_np_correlate = np.correlate


_convolve_ref = reference("convlab.signal", "convolve1d")
_correlate_ref = reference("convlab.signal", "correlate1d")


def _fixed_cases(default: str) -> list[Case]:
    f = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    g = np.array([2.0, 1.0, -1.0])
    even = np.array([1.0, 3.0, -2.0, 0.5])
    return [
        Case((np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])), {"mode": "full"}),
        Case((f, g), {"mode": "full"}),
        Case((f, g), {"mode": "same"}),
        Case((f, g), {"mode": "valid"}),
        Case((f, even), {"mode": "same"}),
        Case((np.array([0.5, -1.0, 2.0, 0.0, 3.0, 1.0]), np.array([1.5])), {"mode": default}),
    ]


def _random_cases(rng: np.random.Generator, n: int) -> list[Case]:
    cases = []
    for _ in range(n):
        n_f = int(rng.integers(1, 13))
        n_g = int(rng.integers(1, n_f + 1))
        f = rng.standard_normal(n_f).round(2)
        g = rng.standard_normal(n_g).round(2)
        cases.append(Case((f, g), {"mode": str(rng.choice(_MODES))}, random=True))
    return cases


def _same_other_centering(full_fn: Callable) -> Callable:
    """The 'same' slice started one sample later than numpy's ``(m - 1) // 2`` (even kernels)."""

    def compute(f, g, mode="full"):
        f, g = np.asarray(f), np.asarray(g)
        full = full_fn(f, g, "full")
        start = len(g) // 2
        return full[start : start + len(f)]

    return compute


def _mode_confusion(fn: Callable, returned: str, what: str) -> Misconception:
    return Misconception(
        f"your output is the '{returned}' {what}, not the mode the case asks for. 'full' has "
        "length n + m - 1 (every overlap), 'same' keeps the central n values of 'full', "
        "'valid' keeps the n - m + 1 positions where g lies entirely inside f.",
        lambda f, g, mode="full": fn(np.asarray(f), np.asarray(g), returned),
        applies=lambda f, g, mode="full": mode != returned,
    )


def check_convolve1d(convolve1d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check a student's ``convolve1d(f, g, mode="full")`` against :func:`numpy.convolve`.

    Parameters
    ----------
    convolve1d : callable
        The function under test.
    n_random : int, optional
        Number of random cases added to the six fixed ones (the hidden tests use many).
    seed : int, optional
        Seed of the random cases; default ``$CONVLAB_GRADING_SEED``, else drawn afresh.

    Raises
    ------
    CheckFailure
        An :class:`AssertionError` naming the failing case, the expected and received output and,
        when it recognises one, the misconception behind the error.
    """
    seed = resolve_seed(seed)
    cases = _fixed_cases("full") + _random_cases(case_rng(seed, "convolve1d"), n_random)
    misconceptions = [
        Misconception(
            "your output equals the correlation of f and g: convolution flips the kernel "
            "(y[n] = sum_k f[k] g[n - k]); did you forget to reverse g?",
            lambda f, g, mode="full": _np_correlate(f, g, mode),
        ),
        *(_mode_confusion(_np_convolve, m, "convolution") for m in _MODES),
        Misconception(
            "with an even-length kernel, 'same' is off by one: numpy (and MATLAB) start the central "
            "part at index (m - 1) // 2 of the 'full' result, not m // 2.",
            _same_other_centering(_np_convolve),
            applies=lambda f, g, mode="full": mode == "same" and len(g) % 2 == 0,
        ),
    ]
    run_check(
        "convolve1d",
        convolve1d,
        cases,
        _convolve_ref,
        arg_names=("f", "g"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def check_correlate1d(correlate1d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check a student's ``correlate1d(f, g, mode="valid")`` against :func:`numpy.correlate`.

    Parameters and failures are those of :func:`check_convolve1d`.
    """
    seed = resolve_seed(seed)
    cases = _fixed_cases("valid") + _random_cases(case_rng(seed, "correlate1d"), n_random)
    misconceptions = [
        Misconception(
            "your output equals the convolution of f and g: correlation slides g without "
            "flipping it (c[k] = sum_n f[n + k] g[n]); remove the reversal.",
            lambda f, g, mode="valid": _np_convolve(f, g, mode),
        ),
        Misconception(
            "your output is reversed: correlation index k means g shifted k steps to the right "
            "over f; did you slide in the opposite direction?",
            lambda f, g, mode="valid": _np_correlate(f, g, mode)[::-1],
        ),
        *(_mode_confusion(_np_correlate, m, "correlation") for m in _MODES),
        Misconception(
            "with an even-length kernel, 'same' is off by one: numpy starts the central part at "
            "index (m - 1) // 2 of the 'full' result, not m // 2.",
            _same_other_centering(_np_correlate),
            applies=lambda f, g, mode="valid": mode == "same" and len(g) % 2 == 0,
        ),
    ]
    run_check(
        "correlate1d",
        correlate1d,
        cases,
        _correlate_ref,
        arg_names=("f", "g"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )
