"""Checks of assignment ``ex02_conv2d``: 2-D convolution, and the layer frameworks call convolution.

``convolve2d(image, kernel, mode)`` must equal :func:`convlab.signal.convolve2d`
(= ``scipy.signal.convolve2d`` = MATLAB ``conv2``), for kernels no larger than the image;
``conv2d(x, w, b, stride, padding)`` must equal :func:`convlab.functional.conv2d`
(= ``torch.nn.functional.conv2d``): NCHW cross-correlation, dtype preserved.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convlab.grading._core import Case, Misconception, case_rng, reference, resolve_seed, run_check

__all__ = ["check_convolve2d", "check_conv2d"]

_MODES = ("full", "same", "valid")


_convolve2d_ref = reference("convlab.signal", "convolve2d")
_functional_conv2d = reference("convlab.functional", "conv2d")


def _conv2d_ref(x, w, b=None, stride=1, padding=0):
    return _functional_conv2d(x, w, b, stride, padding)


def _full_conv(image, kernel):
    """Full 2-D convolution by shifted sums (independent of the reference)."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    (h, w), (kh, kw) = image.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for a in range(kh):
        for b in range(kw):
            out[a : a + h, b : b + w] += kernel[a, b] * image
    return out


def _crop(full, image, kernel, mode, start=None):
    (h, w), (kh, kw) = np.shape(image), np.shape(kernel)
    if mode == "full":
        return full
    if mode == "valid":
        return full[kh - 1 : h, kw - 1 : w]
    r, c = start if start is not None else ((kh - 1) // 2, (kw - 1) // 2)
    return full[r : r + h, c : c + w]


def _convolve_with(kernel_fn: Callable, start_fn: Callable | None = None) -> Callable:
    def compute(image, kernel, mode="full"):
        k = kernel_fn(np.asarray(kernel, dtype=float))
        start = None if start_fn is None else start_fn(np.shape(kernel))
        return _crop(_full_conv(image, k), image, kernel, mode, start)

    return compute


def _image_cases(rng: np.random.Generator, n: int) -> list[Case]:
    cases = []
    for _ in range(n):
        h, w = (int(v) for v in rng.integers(1, 8, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        image = rng.standard_normal((h, w)).round(2)
        kernel = rng.standard_normal((kh, kw)).round(2)
        cases.append(Case((image, kernel), {"mode": str(rng.choice(_MODES))}, random=True))
    return cases


def check_convolve2d(convolve2d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check a student's ``convolve2d(image, kernel, mode="full")`` against ``scipy.signal.convolve2d``.

    Parameters
    ----------
    convolve2d : callable
        The function under test.
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
    image = np.arange(1.0, 21.0).reshape(4, 5)
    k3 = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    k2 = np.array([[1.0, 2.0], [3.0, 4.0]])
    cases = [
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [2.0, 3.0]])), {"mode": "full"}),
        Case((image, k3), {"mode": "full"}),
        Case((image, k3), {"mode": "same"}),
        Case((image, k3), {"mode": "valid"}),
        Case((image, k2), {"mode": "same"}),
        Case((image, np.array([[1.0, -1.0, 0.5, 2.0]])), {"mode": "same"}),
    ]
    cases += _image_cases(case_rng(seed, "convolve2d"), n_random)
    misconceptions = [
        Misconception(
            "your output equals the correlation of image and kernel: convolution rotates the "
            "kernel by 180 degrees before sliding it; did you forget to flip it?",
            _convolve_with(lambda k: k[::-1, ::-1]),
        ),
        Misconception(
            "the kernel was flipped along one axis only: a 2-D convolution flips both rows and "
            "columns (a 180-degree rotation, kernel[::-1, ::-1]).",
            _convolve_with(lambda k: k[::-1, :]),
        ),
        Misconception(
            "the kernel was flipped along one axis only: a 2-D convolution flips both rows and "
            "columns (a 180-degree rotation, kernel[::-1, ::-1]).",
            _convolve_with(lambda k: k[:, ::-1]),
        ),
        *(
            Misconception(
                f"your output is the '{m}' result, not the mode the case asks for: 'full' is "
                "(H + kh - 1, W + kw - 1), 'same' is the central (H, W) part of 'full', 'valid' is "
                "(H - kh + 1, W - kw + 1).",
                lambda image, kernel, mode="full", m=m: _crop(_full_conv(image, kernel), image, kernel, m),
                applies=lambda image, kernel, mode="full", m=m: mode != m,
            )
            for m in _MODES
        ),
        Misconception(
            "for an even kernel size, 'same' keeps the 'full' result from row (kh - 1) // 2 and "
            "column (kw - 1) // 2 (as MATLAB's conv2 and scipy do): your window is one off.",
            _convolve_with(lambda k: k, lambda shape: (shape[0] // 2, shape[1] // 2)),
            applies=lambda image, kernel, mode="full": (
                mode == "same" and 0 in np.remainder(np.shape(kernel), 2)
            ),
        ),
    ]
    run_check(
        "convolve2d",
        convolve2d,
        cases,
        _convolve2d_ref,
        arg_names=("image", "kernel"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )


def _rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).round(2).astype(dtype)


def _conv_cases(rng: np.random.Generator, n: int) -> list[Case]:
    cases = []
    for _ in range(n):
        batch, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        h, w = (int(v) for v in rng.integers(2, 9, size=2))
        kh = int(rng.integers(1, min(h + 2 * padding, 5) + 1))
        kw = int(rng.integers(1, min(w + 2 * padding, 5) + 1))
        dtype = np.float32 if rng.random() < 0.3 else np.float64
        x, w_ = _rand(rng, (batch, c_in, h, w), dtype), _rand(rng, (c_out, c_in, kh, kw), dtype)
        b = _rand(rng, (c_out,), dtype) if rng.random() < 0.6 else None
        cases.append(Case((x, w_), {"b": b, "stride": stride, "padding": padding}, random=True))
    return cases


def _pad_end(x, extra):
    return np.pad(x, ((0, 0), (0, 0), (0, extra), (0, extra)))


def check_conv2d(conv2d: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
    """Check a student's ``conv2d(x, w, b=None, stride=1, padding=0)`` against ``torch.nn.functional.conv2d``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in, kh, kw)``, ``b`` is ``(C_out,)`` or None;
    the output keeps the input dtype. Parameters and failures as in :func:`check_convolve2d`.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(2)
    x1 = np.arange(16.0).reshape(1, 1, 4, 4)
    w1 = np.array([[[[1.0, 0.0, -1.0], [2.0, 1.0, 0.0], [0.0, 1.0, 1.0]]]])
    cases = [
        Case((x1, w1), {"b": None, "stride": 1, "padding": 0}),
        Case((_rand(rng, (1, 2, 5, 6)), _rand(rng, (2, 2, 2, 3))), {"b": None, "stride": 1, "padding": 1}),
        Case(
            (_rand(rng, (2, 3, 5, 5)), _rand(rng, (4, 3, 3, 3))),
            {"b": _rand(rng, (4,)), "stride": 1, "padding": 1},
        ),
        Case(
            (_rand(rng, (1, 2, 7, 7)), _rand(rng, (3, 2, 3, 3))),
            {"b": _rand(rng, (3,)), "stride": 2, "padding": 0},
        ),
        Case(
            (_rand(rng, (2, 3, 6, 5), np.float32), _rand(rng, (2, 3, 3, 2), np.float32)),
            {"b": _rand(rng, (2,), np.float32), "stride": 2, "padding": 1},
        ),
    ]
    cases += _conv_cases(case_rng(seed, "conv2d"), n_random)
    ref = _conv2d_ref
    misconceptions = [
        Misconception(
            "your output is a true convolution (kernel flipped): deep-learning 'convolution' is "
            "cross-correlation, y[n, f, i, j] = sum_{c,a,b} x[n, c, s*i + a, s*j + b] w[f, c, a, b].",
            lambda x, w, b=None, stride=1, padding=0: ref(
                x, np.ascontiguousarray(w[..., ::-1, ::-1]), b, stride, padding
            ),
        ),
        Misconception(
            "the bias is missing: add b[f] to every pixel of output channel f.",
            lambda x, w, b=None, stride=1, padding=0: ref(x, w, None, stride, padding),
            applies=lambda x, w, b=None, stride=1, padding=0: b is not None,
        ),
        Misconception(
            "the weight channels are swapped: w has shape (C_out, C_in, kh, kw), so output channel f "
            "uses w[f, c] for input channel c (not w[c, f]).",
            lambda x, w, b=None, stride=1, padding=0: ref(
                x, np.ascontiguousarray(w.transpose(1, 0, 2, 3)), b, stride, padding
            ),
            applies=lambda x, w, b=None, stride=1, padding=0: w.shape[0] == w.shape[1],
        ),
        Misconception(
            "one output too many: the output size is floor((H + 2p - kh) / s) + 1 (a window that "
            "would stick out past the padding is dropped); you rounded up.",
            lambda x, w, b=None, stride=1, padding=0: ref(_pad_end(x, stride - 1), w, b, stride, padding),
            applies=lambda x, w, b=None, stride=1, padding=0: stride > 1,
        ),
        Misconception(
            "the zero padding went on one side only: padding=p adds p zeros on every side (top, "
            "bottom, left and right).",
            lambda x, w, b=None, stride=1, padding=0: ref(
                np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0))), w, b, stride, 0
            ),
            applies=lambda x, w, b=None, stride=1, padding=0: padding > 0,
        ),
    ]
    run_check(
        "conv2d",
        conv2d,
        cases,
        _conv2d_ref,
        arg_names=("x", "w"),
        misconceptions=misconceptions,
        seed=seed,
        n_random=n_random,
    )
