"""Checks of assignment ``ex02_conv2d``: 2-D convolution, and the layer frameworks call convolution.

They must equal :func:`convlab.signal.convolve2d` (SciPy's) and :func:`convlab.functional.conv2d` (torch's).
"""

from __future__ import annotations

import numpy as np

from convlab.grading.ex01_conv1d import SAME_WINDOW
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
        Case(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [2.0, 3.0]])),  # the default mode
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
        # (a kernel symmetric along the other axis: that one flip is the full flip, not one axis)
        M(
            _ONE_AXIS,
            kernel=lambda kernel: kernel[::-1, :],
            when=lambda kernel: not np.array_equal(kernel, kernel[:, ::-1]),
        ),
        M(
            _ONE_AXIS,
            kernel=lambda kernel: kernel[:, ::-1],
            when=lambda kernel: not np.array_equal(kernel, kernel[::-1, :]),
        ),
        M(
            "the kernel's rows and columns are swapped (kernel.T): kernel[u, v] is row u, column v "
            "of the kernel; flip it with kernel[::-1, ::-1], without transposing it.",
            kernel=lambda kernel: np.ascontiguousarray(kernel.T),
        ),
        *(
            M(
                f"your output is the '{m}' result, not the mode the case asks for: 'full' is "
                "(H + kh - 1, W + kw - 1), 'same' is the central (H, W) part of 'full', 'valid' is "
                "(H - kh + 1, W - kw + 1).",
                mode=m,
                when=lambda case: "mode" in case.kwargs,
            )
            for m in MODES
        ),
        *(
            M(
                f"called without `mode`, your function returns the '{m}' result: the default is "
                "mode='full' (def convolve2d(image, kernel, mode='full')).",
                mode=m,
                when=lambda case: "mode" not in case.kwargs,
            )
            for m in MODES[1:]
        ),
        M(
            "your window is one off: your 'same' starts at row kh // 2 and column kw // 2 of the "
            "'full' result, as MATLAB's conv2 does; the exercise asks for SciPy's, from row "
            "(kh - 1) // 2 and column (kw - 1) // 2. " + SAME_WINDOW,
            lambda image, kernel: _same_from(image, kernel, (kernel.shape[0] // 2, kernel.shape[1] // 2)),
            when=lambda kernel, mode: mode == "same" and 0 in np.remainder(kernel.shape, 2),
        ),
        M(
            "'valid' is (H - kh + 1, W - kw + 1), every position where the kernel fits inside the "
            "image, the last row and column included; yours stops one early, as range(H - kh) would.",
            lambda image, kernel: _convolve2d(image, kernel, "valid")[:-1, :-1],
            when=lambda mode: mode == "valid",
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


def _one_side_differs(x, w, stride, padding) -> bool:
    """Whether padding one side only gives another output size than not counting the padding."""
    return any(
        (n + padding - k) // stride != (n - k) // stride
        for n, k in zip(x.shape[2:], w.shape[2:], strict=True)
    )


def _layer(x, w, b=None, stride=1, padding=0) -> Case:
    return Case(x, w, b=b, stride=stride, padding=padding)


_rng, F32 = np.random.default_rng(2), np.float32

_conv = reference("convlab.functional", "conv2d")

check_conv2d = exercise(
    "conv2d(x, w, b=None, stride=1, padding=0)",
    _conv,
    [
        Case(np.arange(16.0).reshape(1, 1, 4, 4), np.array([[[[1.0, 0, -1], [2, 1, 0], [0, 1, 1]]]])),
        _layer(draw(_rng, (1, 2, 5, 6)), draw(_rng, (2, 2, 2, 3)), None, 1, 1),
        _layer(draw(_rng, (2, 3, 5, 5)), draw(_rng, (4, 3, 3, 3)), draw(_rng, (4,)), 1, 1),
        _layer(draw(_rng, (1, 2, 7, 7)), draw(_rng, (3, 2, 3, 3)), draw(_rng, (3,)), 2, 0),
        _layer(draw(_rng, (2, 3, 6, 5), F32), draw(_rng, (2, 3, 3, 2), F32), draw(_rng, (2,), F32), 2, 1),
    ],
    _random_layer,
    [
        M(
            "your output is a true convolution (kernel flipped): deep-learning 'convolution' is "
            "cross-correlation, y[n, f, r, c] = sum_{q,u,v} x[n, q, s*r + u, s*c + v] w[f, q, u, v] + b[f].",
            w=lambda w: np.ascontiguousarray(w[..., ::-1, ::-1]),
        ),
        M(
            "the bias is missing: add b[f] to every pixel of output channel f.",
            b=None,
        ),
        M(
            "the weight channels are swapped: w has shape (C_out, C_in, kh, kw), so output channel f "
            "uses w[f, q] for input channel q (not w[q, f]).",
            w=lambda w: np.ascontiguousarray(w.transpose(1, 0, 2, 3)),
        ),
        M(
            "one output too many: the output size is floor((H + 2p - kh) / s) + 1 (a window that "
            "would stick out past the padding is dropped); you rounded up.",
            x=lambda x, stride: np.pad(x, ((0, 0), (0, 0), (0, stride - 1), (0, stride - 1))),
        ),
        M(
            "the bias is added once per input channel (inside the loop over the C_in channels): "
            "add b[f] once to each output pixel of channel f, after the sum over channels.",
            lambda x, w, b, stride, padding: (
                _conv(x, w, None, stride, padding) + x.shape[1] * b[None, :, None, None]
            ),
            when=lambda x, b: b is not None and x.shape[1] > 1,
        ),
        *(
            M(
                f"you padded with values of the input itself (np.pad mode='{mode}'): `padding` adds "
                "zeros (np.pad's default, mode='constant').",
                x=lambda x, padding, mode=mode: np.pad(
                    x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode=mode
                ),
                padding=0,
                when=lambda padding: padding > 0,
            )
            for mode in ("edge", "reflect", "symmetric", "wrap")
        ),
        M(
            "your output is too small: its size counts the padding, H_out = floor((H + 2p - kh) / s) "
            "+ 1; you used H instead of H + 2p (and W instead of W + 2p).",
            lambda x, w, stride, expected: expected[
                ..., : (x.shape[2] - w.shape[2]) // stride + 1, : (x.shape[3] - w.shape[3]) // stride + 1
            ],
            when=lambda x, w, stride, padding: (
                padding > 0
                and x.shape[2] >= w.shape[2]
                and x.shape[3] >= w.shape[3]
                and _one_side_differs(x, w, stride, padding)
            ),
        ),
        M(
            "you subsampled the input (x[..., ::s, ::s]) and then slid the kernel at stride 1: the "
            "stride moves the window s pixels at a time, and each window still reads kh x kw "
            "neighbouring pixels (x[..., s*r : s*r + kh, s*c : s*c + kw] of the padded input).",
            lambda x, w, b, stride, padding: _conv(
                np.ascontiguousarray(
                    np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))[
                        ..., ::stride, ::stride
                    ]
                ),
                w,
                b,
                1,
                0,
            ),
            when=lambda stride: stride > 1,
        ),
        M(
            "the zero padding went on one side only: padding=p adds p zeros on every side (top, "
            "bottom, left and right).",
            x=lambda x, padding: np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0))),
            padding=0,
            when=_one_side_differs,  # else it is the output of the size mistake above, window for window
        ),
    ],
    doc="""Check ``conv2d(x, w, b=None, stride=1, padding=0)`` against ``torch.nn.functional.conv2d``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in, kh, kw)``, ``b`` is ``(C_out,)`` or None;
    the output keeps the input dtype.
    """,
)
