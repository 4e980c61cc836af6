"""Checks of assignment ``ex02_conv2d``: 2-D convolution, and the layer frameworks call convolution.

They must equal :func:`convlab.signal.convolve2d` (SciPy's) and :func:`convlab.functional.conv2d` (torch's).
"""

from __future__ import annotations

import numpy as np

from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M

__all__ = ["check_convolve2d", "check_conv2d"]

MODES = ("full", "same", "valid")
_convolve2d = reference("convlab.signal", "convolve2d")


def _same_from(image, kernel, start):
    """The 'same' window of the full convolution, taken from ``start``."""
    full = _convolve2d(image, kernel, "full")
    return full[start[0] : start[0] + image.shape[0], start[1] : start[1] + image.shape[1]]


def _random_image(rng: np.random.Generator) -> Case:
    h, w = (int(v) for v in rng.integers(1, 8, size=2))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    return Case(draw(rng, (h, w)), draw(rng, (kh, kw)), mode=str(rng.choice(MODES)))


_IMAGE, _K3 = (
    np.arange(1.0, 21.0).reshape(4, 5),
    np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
)
_ONE_AXIS = (
    "the kernel was flipped along one axis only: a 2-D convolution flips both rows and "
    "columns (a 180-degree rotation, kernel[::-1, ::-1])."
)

check_convolve2d = exercise(
    "convolve2d(image, kernel, mode='full')",
    _convolve2d,
    [
        Case(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [2.0, 3.0]]), mode="full"),
        *(Case(_IMAGE, _K3, mode=mode) for mode in MODES),
        Case(_IMAGE, np.array([[1.0, 2.0], [3.0, 4.0]]), mode="same"),
        Case(_IMAGE, np.array([[1.0, -1.0, 0.5, 2.0]]), mode="same"),
    ],
    _random_image,
    [
        M(
            "your output equals the correlation of image and kernel: convolution rotates the "
            "kernel by 180 degrees before sliding it; did you forget to flip it?",
            kernel=lambda kernel: kernel[::-1, ::-1],
        ),
        M(_ONE_AXIS, kernel=lambda kernel: kernel[::-1, :]),
        M(_ONE_AXIS, kernel=lambda kernel: kernel[:, ::-1]),
        *(
            M(
                f"your output is the '{m}' result, not the mode the case asks for: 'full' is "
                "(H + kh - 1, W + kw - 1), 'same' is the central (H, W) part of 'full', 'valid' is "
                "(H - kh + 1, W - kw + 1).",
                mode=m,
            )
            for m in MODES
        ),
        M(
            "for an even kernel size, 'same' keeps the 'full' result from row (kh - 1) // 2 and "
            "column (kw - 1) // 2 (as scipy does): your window is one off.",
            lambda image, kernel: _same_from(image, kernel, (kernel.shape[0] // 2, kernel.shape[1] // 2)),
            when=lambda kernel, mode: mode == "same" and 0 in np.remainder(kernel.shape, 2),
        ),
    ],
    doc='Check a student\'s ``convolve2d(image, kernel, mode="full")`` against ``scipy.signal.convolve2d``.',
)


def _random_layer(rng: np.random.Generator) -> Case:
    batch, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = (int(v) for v in rng.integers(2, 9, size=2))
    kh = int(rng.integers(1, min(h + 2 * padding, 5) + 1))
    kw = int(rng.integers(1, min(w + 2 * padding, 5) + 1))
    dtype = np.float32 if rng.random() < 0.3 else np.float64
    x, weight = draw(rng, (batch, c_in, h, w), dtype), draw(rng, (c_out, c_in, kh, kw), dtype)
    return _layer(x, weight, draw(rng, (c_out,), dtype) if rng.random() < 0.6 else None, stride, padding)


def _layer(x, w, b=None, stride=1, padding=0) -> Case:
    return Case(x, w, b=b, stride=stride, padding=padding)


_rng, F32 = np.random.default_rng(2), np.float32

check_conv2d = exercise(
    "conv2d(x, w, b=None, stride=1, padding=0)",
    reference("convlab.functional", "conv2d"),
    [
        _layer(np.arange(16.0).reshape(1, 1, 4, 4), np.array([[[[1.0, 0, -1], [2, 1, 0], [0, 1, 1]]]])),
        _layer(draw(_rng, (1, 2, 5, 6)), draw(_rng, (2, 2, 2, 3)), None, 1, 1),
        _layer(draw(_rng, (2, 3, 5, 5)), draw(_rng, (4, 3, 3, 3)), draw(_rng, (4,)), 1, 1),
        _layer(draw(_rng, (1, 2, 7, 7)), draw(_rng, (3, 2, 3, 3)), draw(_rng, (3,)), 2, 0),
        _layer(draw(_rng, (2, 3, 6, 5), F32), draw(_rng, (2, 3, 3, 2), F32), draw(_rng, (2,), F32), 2, 1),
    ],
    _random_layer,
    [
        M(
            "your output is a true convolution (kernel flipped): deep-learning 'convolution' is "
            "cross-correlation, y[n, f, i, j] = sum_{c,a,b} x[n, c, s*i + a, s*j + b] w[f, c, a, b].",
            w=lambda w: np.ascontiguousarray(w[..., ::-1, ::-1]),
        ),
        M(
            "the bias is missing: add b[f] to every pixel of output channel f.",
            b=None,
        ),
        M(
            "the weight channels are swapped: w has shape (C_out, C_in, kh, kw), so output channel f "
            "uses w[f, c] for input channel c (not w[c, f]).",
            w=lambda w: np.ascontiguousarray(w.transpose(1, 0, 2, 3)),
        ),
        M(
            "one output too many: the output size is floor((H + 2p - kh) / s) + 1 (a window that "
            "would stick out past the padding is dropped); you rounded up.",
            x=lambda x, stride: np.pad(x, ((0, 0), (0, 0), (0, stride - 1), (0, stride - 1))),
        ),
        M(
            "the zero padding went on one side only: padding=p adds p zeros on every side (top, "
            "bottom, left and right).",
            x=lambda x, padding: np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0))),
            padding=0,
        ),
    ],
    doc="""Check ``conv2d(x, w, b=None, stride=1, padding=0)`` against ``torch.nn.functional.conv2d``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in, kh, kw)``, ``b`` is ``(C_out,)`` or None;
    the output keeps the input dtype.
    """,
)
