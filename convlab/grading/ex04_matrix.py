"""Checks of assignment ``ex04_matrix``: convolution as a matrix, and its backward pass (chapter 4).

They must equal :func:`convlab.matrix.conv_matrix` and :func:`convlab.autograd.conv2d_backward`.
"""

from __future__ import annotations

import numpy as np

from convlab.grading.running import Case, draw, exercise, reference
from convlab.grading.running import Misconception as M
from convlab.grading.shortcuts import AUTOGRAD_SHORTCUTS

__all__ = ["check_conv_matrix", "check_conv2d_backward"]


def _random_matrix(rng: np.random.Generator) -> Case:
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = (int(v) for v in rng.integers(1, 7, size=2))
    kh = int(rng.integers(1, min(h + 2 * padding, 4) + 1))
    kw = int(rng.integers(1, min(w + 2 * padding, 4) + 1))
    return Case((h, w), rng.standard_normal((kh, kw)).round(2), stride=stride, padding=padding)


_K33 = np.arange(1.0, 10.0).reshape(3, 3)

check_conv_matrix = exercise(
    "conv_matrix(input_size, kernel, stride=1, padding=0)",
    reference("convlab.matrix", "conv_matrix"),
    [
        Case(4, _K33, stride=1, padding=0),
        Case((3, 3), np.array([[1.0, 2.0], [3.0, 4.0]]), stride=1, padding=0),
        Case((5, 4), np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]]), stride=1, padding=1),
        Case(5, _K33, stride=2, padding=0),
        Case((4, 5), np.array([[2.0, 1.0], [0.0, -1.0]]), stride=2, padding=1),
    ],
    _random_matrix,
    [
        M(
            "your matrix applies the flipped kernel (a true convolution): deep-learning layers slide "
            "the kernel as it is, row r of C holds kernel[a, b] at the column of input pixel "
            "(s*i + a - p, s*j + b - p).",
            kernel=lambda kernel: np.ascontiguousarray(kernel[::-1, ::-1]),
        ),
        M(
            "you returned C transposed: C maps the flattened input (H*W values) to the flattened "
            "output, so it has one row per output pixel and one column per input pixel.",
            lambda expected: expected.T,
        ),
        M(
            "your matrix acts on the padded input: C must act on the original H*W pixels; entries "
            "that would multiply padding zeros are simply left out.",
            input_size=lambda input_size, padding: tuple(
                int(n) + 2 * padding for n in np.broadcast_to(input_size, 2)
            ),
            padding=0,
        ),
        M(
            "the stride is missing: with stride s, output pixel (i, j) reads the window starting at "
            "(s*i - p, s*j - p).",
            stride=1,
        ),
    ],
    doc="""Check a student's ``conv_matrix(input_size, kernel, stride=1, padding=0)``.

    ``input_size`` is ``H`` or ``(H, W)``, ``kernel`` is ``(kh, kw)``; the result ``C`` has shape
    ``(H_out * W_out, H * W)`` and the dtype of ``kernel``, with ``C @ x.ravel()`` equal to the
    deep-learning convolution (cross-correlation) of the ``(H, W)`` image ``x``, zero padded.
    """,
)


def _backward_case(rng, batch, c_in, c_out, h, w, kh, kw, stride, padding) -> Case:
    x, weight = draw(rng, (batch, c_in, h, w)), draw(rng, (c_out, c_in, kh, kw))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    return Case(draw(rng, (batch, c_out, ho, wo)), x, weight, stride=stride, padding=padding)


def _random_backward(rng: np.random.Generator) -> Case:
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = (int(v) for v in rng.integers(2, 8, size=2))
    kh = int(rng.integers(1, min(h + 2 * padding, 4) + 1))
    kw = int(rng.integers(1, min(w + 2 * padding, 4) + 1))
    batch, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    return _backward_case(rng, batch, c_in, c_out, h, w, kh, kw, stride, padding)


_backward = reference("convlab.autograd", "conv2d_backward")


_rng = np.random.default_rng(4)
_DB = (
    "db has the wrong sum: each bias b[f] is added to every pixel of every sample, so "
    "db[f] = grad_output[:, f].sum() over N, H_out and W_out."
)

check_conv2d_backward = exercise(
    "conv2d_backward(grad_output, x, w, stride=1, padding=0)",
    _backward,
    [
        _backward_case(_rng, 1, 1, 1, 4, 4, 3, 3, 1, 0),
        _backward_case(_rng, 2, 3, 4, 5, 5, 3, 3, 1, 1),
        _backward_case(_rng, 2, 2, 3, 7, 6, 3, 2, 2, 1),
        _backward_case(_rng, 1, 2, 2, 5, 5, 2, 2, 2, 0),
    ],
    _random_backward,
    [
        M(
            "dx uses the kernel unflipped: dx is the *transposed* convolution of grad_output with w "
            "(every output gradient stamps the kernel back onto the window it came from); written as "
            "a full convolution, that slides the kernel rotated by 180 degrees.",
            w=lambda w: np.ascontiguousarray(w[..., ::-1, ::-1]),
            part=0,
        ),
        M(
            "dx still has the padding: compute the gradient w.r.t. the padded input, then crop p "
            "rows/columns from every side so that dx has the shape of x.",
            x=lambda x, padding: np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))),
            padding=0,
            part=0,
        ),
        M(
            "dw is not summed over the batch: the same weights serve every sample, so their "
            "gradient adds the contributions of all N samples (shape (C_out, C_in, kh, kw)).",
            lambda grad_output, x, w, stride, padding: np.stack(
                [
                    _backward(g[None], xn[None], w, stride, padding)[1]
                    for g, xn in zip(grad_output, x, strict=True)
                ]
            ),
            part=1,
        ),
        M(_DB, lambda grad_output: grad_output.sum(axis=(2, 3)), part=2),
        M(_DB, lambda grad_output: grad_output.sum(axis=0), part=2),
    ],
    doc="""Check ``conv2d_backward(grad_output, x, w, stride=1, padding=0) -> (dx, dw, db)``.

    ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in, kh, kw)``, ``grad_output`` is the
    gradient of the loss w.r.t. ``conv2d(x, w, b, stride, padding)``; the result is the gradient
    w.r.t. ``x``, ``w`` and the bias ``b`` (shape ``(C_out,)``), as torch autograd computes it.
    Autograd itself is switched off while the function runs.
    """,
    blocked=AUTOGRAD_SHORTCUTS,
)
